"""Extraction quality on the bundled seed notes and the per-shape fixtures, scored by tests/scoring.py."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from notecards.config import Config
from notecards.pipeline import extract_paths
from notecards.show import to_contract
from scoring import PREFIX, norm, norm_title, score

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "notes" / "ai-alignment-notes.md"
SEED_GOLD = Path(__file__).parent / "fixtures" / "seed-gold.yaml"
FORMATS = Path(__file__).parent / "fixtures" / "formats"
REFERENCE = ROOT.parent / "shared" / "tools" / "score_extract.py"
FIXTURES = sorted(FORMATS.glob("*.md"))
STRUCTURE = sorted((FORMATS / "structure").glob("*.md"))
"""Fixtures of paper-finding shapes: held to exact structure (papers, venue, year, every bullet found, no
extra bullet); their labels are the classifier's business and are not held here."""


def _predict(path: Path) -> dict:
    return to_contract(extract_paths([path], Config()).documents)


def test_seed_meets_targets():
    s = score(_predict(SEED), yaml.safe_load(SEED_GOLD.read_text(encoding="utf-8")))
    print(f"\nseed: {s.line()} per-label F1 {s.f1}")
    assert (s.titles, s.years, s.venues, s.paper_precision) == (1.0, 1.0, 1.0, 1.0)
    # The seed's labels once scored 0.96, with cues read across every sentence of a bullet. Reading
    # them in the first sentence only, and the cues added with it, raised leave-one-file-out macro-F1
    # on other people's notes from 0.395 to 0.519 and cost the seed ten points (docs/extraction.md):
    # strangers' notes are what a user brings, so the seed is held at what it scores now.
    assert s.macro_f1 >= 0.85
    assert s.accuracy >= 0.90


@pytest.mark.parametrize("note", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_meets_targets(note: Path):
    s = score(_predict(note), yaml.safe_load(note.with_suffix(".gold.yaml").read_text(encoding="utf-8")))
    print(f"\n{note.stem}: {s.line()}")
    assert s.titles == 1.0 and s.paper_precision == 1.0
    assert s.macro_f1 >= 0.85


def _bullet_coverage(pred: dict, gold: list[dict]) -> tuple[int, int, int]:
    """(gold bullets found, gold bullets, predicted bullets of gold papers that the gold does not list)."""
    by_title: dict[str, list[str]] = {}
    for d in pred["documents"]:
        for p in d["papers"]:
            by_title.setdefault(norm_title(p["title"]), []).extend(norm(b["text"])[:PREFIX] for b in p["bullets"])
    wanted: dict[str, set[str]] = {}
    found = total = 0
    for g in gold:
        want = [norm(b["text"])[:PREFIX] for b in g.get("bullets", [])]
        wanted.setdefault(norm_title(g["title"]), set()).update(want)
        total += len(want)
        found += sum(1 for w in want if w in by_title.get(norm_title(g["title"]), []))
    extra = sum(1 for key, got in by_title.items() if key in wanted for b in got if b not in wanted[key])
    return found, total, extra


@pytest.mark.parametrize("note", STRUCTURE, ids=[p.stem for p in STRUCTURE])
def test_structure_fixture_is_read_exactly(note: Path):
    pred = _predict(note)
    gold = yaml.safe_load(note.with_suffix(".gold.yaml").read_text(encoding="utf-8"))
    s = score(pred, gold)
    assert (s.titles, s.years, s.venues, s.paper_precision) == (1.0, 1.0, 1.0, 1.0), s.line()
    found, total, extra = _bullet_coverage(pred, gold)
    assert (found, extra) == (total, 0)


def test_bullet_coverage_counts_misses_and_extras():
    gold = [{"title": "A Paper", "bullets": [{"text": "first note here", "label": "method"},
                                             {"text": "second note here", "label": "finding"}]}]
    pred = {"documents": [{"papers": [{"title": "A paper", "bullets": [
        {"text": "first note here"}, {"text": "a note the gold has not"}]}]}]}
    assert _bullet_coverage(pred, gold) == (1, 2, 1)


def test_every_shape_has_a_fixture_with_gold():
    assert len(FIXTURES) >= 8 and len(STRUCTURE) >= 10
    for note in FIXTURES + STRUCTURE:
        assert note.with_suffix(".gold.yaml").is_file(), note


def test_scorer_counts_labels_titles_and_false_papers():
    gold = [{"title": "A Paper", "year": 2020, "venue": "ICLR",
             "bullets": [{"text": "solves a problem here", "label": "problem"},
                         {"text": "uses a method of its own", "label": "method"}]}]
    pred = {"documents": [{"papers": [
        {"title": "a paper", "year": 2020, "venue": "iclr",
         "bullets": [{"text": "Solves a problem here, and more", "label": "problem"},
                     {"text": "uses a method of its own", "label": "finding"}]},
        {"title": "Not A Paper", "year": None, "venue": None, "bullets": []}]}]}
    s = score(pred, gold)
    assert (s.titles, s.years, s.venues, s.paper_precision) == (1.0, 1.0, 1.0, 0.5)
    assert s.f1 == {"problem": 1.0, "method": 0.0}
    assert s.accuracy == 0.5


if REFERENCE.is_file():  # beside a developer's clone and in CI; a user's clone has no ../shared
    @pytest.mark.slow  # starts subprocesses
    def test_own_scorer_agrees_with_reference(tmp_path):
        """Our scorer and shared/tools/score_extract.py print the same summary on every gold file."""
        for note, gold in [(SEED, SEED_GOLD)] + [(p, p.with_suffix(".gold.yaml")) for p in FIXTURES]:
            pred = tmp_path / "pred.json"
            predicted = _predict(note)
            pred.write_text(json.dumps(predicted, ensure_ascii=False), encoding="utf-8")
            out = subprocess.run([sys.executable, str(REFERENCE), str(pred), str(gold)], capture_output=True,
                                 text=True, check=True).stdout.strip().splitlines()[-1]
            s = score(predicted, yaml.safe_load(gold.read_text(encoding="utf-8")))
            assert out.startswith(f"macro-F1 {s.macro_f1:.3f} accuracy {s.accuracy:.3f} titles {s.titles:.3f} "
                                  f"years {s.years:.3f} venues {s.venues:.3f}"), note
