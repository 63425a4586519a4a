"""Check that a change leaves the output alone: every note's guid, fields and tags, and `extract --format json`.

    .venv/bin/python benchmarks/same_output.py save /tmp/before.jsonl    # on the old code
    .venv/bin/python benchmarks/same_output.py check /tmp/before.jsonl   # on the new code

Inputs: examples/notes, tests/fixtures (every .md below it), the dev notes in /work/shared/dev/notes
(when present) and 100 benchmark corpus files (bench.make_corpus). Each group is built (a fresh
output folder, workers as a build uses them) under two configs, the default and one that turns the
other card options on; every .apkg's notes are read back from its collection. `check` prints the
first lines that differ and exits 1 when anything does.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

from notecards.config import Config  # noqa: E402
from notecards.pipeline import build_decks, extract_paths  # noqa: E402
from notecards.show import to_contract  # noqa: E402

DEV_NOTES = Path("/work/shared/dev/notes")
CONFIGS = {
    "default": Config(),
    "options": Config(deck_by="topic", card_language="en", abstract_cards=True, reverse_cards=True,
                      max_answer_chars=100, topics={"vision": ("image", "图像", "detection"), "nlp": ("language", "语言")}),
}


def _groups(tmp: Path) -> dict[str, list[Path]]:
    groups = {"examples": sorted((bench.ROOT / "examples" / "notes").glob("*.md")),
              "fixtures": sorted((bench.ROOT / "tests" / "fixtures").rglob("*.md"))}
    if DEV_NOTES.is_dir():
        groups["dev"] = sorted(DEV_NOTES.glob("*.md"))
    corpus = tmp / "corpus"
    bench.make_corpus(corpus, 100, bench._sources())
    groups["corpus"] = sorted(corpus.rglob("*.md"))
    return groups


def _notes(apkg: Path) -> list[str]:
    """One line per note of a deck file: guid, fields, tags."""
    with zipfile.ZipFile(apkg) as z, tempfile.TemporaryDirectory() as d:
        db = Path(d) / "collection.anki2"
        db.write_bytes(z.read("collection.anki2"))
        conn = sqlite3.connect(db)
        try:
            rows = conn.execute("SELECT guid, flds, tags FROM notes ORDER BY guid").fetchall()
        finally:
            conn.close()
    return [json.dumps([apkg.name, *row], ensure_ascii=False) for row in rows]


def dump(tmp: Path) -> list[str]:
    """Every line of output to compare, each led by its group and config."""
    lines = []
    for group, files in _groups(tmp).items():
        for name, config in CONFIGS.items():
            where = f"{group}/{name}"
            out = tmp / "decks" / where
            report = build_decks(config, files, out)
            lines.append(json.dumps([where, "report", report.files, report.papers, report.cards,
                                     sorted(report.warnings), sorted(map(str, report.problems))], ensure_ascii=False))
            for apkg in sorted(out.glob("*.apkg")):
                lines += [f"{where} {n}" for n in _notes(apkg)]
            data = to_contract(extract_paths(files, replace_cache(config)).documents, explain=True)
            lines.append(f"{where} extract " + json.dumps(data, ensure_ascii=False, sort_keys=True))
    return lines


def replace_cache(config: Config) -> Config:
    from dataclasses import replace

    return replace(config, cache=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("save", "check"))
    ap.add_argument("file", type=Path)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="notecards-same-"))
    try:
        lines = dump(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # the corpus lives in a temp folder: its name is not output
    lines = [line.replace(str(tmp), "TMP") for line in lines]
    if args.mode == "save":
        args.file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"saved {len(lines)} lines to {args.file}")
        return 0
    before = args.file.read_text(encoding="utf-8").splitlines()
    if before == lines:
        print(f"same output: {len(lines)} lines")
        return 0
    print(f"DIFFERENT: {len(before)} lines before, {len(lines)} now")
    shown = 0
    for i, (a, b) in enumerate(zip(before, lines)):
        if a != b and shown < 5:
            print(f"line {i}:\n- {a[:400]}\n+ {b[:400]}")
            shown += 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
