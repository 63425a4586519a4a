"""read.py: every file decoded on its own (UTF-8, BOM, UTF-16, GB18030, Windows-1252), found once, or skipped with a message."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notecards import read
from notecards.config import Config
from notecards.errors import InputError
from notecards.pipeline import extract_paths
from notecards.read import NoteRef, decode, find_notes, read_note
from notecards.show import to_contract

FORMATS = Path(__file__).parent / "fixtures" / "formats"
ZH_NOTE = FORMATS / "numbered_venue_zh.md"
CONFIG = Config()


def papers_of(*paths: Path) -> tuple[list[dict], list[str]]:
    """(papers of every document, problem messages) as `notecards extract --format json` shows them."""
    report = extract_paths(list(paths), CONFIG)
    docs = to_contract(report.documents, False)["documents"]
    return [p for d in docs for p in d["papers"]], [str(p) for p in report.problems]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def zh_papers() -> list[dict]:
    papers, problems = papers_of(ZH_NOTE)
    assert papers and not problems
    return papers


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("gb18030", b""), ("gbk", b""),
])
def test_chinese_note_in_any_supported_encoding_gives_the_same_papers(tmp_path, zh_papers, encoding, bom):
    text = ZH_NOTE.read_text(encoding="utf-8")
    note = write(tmp_path / f"{encoding}.md", bom + text.encode(encoding))
    assert papers_of(note) == (zh_papers, [])


def test_gb18030_note_is_decoded_as_gb18030(tmp_path):
    note = write(tmp_path / "n.md", ZH_NOTE.read_text(encoding="utf-8").encode("gb18030"))
    src = read_note(NoteRef(note, "n.md", tmp_path))
    assert src.encoding == "gb18030" and src.text == ZH_NOTE.read_text(encoding="utf-8")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_lone_cr_give_the_same_papers_and_lines(tmp_path, zh_papers, newline):
    text = ZH_NOTE.read_text(encoding="utf-8").replace("\n", newline)
    assert papers_of(write(tmp_path / "n.md", text.encode("utf-8"))) == (zh_papers, [])


def test_windows_1252_english_note_with_curly_quotes_is_read(tmp_path):
    text = ("# Reading notes\n\n## Attention Is All You Need (NeurIPS 2017)\n"
            "- Problem: recurrent models can\u2019t be trained in parallel.\n"
            "- Method: a \u201cnaïve\u201d stack of self-attention \u2013 no recurrence at all.\n"
            "- Finding: better BLEU, trained in a fraction of the time; see the café-table figure.\n")
    utf8 = write(tmp_path / "utf8" / "n.md", text.encode("utf-8"))
    cp1252 = write(tmp_path / "cp1252" / "n.md", text.encode("cp1252"))
    assert papers_of(cp1252) == papers_of(utf8)
    assert read_note(NoteRef(cp1252, "n.md", tmp_path)).encoding == "cp1252"


@pytest.mark.parametrize("data,message", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "binary file (a PDF), not Markdown text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (a PNG image), not Markdown text"),
    (b"PK\x03\x04\x14\x00\x06\x00", "binary file (a zip archive: docx, epub, ...), not Markdown text"),
    (b"# Notes\n\x00\x01\x02\x03 binary tail", "binary file (NUL bytes), not Markdown text"),
    ("# 笔记\n- 方法\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark; save it as UTF-8"),
])
def test_binary_file_is_skipped_with_one_message_and_the_rest_is_read(tmp_path, zh_papers, data, message):
    bad = write(tmp_path / "notes" / "bad.md", data)
    write(tmp_path / "notes" / "good.md", ZH_NOTE.read_bytes())
    papers, problems = papers_of(tmp_path / "notes")
    assert papers == zh_papers
    assert problems == [f"{bad}: error: {message}"]


def test_nul_past_the_first_block_is_reported_with_its_line(tmp_path):
    note = write(tmp_path / "n.md", b"# Title\n" + b"text\n" * 3000 + b"bad \x00 byte\n")
    with pytest.raises(InputError) as err:
        read_note(NoteRef(note, "n.md", tmp_path))
    assert str(err.value) == "n.md:3002: error: binary file (NUL characters), not Markdown text"


def test_undecodable_file_names_the_line_and_the_byte(tmp_path):
    note = write(tmp_path / "n.md", b"# Notes\n- caf\xe9 \x81\x8d\n")
    with pytest.raises(InputError) as err:
        read_note(NoteRef(note, "n.md", tmp_path))
    assert str(err.value) == ("n.md:2: error: not UTF-8 (byte 0xe9), and not GB18030 or Windows-1252 text "
                              "either; save it as UTF-8")


def test_bad_bytes_after_a_bom_are_reported(tmp_path):
    note = write(tmp_path / "n.md", b"\xef\xbb\xbf# Notes\nline\n\xff\xfe oops\n")
    with pytest.raises(InputError) as err:
        read_note(NoteRef(note, "n.md", tmp_path))
    assert str(err.value) == "n.md:3: error: not valid utf-8-sig after its byte-order mark"


def test_big5_note_is_skipped_not_read_as_made_up_chinese(tmp_path):
    # Policy: GB18030 is the only Chinese encoding detected; Big5 must not come out as other characters.
    text = "# 論文筆記\n\n## 注意力機制 (NeurIPS 2017)\n- 問題：循環網絡難以並行。\n- 方法：完全基於注意力。\n"
    note = write(tmp_path / "n.md", text.encode("big5"))
    with pytest.raises(InputError, match="save it as UTF-8"):
        read_note(NoteRef(note, "n.md", tmp_path))


@given(st.text().filter(lambda t: "\x00" not in t and not t.startswith(("\ufeff", "%PDF", "GIF8", "\x7fELF"))))
def test_utf8_text_is_never_guessed_at(text):
    """Detection runs only when UTF-8 fails: ASCII and UTF-8, however short, decode as UTF-8."""
    assert decode(text.encode("utf-8"), "x.md") == (text, "utf-8")


ASCII_LETTERS = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=5)
ACCENTS = st.text("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßÀÁÂÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÖØÙÚÛÜÝ", max_size=2)
# Words as European languages write them: one or two accented letters at a time (café, Grüße, naïve).
LATIN_WORD = st.lists(st.tuples(ASCII_LETTERS, ACCENTS), min_size=1, max_size=3).map(
    lambda parts: "".join(a + b for a, b in parts))
LATIN_TEXT = st.lists(st.tuples(LATIN_WORD, st.sampled_from([" ", " ", ", ", ". ", "\n", "\n- ", ": "])),
                      min_size=1, max_size=80).map(lambda ws: "".join(w + sep for w, sep in ws))


@given(LATIN_TEXT)
def test_latin1_text_never_turns_into_chinese(text):
    """Policy: Latin-1 text is read as Windows-1252 (same letters) or skipped, never as GB18030."""
    try:
        decoded, encoding = decode(text.encode("latin-1"), "x.md")
    except InputError as exc:
        assert "save it as UTF-8" in exc.message
        return
    assert (decoded, encoding) in ((text, "utf-8"), (text, "cp1252"))


def test_file_over_the_size_limit_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(read, "MAX_BYTES", 1024 * 1024)
    note = write(tmp_path / "big.md", b"x" * (2 * 1024 * 1024))
    with pytest.raises(InputError, match="file is 2 MiB; notes files over 1 MiB are skipped"):
        read_note(NoteRef(note, "big.md", tmp_path))


# Finding files


def test_folder_link_to_its_parent_reads_each_note_once(tmp_path, zh_papers):
    notes = tmp_path / "notes"
    write(notes / "sub" / "a.md", ZH_NOTE.read_bytes())
    (notes / "sub" / "up").symlink_to(notes, target_is_directory=True)  # notes/sub/up -> notes: a loop
    refs, problems = find_notes([notes])
    assert [r.display for r in refs] == [str(notes / "sub" / "a.md")] and problems == []
    assert papers_of(notes) == (zh_papers, [])


def test_file_link_to_itself_is_skipped_with_a_message(tmp_path):
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    write(tmp_path / "good.md", ZH_NOTE.read_bytes())
    papers, problems = papers_of(tmp_path)
    assert papers and problems == [f"{tmp_path / 'loop.md'}: error: cannot read: Too many levels of symbolic links"]


def test_broken_link_is_skipped_with_a_message(tmp_path):
    (tmp_path / "gone.md").symlink_to(tmp_path / "nowhere.md")
    assert papers_of(tmp_path) == ([], [f"{tmp_path / 'gone.md'}: error: cannot read: broken link"])


def test_folder_named_like_a_note_is_searched_not_read(tmp_path, zh_papers):
    write(tmp_path / "x.md" / "inner.md", ZH_NOTE.read_bytes())
    assert papers_of(tmp_path) == (zh_papers, [])
    assert papers_of(tmp_path / "x.md") == (zh_papers, [])


def test_names_with_spaces_and_chinese_are_read_and_named_in_messages(tmp_path, zh_papers):
    folder = tmp_path / "读书 笔记"
    write(folder / "论文 笔记 2023.md", ZH_NOTE.read_bytes())
    bad = write(folder / "坏 文件.md", b"%PDF-1.4")
    papers, problems = papers_of(folder)
    assert papers == zh_papers
    assert problems == [f"{bad}: error: binary file (a PDF), not Markdown text"]


def test_a_path_given_twice_is_read_once(tmp_path, zh_papers):
    note = write(tmp_path / "n.md", ZH_NOTE.read_bytes())
    assert papers_of(note, tmp_path, note) == (zh_papers, [])


def test_missing_path_is_reported_and_the_rest_is_read(tmp_path, zh_papers):
    note = write(tmp_path / "n.md", ZH_NOTE.read_bytes())
    assert papers_of(tmp_path / "missing", note) == (zh_papers, [f"{tmp_path / 'missing'}: error: no such file or folder"])


def test_unreadable_file_is_skipped_with_a_message(tmp_path, monkeypatch, zh_papers):
    locked = write(tmp_path / "locked.md", ZH_NOTE.read_bytes())
    write(tmp_path / "open.md", ZH_NOTE.read_bytes())
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads through chmod 000: make the read fail the way it would
        real = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self.name == "locked.md":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    try:
        papers, problems = papers_of(tmp_path)
    finally:
        locked.chmod(0o644)
    assert papers == zh_papers
    assert problems == [f"{locked}: error: cannot read: Permission denied"]


def test_named_pipe_is_skipped_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.md")
    assert papers_of(tmp_path) == ([], [f"{tmp_path / 'pipe.md'}: error: not a regular file"])
