"""One big notes file is built a paper at a time in a worker of its own (pipeline._stream_one): the
same decks, ledger, cache entries, warnings and rebuilds as when it is built whole."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from notecards import parse, pipeline
from notecards.cache import CACHE_DIR, read_entry
from notecards.config import Config
from notecards.ledger import load_ledger
from notecards.pipeline import build_decks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_one_file  # noqa: E402  (the benchmark's corpus: the fixtures' papers, retitled, repeated)
from bench import make_corpus  # noqa: E402

pytestmark = pytest.mark.xdist_group("big_file")  # one pytest-xdist worker makes the corpus (big_text) once

NOW = 1_800_000_000.0
"""Both builds stamp their notes with this time, so their decks can be compared byte for byte."""


@pytest.fixture(scope="module")
def big_text(tmp_path_factory) -> str:
    """About 120 papers in one file: Chinese and English, the fixtures' shapes, reverse prompts two
    papers share, a paper listed twice (at the start and the end), a control character to warn of."""
    tmp = tmp_path_factory.mktemp("corpus")
    make_corpus(tmp / "many", 12, bench_one_file.one_file_sources())
    bench_one_file.join_corpus(tmp / "many", tmp / "one.md")
    text = (tmp / "one.md").read_text(encoding="utf-8")
    first = text.split("\n\n# ", 2)[1]  # the first file's papers, listed again at the end
    return text + "\n\n# " + first + "\n- 最后一条笔记\x1f带一个控制字符\n"


def _build(notes: Path, out: Path, monkeypatch, streamed: bool, cache: bool = True, extracts: bool = True,
           own_worker: bool = True):
    """A build with the big file streamed (in a worker of its own, or `own_worker` False: in the
    pool's) or extracted whole; `extracts`: the big file is to be extracted (not carried over)."""
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 10_000 if streamed else 10**12)
    monkeypatch.setattr(parse, "CHUNK_LINES", 300)  # parsed in pieces either way, as a big file is
    monkeypatch.setattr(time, "time", lambda: NOW)
    seen: dict[str, int] = {"_in_own_worker": 0, "_read_back": 0}
    for name in seen:
        monkeypatch.setattr(pipeline, name, _counted(getattr(pipeline, name), name, seen))
    report = build_decks(Config(cache=cache), [notes], out)
    assert seen == {"_in_own_worker": int(streamed and extracts and own_worker), "_read_back": int(streamed and extracts)}
    return report


def _counted(real, name: str, seen: dict[str, int]):
    def counting(*args):
        seen[name] += 1
        return real(*args)
    return counting


def _same_builds(a: Path, b: Path, ra, rb) -> None:
    assert (ra.files, ra.papers, ra.cards, ra.removed) == (rb.files, rb.papers, rb.cards, rb.removed)
    assert ra.warnings == rb.warnings and [str(p) for p in ra.problems] == [str(p) for p in rb.problems]
    assert [d.name for d in ra.decks] == [d.name for d in rb.decks]
    for deck in ra.decks:
        assert deck.read_bytes() == (b / deck.name).read_bytes(), deck.name
    la, lb = load_ledger(a), load_ledger(b)  # the same but for the decks' own mtimes on disk
    assert (la.files, la.model, la.gone) == (lb.files, lb.model, lb.gone)
    assert {d: replace(r, mtime_ns=0) for d, r in la.decks.items()} == {d: replace(r, mtime_ns=0) for d, r in lb.decks.items()}


def _notes(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    _save(folder / "big.md", text)
    return folder


def _save(path: Path, text: str) -> None:
    """Saved a minute ago: a file saved just now is never trusted by its stat (pipeline.RACY_NS),
    and the two builds compared must not see it differently."""
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(time.time_ns() - 60 * 10**9,) * 2)


@pytest.mark.slow  # starts a worker process and builds 1,000 cards twice
def test_a_big_file_built_a_paper_at_a_time_gives_the_decks_of_a_whole_build(big_text, tmp_path, monkeypatch):
    notes = _notes(tmp_path, big_text)
    whole = _build(notes, tmp_path / "whole", monkeypatch, streamed=False)
    streamed = _build(notes, tmp_path / "streamed", monkeypatch, streamed=True)
    assert whole.papers > 100 and whole.cards > 1000
    assert any("U+001F" in w for w in whole.warnings)  # path:line warnings come through
    _same_builds(tmp_path / "whole", tmp_path / "streamed", whole, streamed)
    [whole_entry], [streamed_entry] = ([read_entry(p) for p in (tmp_path / out / CACHE_DIR).glob("*.pickle")]
                                       for out in ("whole", "streamed"))
    assert whole_entry is not None and whole_entry == streamed_entry


@pytest.mark.slow  # starts a worker process and builds 1,000 cards twice
def test_a_streamed_build_leaves_out_reverse_cards_two_papers_share_as_a_whole_one_does(big_text, tmp_path,
                                                                                       monkeypatch):
    from notecards.cards import make_cards
    from notecards.model import SourceFile

    doc = pipeline.extract_document(SourceFile("big.md", big_text, "utf-8"), pipeline.rules_for(Config()))
    made = [c for p in doc.papers for c in make_cards(replace(doc, papers=(p,)), Config()).cards]
    batch = make_cards(doc, Config())
    assert sum(c.kind == "reverse" for c in made) > sum(c.kind == "reverse" for c in batch.cards)  # some left out
    notes = _notes(tmp_path, big_text)
    streamed = _build(notes, tmp_path / "streamed", monkeypatch, streamed=True)
    assert streamed.cards == len(batch.cards)


@pytest.mark.slow  # starts a worker process and builds 1,000 cards twice
def test_rebuilds_of_a_streamed_file_match_rebuilds_of_a_whole_one(big_text, tmp_path, monkeypatch):
    notes = _notes(tmp_path, big_text)
    outs = {True: tmp_path / "streamed", False: tmp_path / "whole"}
    for streamed, out in outs.items():
        _build(notes, out, monkeypatch, streamed)
    big = notes / "big.md"
    edits = [big_text.replace("（续2）", "（续二）", 3),  # reworded bullets keep their cards' guids
             big_text + "\n\n# Added later\n\n- **A Paper Added Later** (ICLR 2024)\n  - We propose a new method.\n"]
    for k, text in enumerate([*edits, edits[-1]]):  # the last build: saved again unchanged, carried over
        _save(big, text)
        reports = {streamed: _build(notes, out, monkeypatch, streamed, extracts=k < len(edits))
                   for streamed, out in outs.items()}
        _same_builds(outs[False], outs[True], reports[False], reports[True])


@pytest.mark.slow  # starts a worker process and builds 1,000 cards twice
def test_a_streamed_build_without_the_cache_leaves_no_file_behind(big_text, tmp_path, monkeypatch):
    notes = _notes(tmp_path, big_text)
    whole = _build(notes, tmp_path / "whole", monkeypatch, streamed=False, cache=False)
    streamed = _build(notes, tmp_path / "streamed", monkeypatch, streamed=True, cache=False)
    _same_builds(tmp_path / "whole", tmp_path / "streamed", whole, streamed)
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == \
        sorted(p.name for p in (tmp_path / "whole").iterdir())


@pytest.mark.slow  # starts a worker process and builds 1,000 cards twice
def test_a_big_file_among_many_is_streamed_by_a_pool_worker_with_the_same_decks(big_text, tmp_path, monkeypatch):
    from notecards import workers

    notes = _notes(tmp_path, big_text)
    for i in range(20):  # enough files for the pool: the big one is one of its tasks
        _save(notes / f"small-{i:02d}.md", big_text[:3000] + f"\n- A note of file {i}.\n")
    whole = _build(notes, tmp_path / "whole", monkeypatch, streamed=False)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 2)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    streamed = _build(notes, tmp_path / "streamed", monkeypatch, streamed=True, own_worker=False)
    _same_builds(tmp_path / "whole", tmp_path / "streamed", whole, streamed)


@pytest.mark.slow  # starts a worker process and builds 1,000 cards twice
def test_a_streamed_build_whose_cache_cannot_be_written_still_builds(big_text, tmp_path, monkeypatch):
    notes = _notes(tmp_path, big_text)
    whole = _build(notes, tmp_path / "whole", monkeypatch, streamed=False, cache=False)
    (tmp_path / "streamed").mkdir()
    (tmp_path / "streamed" / CACHE_DIR).write_text("a file where the cache folder goes", encoding="utf-8")
    streamed = _build(notes, tmp_path / "streamed", monkeypatch, streamed=True)
    _same_builds(tmp_path / "whole", tmp_path / "streamed", whole, streamed)


def test_a_ledger_line_written_in_pieces_is_the_line_with_its_checksum():
    from notecards import ledger

    body = '{"notes":[' + ",".join(f'["g{i}","论文{i}",{i},0]' for i in range(150_000)) + '],"papers":[]}'
    assert len(body) > 2 * ledger._PIECE_CHARS
    line = b"".join(ledger._summed('{"file":"a.md"}\t', body))
    text = '{"file":"a.md"}\t' + body
    assert line == f"{text}\t{ledger._line_sum(text)}\n".encode()


def test_a_ledger_record_body_is_the_json_of_its_notes_and_papers():
    import json

    from notecards.identity import PaperIdentity
    from notecards.ledger import file_record

    notes = [(f"g{i}", f"h{i}", i, "Papers::" + ("b" if i % 3 else "a\"论文")) for i in range(50)]
    papers = [PaperIdentity(ident=f"p{i}", key=f"k{i}", title=f"Title \\ {i} 论文", slots=(("method", "1", 'a "bullet" 论文'),),
                            next_slot=(("method", 3),), live=True) for i in range(3)]
    record = file_record(notes=notes, identities=papers, key="k")
    index = {"Papers::a\"论文": 0, "Papers::b": 1}
    expected = {"notes": [[g, h, m, index[d]] for g, h, m, d in notes],
                "papers": [{"ident": p.ident, "key": p.key, "title": p.title, "slots": [list(s) for s in p.slots],
                            "next": dict(p.next_slot), "live": p.live} for p in papers]}
    assert record.body == json.dumps(expected, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
