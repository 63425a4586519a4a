"""Each shortcut around another library (docs/internals.md) with and without it, on the benchmark corpus.

    .venv/bin/python benchmarks/shortcuts.py              # 200 files, best of 3
    .venv/bin/python benchmarks/shortcuts.py --files 500 --runs 5

Every figure is CPU seconds in this one process (workers off), the best of --runs, each shortcut
timed in turns with its plain way so that a machine that slows down slows both. The share is of
a cold build of the same corpus, also in this process, so "2 %" means 2 % of the work a build does.
The plain ways are those the tests in tests/test_fast_paths.py and tests/test_internals.py check
the shortcuts against.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

from notecards import workers  # noqa: E402


def _cpu(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def _pair(name: str, ours, plain, runs: int, build: float) -> None:
    """Time the shortcut and its plain way in turns; print both and what the shortcut saves."""
    a = b = float("inf")
    for _ in range(runs):
        a, b = min(a, _cpu(ours, 1)), min(b, _cpu(plain, 1))
    print(f"| {name:<44} | {a:7.2f} s | {b:7.2f} s | {(b - a) / build:7.1%} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="notecards-shortcuts-"))
    try:
        return _measure(tmp, args.files, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(tmp: Path, files: int, runs: int) -> int:
    import jieba

    from notecards import segment, write
    from notecards.cards import make_cards
    from notecards.config import Config
    from notecards.pipeline import build_decks, extract_document, rules_for
    from notecards.read import find_notes, read_note

    corpus = tmp / "notes"
    bench.make_corpus(corpus, files, bench._sources())
    workers.cpus = lambda: 1  # one process: CPU time is the whole build's
    config = Config()

    def cold_build() -> None:
        shutil.rmtree(tmp / "decks", ignore_errors=True)
        build_decks(config, [corpus], tmp / "decks")

    build = _cpu(cold_build, runs)
    print(f"{files} files; a cold build in one process: {build:.2f} s CPU (gc off, as builds run)\n")
    print(f"| {'shortcut':<44} | {'with':>9} | {'without':>9} | {'saves':>7} |")
    print(f"| {'-' * 44} | {'-' * 9} | {'-' * 9} | {'-' * 7} |")

    # no cyclic garbage collection during a build: the whole build, with the collector on
    @contextlib.contextmanager
    def collector_on():
        was = gc.isenabled()
        gc.enable()
        try:
            yield
        finally:
            if not was:
                gc.disable()

    own = workers.collector_off
    def build_with_gc() -> None:
        workers.collector_off = collector_on
        try:
            cold_build()
        finally:
            workers.collector_off = own
    _pair("gc off during a build (workers.collector_off)", cold_build, build_with_gc, runs, build)

    gc.disable()
    refs, _ = find_notes([corpus])
    sources = [read_note(r) for r in refs]
    rules = rules_for(config)
    docs = [extract_document(s, rules) for s in sources]

    from notecards.classify import classify_paper
    papers = [p for d in docs for p in d.papers]

    # jieba's no-HMM cut folded into one loop (segment._words), against jieba.lcut on the same runs
    runs_seen: list[str] = []
    words = segment._words
    segment._words = lambda run, freq, log_total: runs_seen.append(run) or words(run, freq, log_total)
    try:
        for p in papers:
            classify_paper(p, rules)
    finally:
        segment._words = words
    freq, log_total = segment._dictionary(frozenset())
    jieba.setLogLevel(60)
    jieba.initialize()
    _pair(f"jieba cut folded ({len(runs_seen)} runs, segment._words)",
          lambda: [words(r, freq, log_total) for r in runs_seen],
          lambda: [jieba.lcut(r, HMM=False) for r in runs_seen], runs, build)

    # jieba's dictionary from the copy in the user's cache, against jieba's own file (once per worker)
    def jieba_own() -> None:
        jieba.Tokenizer().initialize()
    _pair("jieba dictionary copy, per process (x3)", lambda: [segment._jieba_frequencies() for _ in range(3)],
          lambda: [jieba_own() for _ in range(3)], runs, build)

    # records pickled as constructor arguments (model._Record.__reduce__), against dataclasses' own
    from notecards.model import _Record
    batches = [make_cards(d, config) for d in docs]
    payload = (docs, batches)
    reduce = _Record.__reduce__

    def round_trip() -> None:
        pickle.loads(pickle.dumps(payload, pickle.HIGHEST_PROTOCOL))

    def round_trip_plain() -> None:
        del _Record.__reduce__
        try:
            round_trip()
        finally:
            _Record.__reduce__ = reduce
    _pair("records pickle as arguments (_Record.__reduce__)", round_trip, round_trip_plain, runs, build)

    # decks written around genanki (write._write_deck), against genanki's Model/Deck/Note/Package
    notes = [(list(write.note_fields(c)), tuple(c.tags), f"g{i}", (), 1_700_000_000)
             for i, c in enumerate(c for b in batches for c in b.cards)]
    by_deck: dict[str, list] = {}
    for c, n in zip((c for b in batches for c in b.cards), notes):
        by_deck.setdefault(c.deck, []).append(n)

    def ours() -> None:
        for k, (name, rows) in enumerate(by_deck.items()):
            write._write_deck(tmp / f"o{k}.apkg", name, rows, 1_600_000_000)

    def theirs() -> None:
        import genanki
        for k, (name, rows) in enumerate(by_deck.items()):
            deck = genanki.Deck(write.deck_id(name), name)
            model = write._new_model()
            for fields, tags, guid, _, _ in rows:
                deck.add_note(genanki.Note(model=model, fields=list(fields), tags=list(tags), guid=guid))
            genanki.Package(deck).write_to_file(str(tmp / f"t{k}.apkg"), timestamp=1_600_000_000)
    _pair(f"decks around genanki ({len(by_deck)} decks, write.py)", ours, theirs, runs, build)
    return 0


if __name__ == "__main__":
    sys.exit(main())
