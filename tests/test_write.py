"""write.py: the .apkg files, their notes table, mtimes, atomic writes and the state file."""
from __future__ import annotations

import time

import json
import sqlite3
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from notecards.cards import make_cards
from notecards.identity import give_guids
from notecards.config import Config
from notecards.errors import OutputError
from notecards.model import Bullet, Document, Paper
from notecards.pipeline import build_decks
from notecards.fsutil import TEMP_PREFIX
from notecards.ledger import STATE_FILE
from notecards.write import FIELDS, FileCards, MODEL_ID, deck_file_name, deck_id, next_mtime, write_decks

CONFIG = Config()


def write_cards(cards, out):
    """write_decks of cards from one notes file."""
    return write_decks({"": FileCards(tuple(cards))}, out)


def _write(cards, out, config):
    """write_decks -> (deck files, papers removed)."""
    written = write_cards(cards, out)
    return written.decks, written.removed


def paper(title: str, *bullets: tuple[str, str], year=2017) -> Paper:
    return Paper(title=title, venue="ICLR", year=year, line=1,
                 bullets=tuple(Bullet(t, 2 + i, label) for i, (label, t) in enumerate(bullets)))


def cards_of(*papers: Paper, title="notes", path="notes/a.md", folder="notes"):
    return list(give_guids(make_cards(Document(path=path, title=title, papers=papers, lang="en", folder=folder), CONFIG).cards))


P1 = paper("Paper One", ("problem", "why one"), ("method", "how one"), ("method", "and also this"))
P2 = paper("Paper Two", ("method", "how two"), year=2020)


def read_notes(apkg: Path) -> list[tuple]:
    """(guid, mid, mod, tags, fields) of every note in a package."""
    with zipfile.ZipFile(apkg) as z, tempfile.TemporaryDirectory() as tmp:
        db = Path(z.extract("collection.anki2", tmp))
        conn = sqlite3.connect(db)
        try:
            rows = conn.execute("select guid, mid, mod, tags, flds from notes order by id").fetchall()
        finally:
            conn.close()
    return [(g, mid, mod, tags.split(), flds.split("\x1f")) for g, mid, mod, tags, flds in rows]


def test_one_apkg_per_deck_with_all_notes(tmp_path: Path):
    cards = cards_of(P1, title="First") + cards_of(P2, title="Second")
    written, removed = _write(cards, tmp_path, CONFIG)
    assert [p.name for p in written] == ["Papers - First.apkg", "Papers - Second.apkg"]
    assert removed == []
    notes = read_notes(written[0])
    assert [n[0] for n in notes] == [c.guid for c in cards if c.deck == "Papers::First"]
    assert {n[1] for n in notes} == {MODEL_ID}
    assert all(len(n[4]) == len(FIELDS) and all(f.strip() for f in n[4]) for n in notes)
    assert "year::2017" in notes[0][3]


def test_deck_file_names_are_safe_everywhere():
    assert deck_file_name("Papers::AI对齐论文阅读杂记") == "Papers - AI对齐论文阅读杂记.apkg"
    assert deck_file_name('Papers::a/b\\c:d*e?"f<g>h|i') == "Papers - a_b_c_d_e_f_g_h_i.apkg"
    assert deck_file_name("CON") == "_CON.apkg"
    assert len(deck_file_name("Papers::" + "长" * 300).encode()) <= 160


def test_decks_clashing_on_a_case_insensitive_disk_get_distinct_files(tmp_path: Path):
    cards = cards_of(P1, title="RL") + cards_of(P2, title="R/L")
    written, _ = _write(cards, tmp_path, CONFIG)
    assert len({p.name.casefold() for p in written}) == 2


def test_deck_ids_are_stable_and_differ():
    assert deck_id("Papers::A") == deck_id("Papers::A") == deck_id("papers::a")
    assert deck_id("Papers::A") != deck_id("Papers::B")


def test_unchanged_rebuild_is_byte_identical(tmp_path: Path):
    [first], _ = _write(cards_of(P1), tmp_path, CONFIG)
    before = first.read_bytes()
    [again], _ = _write(cards_of(P1), tmp_path, CONFIG)
    assert again.read_bytes() == before


def test_changed_note_gets_a_newer_mtime_even_in_the_same_second(tmp_path: Path):
    [apkg], _ = _write(cards_of(P1), tmp_path, CONFIG)
    before = {n[0]: n[2] for n in read_notes(apkg)}
    edited = replace(P1, bullets=(P1.bullets[0], replace(P1.bullets[1], text="how one, reworded"), P1.bullets[2]))
    write_cards(cards_of(edited), tmp_path)
    after = {n[0]: (n[2], n[4][1]) for n in read_notes(apkg)}
    changed = [g for g in after if "reworded" in after[g][1]]
    assert len(changed) == 1 and after[changed[0]][0] > before[changed[0]]
    # the reverse card's cue is the problem, untouched: its mtime stays
    assert sum(after[g][0] == before[g] for g in after) >= 1


def test_next_mtime_rules():
    assert next_mtime(None, "h", 100) == 100
    assert next_mtime(("h", 90), "h", 100) == 90
    assert next_mtime(("h", 100), "new", 100) == 101
    assert next_mtime(("h", 50), "new", 100) == 100


def test_no_temp_files_are_left_behind(tmp_path: Path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where genanki's sqlite would go
    out = tmp_path / "decks"
    write_cards(cards_of(P1), out)
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == sorted([STATE_FILE, "Papers - notes.apkg"])


def test_stale_temp_files_are_cleaned_next_run(tmp_path: Path):
    (tmp_path / f"{TEMP_PREFIX}crashed.apkg").write_bytes(b"half")
    write_cards(cards_of(P1), tmp_path)
    assert not list(tmp_path.glob(TEMP_PREFIX + "*"))


def test_deck_no_longer_built_is_removed_and_paper_reported(tmp_path: Path):
    write_cards(cards_of(P1, P2, title="Old name"), tmp_path)
    written, removed = _write(cards_of(P1, title="New name"), tmp_path, CONFIG)
    assert sorted(p.name for p in tmp_path.glob("*.apkg")) == ["Papers - New name.apkg"]
    assert removed == ["Paper Two"]


def test_unwritable_output_raises_output_error_and_deletes_nothing(tmp_path: Path):
    blocker = tmp_path / "decks"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as err:
        write_cards(cards_of(P1), blocker / "sub")
    assert str(blocker / "sub") in str(err.value)
    assert blocker.read_text() == "not a folder"


def test_unreadable_state_is_an_error_not_a_fresh_start(tmp_path: Path):
    (tmp_path / STATE_FILE).write_text("{broken")
    with pytest.raises(OutputError, match="state"):
        write_cards(cards_of(P1), tmp_path)


def test_local_image_is_packed_as_media(tmp_path: Path):
    notes = tmp_path / "notes"
    (notes / "img").mkdir(parents=True)
    (notes / "img" / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n fake")
    (tmp_path / "outside.png").write_bytes(b"secret")
    (notes / "a.md").write_text("## 2023\n\n1. [ICLR] Paper With Figure\n"
                                "   1. The method uses a new encoder, see ![fig](img/fig.png)\n"
                                "   2. Results improve by 2 points ![out](../outside.png)\n", encoding="utf-8")
    report = build_decks(CONFIG, [notes], tmp_path / "decks")
    [apkg] = report.decks
    assert any("outside.png" in w and "left out" in w for w in report.warnings)
    with zipfile.ZipFile(apkg) as z:
        media = json.loads(z.read("media"))
        [name] = media.values()
        assert z.read(next(iter(media))) == (notes / "img" / "fig.png").read_bytes()
    assert name.startswith("nc-") and any(name in f for n in read_notes(apkg) for f in n[4])


def test_same_paper_in_two_notes_files_is_written_once(tmp_path: Path):
    written, _ = _write(cards_of(P1, title="A", path="notes/a.md") + cards_of(P1, title="B", path="notes/b.md"),
                             tmp_path, CONFIG)
    assert [p.name for p in written] == ["Papers - A.apkg"]


def test_only_changed_decks_are_rewritten(tmp_path: Path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("1. [ICLR] First Paper About Things\n   1. 提出了方法A\n", encoding="utf-8")
    (notes / "b.md").write_text("1. [ICML] Second Paper About Things\n   1. 提出了方法B\n", encoding="utf-8")
    out = tmp_path / "decks"
    from notecards.pipeline import build_decks

    cfg = Config(notes=(notes,), out=out, cache=False)
    build_decks(cfg)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.apkg")}
    time.sleep(0.01)
    (notes / "b.md").write_text("1. [ICML] Second Paper About Things\n   1. 提出了方法B，改了\n", encoding="utf-8")
    build_decks(cfg)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.apkg")}
    assert before["Papers - a.apkg"] == after["Papers - a.apkg"]
    assert before["Papers - b.apkg"] != after["Papers - b.apkg"]


# The output folder: what a user (or a second build) can do to it


def one_note(tmp_path: Path, name: str = "a") -> Config:
    notes = tmp_path / "notes"
    notes.mkdir(exist_ok=True)
    (notes / f"{name}.md").write_text(f"1. [ICLR] A Paper About {name}\n   1. We propose method A\n", encoding="utf-8")
    return Config(notes=(notes,), out=tmp_path / "decks")


def test_a_folder_where_a_deck_goes_is_named_in_the_error(tmp_path: Path):
    cfg = one_note(tmp_path)
    (cfg.out / "Papers - a.apkg").mkdir(parents=True)
    for _ in range(2):  # and the same on the next build
        with pytest.raises(OutputError) as err:
            build_decks(cfg)
        assert str(err.value) == f"{cfg.out / 'Papers - a.apkg'}: error: cannot write: a folder is in the way"
    assert not list(cfg.out.glob(TEMP_PREFIX + "*"))


def _disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device", str(args[0]))


def test_a_first_build_that_fails_on_the_state_file_leaves_no_deck(tmp_path: Path, monkeypatch):
    import notecards.write as write

    cfg = one_note(tmp_path)
    monkeypatch.setattr(write, "save_ledger", _disk_full)
    with pytest.raises(OutputError, match="No space left on device"):
        build_decks(cfg)
    assert not list(cfg.out.glob("*.apkg"))


def test_a_first_build_that_fails_on_a_deck_leaves_no_deck(tmp_path: Path, monkeypatch):
    import notecards.write as write

    cfg = one_note(tmp_path)
    one_note(tmp_path, "b")
    real = write.atomic_write
    monkeypatch.setattr(write, "atomic_write", lambda path, *a, **k: (_disk_full(path) if path.name.endswith("b.apkg")
                                                                     else real(path, *a, **k)))
    with pytest.raises(OutputError, match="Papers - b.apkg: error: cannot write: No space left"):
        build_decks(cfg)
    assert not list(cfg.out.glob("*.apkg")) and not (cfg.out / STATE_FILE).exists()


def test_a_failed_rebuild_keeps_the_decks_of_the_last_build(tmp_path: Path, monkeypatch):
    import notecards.write as write

    cfg = one_note(tmp_path)
    build_decks(cfg)
    one_note(tmp_path, "b")
    monkeypatch.setattr(write, "save_ledger", _disk_full)
    with pytest.raises(OutputError):
        build_decks(cfg)
    assert [p.name for p in cfg.out.glob("*.apkg")] == ["Papers - a.apkg"]  # the new deck went with the failure


def test_a_second_build_into_the_same_folder_says_another_build_is_running(tmp_path: Path):
    from notecards.fsutil import output_lock

    cfg = one_note(tmp_path)
    with output_lock(cfg.out):  # a build in progress
        with pytest.raises(OutputError, match="another notecards build is writing to this folder"):
            build_decks(cfg)
        assert not list(cfg.out.glob("*.apkg"))
    assert build_decks(cfg).decks == [cfg.out / "Papers - a.apkg"]  # free again once it has finished


def _big_deck(n: int) -> list:
    p = paper("A Paper With Many Notes", *(("method", f"step {i}: " + "a long explanation " * 60) for i in range(n)))
    return cards_of(p)


def test_a_big_deck_is_put_together_on_disk_with_the_same_notes(tmp_path: Path, monkeypatch):
    import notecards.write as write

    cards = _big_deck(50)
    small = write_cards(cards, tmp_path / "memory").decks
    monkeypatch.setattr(write, "DISK_NOTES", 10)
    big = write_cards(cards, tmp_path / "disk").decks
    def shown(apkg):  # everything but the mtime, which is the clock's second at each write
        return [(g, mid, tags, fields) for g, mid, _, tags, fields in read_notes(apkg)]

    assert shown(small[0]) == shown(big[0]) and len(shown(big[0])) == len(cards)
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == [STATE_FILE, "Papers - notes.apkg"]


@pytest.mark.slow  # a big build
def test_writing_a_big_deck_does_not_hold_its_collection_in_memory(tmp_path: Path):
    import tracemalloc

    import notecards.write as write

    cards = _big_deck(write.DISK_NOTES + 500)
    rows = [(write.note_fields(c), c.tags, c.guid, c.media, 1) for c in cards]
    tracemalloc.start()
    try:
        write._write_deck(tmp_path / "big.apkg", "Big", rows, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    with zipfile.ZipFile(tmp_path / "big.apkg") as z:
        collection = z.getinfo("collection.anki2").file_size
    assert collection > 8_000_000 and peak < collection / 4  # in memory it was held twice


def test_a_note_back_under_a_guid_the_ledger_let_go_is_newer_than_its_old_copy(tmp_path: Path, monkeypatch):
    """A bullet merged into another and split out again keeps its guid; the ledger no longer
    held that note, and within one second it got the very mtime its old copy has in a collection,
    which Anki then keeps."""
    import notecards.write as write

    monkeypatch.setattr(write.time, "time", lambda: 1_700_000_000.0)
    two = paper("Paper One", ("problem", "why one"), ("method", "how one, with a long enough sentence"))
    [apkg], _ = _write(cards_of(two), tmp_path, CONFIG)
    first = {n[0]: n for n in read_notes(apkg)}
    merged = paper("Paper One", ("problem", "why one; how one, with a long enough sentence"))
    write_cards(cards_of(merged), tmp_path)
    moved = replace(two, bullets=(two.bullets[0], replace(two.bullets[1], line=7)))  # back, on another line
    write_cards(cards_of(moved), tmp_path)
    back = {n[0]: n for n in read_notes(apkg)}
    again = [g for g in back if g in first and back[g][4] != first[g][4]]
    assert again, "the split-out bullet should carry its old guid"
    assert all(back[g][2] > first[g][2] for g in again)
    from notecards.ledger import load_ledger

    assert load_ledger(tmp_path).issued == max(n[2] for n in back.values())
