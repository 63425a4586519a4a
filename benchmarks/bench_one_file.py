"""Benchmark: the same papers as one big notes file and as many small ones -> peak memory and time.

    .venv/bin/python benchmarks/bench_one_file.py               # 1,200 files (about 29 MB), 2 runs
    .venv/bin/python benchmarks/bench_one_file.py --files 200   # about 5 MB (a few minutes)
    .venv/bin/python benchmarks/bench_one_file.py --runs 3 --keep

The small files are `bench.make_corpus`'s (from the list-shaped fixtures, see HEADING_SHAPED); the
big file is the same files joined, in path order, by a blank line, so both corpora hold the same
papers and cards. Each build is a cold `notecards build`
(no decks, no state, no cache) in its own process, sampled for PSS summed over the process and
its workers (see bench.Run). The builds are taken in turns, so a machine that slows down slows
both; the table gives each corpus's lowest peak and shortest time over the runs.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (the benchmark next to this one)


HEADING_SHAPED = ("heading_per_paper", "mixed_bilingual")
"""Fixtures whose papers open at headings: a file's opener shape is chosen for the whole file, so
joined with list-shaped files they would be read as other papers. Both corpora leave them out."""


def one_file_sources() -> list[bench._Source]:
    return [s for s in bench._sources() if s.name not in HEADING_SHAPED]


def join_corpus(many: Path, one: Path) -> None:
    """Every notes file under `many`, in path order, as one file `one` (a blank line between files)."""
    one.parent.mkdir(parents=True, exist_ok=True)
    with one.open("w", encoding="utf-8") as out:
        for k, path in enumerate(sorted(many.rglob("*.md"))):
            if k:
                out.write("\n\n")
            out.write(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=1200, help="small files (and so the big file's size); default 1200")
    ap.add_argument("--runs", type=int, default=2, help="cold builds of each corpus, taken in turns")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="notecards-one-file-"))
    try:
        return _bench(tmp, args.files, max(1, args.runs))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: Path, files: int, runs: int) -> int:
    bench.snapshot_source(tmp / "src")
    many = tmp / "many"
    bench.make_corpus(many, files, one_file_sources())
    one = tmp / "one" / "notes.md"
    join_corpus(many, one)
    work = tmp / "work"
    work.mkdir()
    corpora = {f"{files:,} files": many, "one file": one.parent}
    print(f"corpus: {files} files, {bench.corpus_bytes(many) / 1e6:.1f} MB; the same joined in {one}", flush=True)
    results: dict[str, list[tuple[bench.Run, dict[str, int]]]] = {name: [] for name in corpora}
    for k in range(runs):
        for name, corpus in corpora.items():
            out = tmp / "decks"
            shutil.rmtree(out, ignore_errors=True)  # cold: no decks, no state, no cache
            r, counts = bench.build(corpus, out, work, sample=True)
            results[name].append((r, counts))
            print(f"run {k + 1}, {name}: {r.tree_pss_mb:.0f} MB PSS, {r.seconds:.1f} s, "
                  f"{counts['papers']} papers, {counts['cards']} cards", flush=True)
    shutil.rmtree(tmp / "decks", ignore_errors=True)

    print()
    print("| corpus        |    MB | papers  |  cards  | peak PSS MB | build s | all runs: PSS MB / s |")
    print("| ------------- | ----- | ------- | ------- | ----------- | ------- | -------------------- |")
    best = {}
    for name, corpus in corpora.items():
        rs = results[name]
        pss, secs = min(r.tree_pss_mb for r, _ in rs), min(r.seconds for r, _ in rs)
        best[name] = pss, secs
        counts = rs[0][1]
        every = ", ".join(f"{r.tree_pss_mb:.0f} / {r.seconds:.1f}" for r, _ in rs)
        print(f"| {name:<13} | {bench.corpus_bytes(corpus) / 1e6:>5.1f} | {counts['papers']:>7} | {counts['cards']:>7} "
              f"| {pss:>11.0f} | {secs:>7.1f} | {every:<20} |")
    (pss_many, s_many), (pss_one, s_one) = best.values()
    print()
    print(f"one file / many files: {pss_one / pss_many:.2f}x peak PSS (target <= 1.15x), {s_one / s_many:.2f}x time")
    if len({(c["papers"], c["cards"]) for rs in results.values() for _, c in rs}) != 1:
        print("note: the corpora gave different paper or card counts (a reverse card whose prompt two papers "
              "of one file share is left out: the repeated fixture papers meet more often in one file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
