"""Fit the classifier's feature weights on labelled notes and write them into cues.yaml.

    .venv/bin/python scripts/calibrate.py            # fit, print the table, write the weights
    .venv/bin/python scripts/calibrate.py --check    # fit and print only (cues.yaml untouched)

The labelled notes are the project's own (the seed and tests/fixtures/formats) and, when it is
there, the development set in ../shared/dev/notes (NAME.md with full gold NAME.yaml): a dev tool,
never needed by the tests. Every bullet the extractor finds that matches a gold bullet (same
paper title and the same first 16 normalised characters, as the reference scorer matches; else
the same 16 characters anywhere in the file) is a training row: its features and its gold label.

The model is the classifier's own: every active feature adds its weight to each label, argmax.
It is fitted as a class-balanced multinomial logistic regression (a bullet of a label with n rows
weighs 1/sqrt(n): half-way to every label weighing the same, which is what macro-F1 rewards, without
giving up the accuracy of real notes that are mostly `method`), with an L2 penalty that
pulls each weight towards the hand-written one (a cue's own label and weight; a section or parent
line 3 for its label), so a rare feature keeps its hand weight. Sibling features take two rounds:
fit without them, label the training bullets, add what each bullet's siblings got, fit again.

Quality is printed per file, in-sample (fitted on every file) and leave-one-file-out (fitted on
all the others): label accuracy and macro-F1 over the matched bullets. Deterministic: the same
notes give the same weights, byte for byte.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from notecards.classify import label_paper, paper_features, sibling_labels
from notecards.extract import extract_papers
from notecards.model import LABELS
from notecards.parse import parse_markdown
from notecards.rules import CONTEXT_FEATURES, Rules, load_rules

ROOT = Path(__file__).resolve().parent.parent
CUES = ROOT / "src" / "notecards" / "resources" / "cues.yaml"
MARK = "# --- fitted weights: written by scripts/calibrate.py"
HAND = {f"section: {x}": 3.0 for x in LABELS} | {f"parent line: {x}": 3.5 for x in LABELS}
PREFIX = 16
QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "：": ":", "，": ","})


def norm(text: str) -> str:
    """As the reference scorer normalises a bullet or title."""
    text = unicodedata.normalize("NFKC", str(text or "")).translate(QUOTES).casefold()
    return re.sub(r"[*_`$\s]+", "", re.sub(r"^[\s>*_\-+]+", "", text))


def norm_title(text: str) -> str:
    return re.sub(r"[^\w]+", "", norm(text))


@dataclass
class Note:
    name: str
    dev: bool
    papers: list
    items: list
    """Per paper: paper_features() of its bullets."""
    gold: list
    """Per paper: the gold label of each bullet, None when no gold bullet matches it."""


def labelled_files(shared: Path) -> list[tuple[str, Path, Path, bool]]:
    """(name, note, gold, is a dev note) for every labelled note there is."""
    out = [("seed", ROOT / "examples" / "notes" / "ai-alignment-notes.md",
            ROOT / "tests" / "fixtures" / "seed-gold.yaml", False)]
    out += [(p.stem, p, p.with_suffix(".gold.yaml"), False)
            for p in sorted((ROOT / "tests" / "fixtures" / "formats").glob("*.md"))]
    dev = shared / "dev" / "notes"
    out += [(g.stem, g.with_suffix(".md"), g, True) for g in sorted(dev.glob("*.yaml"))
            if not g.name.endswith(".structure.yaml") and g.with_suffix(".md").is_file()]
    return out


def load_note(name: str, note: Path, gold_path: Path, dev: bool, rules: Rules) -> Note:
    gold = yaml.safe_load(gold_path.read_text(encoding="utf-8"))
    source = re.search(r"^# source-name: (\S+)", gold_path.read_text(encoding="utf-8"), re.M)
    text = note.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    parsed = parse_markdown(text)
    papers = extract_papers(parsed.blocks, parsed.front, source.group(1) if source else note.name, rules)
    items = [paper_features(p, rules) for p in papers]
    labels: list[list[str | None]] = [[None] * len(p.bullets) for p in papers]
    keys = [[norm(b.text)[:PREFIX] for b in p.bullets] for p in papers]
    titles = [norm_title(p.title) for p in papers]
    for g in gold:
        for gb in g.get("bullets") or []:
            want = norm(gb["text"])[:PREFIX]
            spots = [(i, j) for i, t in enumerate(titles) if t == norm_title(g["title"])
                     for j, k in enumerate(keys[i]) if k == want and labels[i][j] is None]
            spots = spots or [(i, j) for i in range(len(papers)) for j, k in enumerate(keys[i])
                              if k == want and labels[i][j] is None]
            if spots:
                i, j = spots[0]
                labels[i][j] = gb["label"]
    return Note(name, dev, papers, items, labels)


# --- the model ----------------------------------------------------------------------------------


def hand_weights(rules: Rules) -> dict[str, dict[str, float]]:
    """The prior each weight is pulled towards."""
    out = {x.name: dict(x.own_weights) for x in (*rules.cues, *rules.priors, *rules.title_cues)}
    out.update({name: {name.split(": ")[1]: w} for name, w in HAND.items()})
    out["about the method the paper builds on"] = {"background": 3.0}
    out["opens the paper with a question"] = {"problem": 2.0}  # LABELS.md: the question the paper asks
    out["one of several questions"] = {"opinion": -2.5}  # a reader asks one at a time; a list is the paper's
    return out


def rows_of(notes: list[Note], rules: Rules, siblings: bool) -> list[tuple[tuple, str]]:
    """(features, gold label) of every matched bullet the prefixes leave to the weights."""
    rows = []
    for note in notes:
        for paper, items, gold in zip(note.papers, note.items, note.gold, strict=True):
            sibs = [None] * len(items)
            if siblings:
                first = label_paper(paper, replace(rules, weights=_no_siblings(rules.weights)), items)
                sibs = sibling_labels(paper, [x for x, _ in first])
            for it, label, sib in zip(items, gold, sibs, strict=True):
                if label is None or isinstance(it[0], str):
                    continue
                feats = list(it[0]) + ([(f"siblings: {sib}", 1.0)] if sib else [])
                rows.append((tuple(feats), label))
    return rows


def _no_siblings(weights: dict) -> dict:
    return {k: v for k, v in weights.items() if not k.startswith("siblings: ")}


def fit(rows: list[tuple[tuple, str]], prior: dict[str, dict[str, float]], l2: float,
        steps: int = 300, balance: float = 0.5) -> dict[str, dict[str, float]]:
    """Class-balanced softmax regression by gradient descent with momentum, L2 towards the prior."""
    if not rows:
        return {}
    # a section or parent line no note here has still speaks with its hand weight (the classifier
    # itself only falls back to a cue's own weight)
    names = sorted({f for feats, _ in rows for f, _ in feats} | set(HAND))
    index = {f: k for k, f in enumerate(names)}
    labels = list(LABELS)
    count = Counter(label for _, label in rows)
    weight = {x: (len(rows) / (len(count) * n)) ** balance for x, n in count.items()}
    grouped: dict[tuple, float] = defaultdict(float)
    for feats, label in rows:
        grouped[(tuple((index[f], v) for f, v in feats), labels.index(label))] += weight[label]
    data = sorted(grouped.items())
    total = sum(w for _, w in data)
    nl = len(labels)
    w0 = [prior.get(f, {}).get(x, 0.0) for f in names for x in labels]
    w = list(w0)
    velocity = [0.0] * len(w)
    rate, momentum = 0.5, 0.9
    for _ in range(steps):
        grad = [l2 * (a - b) for a, b in zip(w, w0, strict=True)]
        for (feats, y), c in data:
            s = [0.0] * nl
            for k, v in feats:
                base = k * nl
                for j in range(nl):
                    s[j] += w[base + j] * v
            top = max(s)
            e = [math.exp(a - top) for a in s]
            z = sum(e)
            p = [a / z for a in e]
            p[y] -= 1.0
            scale = c / total
            for k, v in feats:
                base = k * nl
                for j in range(nl):
                    grad[base + j] += scale * v * p[j]
        for i in range(len(w)):
            velocity[i] = momentum * velocity[i] - rate * grad[i]
            w[i] += velocity[i]
    return {f: {x: w[k * nl + j] for j, x in enumerate(labels)} for k, f in enumerate(names)}


def fit_both_rounds(notes: list[Note], rules: Rules, l2: float) -> dict[str, tuple[tuple[str, float], ...]]:
    prior = hand_weights(rules)
    first = table(fit(rows_of(notes, rules, False), prior, l2))
    second = fit(rows_of(notes, replace(rules, weights=first), True), prior, l2)
    return table(second)


def table(weights: dict[str, dict[str, float]]) -> dict[str, tuple[tuple[str, float], ...]]:
    """As Rules.weights holds them: rounded to two places, zeros left out. Rounding before use
    means the printed figures are those of the weights written."""
    out = {}
    for f, ws in weights.items():
        kept = tuple((x, round(v, 2)) for x, v in ws.items() if round(v, 2) != 0)
        out[f] = kept
    return out


def evaluate(note: Note, rules: Rules) -> tuple[float, float, int]:
    """(macro-F1, accuracy, matched bullets) of the runtime classifier on one note."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for paper, items, gold in zip(note.papers, note.items, note.gold, strict=True):
        for (got, _), want in zip(label_paper(paper, rules, items), gold, strict=True):
            if want is None:
                continue
            if got == want:
                tp[want] += 1
            else:
                fn[want] += 1
                fp[got] += 1
    present = [x for x in LABELS if tp[x] + fn[x]]
    f1s = []
    for x in present:
        p = tp[x] / (tp[x] + fp[x]) if tp[x] + fp[x] else 0.0
        r = tp[x] / (tp[x] + fn[x])
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    n = sum(tp.values()) + sum(fn.values())
    return (sum(f1s) / len(f1s) if f1s else 0.0), (sum(tp.values()) / n if n else 0.0), n


# --- writing ------------------------------------------------------------------------------------


def render(weights: dict[str, tuple[tuple[str, float], ...]], rules: Rules, l2: float) -> str:
    order = [*CONTEXT_FEATURES, *(x.name for x in (*rules.priors, *rules.title_cues, *rules.cues))]
    lines = [MARK, f"# (leave-one-file-out, L2 {l2} towards the hand weights). Re-run it; don't edit by hand.",
             "# Each record: what the feature adds to each label when it is active.", "weights:"]
    for name in dict.fromkeys(order):
        ws = weights.get(name)
        if ws:
            fields = ", ".join(f"{x}: {v:g}" for x, v in ws)
            lines.append(f"  - {{feature: {yaml.safe_dump(name, allow_unicode=True, width=1000).strip().removesuffix(chr(10) + '...')}, {fields}}}")
    return "\n".join(lines) + "\n"


def unfitted_rules(original: str) -> Rules:
    """The tables without their fitted weights, which may name cues renamed since they were fitted."""
    CUES.write_text(original.split(MARK)[0].rstrip("\n") + "\n", encoding="utf-8")
    load_rules.cache_clear()
    return load_rules()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="folder holding dev/notes")
    ap.add_argument("--l2", type=float, default=0.01, help="pull towards the hand weights")
    ap.add_argument("--check", action="store_true", help="print only; leave cues.yaml as it is")
    args = ap.parse_args(argv)
    original = CUES.read_text(encoding="utf-8")
    try:
        rules = unfitted_rules(original)  # features never depend on the weights
    finally:
        CUES.write_text(original, encoding="utf-8")
    notes = [load_note(*f, rules) for f in labelled_files(args.shared)]
    weights = fit_both_rounds(notes, rules, args.l2)
    print(f"{'file':<40}{'bullets':>8}{'in-F1':>8}{'in-acc':>8}{'LOFO-F1':>9}{'LOFO-acc':>9}")
    sums: dict[bool, list[list[float]]] = {True: [], False: []}
    for k, note in enumerate(notes):
        inside = evaluate(note, replace(rules, weights=weights))
        held = fit_both_rounds(notes[:k] + notes[k + 1:], rules, args.l2)
        out = evaluate(note, replace(rules, weights=held))
        print(f"{note.name[:39]:<40}{inside[2]:>8}{inside[0]:>8.3f}{inside[1]:>8.3f}{out[0]:>9.3f}{out[1]:>9.3f}")
        if inside[2]:  # a note none of whose bullets is found has nothing to say about labels
            sums[note.dev].append([inside[0], inside[1], out[0], out[1]])
    ok = True
    for dev, label in ((True, "mean, dev notes"), (False, "mean, project fixtures")):
        if sums[dev]:
            m = [sum(col) / len(col) for col in zip(*sums[dev], strict=True)]
            print(f"{label:<48}{m[0]:>8.3f}{m[1]:>8.3f}{m[2]:>9.3f}{m[3]:>9.3f}")
            ok = ok and m[0] - m[2] <= 0.10 and m[1] - m[3] <= 0.10
    print("LOFO within 0.10 of in-sample" if ok else "WARNING: LOFO more than 0.10 below in-sample")
    if not args.check:
        CUES.write_text(original.split(MARK)[0].rstrip("\n") + "\n\n" + render(weights, rules, args.l2), encoding="utf-8")
        print(f"wrote {len(weights)} feature weights into {CUES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
