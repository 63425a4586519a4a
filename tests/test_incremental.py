"""Rebuilds that read only what changed (pipeline.build_decks with the ledger): unchanged files are
carried over unread, yet every deck a change touches is written whole, imported by Anki's engine."""
from __future__ import annotations

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


def test_same_paper_in_two_files_gives_one_set_of_cards_from_the_first_file(tmp_path, extracted):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    shutil.copy(folder / "b.md", folder / "a-copy.md")  # "a-copy.md" comes first: its cards stand
    _append(folder / "b.md", "- It works for RNNs too.\n")
    first = build_decks(Config(), [folder], out)
    assert any("'Layer Normalization' is also in" in w and "a-copy.md" in w for w in first.warnings)
    _append(folder / "a-copy.md", "- It needs no batch statistics.\n")
    extracted.clear()
    report = build_decks(Config(), [folder], out)
    assert extracted == ["a-copy.md"]  # b.md, sharing the paper, comes from the cache
    with collection(tmp_path / "col") as col:
        import_all(col, report.decks)
        rows = notes(col)
    assert len({r.guid for r in rows}) == len(rows) == report.cards
    questions = [r.fields["Question"] for r in rows]
    assert len(set(questions)) == len(questions)
    layer = [r for r in rows if r.fields["Title"] == "Layer Normalization"]
    assert {r.fields["Source"].split(":")[0].rsplit("/", 1)[1] for r in layer} == {"a-copy.md"}
    assert sum("batch statistics" in r.fields["Answer"] for r in layer) == 1
    assert not any("RNNs" in r.fields["Answer"] for r in rows)


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


def test_state_of_the_previous_format_is_read_and_notes_keep_their_mtimes(tmp_path):
    folder, out = _notes(tmp_path), tmp_path / "decks"
    first = build_decks(Config(), [folder], out)
    before = {p.name: p.read_bytes() for p in first.decks}
    # version 2: no checksum at the end of each line, numbered slots
    lines = [ln.rpartition("\t")[0] for ln in (out / STATE_FILE).read_text(encoding="utf-8").splitlines()]
    lines[0] = lines[0].replace('"version":3', '"version":2')
    (out / STATE_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    _append(folder / "a.md", "- Ablations show multi-head attention matters.\n")
    second = build_decks(Config(), [folder], out)
    assert {p.name: p.read_bytes() for p in second.decks if p.name != "Papers - a.apkg"} == {
        n: b for n, b in before.items() if n != "Papers - a.apkg"}
    assert set(package_notes(out / "Papers - a.apkg")) > set(package_notes_bytes(before["Papers - a.apkg"], tmp_path))


def package_notes_bytes(data: bytes, tmp_path: Path) -> dict:
    path = tmp_path / "old.apkg"
    path.write_bytes(data)
    return package_notes(path)


def test_ledger_round_trip(tmp_path):
    ident = PaperIdentity(ident="attention", key="attention", title="Attention \t\"quoted\"\u2028\x85",
                          slots=(("method", "1", "We propose\tit\nthen\u2029this"), ("method", "t0a1b", "x")), next_slot=(("method", 2),))
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


def test_a_record_dumped_a_thousand_notes_at_a_time_is_the_json_of_each_note(tmp_path):
    import json

    notes = [(f"g{i}", f"h{i}", i, f"Papers::{i % 3}") for i in range(2_345)]
    idents = [PaperIdentity(ident=f"p{i}", key=f"p{i}", title=f"P {i}", slots=(("method", str(i), "x"),)) for i in range(1_001)]
    record = file_record(key="k", notes=notes, identities=idents)
    dumps = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    decks = sorted({d for *_, d in notes})
    assert record.body == ('{"notes":[' + ",".join(dumps([g, h, m, decks.index(d)]) for g, h, m, d in notes)
                           + '],"papers":[' + ",".join(dumps({"ident": p.ident, "key": p.key, "title": p.title,
                                                              "slots": [list(s) for s in p.slots], "next": {},
                                                              "live": True}) for p in idents) + "]}")
    assert record.notes() == notes and record.identities() == idents
    assert file_record(key="k", notes=[], identities=[]).body == '{"notes":[],"papers":[]}'


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


def _many_notes(tmp_path: Path) -> Path:
    folder = _notes(tmp_path)
    for i in range(25):  # enough files for workers (pipeline.PARALLEL_MIN)
        (folder / f"log-{i:02d}.md").write_text(_paper(f"Sparse Mixture Number {i} Of Experts", 2020 + i % 3,
                                                       f"We propose routing scheme {i}.",
                                                       f"It improves accuracy by {i}.5 points."), encoding="utf-8")
    return folder


@pytest.mark.parametrize("deck_by", ["file", "year"])
def test_decks_written_while_a_cold_build_extracts_are_those_written_at_its_end(tmp_path, monkeypatch, deck_by):
    """write.EarlyDecks: by file, the extraction workers write each file's deck, and the build
    uses those but the one a later file adds to, written again from all its notes; by year (a
    deck holds many files) every deck is written at the end."""
    from notecards.fsutil import TEMP_PREFIX

    folder, config = _many_notes(tmp_path), Config(deck_by=deck_by)
    (folder / "log-00.md").write_text("---\ntitle: a\n---\n" + (folder / "log-00.md").read_text(encoding="utf-8"),
                                      encoding="utf-8")  # deck_by file: a.md's deck, from a later file too
    monkeypatch.setattr(write.time, "time", lambda: 1_800_000_000.0)  # both builds' notes: the same mtimes
    plain = build_decks(config, [folder], tmp_path / "plain")  # in this process: every deck at the end
    used: list[int] = []
    take = write.EarlyDecks.take
    monkeypatch.setattr(write.EarlyDecks, "take", lambda self, digests: used.append(len(r := take(self, digests))) or r)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    early = build_decks(config, [folder], tmp_path / "early")
    assert used == ([len(early.decks) - 1] if deck_by == "file" else [])
    assert [p.name for p in early.decks] == [p.name for p in plain.decks]
    assert [p.read_bytes() for p in early.decks] == [p.read_bytes() for p in plain.decks]
    ledgers = load_ledger(tmp_path / "early"), load_ledger(tmp_path / "plain")
    assert ledgers[0].files == ledgers[1].files
    assert [(d.file, d.digest) for d in ledgers[0].decks.values()] == [(d.file, d.digest) for d in ledgers[1].decks.values()]
    assert not list((tmp_path / "early").glob(TEMP_PREFIX + "*"))


@pytest.mark.parametrize("fails", ["extracting", "saving the state"])
def test_a_cold_build_that_fails_leaves_none_of_the_decks_it_wrote_early(tmp_path, monkeypatch, fails):
    from notecards import cards
    from notecards.fsutil import TEMP_PREFIX

    folder, out = _many_notes(tmp_path), tmp_path / "decks"
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    full = OSError(28, "No space left on device")
    if fails == "extracting":  # in a worker, once earlier files' decks are written
        real = cards.make_cards
        monkeypatch.setattr(cards, "make_cards", lambda doc, config: (
            (_ for _ in ()).throw(OutputError("No space left on device", path=doc.path)) if doc.path.endswith("log-20.md")
            else real(doc, config)))
    else:
        monkeypatch.setattr(write, "save_ledger", lambda *a: (_ for _ in ()).throw(full))
    with pytest.raises(OutputError, match="No space left"):
        build_decks(Config(), [folder], out)
    assert not list(out.glob("*.apkg")) and not list(out.glob(TEMP_PREFIX + "*"))


def test_a_rebuild_with_nothing_changed_loads_no_rules_yet_a_bad_cue_table_stops_it(tmp_path, monkeypatch):
    from dataclasses import replace

    from notecards import pipeline
    from notecards.errors import ConfigError
    from notecards.rules import load_rules

    folder, out = _notes(tmp_path), tmp_path / "decks"
    (tmp_path / "cues.yaml").write_text("", encoding="utf-8")
    config = replace(Config(), cues=tmp_path / "cues.yaml")
    first = build_decks(config, [folder], out)
    loads: list[object] = []
    real = pipeline.rules_for
    monkeypatch.setattr(pipeline, "rules_for", lambda c: loads.append(c) or real(c))
    again = build_decks(config, [folder], out)
    assert loads == [] and again.cards == first.cards
    (tmp_path / "cues.yaml").write_text("weights: [", encoding="utf-8")
    load_rules.cache_clear()  # as in a new process
    with pytest.raises(ConfigError, match="not valid YAML"):
        build_decks(config, [folder], out)


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
    with pytest.raises(OutputError, match="state is damaged: line 2"):
        build_decks(Config(), [folder], out)


# --- what a rebuild reads ----------------------------------------------------------------------


@pytest.fixture
def reads(monkeypatch):
    """The name of every notes file the pipeline reads from disk (to key it or to extract it)."""
    from notecards import pipeline

    calls: list[str] = []
    real = pipeline.read_note

    def counting(ref):
        calls.append(Path(ref.display).name)
        return real(ref)

    monkeypatch.setattr(pipeline, "read_note", counting)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10**6)  # in this process, where the counting is
    return calls


def _shared_folder(tmp_path: Path, files: int = 30) -> Path:
    """Files that share papers: each lists three of twelve papers, with notes of its own."""
    folder = tmp_path / "notes"
    folder.mkdir()
    titles = [f"Sparse Mixture Number {i} Of Experts" for i in range(12)]
    for f in range(files):
        (folder / f"f{f:02d}.md").write_text("".join(
            _paper(titles[(f * 5 + k * 7) % 12], 2020, f"We propose routing scheme {f}.{k}.",
                   f"It improves accuracy by {f}.{k} points.") for k in range(3)), encoding="utf-8")
    return folder


def _age(folder: Path) -> None:
    """Files last saved a minute ago (a file saved just now is always read again: pipeline.RACY_NS)."""
    import os
    import time

    for p in folder.rglob("*.md"):
        os.utime(p, ns=(time.time_ns() - 60 * 10**9,) * 2)


def test_a_rebuild_with_nothing_changed_reads_no_notes_file(tmp_path, reads, extracted):
    folder, out = _shared_folder(tmp_path), tmp_path / "decks"
    _age(folder)
    build_decks(Config(), [folder], out)
    assert len(reads) == 30  # a first build reads each file once
    reads.clear(), extracted.clear()
    build_decks(Config(), [folder], out)
    assert (reads, extracted) == ([], [])


def test_a_file_saved_just_now_is_read_again_to_key_it_once(tmp_path, reads, extracted):
    folder, out = _shared_folder(tmp_path, 3), tmp_path / "decks"
    build_decks(Config(), [folder], out)  # saved just now: their stat can't be trusted yet
    reads.clear()
    build_decks(Config(), [folder], out)
    assert sorted(reads) == ["f00.md", "f01.md", "f02.md"] and extracted == ["f00.md", "f01.md", "f02.md"]
    _age(folder)  # (a new stat: read once more, to see they are unchanged)
    build_decks(Config(), [folder], out)
    reads.clear()
    build_decks(Config(), [folder], out)  # nothing changed, nothing read
    assert reads == [] and extracted == ["f00.md", "f01.md", "f02.md"]


def test_one_changed_file_is_read_and_extracted_alone_among_files_sharing_papers(tmp_path, reads, extracted):
    folder, out = _shared_folder(tmp_path), tmp_path / "decks"
    _age(folder)
    build_decks(Config(), [folder], out)
    _append(folder / "f07.md", "- Ablations show the router matters.\n")
    reads.clear(), extracted.clear()
    report = build_decks(Config(), [folder], out)
    assert (reads, extracted) == (["f07.md"], ["f07.md"])  # files sharing its papers: from the cache
    with collection(tmp_path / "col") as col:
        import_all(col, report.decks)
        rows = notes(col)
    assert len({r.guid for r in rows}) == len(rows) == report.cards


def test_a_file_saved_while_the_build_reads_it_is_keyed_on_what_was_extracted(tmp_path, monkeypatch):
    from notecards import pipeline

    folder, out = _notes(tmp_path), tmp_path / "decks"
    build_decks(Config(), [folder], out)
    old = (folder / "a.md").read_text(encoding="utf-8")
    _append(folder / "a.md", "- First edit: the decoder masks future tokens.\n")
    real = pipeline.read_note

    def saved_meanwhile(ref):  # the user saves a second edit just after the file is read
        src = real(ref)
        if ref.display.endswith("a.md"):
            _append(ref.path, "- Second edit: never kept.\n")
        return src

    monkeypatch.setattr(pipeline, "read_note", saved_meanwhile)
    build_decks(Config(), [folder], out)
    monkeypatch.setattr(pipeline, "read_note", real)
    (folder / "a.md").write_text(old + "- First edit: the decoder masks future tokens.\n", encoding="utf-8")
    build_decks(Config(), [folder], out)  # the second edit undone: the deck holds what the file says
    answers = " ".join(" ".join(f) for f in package_notes(out / "Papers - a.apkg").values())
    assert "decoder masks" in answers and "never kept" not in answers


def test_files_that_are_gone_cost_only_their_report(tmp_path, reads, extracted, monkeypatch):
    from difflib import SequenceMatcher

    from notecards import identity

    folder, out = _shared_folder(tmp_path), tmp_path / "decks"
    build_decks(Config(), [folder], out)
    other = tmp_path / "other"
    other.mkdir()
    topics = ["speech", "vision", "graphs", "robots", "proteins", "weather", "music", "code", "maths", "games"]
    (other / "new.md").write_text("".join(_paper(f"Learning {t.title()} From {n} Examples", 2021, f"We propose {t} {n}.")
                                          for t in topics for n in ("Few", "Many")), encoding="utf-8")
    compared = []

    class Counting(SequenceMatcher):
        def ratio(self):
            compared.append(1)
            return super().ratio()

    monkeypatch.setattr(identity, "SequenceMatcher", Counting)
    reads.clear(), extracted.clear()
    report = build_decks(Config(), [other], out)  # every earlier file is gone from this build
    assert (reads, extracted) == (["new.md"], ["new.md"])
    assert len(report.removed) == 12 and report.files == 1
    assert len(compared) < 20  # 20 new papers, 12 that left: not 240 comparisons
