"""CPU time of each stage of a cold build, in one process, on the benchmark corpus.

    .venv/bin/python benchmarks/stages.py                 # 200 files, best of 3
    .venv/bin/python benchmarks/stages.py --files 500 --runs 5 --corpus /tmp/corpus

A cold build runs with workers off (every stage in this process), its stage functions wrapped in
timers (`time.process_time`); each figure is the best of --runs builds, the whole build's too.
CPU time, not wall-clock: the machine is shared, and another's work does not count against ours.
To compare two versions, run this on each in turns on the same --corpus.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

from notecards import cards, pipeline, workers, write  # noqa: E402
from notecards.config import Config  # noqa: E402

STAGES = (("parse", pipeline, "parse_markdown"), ("find papers", pipeline, "extract_structure"),
          ("classify", pipeline, "classify_paper"), ("cards", cards, "make_cards"),
          ("write", write, "write_decks"))


def _timed(spent: dict[str, float], stage: str, fn):
    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[stage] += time.process_time() - start
    return timed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpus", type=Path, help="a corpus folder to use (made there if missing)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="notecards-stages-"))
    corpus = args.corpus or tmp / "notes"
    if not corpus.exists():
        bench.make_corpus(corpus, args.files, bench._sources())
    workers.cpus = lambda: 1  # one process: every stage's CPU is in this one
    best: dict[str, float] = defaultdict(lambda: float("inf"))
    own = {stage: getattr(module, name) for stage, module, name in STAGES}
    for _ in range(args.runs):
        spent: dict[str, float] = defaultdict(float)
        for stage, module, name in STAGES:
            setattr(module, name, _timed(spent, stage, own[stage]))
        try:
            shutil.rmtree(tmp / "decks", ignore_errors=True)
            start = time.process_time()
            pipeline.build_decks(Config(), [corpus], tmp / "decks")
            spent["whole build"] = time.process_time() - start
        finally:
            for stage, module, name in STAGES:
                setattr(module, name, own[stage])
        for stage, value in spent.items():
            best[stage] = min(best[stage], value)
    shutil.rmtree(tmp, ignore_errors=True)
    for stage in [s for s, _, _ in STAGES] + ["whole build"]:
        print(f"{stage:<12} {best[stage]:6.2f} s")
    rest = best["whole build"] - sum(best[s] for s, _, _ in STAGES)
    print(f"{'(the rest)':<12} {rest:6.2f} s   (reading, keys, hashes, ledger, cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
