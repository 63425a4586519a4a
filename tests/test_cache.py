"""The extraction cache: what is reused, what is extracted again, and that a bad cache never breaks a build."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from notecards import pipeline, workers
from notecards.cache import CACHE_DIR, Cache, fingerprint
from notecards.config import Config
from notecards.ledger import STATE_FILE
from notecards.pipeline import build_decks, extract_paths

FORMATS = Path(__file__).parent / "fixtures" / "formats"
NOTES = ("awesome_list_en.md", "gloss_fields_zh.md", "mixed_bilingual.md")


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in NOTES:
        shutil.copy(FORMATS / name, folder / name)
    return folder


def _build(notes: Path, out: Path, config: Config | None = None):
    return build_decks(config or Config(), [notes], out)


def test_first_build_extracts_every_file(notes, tmp_path, extracted):
    _build(notes, tmp_path / "decks")
    assert sorted(extracted) == sorted(NOTES)


def test_unchanged_files_are_not_extracted_again(notes, tmp_path, extracted):
    _build(notes, tmp_path / "decks")
    extracted.clear()
    _build(notes, tmp_path / "decks")
    assert extracted == []


def test_changed_file_is_extracted_again_and_only_it(notes, tmp_path, extracted):
    _build(notes, tmp_path / "decks")
    extracted.clear()
    with (notes / "gloss_fields_zh.md").open("a", encoding="utf-8") as f:
        f.write("  - 实验效果：在新的数据集上也有效\n")
    _build(notes, tmp_path / "decks")
    assert extracted == ["gloss_fields_zh.md"]


def test_one_changed_file_keeps_the_other_files_cards(notes, tmp_path):
    first = _build(notes, tmp_path / "decks")
    with (notes / "mixed_bilingual.md").open("a", encoding="utf-8") as f:
        f.write("\n## Extra\n\n- A note added later about the method.\n")
    second = _build(notes, tmp_path / "decks")
    assert len(second.decks) == len(first.decks)
    assert second.cards >= first.cards


def test_edited_user_cue_file_extracts_everything_again(notes, tmp_path, extracted):
    cues = tmp_path / "my-cues.yaml"
    cues.write_text("cues:\n  - {label: opinion, lang: en, words: [i think]}\n", encoding="utf-8")
    config = Config(cues=cues)
    _build(notes, tmp_path / "decks", config)
    extracted.clear()
    cues.write_text("cues:\n  - {label: opinion, lang: en, words: [i think, i guess]}\n", encoding="utf-8")
    _build(notes, tmp_path / "decks", config)
    assert sorted(extracted) == sorted(NOTES)


def test_changed_venues_in_config_extract_everything_again(notes, tmp_path, extracted):
    _build(notes, tmp_path / "decks", Config())
    extracted.clear()
    _build(notes, tmp_path / "decks", Config(venues={"NIPS": "NeurIPS"}))
    assert sorted(extracted) == sorted(NOTES)


def test_changed_card_setting_makes_the_cards_again(notes, tmp_path):
    a = _build(notes, tmp_path / "decks", Config(reverse_cards=True))
    b = _build(notes, tmp_path / "decks", Config(reverse_cards=False))
    assert b.cards < a.cards


def test_fingerprint_follows_the_cue_file_content_and_venues(tmp_path):
    cues = tmp_path / "cues.yaml"
    cues.write_text("cues: []\n", encoding="utf-8")
    before = fingerprint(Config(cues=cues))
    cues.write_text("cues: []\npriors: []\n", encoding="utf-8")
    assert fingerprint(Config(cues=cues)) != before
    assert fingerprint(Config(venues={"a": "A"})) != fingerprint(Config())


def test_corrupt_cache_files_are_ignored_and_rewritten(notes, tmp_path, extracted):
    first = _build(notes, tmp_path / "decks")
    cache = tmp_path / "decks" / CACHE_DIR
    for entry in cache.iterdir():
        entry.write_bytes(b"\x80\x05not a pickle")
    (tmp_path / "decks" / STATE_FILE).unlink()  # now every file is read again, through the cache
    extracted.clear()
    second = _build(notes, tmp_path / "decks")
    assert sorted(extracted) == sorted(NOTES)
    assert second.cards == first.cards and not second.problems
    extracted.clear()
    _build(notes, tmp_path / "decks")
    assert extracted == []  # the rewritten entries are good again


def test_truncated_cache_file_is_ignored(notes, tmp_path, extracted):
    _build(notes, tmp_path / "decks")
    for entry in (tmp_path / "decks" / CACHE_DIR).iterdir():
        entry.write_bytes(entry.read_bytes()[:20])
    (tmp_path / "decks" / STATE_FILE).unlink()
    extracted.clear()
    report = _build(notes, tmp_path / "decks")
    assert sorted(extracted) == sorted(NOTES) and not report.problems


def test_cache_false_keeps_no_cache_and_extracts_every_time(notes, tmp_path, extracted):
    config = Config(cache=False)
    _build(notes, tmp_path / "decks", config)
    _build(notes, tmp_path / "decks", config)
    assert sorted(extracted) == sorted(NOTES * 2)
    assert not (tmp_path / "decks" / CACHE_DIR).exists()


def test_nothing_changed_leaves_the_decks_alone_and_reports_the_same(notes, tmp_path, extracted):
    first = _build(notes, tmp_path / "decks")
    stamps = {p: p.stat().st_mtime_ns for p in first.decks}
    second = _build(notes, tmp_path / "decks")
    assert {p: p.stat().st_mtime_ns for p in second.decks} == stamps
    assert (second.cards, second.decks, second.warnings) == (first.cards, first.decks, first.warnings)
    assert (second.files, second.papers) == (first.files, first.papers) == (len(NOTES), first.papers)
    assert first.papers > 0


def test_a_deleted_deck_is_written_again(notes, tmp_path):
    first = _build(notes, tmp_path / "decks")
    first.decks[0].unlink()
    second = _build(notes, tmp_path / "decks")
    assert first.decks[0].exists() and second.cards == first.cards


def test_a_deck_a_power_cut_emptied_is_written_again(notes, tmp_path):
    """Decks are not fsynced one by one (write.py): the ledger's size and mtime must catch a lost one."""
    first = _build(notes, tmp_path / "decks")
    deck = first.decks[0]
    good = deck.read_bytes()
    deck.write_bytes(b"")  # what a file renamed before its data reached the disk can look like
    second = _build(notes, tmp_path / "decks")
    assert deck.read_bytes() == good and second.cards == first.cards


def test_an_image_added_after_a_warning_makes_the_cards_again(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n.md").write_text("# Notes\n\n## Deep Residual Learning for Image Recognition (CVPR 2016)\n\n"
                                "- We propose residual learning ![](fig.png) to ease training.\n"
                                "- It reaches 3.57% error on ImageNet.\n", encoding="utf-8")
    first = _build(notes, tmp_path / "decks")
    assert any("fig.png" in w for w in first.warnings)
    (notes / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    second = _build(notes, tmp_path / "decks")
    assert not any("fig.png" in w for w in second.warnings)


def test_a_file_with_a_note_warning_comes_from_the_cache(tmp_path, extracted, monkeypatch):
    """Only a missing image remakes a file's cards: a paper with no notes warns on every build, and
    the file sharing a deck with a changed one is still served from the cache."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\n## Sparse Mixtures of Experts at Scale (ICLR 2023)\n\n- Routes each token to one expert.\n\n"
                                "## Bare Listing of Another Paper Title (ICLR 2023)\n", encoding="utf-8")
    (notes / "b.md").write_text("# B\n\n## Dense Retrieval for Open Questions (ICLR 2023)\n\n- Trains a dual encoder.\n",
                                encoding="utf-8")
    config = Config(deck_by="year")
    first = _build(notes, tmp_path / "decks", config)
    assert any("no notes to ask about" in w for w in first.warnings)
    extracted.clear()
    with (notes / "b.md").open("a", encoding="utf-8") as f:
        f.write("- Beats BM25 on retrieval.\n")
    second = _build(notes, tmp_path / "decks", config)
    assert extracted == ["b.md"]  # a.md shares the 2023 deck: read, and its cards come from the cache
    assert second.warnings == first.warnings
    from notecards import cache as cache_module
    looked_up: list[str] = []
    real = cache_module.Cache.get
    def counting(self, path, *args):
        looked_up.append(Path(path).name)
        return real(self, path, *args)
    monkeypatch.setattr(cache_module.Cache, "get", counting)
    third = _build(notes, tmp_path / "decks", config)  # nothing changed: nothing read, warnings stand
    assert looked_up == [] and third.warnings == first.warnings


@pytest.mark.slow  # starts worker processes
def test_parallel_extraction_gives_the_serial_result_in_order(notes, tmp_path, monkeypatch):
    for i in range(20):  # two workers: ten files or more each
        shutil.copy(FORMATS / "reading_log.md", notes / f"log-{i:02d}.md")
    (notes / "broken.md").write_bytes(b"%PDF-1.4 not notes")
    serial = extract_paths([notes], Config(cache=False))
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 2)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    parallel = extract_paths([notes], Config(cache=False))
    assert parallel.documents == serial.documents
    assert [str(p) for p in parallel.problems] == [str(p) for p in serial.problems]
    assert "broken.md" in str(parallel.problems[0])


@pytest.mark.slow  # starts worker processes
def test_parallel_build_fills_the_cache(notes, tmp_path, monkeypatch, extracted):
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 2)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    first = _build(notes, tmp_path / "decks")
    cache = Cache(tmp_path / "decks", Config())
    assert len(list(cache.folder.glob("*.pickle"))) >= len(NOTES)
    (notes / "mixed_bilingual.md").write_text((notes / "mixed_bilingual.md").read_text(encoding="utf-8") + "\n",
                                              encoding="utf-8")
    extracted.clear()
    second = _build(notes, tmp_path / "decks")
    assert extracted == ["mixed_bilingual.md"] and second.cards == first.cards


def test_a_build_leaves_the_garbage_collector_as_it_found_it(notes, tmp_path, monkeypatch):
    import gc

    from notecards import write

    seen = []
    real = write.write_decks

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(write, "write_decks", spy)  # build_decks imports it when it runs
    assert gc.isenabled()
    _build(notes, tmp_path / "decks")
    assert seen == [False] and gc.isenabled()  # off while the build runs (workers.collector_off)
    monkeypatch.setattr(write, "write_decks", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        _build(notes, tmp_path / "decks2")
    assert gc.isenabled()
