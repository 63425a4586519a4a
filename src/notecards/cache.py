"""Extraction cache: a notes file's text + the rules in effect -> its cards (a build keeps only the
cards and what it reports: pickling the Document too cost a build a third of its cache's time).

One small gzip file per notes file in `<out>/.notecards-cache/`, written atomically: a few pickles
in a row, the Entry without its cards, the cards a paper at a time, then a Tail (so a big notes
file's cards can be written as they are made, and read back, without all being held twice). An
entry is used only when its key matches: the file's decoded text and display path, and a
fingerprint of everything else a result depends on (see `fingerprint`). Anything unreadable is a miss, never an
error: the file is extracted again and the entry rewritten.

The cache sits in the user's own output folder and is read with pickle, which can run code: a
folder others can write to is no place for decks or for this cache.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import sys
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from notecards.config import Config
from notecards.fsutil import atomic_write
from notecards.model import Card, Document, SourceFile, waits_for_files

CACHE_DIR = ".notecards-cache"
_FORMAT = 5
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


@dataclass(frozen=True, slots=True)
class Tail:
    """The last record of an entry: what is known once every card of the file is made."""

    warnings: tuple[str, ...]
    """The CardBatch's warnings."""
    left_out: frozenset[int] = frozenset()
    """Positions, among the cards written, of those the batch leaves out (cards.end_cards)."""
    media: tuple[tuple[str, int, int], ...] = ()
    """Entry.media: filled in by the writer, from the cards that went by."""


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

    def path(self, src_path: str, folder: str) -> Path:
        """Where the entry of this file is kept."""
        return self.folder / (digest(src_path, folder)[:32] + ".pickle")

    def has(self, path: str, folder: str) -> bool:
        """Whether an entry is stored for this file (under any key)."""
        return self.path(path, folder).exists()

    def get(self, path: str, folder: str, key: str) -> Entry | None:
        """The entry stored for this file under this key, or None (missing, stale or unreadable)."""
        return read_entry(self.path(path, folder), key)

    def usable_cards(self, entry: Entry):
        """The entry's CardBatch if it was made with this config and its images are unchanged."""
        if entry.cards is None or entry.cards_key != self.cards_key or waits_for_files(entry.cards.warnings):
            return None  # the user may add the missing image: remade
        if entry.media and media_stats([p for p, _, _ in entry.media]) != entry.media:
            return None
        return entry.cards

    def put(self, src: SourceFile, doc: Document, cards: Any, key: str) -> None:
        """Store the cards made from `src` (whose key is `key`) and the Document's counts. A cache
        that can't be written costs speed, never the build."""
        head = Entry(key, len(doc.papers), doc.warnings, self.cards_key)
        try:
            write_entry(self.path(src.path, src.folder), head, [cards.cards, Tail(cards.warnings)])
        except (OSError, pickle.PicklingError, RecursionError):
            pass

    def prune(self, keep: list[tuple[str, str]]) -> None:
        """Delete entries of files that are no longer notes (and temp files a killed run left)."""
        wanted = {self.path(p, f).name for p, f in keep}
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


def write_entry(path: Path, head: Entry, pieces: Iterable[tuple[Card, ...] | Tail]) -> None:
    """Write an entry atomically: `head` (without cards or media), then each tuple of cards as it
    comes, then the Tail that ends `pieces`. Each piece is its own pickle, so a big notes file's
    cards are never pickled (nor held) all at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: _dump_pieces(fh, head, pieces), durable=False)


def _dump_pieces(fh, head: Entry, pieces: Iterable[tuple[Card, ...] | Tail]) -> None:
    # gzip level 1: cards repeat their paper's context, so entries shrink about 6x for little time.
    media: list[tuple[int, str]] = []  # (position, image) of the cards that pack one
    written = 0
    with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=1, mtime=0) as out:
        pickle.dump(head, out, protocol=pickle.HIGHEST_PROTOCOL)
        for piece in pieces:
            if isinstance(piece, Tail):
                kept = [m for i, m in media if i not in piece.left_out]
                piece = replace(piece, media=media_stats(kept) or ())
            else:
                media += [(written + k, m) for k, c in enumerate(piece) for m in c.media]
                written += len(piece)
            pickle.dump(piece, out, protocol=pickle.HIGHEST_PROTOCOL)


def read_entry(path: Path, key: str | None = None) -> Entry | None:
    """The entry in `path` with its CardBatch, or None: missing, unreadable, written by an older
    notecards, or (given `key`) stored under another key, which is found without reading its cards."""
    from notecards.cards import CardBatch

    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as fh:
            head = pickle.load(fh)
            if not isinstance(head, Entry) or key is not None and head.key != key:
                return None
            cards: list[Card] = []
            while not isinstance(piece := pickle.load(fh), Tail):
                cards.extend(piece)
    except Exception:  # truncated, corrupt, or written by an older notecards: a miss
        return None
    kept = tuple(c for i, c in enumerate(cards) if i not in piece.left_out) if piece.left_out else tuple(cards)
    return replace(head, cards=CardBatch(kept, piece.warnings), media=piece.media)
