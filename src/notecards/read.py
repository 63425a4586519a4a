"""Paths -> SourceFiles: find the notes, decode each one strictly on its own."""
from __future__ import annotations

import codecs
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from notecards.errors import InputError
from notecards.model import SourceFile

MAX_BYTES = 64 * 1024 * 1024
NOTE_SUFFIXES = (".md", ".markdown")
_BINARY_MAGIC = {b"%PDF": "a PDF", b"PK\x03\x04": "a zip archive: docx, epub, ...", b"\x89PNG": "a PNG image",
                 b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"\x7fELF": "a program",
                 b"SQLite format 3\x00": "an SQLite database"}
# (byte-order mark, name recorded in SourceFile.encoding, codec for the bytes after the mark)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "utf-8"), (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
         (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"))
_LATIN_SIGNS = set("°€×©®™§¶·•")
_ASCII = re.compile(r"[\x00-\x7f]+")
_GB2312_COMMON = re.compile(rb"[\xa1-\xa3\xb0-\xf7]")
"""Lead bytes of GB2312 rows holding punctuation, fullwidth forms (A1-A3) and hanzi (B0-F7)."""
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_FIELD_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab and line ends: U+001F splits an Anki note's fields, and the
others would reach a card as invisible garbage."""


@dataclass(frozen=True, slots=True)
class NoteRef:
    """A notes file found on disk, before it is read."""

    path: Path
    display: str
    folder: Path


def find_notes(paths: Iterable[Path]) -> tuple[list[NoteRef], list[InputError]]:
    """Expand files and folders into notes files, sorted, each once; report what is unusable.

    A file reached twice (a path given twice, a folder link) is read once, under its first name.
    """
    found: dict[str, NoteRef] = {}
    problems: list[InputError] = []
    for root in paths:
        if root.is_dir():
            for path in _walk(root, problems):
                found.setdefault(os.path.realpath(path), NoteRef(path, str(path), root))
        elif root.exists() or root.is_symlink():  # a broken or looping link: read_note says which
            found.setdefault(os.path.realpath(root), NoteRef(root, str(root), root.parent))
        else:
            problems.append(InputError("no such file or folder", path=shown_path(str(root))))
    usable = []
    for ref in found.values():
        if (why := _unusable_name(ref.display)) is None:
            usable.append(ref)
        else:
            problems.append(InputError(why, path=shown_path(ref.display)))
    return sorted(usable, key=lambda r: r.display), problems


def shown_path(path: str) -> str:
    """A path as valid UTF-8 text: the bytes of a name that is not UTF-8 shown as `\\xe9`."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _unusable_name(path: str) -> str | None:
    """Why a file's name can't go into a deck (its Source field, the state file), or None."""
    if shown_path(path) != path:
        return "the file name is not UTF-8; rename the file"
    if _FIELD_UNSAFE.search(path):
        return "the file name has a control character; rename the file"
    return None


def _walk(root: Path, problems: list[InputError]) -> Iterator[Path]:
    """Notes files under `root`, following links but never into the same folder twice.

    A link back to a parent folder is a loop; skipping the second visit loses nothing.
    """
    seen: set[str] = set()

    def onerror(exc: OSError) -> None:
        problems.append(InputError(f"cannot list folder: {exc.strerror}", path=shown_path(exc.filename)))

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=onerror):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(NOTE_SUFFIXES) and not name.startswith("."):
                yield Path(folder) / name


def decode(data: bytes, where: str) -> tuple[str, str]:
    """Bytes -> (text, encoding). Strict: undecodable input raises, never 'ignore'.

    UTF-8 first, so ASCII and UTF-8 are never guessed at. Only a file that is not UTF-8 is read
    as GB18030 (which includes GBK and GB2312) and as Windows-1252 (Latin-1), and it is decoded
    only when exactly one reading looks like text in its script (and charset-normalizer agrees on
    Windows-1252, where Big5 or Shift-JIS could pass): Latin-1 never comes out as made-up Chinese.
    """
    for bom, encoding, codec in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            try:
                return body.decode(codec).lstrip("\ufeff"), encoding
            except UnicodeDecodeError as exc:
                line = body[:exc.start].decode(codec, errors="replace").count("\n") + 1
                raise InputError(f"not valid {encoding} after its byte-order mark", path=where,
                                 line=line) from None
    kind = next((name for magic, name in _BINARY_MAGIC.items() if data.startswith(magic)), None)
    if kind:
        raise InputError(f"binary file ({kind}), not Markdown text", path=where)
    if b"\x00" in data[:8192]:
        raise InputError(_nul_message(data), path=where)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    latin, chinese = _read_as(data, "cp1252", _looks_latin), _read_as(data, "gb18030", _looks_chinese)
    if latin is not None and chinese is None and _guess(data) == "cp1252":
        return latin, "cp1252"
    if chinese is not None and latin is None:
        return chinese, "gb18030"
    raise InputError(f"not UTF-8 (byte 0x{data[bad]:02x}), and not GB18030 or Windows-1252 text either; "
                     "save it as UTF-8", path=where, line=data.count(b"\n", 0, bad) + 1)


def _read_as(data: bytes, encoding: str, plausible: Callable[[str], bool]) -> str | None:
    """The text in `encoding` if it decodes and looks like text in that script, else None.

    When both readings look right (`ÀÀ` is also `览`), neither is taken: skipping with a message
    beats cards in the wrong script.
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return text if plausible(text) else None


def _guess(data: bytes) -> str | None:
    """charset-normalizer's pick among the encodings notes are likely to be in."""
    from charset_normalizer import from_bytes  # only for the rare file that is not UTF-8

    best = from_bytes(data[:200_000], cp_isolation=["cp1252", "gb18030", "big5", "shift_jis"]).best()
    return best.encoding if best else None


def _looks_chinese(text: str) -> bool:
    """Two or more common Chinese characters, and 90% of the non-ASCII ones common.

    Common: GB2312's hanzi, punctuation and fullwidth forms, not its kana, Greek or box drawing.
    Latin-1 read as GB18030 pairs an accented letter with the next byte, which is rarely a
    common character, so made-up Chinese fails this test; so do Big5 and Shift-JIS.
    """
    sample = _ASCII.sub("", text)[:100_000]
    leads = sample.encode("gb2312", errors="ignore")[0::2]  # two bytes per GB2312 character
    common = len(_GB2312_COMMON.findall(leads))
    return common >= 2 and len(sample) * 0.9 <= common


def _looks_latin(text: str) -> bool:
    """No control characters; non-ASCII characters are letters or punctuation, mostly one or two in a row.

    Accents sit inside ASCII words (`café`, `Grüße`); GBK read as Windows-1252 gives runs (`ÂÛÎÄÔÄ¶Á`).
    """
    if _CONTROL.search(text):
        return False
    head = text[:1_000_000]
    sample = _ASCII.sub("", head)
    usual = sum(1 for c in sample if unicodedata.category(c)[0] in "LP" or c in _LATIN_SIGNS)
    in_runs = sum(map(len, _NON_ASCII_RUN.findall(head)))
    return usual >= len(sample) * 0.9 and in_runs <= len(sample) * 0.2


def _nul_message(data: bytes) -> str:
    head = data[:8192]
    if head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4:
        return "UTF-16 text without a byte-order mark; save it as UTF-8"
    return "binary file (NUL bytes), not Markdown text"


def read_note(ref: NoteRef) -> SourceFile:
    """Read and decode one notes file; raise InputError naming the file."""
    try:
        st = ref.path.stat()
        if not stat.S_ISREG(st.st_mode):  # a pipe or a device would block or never end
            raise InputError("not a regular file", path=ref.display)
        if st.st_size > MAX_BYTES:
            raise InputError(f"file is {st.st_size // 2**20} MiB; notes files over "
                             f"{MAX_BYTES // 2**20} MiB are skipped", path=ref.display)
        data = ref.path.read_bytes()
    except FileNotFoundError:
        why = "broken link" if ref.path.is_symlink() else "file disappeared while reading"
        raise InputError(f"cannot read: {why}", path=ref.display) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=ref.display) from None
    text, encoding = decode(data, ref.display)
    if "\x00" in text:
        raise InputError("binary file (NUL characters), not Markdown text", path=ref.display,
                         line=text.count("\n", 0, text.index("\x00")) + 1)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, warnings = field_safe(text, ref.display)
    return SourceFile(path=ref.display, text=text, encoding=encoding, folder=str(ref.folder), warnings=warnings)


def field_safe(text: str, where: str) -> tuple[str, tuple[str, ...]]:
    """`text` without the characters an Anki field can't hold (U+001F separates a note's fields),
    and a `path:line: warning:` for each line that had one."""
    if not _FIELD_UNSAFE.search(text):
        return text, ()
    warnings = []
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if found := sorted(set(_FIELD_UNSAFE.findall(line))):
            codes = ", ".join(f"U+{ord(c):04X}" for c in found)
            warnings.append(f"{where}:{n}: warning: control character {codes} removed (Anki cannot hold it in a card)")
            lines[n - 1] = _FIELD_UNSAFE.sub("", line)
    return "\n".join(lines), tuple(warnings)
