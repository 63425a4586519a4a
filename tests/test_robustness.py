"""No input crashes or hangs read -> parse -> extract: front matter, deep nesting, huge files, random text and bytes."""
from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from notecards.config import Config
from notecards.errors import InputError
from notecards.model import SourceFile
from notecards.parse import MAX_NESTING, parse_markdown
from notecards.pipeline import extract_document, extract_paths, rules_for
from notecards.read import NoteRef, read_note

FORMATS = Path(__file__).parent / "fixtures" / "formats"
ZH_NOTE = FORMATS / "numbered_venue_zh.md"
CONFIG = Config()
RULES = rules_for(CONFIG)
PAPER = "## Attention Is All You Need (NeurIPS 2017)\n- 问题：循环网络难以并行。\n- 方法：完全基于注意力。\n"


def extract(text: str):
    return extract_document(SourceFile("n.md", text, "utf-8"), RULES)


def titles(text: str) -> list[str]:
    return [p.title for p in extract(text).papers]


# Front matter


def test_python_tag_in_front_matter_is_not_run(tmp_path):
    marker = tmp_path / "ran"
    note = tmp_path / "n.md"
    note.write_text(f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\n{PAPER}", encoding="utf-8")
    report = extract_paths([note], CONFIG)
    assert not marker.exists()
    assert report.warnings == [f"{note}:2: warning: broken front matter ignored (could not determine a constructor "
                               "for the tag 'tag:yaml.org,2002:python/object/apply:os.system')"]
    assert [p.title for p in report.documents[0].papers] == ["Attention Is All You Need"]


def test_broken_front_matter_is_reported_with_its_line_and_the_body_is_used(tmp_path):
    note = tmp_path / "n.md"
    note.write_text(f"---\nyear: 2017\ntitle: Attention: all you need\n---\n\n{PAPER}", encoding="utf-8")
    report = extract_paths([note], CONFIG)
    assert report.warnings == [f"{note}:3: warning: broken front matter ignored (mapping values are not allowed here)"]
    assert report.problems == []
    bullets = report.documents[0].papers[0].bullets
    assert [(b.text, b.line) for b in bullets] == [("问题：循环网络难以并行。", 7), ("方法：完全基于注意力。", 8)]


def test_markdown_between_two_rules_is_not_taken_for_front_matter():
    text = f"---\n{PAPER}---\n"
    assert parse_markdown(text).warnings == ()
    assert titles(text) == ["Attention Is All You Need"]


def test_yaml_aliases_in_front_matter_are_refused():
    bomb = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    parsed = parse_markdown(f"---\na: &a [x, x, x, x, x, x, x, x, x]\n{bomb}---\n{PAPER}")
    assert parsed.front == {}
    assert parsed.warnings == ((3, "broken front matter ignored (YAML aliases (*name) are not read)"),)


# Deep nesting, long lines, big files


@pytest.mark.parametrize("deep", [
    ">" * 5000 + " deep\n",
    "- " * 5000 + "deep\n",
    "1. " * 5000 + "deep\n",
    "> - " * 2000 + "deep\n",
    "".join("  " * i + "- deep\n" for i in range(150)),
    "".join(">" * i + " deep\n" for i in range(1, 300)),
])
def test_deep_nesting_is_kept_as_text_with_a_warning(deep):
    doc = extract(f"{PAPER}\n{deep}\n## BERT (NAACL 2019)\n- 方法：双向 Transformer 预训练。\n")
    assert "Attention Is All You Need" in [p.title for p in doc.papers]
    parsed = parse_markdown(deep)
    assert any(f"nested more than {MAX_NESTING} levels deep" in m for _, m in parsed.warnings)
    assert any(b.text.endswith("deep") for b in parsed.blocks if b.kind == "para")  # the text is still there


def test_twenty_levels_of_list_are_read_as_items():
    text = "".join("  " * i + f"- level {i}\n" for i in range(20))
    assert [b.level for b in parse_markdown(text).blocks] == list(range(1, 21))


MILLION = {"plain": "a" * 1_000_000, "chinese": "中文" * 500_000, "brackets": "[" * 1_000_000,
           "emphasis": "*a **b `c " * 100_000, "tags": "<" * 1_000_000, "pipes": "| a " * 250_000}


@pytest.mark.parametrize("shape", MILLION)
def test_million_character_line_is_parsed_whole(shape):
    line = MILLION[shape]
    blocks = parse_markdown(f"{PAPER}- 方法：{line}\n\n{line}\n").blocks
    assert [b.text for b in blocks[-2:]] == [f"方法：{line}".strip(), line.strip()]


@pytest.mark.parametrize("shape", ["plain", "brackets", "tags"])
def test_million_character_line_is_extracted(shape):
    assert extract(f"{PAPER}- 方法：{MILLION[shape]}\n").papers[0].title == "Attention Is All You Need"


@pytest.mark.slow  # a big build
def test_twenty_megabyte_file_is_read(tmp_path):
    # A real cause of huge notes: an image pasted inline as a data: URI, one 20 MB line.
    image = base64.b64encode(os.urandom(15 * 2**20)).decode()
    log = "log line 0123456789\n" * 20000
    note = tmp_path / "export.md"
    note.write_text(f"{PAPER}\n![figure](data:image/png;base64,{image})\n\n```\n{log}```\n\n"
                    "## BERT (NAACL 2019)\n- 方法：双向 Transformer 预训练。\n", encoding="utf-8")
    assert note.stat().st_size > 20 * 10**6
    started = time.perf_counter()
    report = extract_paths([note], CONFIG)
    assert time.perf_counter() - started < 60  # linear work only: a quadratic step would take hours
    assert [p.title for p in report.documents[0].papers] == ["Attention Is All You Need", "BERT"]


@pytest.mark.slow  # a big build
def test_thousands_of_papers():
    text = "".join(f"## Paper number {i} (ICLR 2020)\n- 问题：why {i}\n- 方法：how {i}\n\n" for i in range(3000))
    assert len(extract(text).papers) == 3000


def test_tables_code_html_and_nul_characters_around_papers():
    text = (f"<div align=center>\n<img src=x.png>\n</div>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            f"```python\n# not a heading\n- not an item\n```\n\n{PAPER}\n<!-- comment\n- hidden\n-->\n"
            "    indented code\n\nnul \x00 inside\n\n| only | header |\n|---|\n")
    assert titles(text) == ["Attention Is All You Need"]


# Property-based: random Markdown-ish text and random bytes

PIECES = ["# ", "## ", "- ", "* ", "+ ", "1. ", "2、", "3．", "> ", "    ", "  ", "\t", "\n", "\n\n", "---\n", "+++\n",
          "```\n", "~~~", "| a | b |\n|---|---|\n", "|", "<details>", "<summary>读</summary>", "</details>", "<div>",
          "</div>", "<!--", "-->", "<br>", "[", "]", "(", ")", "![](a.png)", "**", "*", "_", "`", "\\", ":", "：",
          "title: x\n", "Attention Is All You Need", "(NeurIPS 2017)", "[ICLR]", "ICLR-22 oral", "CVPR（CMU）",
          "论文名称：", "问题：", "方法：", "结论：", "动机：", "参考资料：", "Title: ", "We propose", "我们提出",
          "http://x.org", "## 2023.2.19", "2023", "&nbsp;", "$a<b$", "[[x]]", "\x00", "\ufeff", "\u200b", "\r"]
MARKDOWNISH = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=60).map("".join)


@given(MARKDOWNISH)
def test_random_markdown_never_breaks_extraction(text):
    try:
        extract(text)
    except InputError:
        pass


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bytes")


BYTES = st.one_of(st.binary(max_size=400), MARKDOWNISH.map(lambda t: t.encode("utf-8")),
                  st.text(max_size=100).map(lambda t: t.encode("utf-16")),
                  MARKDOWNISH.map(lambda t: t.encode("gb18030", errors="replace")),
                  st.binary(max_size=200).map(lambda b: ZH_NOTE.read_bytes()[:300] + b))


@given(BYTES)
def test_random_bytes_are_read_or_skipped_with_a_message(scratch, data):
    note = scratch / "n.md"
    note.write_bytes(data)
    try:
        extract_document(read_note(NoteRef(note, "n.md", scratch)), RULES)
    except InputError as exc:
        assert str(exc).startswith("n.md") and ": error: " in str(exc)


# Characters a card can't hold, and file names that are not text


@pytest.mark.slow  # runs Anki's engine
def test_a_field_separator_in_a_bullet_is_removed_with_a_warning_and_the_deck_imports(tmp_path):
    from anki_helpers import collection, import_all, notes as anki_notes
    from notecards.pipeline import build_decks

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text(PAPER.replace("完全基于", "完全\x1f基于\x07"), encoding="utf-8")
    report = build_decks(Config(notes=(notes,), out=tmp_path / "decks"))
    assert report.warnings == [f"{notes / 'a.md'}:3: warning: control character U+0007, U+001F removed "
                               "(Anki cannot hold it in a card)"]
    with collection(tmp_path / "anki") as col:
        import_all(col, report.decks)
        rows = anki_notes(col)
    assert len(rows) == report.cards and any("完全基于注意力" in r.fields["Answer"] for r in rows)


def test_a_control_character_keeps_the_line_numbers(tmp_path):
    note = tmp_path / "n.md"
    note.write_bytes("第一行\x1f\n- 问题：\x0c循环网络难以并行。\n".encode())
    src = read_note(NoteRef(note, "n.md", tmp_path))
    assert src.text == "第一行\n- 问题：循环网络难以并行。\n"
    assert [w.split(": warning")[0] for w in src.warnings] == ["n.md:1", "n.md:2"]


@pytest.mark.slow  # starts subprocesses
@pytest.mark.skipif(os.name == "nt", reason="Windows file names are always Unicode")
def test_a_file_name_that_is_not_utf8_is_skipped_alone_and_shown_escaped(tmp_path):
    import json
    import subprocess
    import sys

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "good.md").write_text(PAPER, encoding="utf-8")
    bad = os.fsencode(notes) + b"/\xe9t\xe9.md"
    with open(bad, "wb") as fh:
        fh.write(PAPER.encode())
    run = subprocess.run([sys.executable, "-m", "notecards", "extract", "--format", "json", str(notes)],
                         capture_output=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert run.returncode == 1
    assert run.stderr.decode("utf-8").strip() == (f"{notes}/\\xe9t\\xe9.md: error: the file name is not UTF-8; "
                                                 "rename the file")
    [doc] = json.loads(run.stdout.decode("utf-8"))["documents"]
    assert doc["path"] == str(notes / "good.md")
    report = __import__("notecards.pipeline").pipeline.build_decks(Config(notes=(notes,), out=tmp_path / "decks"))
    assert [p.path for p in report.problems] == [f"{notes}/\\xe9t\\xe9.md"] and len(report.decks) == 1


# Worker processes


_KILLED_BUILD = """
import multiprocessing, os, signal, sys
from notecards import workers

def task(x):
    return os.getpid()

with workers.early_pool(2) as writers, workers.pool(2) as extractors:
    pids = set(writers.map(task, range(8))) | {extractors.submit(task, 0).result()}
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # as `kill -9` on a build
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow  # starts subprocesses
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("watch", ["kernel signal", "pid watch (not Linux)"])
def test_workers_exit_when_the_build_process_is_killed(watch):
    import subprocess
    import sys

    fallback = "workers._parent_death_signal = lambda: False\n" if watch.startswith("pid") else ""
    script = _KILLED_BUILD.replace("\nwith ", "\n" + fallback + "with ", 1)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pids = [int(p) for p in run.stdout.split()]
    assert run.returncode == -9 and len(pids) >= 4
    deadline = time.monotonic() + 10
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if _alive(p)]
    for p in left:
        os.kill(p, 9)  # tidy up after a failure
    assert left == []


# One big file is parsed a piece at a time, with the blocks of a parse in one piece


def _whole_and_in_pieces(text: str, monkeypatch) -> tuple:
    import notecards.parse as parse

    monkeypatch.setattr(parse, "CHUNK_LINES", 10**9)
    whole = parse_markdown(text)
    monkeypatch.setattr(parse, "CHUNK_LINES", 3)
    return whole, parse_markdown(text)


@pytest.mark.parametrize("note", sorted(FORMATS.glob("*.md")) + sorted((FORMATS.parents[2] / "examples" / "notes").glob("*.md")),
                         ids=lambda p: p.name)
def test_a_file_parsed_in_pieces_gives_the_blocks_of_one_parse(note, monkeypatch):
    text = note.read_text(encoding="utf-8") * 3
    whole, pieces = _whole_and_in_pieces(text, monkeypatch)
    assert pieces == whole and len(whole.blocks) > 5


@pytest.mark.parametrize("tricky", ["```\n\n# in a fence\n\n```\n", "  ```\n\n# in an indented fence\n\n  ```\n",
                                    "<pre>\n\n# in raw html\n\n</pre>\n", "- item\n\n  ```\n\n# x\n  ```\n"])
def test_no_cut_inside_a_fence_or_raw_html(tricky, monkeypatch):
    text = ("- a\n- b\n- c\n- d\n\n" + tricky + "\n# after\n- e\n") * 3
    whole, pieces = _whole_and_in_pieces(text, monkeypatch)
    assert pieces == whole


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(MARKDOWNISH)
@example("\r# \n\n# ")  # a lone carriage return breaks a line, for markdown-it and for the pieces alike
def test_random_markdown_parsed_in_pieces_gives_the_same_blocks(monkeypatch, text):
    whole, pieces = _whole_and_in_pieces(text.replace("\x00", "") * 2, monkeypatch)
    assert pieces == whole
