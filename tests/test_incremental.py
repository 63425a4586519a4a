"""Rebuilds that read only what changed (pipeline.build_decks with the ledger): unchanged files are
carried over unread, yet every deck a change touches is written whole, imported by Anki's engine."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from notecards import workers, write
from notecards.config import Config
from notecards.errors import OutputError
from notecards.identity import PaperIdentity
from notecards.ledger import STATE_FILE, Ledger, file_record, load_ledger, save_ledger
from notecards.pipeline import build_decks

from anki_helpers import collection, import_all, notes, package_notes



def _paper(title: str, year: int, *bullets: str) -> str:
    return f"## {title} (ICLR {year})\n\n" + "".join(f"- {b}\n" for b in bullets) + "\n"


def _notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text(_paper("Attention Is All You Need", 2017, "We propose the Transformer.",
                                        "It reaches 28.4 BLEU on WMT14."), encoding="utf-8")
    (folder / "b.md").write_text(_paper("Layer Normalization", 2017, "We propose normalising over features.",
                                        "Training converges faster."), encoding="utf-8")
    (folder / "c.md").write_text(_paper("Deep Residual Learning", 2016, "We propose skip connections around every two layers."),
                                 encoding="utf-8")
    return folder


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def test_a_deck_shared_with_a_changed_file_is_written_with_all_its_notes(tmp_path, extracted):
    folder, out, config = _notes(tmp_path), tmp_path / "decks", Config(deck_by="year")
    first = build_decks(config, [folder], out)
    _append(folder / "a.md", "- Ablations show multi-head attention matters.\n")
    extracted.clear()
    second = build_decks(config, [folder], out)
    assert extracted == ["a.md"]  # b.md shares the 2017 deck: from the cache; c.md: carried over
    assert second.cards == first.cards + 1 and second.files == 3
    with collection(tmp_path / "col") as col:
        import_all(col, second.decks)
        titles = {r.fields["Title"] for r in notes(col)}
    assert titles == {"Attention Is All You Need", "Layer Normalization", "Deep Residual Learning"}


def test_unchanged_deck_file_is_not_touched_by_a_change_elsewhere(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    first = build_decks(Config(), [folder], out)
    stamps = {p.name: p.stat().st_mtime_ns for p in first.decks}
    _append(folder / "a.md", "- Ablations show multi-head attention matters.\n")
    second = build_decks(Config(), [folder], out)
    after = {p.name: p.stat().st_mtime_ns for p in second.decks}
    assert [n for n in after if after[n] != stamps[n]] == ["Papers - a.apkg"]


def test_same_paper_in_an_unchanged_file_is_read_again_and_kept_once(tmp_path, extracted):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    shutil.copy(folder / "b.md", folder / "b-copy.md")
    build_decks(Config(), [folder], out)
    _append(folder / "b.md", "- It works for RNNs too.\n")
    extracted.clear()
    report = build_decks(Config(), [folder], out)
    assert extracted == ["b.md"]  # b-copy.md, sharing the paper, comes from the cache
    with collection(tmp_path / "col") as col:
        import_all(col, report.decks)
        rows = notes(col)
    assert len({r.guid for r in rows}) == len(rows) == report.cards
    assert sum("RNNs" in r.fields["Answer"] for r in rows) == 1


def test_a_paper_moved_between_files_keeps_its_cards(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    first = build_decks(Config(), [folder], out)
    guids = set().union(*(package_notes(p) for p in first.decks))
    moved = (folder / "c.md").read_text(encoding="utf-8")
    (folder / "c.md").write_text("", encoding="utf-8")
    _append(folder / "a.md", moved)
    second = build_decks(Config(), [folder], out)
    assert set().union(*(package_notes(p) for p in second.decks)) == guids
    assert second.removed == []


def test_deleted_file_reports_its_papers_and_its_deck_goes(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    build_decks(Config(), [folder], out)
    (folder / "c.md").unlink()
    report = build_decks(Config(), [folder], out)
    assert report.removed == ["Deep Residual Learning"]
    assert not (out / "Papers - c.apkg").exists() and report.files == 2


def test_state_of_the_earlier_format_is_read_and_notes_keep_their_mtimes(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    first = build_decks(Config(), [folder], out)
    before = {p.name: p.read_bytes() for p in first.decks}
    ledger = load_ledger(out)
    v1 = {"version": 1, "model": {"hash": ledger.model[0], "mtime": ledger.model[1]},
          "decks": {d: r.file for d, r in ledger.decks.items()},
          "notes": {g: {"hash": h, "mtime": m} for r in ledger.files.values() for g, h, m, _ in r.notes()},
          "papers": [{"ident": p.ident, "key": p.key, "title": p.title, "slots": [list(s) for s in p.slots],
                      "next": dict(p.next_slot), "live": p.live}
                     for r in ledger.files.values() for p in r.identities()]}
    # as version 1 wrote it: one paper per line
    (out / STATE_FILE).write_text(json.dumps(v1, indent=1), encoding="utf-8")
    second = build_decks(Config(), [folder], out)
    assert {p.name: p.read_bytes() for p in second.decks} == before  # same guids, same mtimes
    assert load_ledger(out).files.keys() == ledger.files.keys()


def test_ledger_round_trip(tmp_path):
    ident = PaperIdentity(ident="attention", key="attention", title="Attention \t\"quoted\"\u2028\x85",
                          slots=(("method", 1, "We propose\tit\nthen\u2029this"),), next_slot=(("method", 2),))
    record = file_record(key="k", cards_key="c", media=(("/x.png", 3, 4),), papers=1, keys=("attention",),
                         warnings=("a.md:1: warning: x",), reusable=False,
                         notes=[("g1", "h1", 5, "Papers::a"), ("g2", "h2", 6, "Papers::b")], identities=[ident])
    gone = PaperIdentity(ident="old", key="old", title="Old", live=False)
    ledger = Ledger(model=("m", 7), files={"a.md": record}, gone=(gone,))
    save_ledger(tmp_path, ledger)
    back = load_ledger(tmp_path)
    assert back == ledger
    assert back.files["a.md"].notes() == [("g1", "h1", 5, "Papers::a"), ("g2", "h2", 6, "Papers::b")]
    assert back.files["a.md"].identities() == [ident] and back.files["a.md"].cards == 2


def test_decks_written_by_worker_processes_equal_those_written_here(tmp_path, monkeypatch):
    folder = _notes(tmp_path)
    for i in range(25):  # enough files for workers (pipeline.PARALLEL_MIN)
        (folder / f"log-{i:02d}.md").write_text(_paper(f"Sparse Mixture Number {i} Of Experts", 2020 + i % 3,
                                                       f"We propose routing scheme {i}.",
                                                       f"It improves accuracy by {i}.5 points."), encoding="utf-8")
    serial = build_decks(Config(), [folder], tmp_path / "serial")
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    monkeypatch.setattr(write, "PARALLEL_NOTES", 1)
    parallel = build_decks(Config(), [folder], tmp_path / "parallel")
    assert [p.name for p in parallel.decks] == [p.name for p in serial.decks] and len(serial.decks) == 28
    assert [package_notes(p) for p in parallel.decks] == [package_notes(p) for p in serial.decks]
    with collection(tmp_path / "col") as col:
        import_all(col, parallel.decks)
        assert len(notes(col)) == parallel.cards


def test_a_file_that_can_no_longer_be_read_keeps_its_deck_until_fixed(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    first = build_decks(Config(), [folder], out)
    good = (folder / "c.md").read_bytes()
    (folder / "c.md").write_bytes(b"\x00\x01binary now")
    _append(folder / "a.md", "- Ablations show multi-head attention matters.\n")  # a deck is written too
    broken = build_decks(Config(), [folder], out)
    assert [p.path for p in broken.problems] == [str(folder / "c.md")] and "binary" in str(broken.problems[0])
    assert broken.decks == first.decks and (out / "Papers - c.apkg").exists()
    assert broken.removed == [] and broken.files == 2 and broken.cards == first.cards + 1
    (folder / "c.md").write_bytes(good + b"- It trains networks with 152 layers.\n")
    fixed = build_decks(Config(), [folder], out)
    assert not fixed.problems and fixed.cards == first.cards + 2


def test_a_damaged_record_in_the_state_is_an_output_error(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    build_decks(Config(), [folder], out)
    state = out / STATE_FILE
    state.write_text(state.read_text(encoding="utf-8").replace('{"notes":', '{"nots":', 1), encoding="utf-8")
    _append(folder / "a.md", "- Ablations show multi-head attention matters.\n")
    with pytest.raises(OutputError, match="state is unreadable"):
        build_decks(Config(), [folder], out)
