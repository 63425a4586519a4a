"""The project's own scorer for `extract` output against a gold file.

It follows the reference scorer (shared/tools/score_extract.py) rule for rule: titles are
matched after normalisation, a gold bullet matches a predicted bullet of the same paper whose
normalised text starts the same way (16 characters), and macro-F1 is over the labels in the
gold file. test_extract_quality.py checks the two agree when the reference is present.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

LABELS = ("problem", "method", "finding", "background", "opinion", "other")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "：": ":", "，": ","})
PREFIX = 16


def norm(text) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).translate(_QUOTES).casefold()
    text = re.sub(r"^[\s>*_\-+]+", "", text)
    return re.sub(r"[*_`$\s]+", "", text)


def norm_title(text) -> str:
    return re.sub(r"[^\w]+", "", norm(text))


@dataclass
class Score:
    macro_f1: float
    accuracy: float
    titles: float
    years: float
    venues: float
    paper_precision: float
    f1: dict
    mistakes: list

    def line(self) -> str:
        return (f"macro-F1 {self.macro_f1:.3f} accuracy {self.accuracy:.3f} titles {self.titles:.3f} "
                f"years {self.years:.3f} venues {self.venues:.3f} paper-precision {self.paper_precision:.3f}")


def score(pred: dict, gold: list[dict]) -> Score:
    """Score an extract-contract prediction against a gold list of papers."""
    by_title = defaultdict(list)
    for d in pred.get("documents", []):
        for p in d.get("papers", []):
            by_title[norm_title(p.get("title"))].append(p)
    unique = {}
    for g in gold:
        unique.setdefault(norm_title(g["title"]), g)
    titles = years = venues = 0
    for key, g in unique.items():
        ps = by_title.get(key, [])
        if ps:
            titles += 1
            years += any(p.get("year") == g.get("year") for p in ps)
            venues += any(norm(p.get("venue")) == norm(g.get("venue")) for p in ps)
    gold_count = Counter(norm_title(g["title"]) for g in gold)
    n_pred = sum(len(ps) for ps in by_title.values())
    ok = sum(min(len(ps), gold_count[k]) for k, ps in by_title.items())
    precision = ok / n_pred if n_pred else (0.0 if gold else 1.0)

    tp, fp, fn = Counter(), Counter(), Counter()
    used = set()
    mistakes = []
    for g in gold:
        cands = [(id(p), i, b) for p in by_title.get(norm_title(g["title"]), [])
                 for i, b in enumerate(p.get("bullets", []))]
        for gb in g.get("bullets", []):
            want = norm(gb["text"])[:PREFIX]
            hit = next((c for c in cands if norm(c[2].get("text"))[:PREFIX] == want and (c[0], c[1]) not in used),
                       None)
            if hit is None:
                hit = next((c for c in cands if norm(c[2].get("text"))[:PREFIX] == want), None)
                if hit is None:
                    fn[gb["label"]] += 1
                    mistakes.append((g["title"], gb["text"], gb["label"], None, ""))
                    continue
            else:
                used.add((hit[0], hit[1]))
            got = hit[2].get("label")
            if got == gb["label"]:
                tp[got] += 1
            else:
                fn[gb["label"]] += 1
                fp[got] += 1
                mistakes.append((g["title"], gb["text"], gb["label"], got, hit[2].get("rule", "")))
    for d in pred.get("documents", []):  # bullets of gold papers that the gold does not list
        for p in d.get("papers", []):
            key = norm_title(p.get("title"))
            if key not in unique:
                continue
            golds = [norm(gb["text"])[:PREFIX] for g in gold if norm_title(g["title"]) == key
                     for gb in g.get("bullets", [])]
            for i, b in enumerate(p.get("bullets", [])):
                if (id(p), i) not in used and norm(b.get("text"))[:PREFIX] not in golds:
                    fp[b.get("label")] += 1
    present = [label for label in LABELS if tp[label] + fn[label] > 0]
    f1 = {}
    for label in present:
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / (tp[label] + fn[label])
        f1[label] = 2 * p * r / (p + r) if p + r else 0.0
    total = sum(tp[label] + fn[label] for label in present) or 1
    n = len(unique) or 1
    return Score(macro_f1=sum(f1.values()) / len(f1) if f1 else 0.0, accuracy=sum(tp.values()) / total,
                 titles=titles / n, years=years / n, venues=venues / n, paper_precision=precision,
                 f1=f1, mistakes=mistakes)
