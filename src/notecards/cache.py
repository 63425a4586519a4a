"""Extraction cache: a notes file's text + the rules in effect -> its cards (a build keeps only the
cards and what it reports: pickling the Document too cost a build a third of its cache's time).

One small compressed pickle per notes file in `<out>/.notecards-cache/`, written atomically. An
entry is used only when its key matches: the file's decoded text and display path, and a
fingerprint of everything else a result depends on (see `fingerprint`). Anything unreadable is a miss, never an
error: the file is extracted again and the entry rewritten.

The cache sits in the user's own output folder and is read with pickle, which can run code: a
folder others can write to is no place for decks or for this cache.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import zlib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from notecards.config import Config
from notecards.fsutil import atomic_write
from notecards.model import Document, SourceFile

CACHE_DIR = ".notecards-cache"
_FORMAT = 3
_TEMP_PREFIX = ".tmp-"
_NOT_FOR_CARDS = ("notes", "out", "cache", "base")
"""Config keys that never change what a Document's cards are (`base`, the config file's folder, is
read only to resolve paths: moving config.yaml keeps the cache)."""


def digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=20)
    for p in parts:
        data = p if isinstance(p, bytes) else repr(p).encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


_NOT_FOR_RESULTS = frozenset({"__main__.py", "cli.py", "preview.py", "progress.py", "show.py"})
"""Modules that only present results: editing them keeps the cache. Any other module counts."""


def _package_bytes() -> list[tuple[str, bytes]]:
    """The package's own code and shipped tables: a new notecards (or an edited rule) is a new key."""
    root = resources.files("notecards")
    out = []
    for folder in (root, root / "resources"):
        for item in sorted(folder.iterdir(), key=lambda i: i.name):
            if item.is_file() and item.name.endswith((".py", ".yaml", ".html", ".css")) \
                    and item.name not in _NOT_FOR_RESULTS:
                out.append((item.name, item.read_bytes()))
    return out


def fingerprint(config: Config) -> str:
    """Everything a Document depends on besides its file: notecards itself, the cue tables, venues.

    The code counts, not just the version number: during development extract.py changes while the
    version stays, and a result cached by the old code must not survive that.
    """
    try:
        user = config.cues.read_bytes() if config.cues else b""
    except OSError:
        user = b"unreadable"  # load_rules reports it; here it only has to differ from any content
    return digest(_FORMAT, sys.version_info[:2], _package_bytes(), str(config.cues), user,
                   sorted(config.venues.items()))


def cards_fingerprint(config: Config) -> str:
    """Every config key that may shape cards made from a Document: deck names, tags, splitting, wording.

    All keys but a few, so a key added later is covered without anyone remembering this function.
    """
    return digest(*((f.name, _plain(getattr(config, f.name))) for f in fields(config)
                     if f.name not in _NOT_FOR_CARDS))


def _plain(value: Any) -> Any:
    return sorted((str(k), _plain(v)) for k, v in value.items()) if isinstance(value, dict) else value


@dataclass(frozen=True, slots=True)
class Entry:
    """What one notes file gave the last time it was extracted."""

    key: str
    """Digest of the fingerprint, the display path, folder, encoding and text."""
    papers: int = 0
    warnings: tuple[str, ...] = ()
    cards_key: str = ""
    """cards_fingerprint() the cards were made with; empty when there are none."""
    cards: Any = None
    """The CardBatch made from `doc`, or None."""
    media: tuple[tuple[str, int, int], ...] = ()
    """(path, size, mtime_ns) of every image the cards pack: an edited image remakes them."""


def media_stats(paths: list[str] | tuple[str, ...]) -> tuple[tuple[str, int, int], ...] | None:
    """Size and mtime of each file, or None when one is gone."""
    out = []
    for p in sorted(set(paths)):
        try:
            st = os.stat(p)
        except OSError:
            return None
        out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(out)


class Cache:
    """The entries in one output folder, for one config."""

    def __init__(self, out: Path, config: Config):
        self.folder = Path(out) / CACHE_DIR
        self.fingerprint = fingerprint(config)
        self.cards_key = cards_fingerprint(config)

    def key(self, src: SourceFile) -> str:
        return digest(self.fingerprint, src.path, src.folder, src.encoding, src.text.encode("utf-8", "surrogatepass"))

    def seen(self, display: str, folder: str, stat: tuple[int, ...]) -> str:
        """The file as last seen on disk (its stat: size, times, inode) under these rules; '' for a
        file not there. A file whose `seen` is as recorded has the recorded key, without reading it."""
        return digest(self.fingerprint, display, folder, stat) if stat else ""

    def _path(self, src_path: str, folder: str) -> Path:
        return self.folder / (digest(src_path, folder)[:32] + ".pickle")

    def has(self, path: str, folder: str) -> bool:
        """Whether an entry is stored for this file (under any key)."""
        return self._path(path, folder).exists()

    def get(self, path: str, folder: str, key: str) -> Entry | None:
        """The entry stored for this file under this key, or None (missing, stale or unreadable)."""
        entry = _load(self._path(path, folder))
        return entry if isinstance(entry, Entry) and entry.key == key else None

    def usable_cards(self, entry: Entry):
        """The entry's CardBatch if it was made with this config and its images are unchanged."""
        if entry.cards is None or entry.cards_key != self.cards_key or entry.cards.warnings:
            # A warning may be a missing image that the user adds later: those cards are remade.
            return None
        if entry.media and media_stats([p for p, _, _ in entry.media]) != entry.media:
            return None
        return entry.cards

    def put(self, src: SourceFile, doc: Document, cards: Any, key: str) -> None:
        """Store the cards made from `src` (whose key is `key`) and the Document's counts. A cache
        that can't be written costs speed, never the build."""
        media = media_stats([m for c in cards.cards for m in c.media]) or ()
        entry = Entry(key, len(doc.papers), doc.warnings, self.cards_key, cards, media)
        try:
            _atomic_dump(self._path(src.path, src.folder), entry)
        except (OSError, pickle.PicklingError, RecursionError):
            pass

    def prune(self, keep: list[tuple[str, str]]) -> None:
        """Delete entries of files that are no longer notes (and temp files a killed run left)."""
        wanted = {self._path(p, f).name for p, f in keep}
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            if (name.startswith(_TEMP_PREFIX) or name.endswith(".pickle")) and name not in wanted:
                try:
                    os.unlink(self.folder / name)
                except OSError:
                    pass


def _load(path: Path) -> Any:
    try:
        return pickle.loads(zlib.decompress(path.read_bytes()))
    except Exception:  # truncated, corrupt, or written by an older notecards: a miss
        return None


def _atomic_dump(path: Path, value: Any) -> None:
    # zlib level 1: cards repeat their paper's context, so entries shrink about 6x for little time.
    # Pickled straight into the compressor: a big notes file's pickle is never held whole.
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: _dump_compressed(fh, value), durable=False)


class _Compressing:
    """A file-like `write` that deflates into `fh`."""

    def __init__(self, fh):
        self.fh, self.z = fh, zlib.compressobj(1)

    def write(self, data) -> None:
        self.fh.write(self.z.compress(data))


def _dump_compressed(fh, value: Any) -> None:
    out = _Compressing(fh)
    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(out.z.flush())
