"""Benchmark: a synthetic corpus made from the project's own fixtures -> timings against the floor.

    .venv/bin/python benchmarks/bench.py              # 1,000 files, sizes 100,1000,10000
    .venv/bin/python benchmarks/bench.py --quick      # 100 files, sizes 10,100 (a minute)
    .venv/bin/python benchmarks/bench.py --files 300 --sizes 100,300 --keep

Every figure comes from one run on one corpus, and every timed command runs in its own process,
so interpreter start, imports and jieba's dictionary count against the build as they do for a user.
The cold build and the floor are each the best of --runs (3) runs, taken in turns: on a shared
machine one run of either varies by 5-10 %, which is as much as the margin being measured. Memory
is sampled in a run of its own (and in the growth runs), as reading /proc costs the build time.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "tests" / "fixtures" / "formats", ROOT / "examples" / "notes")
FILE_BYTES = 25_000
PAPERS_PER_FILE = 10
PAPER_BYTES = FILE_BYTES // PAPERS_PER_FILE
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)、])\s+\S")
_SUMMARY = re.compile(r"(\d+) files, (\d+) papers, (\d+) cards, (\d+) decks(?: in .*?)?, (\d+) skipped")
_MINIMAL_APP = '''import typer
app = typer.Typer()
@app.command()
def one(name: str = "x"):
    """First."""
@app.command()
def two(name: str = "x"):
    """Second."""
@app.command()
def three(name: str = "x"):
    """Third."""
app()
'''


# --- the corpus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One fixture cut into its preamble and one chunk of lines per paper."""

    name: str
    preamble: list[str]
    chunks: list[tuple[str, list[str]]]
    """(paper title, the lines from that paper's first line to the next paper's)."""


def _sources() -> list[_Source]:
    """Cut every fixture with two or more papers at the lines where notecards finds papers."""
    from notecards.config import Config
    from notecards.pipeline import extract_paths

    files = sorted(p for d in SOURCES for p in d.glob("*.md"))
    report = extract_paths(files, Config(cache=False))
    out = []
    for doc in report.documents:
        if len(doc.papers) < 2:
            continue  # one paper per file (front matter, metadata block): nothing to repeat
        lines = Path(doc.path).read_text(encoding="utf-8").split("\n")
        starts = [p.line - 1 for p in doc.papers] + [len(lines)]
        chunks = [(p.title, lines[a:b]) for p, a, b in zip(doc.papers, starts, starts[1:])]
        title, last = chunks[-1]
        tail = next((i for i, line in enumerate(last) if i and line.startswith("#")), len(last))
        chunks[-1] = (title, last[:tail])  # a closing non-paper section would swallow the repeats
        out.append(_Source(Path(doc.path).stem, lines[: starts[0]], chunks))
    return out


def _is_zh(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def _rename(chunk: list[str], title: str, tag: str) -> list[str]:
    """Give the paper a title no other synthetic paper has, so papers never merge as repeats."""
    for i, line in enumerate(chunk):
        if title in line:
            return [*chunk[:i], line.replace(title, f"{title} {tag}", 1), *chunk[i + 1:]]
    return chunk


def _pad(chunk: list[str], title: str, size: int) -> list[str]:
    """Repeat the paper's own one-line note bullets, each right after itself, to about `size` bytes.

    Copies go next to their original, so every list keeps its shape and notecards reads the same
    papers; each copy is marked, so no two bullets are the same text.
    """
    def single(i: int) -> bool:
        nxt = chunk[i + 1] if i + 1 < len(chunk) else ""
        return not nxt.strip() or _ITEM.match(nxt) is not None or nxt.startswith("#")

    notes = {i for i, line in enumerate(chunk) if i and _ITEM.match(line) and len(line) > 40
             and title not in line and "http" not in line and single(i)}
    have = len("\n".join(chunk).encode())
    per_round = sum(len(chunk[i].encode()) + 8 for i in notes)
    if not notes or have >= size:
        return chunk
    rounds = min(20, -(-(size - have) // per_round))
    out = []
    for i, line in enumerate(chunk):
        out.append(line)
        if i in notes:
            out += [line + (f"（续{k}）" if _is_zh(line) else f" (cont. {k})") for k in range(2, rounds + 2)]
    return out


def _name_file(preamble: list[str], tag: str) -> list[str]:
    """Give the file's own title (front matter or first heading) the file's number: one deck per file."""
    for i, line in enumerate(preamble):
        if line.startswith(("title:", "# ")):
            return [*preamble[:i], f"{line} {tag}", *preamble[i + 1:]]
    return preamble


def make_corpus(dest: Path, files: int, sources: list[_Source] | None = None) -> int:
    """Write `files` notes files of about 25 KB and 10 papers each; return the planned paper count."""
    sources = sources or _sources()
    dest.mkdir(parents=True, exist_ok=True)
    planned = 0
    for f in range(files):
        src = sources[f % len(sources)]
        lines = _name_file(src.preamble, f"({f})")
        for p in range(PAPERS_PER_FILE):
            title, chunk = src.chunks[p % len(src.chunks)]  # fixture order: the shapes it was written in
            lines += _pad(_rename(chunk, title, f"#{f}.{p:03d}"), title, PAPER_BYTES)
            if lines and lines[-1].strip():
                lines.append("")
            planned += 1
        folder = dest / f"{f // 100:03d}"  # people keep notes in folders, not 10,000 files in one
        folder.mkdir(exist_ok=True)
        (folder / f"{src.name}-{f:05d}.md").write_text("\n".join(lines), encoding="utf-8")
    return planned


def corpus_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.md"))


# --- running and measuring one process -----------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float
    """Largest single process (the build, or one of its workers)."""
    tree_rss_mb: float
    """Largest sum over the process and its children, sampled every 100 ms. Forked workers count
    the pages they share with the build in full, so this overstates what the machine spends."""
    tree_pss_mb: float
    """Largest sum of PSS over the process and its children: each shared page split among the
    processes sharing it, so the sum is the memory the build really takes."""
    stdout: str
    stderr: str
    code: int


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _proc_kb(pid: int, file: str, field: str) -> int:
    """A `Field:  123 kB` line of /proc/PID/<file>, in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_kb(root: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) over a process and its descendants."""
    kids = _children_map()
    rss, pss, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        rss += _proc_kb(pid, "status", "VmRSS:")
        pss += _proc_kb(pid, "smaps_rollup", "Pss:")
        todo += kids.get(pid, [])
    return rss, pss


_ENV = dict(os.environ, COLUMNS="100")


def snapshot_source(dest: Path) -> None:
    """Run every timed command on a copy of the package as it is now: edits made while the
    benchmark runs (and the cache keys on the code) must not turn a rebuild into a cold build."""
    shutil.copytree(ROOT / "src" / "notecards", dest / "notecards",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _ENV["PYTHONPATH"] = os.pathsep.join([str(dest), *filter(None, [os.environ.get("PYTHONPATH")])])


def run(cmd: list[str], cwd: Path | None = None, sample: bool = True) -> Run:
    """Run one command to the end: wall time, peak RSS of its largest process and of the whole tree."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=_ENV)
    peak = [0, 0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.1):
            rss, pss = _tree_kb(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)

    poller = threading.Thread(target=poll, daemon=True)
    if sample:
        poller.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    if sample:
        poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return Run(seconds, usage.ru_maxrss / 1024, max(peak[0], usage.ru_maxrss) / 1024, peak[1] / 1024,
               out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), proc.returncode)


def _notecards() -> list[str]:
    script = Path(sys.executable).parent / "notecards"
    return [str(script)] if script.exists() else [sys.executable, "-m", "notecards"]


def build(corpus: Path, out: Path, work: Path, sample: bool = False) -> tuple[Run, dict[str, int]]:
    """`notecards build CORPUS --out OUT`, from a folder without a config.yaml (so: the defaults).
    `sample`: watch its memory (reading /proc ten times a second costs the build time)."""
    r = run([*_notecards(), "build", str(corpus), "--out", str(out)], cwd=work, sample=sample)
    m = _SUMMARY.search(r.stdout)
    if r.code not in (0, 1) or not m:
        sys.exit(f"build failed (exit {r.code}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    keys = ("files", "papers", "cards", "decks", "skipped")
    return r, dict(zip(keys, map(int, m.groups())))


def best_of(cmd: list[str], times: int, cwd: Path) -> float:
    return min(run(cmd, cwd=cwd, sample=False).seconds for _ in range(times))


# --- the floor: read + markdown-it-py + genanki, one process -------------------------------


def floor_main(corpus: Path, notes: int, out: Path) -> None:
    """Read every file, parse it with markdown-it-py, write `notes` genanki notes to one .apkg."""
    import genanki
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    texts = []
    for path in sorted(corpus.rglob("*.md")):
        text = path.read_bytes().decode("utf-8")
        md.parse(text)
        texts.append(text)
    model = genanki.Model(1_607_392_319, "floor", fields=[{"name": f"F{i}"} for i in range(8)],
                          templates=[{"name": "Card", "qfmt": "{{F0}}", "afmt": "{{F1}}"}])
    deck = genanki.Deck(2_059_400_110, "floor")
    lines = [line for t in texts[:50] for line in t.split("\n") if len(line) > 40] or ["x" * 120]
    for i in range(notes):
        text = lines[i % len(lines)]
        deck.add_note(genanki.Note(model=model, fields=[f"{text} {i}", text, "title", "meta", "", "", "", "k"],
                                   guid=f"floor{i}"))
    genanki.Package(deck).write_to_file(str(out), timestamp=1_700_000_000)


# --- the report ----------------------------------------------------------------------------


def _touch_one(corpus: Path) -> Path:
    files = sorted(corpus.rglob("*.md"))
    path = files[len(files) // 2]
    with path.open("a", encoding="utf-8") as f:
        f.write("\n   1. 实验结果表明这个改动在所有数据集上都有效（基准测试新增）\n")
    return path


def _row(name: str, value: str, ratio: str = "", target: str = "", ok: bool | str | None = None) -> str:
    mark = ok if isinstance(ok, str) else "" if ok is None else ("yes" if ok else "NO")
    return f"| {name:<40} | {value:>10} | {ratio:>12} | {target:<14} | {mark:<4} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=None, help="files in the main corpus (default 1000)")
    ap.add_argument("--sizes", default=None, help="comma-separated file counts for the growth table")
    ap.add_argument("--quick", action="store_true", help="100 files, sizes 10,100")
    ap.add_argument("--help-runs", type=int, default=7, help="best of this many --help runs")
    ap.add_argument("--runs", type=int, default=3, help="best of this many cold builds and floors (taken in turns)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--floor", nargs=3, metavar=("CORPUS", "NOTES", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.floor:
        floor_main(Path(args.floor[0]), int(args.floor[1]), Path(args.floor[2]))
        return 0
    files = args.files or (100 if args.quick else 1000)
    sizes = [int(s) for s in (args.sizes or ("10,100" if args.quick else "100,1000,10000")).split(",") if s]

    tmp = Path(tempfile.mkdtemp(prefix="notecards-bench-"))
    try:
        return _bench(tmp, files, sizes, args.help_runs, max(1, args.runs))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: Path, files: int, sizes: list[int], help_runs: int, runs: int) -> int:
    snapshot_source(tmp / "src")
    sources = _sources()
    corpus = tmp / "notes"
    planned = make_corpus(corpus, files, sources)
    size = corpus_bytes(corpus)
    work = tmp / "work"
    work.mkdir()
    print(f"corpus: {files} files, {size / 1e6:.1f} MB, {planned} papers planned, in {corpus}", flush=True)

    fulls: list[Run] = []
    floors: list[Run] = []
    for _ in range(runs):  # taken in turns, so a machine that slows down slows both
        shutil.rmtree(tmp / "decks", ignore_errors=True)  # cold: no decks, no state, no cache
        r, counts = build(corpus, tmp / "decks", work)
        fulls.append(r)
        f = run([sys.executable, __file__, "--floor", str(corpus), str(counts["cards"]), str(tmp / "floor.apkg")],
                sample=False)
        if f.code:
            sys.exit(f"floor failed:\n{f.stderr[-2000:]}")
        floors.append(f)
        print(f"full build: {r.seconds:.2f} s  ({counts}); floor: {f.seconds:.2f} s", flush=True)
    full = min(fulls, key=lambda r: r.seconds)
    floor = min(floors, key=lambda r: r.seconds)
    shutil.rmtree(tmp / "decks", ignore_errors=True)
    memory, _ = build(corpus, tmp / "decks", work, sample=True)  # its own run: sampling is not free
    unchanged, _ = build(corpus, tmp / "decks", work)
    _touch_one(corpus)
    one, _ = build(corpus, tmp / "decks", work)
    nothing, _ = build(corpus, tmp / "decks", work)
    print(f"rebuilds: one file {one.seconds:.2f} s, nothing {nothing.seconds:.2f} s", flush=True)

    (work / "minimal.py").write_text(_MINIMAL_APP, encoding="utf-8")
    help_nc = best_of([*_notecards(), "--help"], help_runs, work)
    help_min = best_of([sys.executable, str(work / "minimal.py"), "--help"], help_runs, work)

    growth: list[tuple[int, float, dict[str, int], Run]] = []
    for n in sizes:
        if n == files:
            growth.append((n, full.seconds, counts, memory))
            continue
        g = tmp / f"grow-{n}"
        make_corpus(g / "notes", n, sources)
        r, c = build(g / "notes", g / "decks", work, sample=True)
        growth.append((n, r.seconds, c, r))
        print(f"growth: {n} files {r.seconds:.2f} s", flush=True)
        shutil.rmtree(g, ignore_errors=True)

    mem_mb = memory.tree_pss_mb
    print()
    print(f"notecards benchmark: {files} files, {size / 1e6:.1f} MB, {counts['papers']} papers "
          f"({planned} planned), {counts['cards']} cards, {counts['decks']} decks, {os.cpu_count()} cores")
    print()
    print(_row("measure", "value", "ratio", "target", "met"))
    print(_row("-" * 40, "-" * 10, "-" * 12, "-" * 14, "-" * 4))
    print(_row(f"floor (read + markdown-it + genanki), best of {runs}", f"{floor.seconds:.2f} s"))
    print(_row(f"full build, cold cache, best of {runs}", f"{full.seconds:.2f} s",
               f"{full.seconds / floor.seconds:.2f}x floor", "<= 2x floor", full.seconds <= 2 * floor.seconds))
    print(_row("rebuild, one file changed", f"{one.seconds:.2f} s", f"{one.seconds / full.seconds:.3f}x full",
               "<= 0.1x full", one.seconds <= 0.1 * full.seconds))
    print(_row("rebuild, nothing changed", f"{nothing.seconds:.2f} s",
               f"{nothing.seconds / full.seconds:.3f}x full", "<= 0.05x full", nothing.seconds <= 0.05 * full.seconds))
    print(_row("(second build, warm cache)", f"{unchanged.seconds:.2f} s",
               f"{unchanged.seconds / full.seconds:.3f}x full"))
    print(_row("notecards --help (best of %d)" % help_runs, f"{help_nc * 1000:.0f} ms",
               f"{help_nc / help_min:.2f}x typer", "<= 1.3x typer", help_nc <= 1.3 * help_min))
    print(_row("minimal 3-command typer app --help", f"{help_min * 1000:.0f} ms"))
    print(_row(f"peak memory, all processes, PSS ({counts['papers']} papers)", f"{mem_mb:.0f} MB", "",
               "< 500 MB", mem_mb < 500))
    print(_row("peak RSS, largest process", f"{memory.max_rss_mb:.0f} MB"))
    print(_row("peak RSS summed over processes", f"{memory.tree_rss_mb:.0f} MB"))
    print(_row("all cold builds / floors", " ".join(f"{r.seconds:.1f}" for r in fulls) + " s", "",
               " ".join(f"{r.seconds:.1f}" for r in floors) + " s"))
    print()
    print("| files  |       MB | papers  |  cards  |  build s | s per 1,000 papers | peak PSS MB |")
    print("| ------ | -------- | ------- | ------- | -------- | ------------------ | ----------- |")
    for n, secs, c, r in growth:
        mb = n * size / files / 1e6
        print(f"| {n:>6} | {mb:>8.1f} | {c['papers']:>7} | {c['cards']:>7} | {secs:>8.2f} | "
              f"{secs / max(c['papers'], 1) * 1000:>18.2f} | {r.tree_pss_mb:>11.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
