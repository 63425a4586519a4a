"""Paths -> SourceFiles: find the notes, decode each one strictly on its own."""
from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from notecards.errors import InputError
from notecards.model import SourceFile

MAX_BYTES = 64 * 1024 * 1024
NOTE_SUFFIXES = (".md", ".markdown")
_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x7fELF",
                 b"SQLite format 3")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True, slots=True)
class NoteRef:
    """A notes file found on disk, before it is read."""

    path: Path
    display: str
    folder: Path


def find_notes(paths: Iterable[Path]) -> tuple[list[NoteRef], list[InputError]]:
    """Expand files and folders into notes files, sorted, each once; report what is unusable."""
    found: dict[Path, NoteRef] = {}
    problems: list[InputError] = []
    for root in paths:
        if root.is_file():
            found.setdefault(root.resolve(), NoteRef(root, str(root), root.parent))
        elif root.is_dir():
            for path in _walk(root, problems):
                found.setdefault(path.resolve(), NoteRef(path, str(path), root))
        else:
            problems.append(InputError("no such file or folder", path=str(root)))
    return sorted(found.values(), key=lambda r: r.display), problems


def _walk(root: Path, problems: list[InputError]) -> Iterator[Path]:
    """Notes files under `root`, following links but never the same folder twice."""
    seen: set[str] = set()

    def onerror(exc: OSError) -> None:
        problems.append(InputError(f"cannot list folder: {exc.strerror}", path=exc.filename))

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=onerror):
        real = os.path.realpath(folder)
        if real in seen:
            problems.append(InputError("folder link loop skipped", path=folder))
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(NOTE_SUFFIXES) and not name.startswith("."):
                yield Path(folder) / name


def decode(data: bytes, where: str) -> tuple[str, str]:
    """Bytes -> (text, encoding). Strict: undecodable input raises, never 'ignore'."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff"), encoding
            except UnicodeDecodeError as exc:
                raise InputError(f"bad {encoding} byte at offset {exc.start}", path=where) from None
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data[:8192]:
        raise InputError("binary file, not Markdown text", path=where)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    from charset_normalizer import from_bytes  # only for the rare non-UTF-8 file

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "utf_16", "shift_jis", "cp1252"]).best()
    if best is not None and best.encoding:
        encoding = "gb18030" if best.encoding in ("gbk", "gb2312") else best.encoding
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    line = data[: utf8_error.start].count(b"\n") + 1
    raise InputError(f"not UTF-8 (bad byte 0x{data[utf8_error.start]:02x}) and no other encoding fits",
                     path=where, line=line)


def read_note(ref: NoteRef) -> SourceFile:
    """Read and decode one notes file; raise InputError naming the file."""
    try:
        size = ref.path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"file is {size // 2**20} MiB; notes files over "
                             f"{MAX_BYTES // 2**20} MiB are skipped", path=ref.display)
        data = ref.path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=ref.display) from None
    text, encoding = decode(data, ref.display)
    if "\x00" in text:
        raise InputError("binary file, not Markdown text (NUL characters)", path=ref.display)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceFile(path=ref.display, text=text, encoding=encoding, folder=str(ref.folder))
