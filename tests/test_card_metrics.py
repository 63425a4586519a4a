"""scripts/card_metrics.py: figures read back from built decks through Anki's engine."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from notecards.config import Config
from notecards.pipeline import build_decks

from conftest import ROOT, SEED

FORMATS_DIR = Path(__file__).parent / "fixtures" / "formats"

_spec = importlib.util.spec_from_file_location("card_metrics", ROOT / "scripts" / "card_metrics.py")
card_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(card_metrics)


def row(question: str, answer: str, kind: str = "method", title: str = "Attention Is All You Need",
        deck: str = "a.apkg") -> dict[str, str]:
    return {"Question": question, "Answer": answer, "Kind": kind, "Title": title, "deck": deck}


def test_metrics_count_each_defect_they_name():
    rows = [row("What is the method of “Attention Is All You Need” (1/2)?", "Self-attention only."),
            row("What is the method of “Attention Is All You Need” (1/2)?", "Self-attention only.", deck="b.apkg"),
            row("《Attention Is All You Need》要解决什么问题？", "Attention is all you need", kind="problem"),
            row("《Attention Is All You Need》有什么发现？", "The <b>BLEU</b> score went up by two points.",
                kind="finding"),
            row("What did “Attention Is All You Need” find?", "x" * 301, kind="finding"),
            row("Which paper proposes this: “Self-attention only”?", "Attention Is All You Need", kind="reverse")]
    m = card_metrics.metrics(rows)
    assert (m["numbered_questions"], m["repeated_in_deck"], m["repeated_anywhere"]) == (2, 0, 1)
    assert m["kinds"] == {"finding": 2, "method": 2, "problem": 1, "reverse": 1} and m["forward"] == 5
    assert m["title_echo_pct"] == 20.0  # the problem card; the reverse card is not a forward card
    assert m["mixed_language_pct"] == 40.0  # the two Chinese questions over English answers
    assert m["long_answer_pct"] == round(100 / 6, 1)


def test_language_reads_chinese_with_english_terms_as_chinese():
    assert card_metrics.lang("没有domain label的Gradual domain adaption") == "zh"
    assert card_metrics.lang("Unfortunately, a B-tree may not do well.") == "en"
    assert card_metrics.lang("2023") is None


@pytest.mark.slow  # a big build
def test_decks_built_from_the_notes_meet_the_card_targets(tmp_path):
    report = build_decks(Config(), [SEED, FORMATS_DIR], tmp_path / "decks")
    m = card_metrics.metrics(card_metrics.read_notes(report.decks))
    assert m["notes"] == report.cards > 100
    assert m["numbered_questions"] == 0 and m["repeated_in_deck"] == 0
    assert m["title_echo_pct"] <= 5 and m["mixed_language_pct"] <= 5 and m["long_answer_pct"] <= 10


def test_script_prints_the_figures(tmp_path, capsys):
    report = build_decks(Config(), [SEED], tmp_path / "decks")
    assert card_metrics.main([str(p) for p in report.decks]) == 0
    out = capsys.readouterr().out
    assert "numbered questions: 0" in out and "repeated question texts: 0 within a deck" in out
