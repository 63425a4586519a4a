"""Cards -> one .apkg per deck in the output folder: the only module that imports genanki.

Anki's importer (update notes "if newer") matches notes by guid and updates one only when the
package's note mtime is newer than the collection's. genanki stamps every note with the build
time, so an unchanged note would look edited on every build and a rebuild in the same second
would be skipped. The ledger (ledger.py) keeps each note's content hash and mtime, and each
paper's identity (identity.carry_identity); every note gets its own mtime, moved only when its
content changed.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import sqlite3
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

if TYPE_CHECKING:
    from multiprocessing.pool import Pool

from notecards.errors import OutputError
from notecards.fsutil import TEMP_PREFIX, atomic_write, prepare_folder, resource_text
from notecards.identity import Carried, PaperIdentity, carry_identity
from notecards.ledger import DeckRecord, FileRecord, Ledger, file_record, file_stat, load_ledger, save_ledger
from notecards.model import Card
from notecards.render import media_name

MODEL_ID = 1_735_801_607
"""Fixed forever: a new id (or a new field on this id) makes Anki add a second note type."""
MODEL_NAME = "notecards Paper"
FIELDS = ("Question", "Answer", "Title", "Meta", "Context", "Source", "Extra", "Kind")
ZIP_LEVEL = 1
"""zlib level: 1 packs a deck three times faster than the default 6, for a file about 10 % larger."""
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so an unchanged deck is byte-for-byte the same file
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


# --- the note type -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def card_resources() -> tuple[str, str, str]:
    """The card templates (front, back) and style sheet every deck packs."""
    return tuple(map(resource_text, ("card_front.html", "card_back.html", "style.css")))


def _model() -> genanki.Model:
    """A fresh Model each time: genanki's Model.to_json mutates its field and template dicts."""
    model = _new_model()
    model.__dict__["_req"] = _required_fields()  # genanki's cached_property, worked out once, not per deck
    return model


def _new_model() -> genanki.Model:
    front, back, css = card_resources()
    return genanki.Model(MODEL_ID, MODEL_NAME, fields=[{"name": f} for f in FIELDS],
                         templates=[{"name": "Card", "qfmt": front, "afmt": back}], css=css)


@lru_cache(maxsize=1)
def _required_fields() -> list:
    return _new_model()._req


def model_hash() -> str:
    return _hash([MODEL_ID, MODEL_NAME, FIELDS, *card_resources()])


class _Note(genanki.Note):
    """A note that writes its own mtime (genanki writes the package timestamp on every note)."""

    def __init__(self, *args, mtime: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.mtime = mtime

    def write_to_db(self, cursor, timestamp, deck_id, id_gen):
        super().write_to_db(cursor, self.mtime, deck_id, id_gen)

    def _check_invalid_html_tags_in_fields(self):
        """Skipped: render.py sanitised every field with nh3 (genanki's check costs 10 µs a note)."""

    @property
    def cards(self):
        """genanki's own, without its cached_property, which asks for every note whether `cards`
        is a coroutine (a third of genanki's time per note). write_to_db reads it once."""
        return self._front_back_cards()


def note_fields(card: Card) -> list[str]:
    return [card.question, card.answer, card.title, card.meta, card.context, card.source, card.extra, card.kind]


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:24]


def note_hash(card: Card) -> str:
    """What a note shows: its fields and tags (separators no field or tag contains)."""
    text = "\x1f".join(note_fields(card)) + "\x1e" + " ".join(sorted(card.tags))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def build_time(previous: Ledger) -> int:
    """A build's `now`: the clock, and past every mtime an earlier build gave, so that a note back
    under a guid the ledger had let go (merged away, then split out again) is newer than the copy
    a collection holds, also within the same second."""
    return max(int(time.time()), previous.issued + 1)


def next_mtime(old: tuple[str, int] | None, content: str, now: int) -> int:
    """Unchanged content keeps its mtime; changed content moves past both now and the old mtime,
    so a rebuild within the same second still reads as newer to Anki."""
    if old is None:
        return now
    old_hash, old_mtime = old
    return old_mtime if old_hash == content else max(now, old_mtime + 1)


# --- names and ids -------------------------------------------------------------------------


def deck_id(name: str) -> int:
    """Stable id from the deck name (Anki deck names ignore case)."""
    return int(hashlib.sha256(name.casefold().encode()).hexdigest()[:8], 16) % (1 << 30) + (1 << 30)


def deck_file_name(deck: str) -> str:
    """`Papers::AI对齐` -> `Papers - AI对齐.apkg`: safe on Windows, macOS and Linux, Chinese kept."""
    name = unicodedata.normalize("NFC", " - ".join(p.strip() for p in deck.split("::")))
    name = _UNSAFE.sub("_", name).strip(" .") or "deck"
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    while len(name.encode()) > 150:  # most file systems allow 255 bytes; leave room
        name = name[:-1]
    return name.rstrip(" .") + ".apkg"


def _file_names(decks: Iterable[str]) -> dict[str, str]:
    """deck -> file name; decks whose names clash on a case-insensitive disk get a hash suffix."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for deck in sorted(decks):
        name = deck_file_name(deck)
        if name.casefold() in taken:
            name = name[:-5] + f" ({hashlib.sha256(deck.encode()).hexdigest()[:6]}).apkg"
        taken.add(name.casefold())
        out[deck] = name
    return out


# --- files ---------------------------------------------------------------------------------


def _zip_entry(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    z.writestr(info, data, compresslevel=ZIP_LEVEL)


@lru_cache(maxsize=1)
def _empty_collection() -> bytes:
    """What genanki.Package.write_to_db starts each package with (its schema and collection
    scripts), made once per process instead of once per deck."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(APKG_SCHEMA)
        conn.executescript(APKG_COL)
        conn.commit()
        return conn.serialize()
    finally:
        conn.close()


def _apkg(fh: BinaryIO, db: bytes | Path, media: list[str]) -> None:
    """The package: the collection (bytes, or a file streamed in) and the media, zipped into `fh`."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as z:
        if isinstance(db, bytes):
            _zip_entry(z, "collection.anki2", db)
        else:
            os.chmod(db, 0o644)
            os.utime(db, (_ZIP_MTIME, _ZIP_MTIME))  # zipfile dates an entry from the file
            z.write(db, "collection.anki2")
        _zip_entry(z, "media", json.dumps({str(i): media_name(Path(p)) for i, p in enumerate(media)}).encode())
        for i, p in enumerate(media):
            _zip_entry(z, str(i), Path(p).read_bytes())


_ZIP_MTIME = time.mktime((*_ZIP_TIME, 0, 0, -1))


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass  # a leftover we could not tidy is harmless; the next run tries again


# --- the stage -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileCards:
    """One notes file's part in a build: its cards, and what the ledger keeps about the file."""

    cards: tuple[Card, ...]
    """With the keys a build into a new folder gives them (identity.fresh_keys; give_guids)."""
    hashes: tuple[str, ...] = ()
    """note_hash of each card, if the caller made them (extraction workers do, in parallel)."""
    key: str = ""
    cards_key: str = ""
    keys: tuple[str, ...] = ()
    """paper_key of every paper the file has (its cards may come from another file), if not those of `cards`."""
    media: tuple[tuple[str, int, int], ...] = ()
    papers: int = 0
    warnings: tuple[str, ...] = ()
    reusable: bool = True
    seen: str = ""
    """cache.Cache.seen of the notes file, before it was read."""


@dataclass(frozen=True, slots=True)
class Written:
    decks: list[Path]
    """Every deck of the build, written now or standing from an earlier build."""
    removed: list[str]
    """Titles of papers gone since the last build."""
    ledger: Ledger


def write_decks(files: Mapping[str, FileCards], out: Path, keep: Collection[str] = (), *,
                progress: Callable[[int, int], None] | None = None, previous: Ledger | None = None,
                pool: Pool | None = None, early: EarlyDecks | None = None) -> Written:
    """Write the decks of `files` (a notes file's id -> its cards) into `out`, and the ledger.

    `keep` names files of the last build whose notes stand as they are, unread: their records are
    carried over. The caller keeps a kept file out of every deck and paper key of `files`
    (pipeline.py). Nothing is written or deleted when the folder can't be written, and a build that
    fails while writing removes the decks it added: OutputError names the file. `progress(done,
    total)` is called as decks are written. `previous`: the ledger in `out`, if the caller has read
    it already; `pool`: worker processes to write decks in; `early`: decks written while the
    build extracted, each used where it is the deck this build writes (the same digest).
    """
    out = Path(out)
    prepare_folder(out)
    previous = previous if previous is not None else load_ledger(out)
    kept = {f: previous.files[f] for f in keep if f in previous.files}
    plan = plan_notes(files, previous, kept, early.now if early is not None else build_time(previous))
    names = _file_names(plan.by_deck.keys() | plan.standing)
    jobs, digests = _deck_jobs(plan, out, names, previous)
    try:
        progress = progress or (lambda done, total: None)
        ready = early.take({job[1]: digests[job[1]] for job in jobs}) if early is not None else {}
        for path, deck, *_ in jobs:
            if deck in ready:
                os.replace(ready[deck], path)  # written early from the same notes: the same bytes
        todo = [job for job in jobs if job[1] not in ready]
        writing = _writing(todo, pool)
        if writing is None:  # in this process: the decks first, so a big deck's notes and the records are not held at once
            _drain((_write_deck(*_rows(job)) for job in todo), progress, len(jobs), len(ready))
            records = dict(kept) | file_records(plan, files)
        else:  # the pool writes the decks meanwhile
            records = dict(kept) | file_records(plan, files)
            _drain(writing, progress, len(jobs), len(ready))
        decks = {d: previous.decks[d] for d in plan.standing}
        decks.update((d, DeckRecord(names[d], digests[d], *file_stat(out / names[d]))) for d in plan.by_deck)
        issued = max((m for rows in plan.rows.values() for _, _, m, _ in rows), default=0)
        ledger = Ledger(model=plan.model, files=records, decks=decks,
                        gone=tuple(p for p in plan.carried.papers if not p.live), issued=max(previous.issued, issued))
        save_ledger(out, ledger)
    except OSError as exc:
        known = {r.file for r in previous.decks.values()}
        _remove(path for path, *_ in jobs if path.name not in known)  # no deck without a ledger entry
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=exc.filename or str(out)) from None
    _tidy(out, previous, {names[d] for d in decks})
    return Written([out / names[d] for d in sorted(decks)], list(plan.carried.removed), ledger)


_NoteRow = tuple[str, str, int, str]
"""What the ledger keeps of a note: guid, content hash, mtime, deck."""


@dataclass(frozen=True, slots=True)
class NotePlan:
    """Every note of a build with its guid and mtime, by notes file and by deck."""

    carried: Carried
    """The cards with the guids they keep (identity.carry_identity), in study order."""
    owner: tuple[str, ...]
    """For each card of `carried`, the notes file it comes from."""
    rows: dict[str, list[_NoteRow]]
    by_deck: dict[str, list[tuple[Card, int]]]
    """Each deck's cards with their mtimes."""
    content: dict[str, str]
    """guid -> note_hash."""
    model: tuple[str, int]
    """The note type's hash and mtime."""
    standing: frozenset[str]
    """Decks of kept files: on disk as written, not written now."""


def plan_notes(files: Mapping[str, FileCards], previous: Ledger, kept: Mapping[str, FileRecord],
               now: int) -> NotePlan:
    """Give every card its guid (kept from `previous`) and its mtime (moved only if it changed)."""
    ids = [f for f, fc in files.items() for _ in fc.cards]
    hashes = [h for fc in files.values() for h in (fc.hashes or map(note_hash, fc.cards))]
    read_again = [(f, r) for f, r in previous.files.items() if f not in kept]
    carried = carry_identity((c for fc in files.values() for c in fc.cards),
                             {p.ident: p for f, r in read_again for p in r.identities(f)} | {p.ident: p for p in previous.gone},
                             {i for r in kept.values() for i in r.idents}, fresh=True)
    model = model_hash()
    model_mtime = next_mtime(previous.model if previous.model[0] else None, model, now)
    old_notes = {g: (h, m) for f, r in read_again for g, h, m, _ in r.notes(f)}
    rows: dict[str, list[_NoteRow]] = {f: [] for f in files}
    content: dict[str, str] = {}
    by_deck: dict[str, list[tuple[Card, int]]] = {}
    for card, i in zip(carried.cards, carried.index):  # already in study order: paper by paper
        hashed = hashes[i]  # identity changes the guid, never what the note shows
        mtime = next_mtime(old_notes.get(card.guid), hashed, now)
        rows[ids[i]].append((card.guid, hashed, mtime, card.deck))
        content[card.guid] = hashed
        by_deck.setdefault(card.deck, []).append((card, mtime))
    standing = frozenset(d for r in kept.values() for d in r.decks)
    kept_keys = {k for r in kept.values() for k in r.keys}
    if standing & by_deck.keys() or kept_keys & {c.paper_key for c in carried.cards}:
        raise ValueError("a kept notes file shares a deck or a paper with the files being written")
    return NotePlan(carried, tuple(ids[i] for i in carried.index), rows, by_deck, content,
                    (model, model_mtime), standing)


def file_records(plan: NotePlan, files: Mapping[str, FileCards]) -> dict[str, FileRecord]:
    """The ledger record of each file written: its notes, and the identities of the papers it owns
    (a paper in two files is kept with the first)."""
    owner: dict[str, str] = {}
    for c, f in zip(plan.carried.cards, plan.owner):
        owner.setdefault(c.paper_key, f)
    idents: dict[str, list[PaperIdentity]] = {f: [] for f in files}
    for p in plan.carried.papers:
        if p.live:
            idents[owner[p.key]].append(p)
    return {f: file_record(key=fc.key, cards_key=fc.cards_key, media=fc.media, papers=fc.papers,
                           keys=fc.keys or tuple(dict.fromkeys(c.paper_key for c in fc.cards)),
                           warnings=fc.warnings, reusable=fc.reusable, seen=fc.seen, notes=plan.rows[f],
                           identities=idents[f])
            for f, fc in files.items()}


def _deck_jobs(plan: NotePlan, out: Path, names: Mapping[str, str], previous: Ledger) -> tuple[list[_Job], dict[str, str]]:
    """The decks to write (an .apkg is a pure function of its digest's inputs: an unchanged deck on
    disk as written is not rewritten), and every deck's digest."""
    jobs: list[_Job] = []
    digests: dict[str, str] = {}
    model, model_mtime = plan.model
    for deck in sorted(plan.by_deck):
        path = out / names[deck]
        digests[deck] = _deck_digest(deck, plan.by_deck[deck], plan.content, model, model_mtime)
        old = previous.decks.get(deck)
        if not (old and old.file == path.name and old.digest == digests[deck] and file_stat(path) == (old.size, old.mtime_ns)):
            jobs.append((path, deck, plan.by_deck[deck], model_mtime))
    return jobs, digests


def _drain(writing: Iterator[None], progress: Callable[[int, int], None], total: int, done: int = 0) -> None:
    """Wait for every deck (`done` of `total` are written already); the first failure is raised
    once every writer has stopped, so that no worker is still writing a deck when the caller
    removes the build's decks."""
    progress(done, total)
    failed: OSError | None = None
    while True:
        try:
            next(writing)
        except StopIteration:
            break
        except OSError as exc:
            failed = failed or exc
        done += 1
        progress(done, total)
    if failed is not None:
        raise failed


def _tidy(out: Path, previous: Ledger, current: set[str]) -> None:
    """Once every deck is in place: remove decks no longer produced (a renamed notes file) and
    temp files a killed run left behind."""
    stale = {r.file for r in previous.decks.values() if Path(r.file).name == r.file and r.file.endswith(".apkg")}
    _remove([out / n for n in sorted(stale - current)] + sorted(out.glob(TEMP_PREFIX + "*")) + [out / _OLD_DIGESTS])


_OLD_DIGESTS = ".notecards-decks.json"
"""Where notecards before the ledger kept deck digests."""


def _deck_digest(name: str, notes: list[tuple[Card, int]], content: dict[str, str], model_hash: str,
                 model_mtime: int) -> str:
    media = []
    for card, _ in notes:
        for m in card.media:
            try:
                st = os.stat(m)
                media.append((m, st.st_size, st.st_mtime_ns))
            except OSError:
                media.append((m, -1, -1))
    h = hashlib.sha256(json.dumps([name, model_hash, model_mtime, media], ensure_ascii=False).encode())
    for c, m in notes:  # 150,000 notes: feed the hash directly instead of building one JSON text
        h.update(f"\x1e{c.guid}\x1f{content[c.guid]}\x1f{m}".encode())
    return h.hexdigest()[:24]


_Row = tuple[list[str], tuple[str, ...], str, tuple[str, ...], int]
"""What a deck's file needs of one card: fields, tags, guid, media, mtime. A plain tuple, not a
Card: a writer process unpickles it three times faster (a NamedTuple is slower than either)."""


_Job = tuple[Path, str, list[tuple[Card, int]], int]
"""A deck to write: the file, the deck name, its cards with their mtimes, the model's mtime."""
PARALLEL_NOTES = 5_000
"""Fewer notes to write than this: one process (a worker costs more than it saves)."""


def _rows(job: _Job) -> tuple[Path, str, list[_Row], int]:
    path, deck, notes, model_mtime = job
    return path, deck, [(note_fields(c), c.tags, c.guid, c.media, m) for c, m in notes], model_mtime


def _write_job(job: tuple[Path, str, list[_Row], int]) -> None:
    _write_deck(*job)


def _writing(jobs: list[_Job], pool: Pool | None) -> Iterator[None] | None:
    """Every deck being written in `pool`, from the call on: one step per deck written, in the order
    of `jobs`; None when there is no pool or too little to write (then this process writes them).

    The caller works meanwhile (the ledger), then drains this. The pool was forked before any
    card existed (workers.early_pool) and is sent each deck's notes, so a worker holds one deck
    at a time instead of a copy of the build's memory.
    """
    if pool is None or sum(len(j[2]) for j in jobs) < PARALLEL_NOTES:
        return None
    return pool.imap(_write_job, map(_rows, jobs), chunksize=8)


@dataclass(frozen=True, slots=True)
class Early:
    """What an extraction worker needs to write a cold build's decks as it goes (EarlyDecks)."""

    out: Path
    now: int
    """The build's time: every note's mtime when nothing of an earlier build is carried."""
    model: str
    model_mtime: int


def write_early(early: Early, cards: Iterable[Card], hashes: Iterable[str]) -> tuple[tuple[str, str, str], ...]:
    """In an extraction worker: the decks of one notes file's cards (keyed by identity.fresh_keys,
    with their note_hash), each written into a temp file in the output folder as though no other
    file had a card in it -> (deck, temp file, digest) of each. A deck that can't be written is
    left out: the build writes it at the end, and reports a failure then."""
    decks: dict[str, list[tuple[Card, int]]] = {}
    content: dict[str, str] = {}
    for c, h in zip(cards, hashes):
        if c.guid not in content:  # a repeated card once, as carry_identity keeps it
            content[c.guid] = h
            decks.setdefault(c.deck, []).append((c, next_mtime(None, h, early.now)))
    written = []
    for deck, notes in decks.items():
        fd, tmp = tempfile.mkstemp(dir=early.out, prefix=TEMP_PREFIX, suffix=".apkg")
        os.close(fd)
        try:
            _write_deck(*_rows((Path(tmp), deck, notes, early.model_mtime)))
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            continue
        written.append((deck, tmp, _deck_digest(deck, notes, content, early.model, early.model_mtime)))
    return tuple(written)


class EarlyDecks:
    """Decks written while a cold build still extracts. With nothing of an earlier build carried,
    every card has the guid it was keyed with in its worker (identity.fresh_keys) and the build's
    `now` for its mtime, so the worker that made a file's cards can write the file's decks
    (write_early) at once, on both cores, without sending the cards to a writer.

    write_decks uses a deck written early where the deck it writes has the same digest (an .apkg
    is a pure function of its digest's inputs). A deck that another file also has (two files of
    one title) differs, and is written at the end from all its cards; the temp files are removed.
    """

    def __init__(self, out: Path, previous: Ledger, now: int | None = None):
        now = build_time(previous) if now is None else now
        model = model_hash()
        self.early = Early(Path(out), now, model, next_mtime(previous.model if previous.model[0] else None, model, now))
        self.now = now
        self.written: dict[str, tuple[Path, str]] = {}
        """deck -> (temp file, digest of what it was written from), from the first file that had it."""

    def add(self, written: Iterable[tuple[str, str, str]]) -> None:
        """What write_early gave for one notes file."""
        for deck, tmp, digest in written:
            if deck in self.written:  # an earlier file has it too: not this file's deck alone
                Path(tmp).unlink(missing_ok=True)
            else:
                self.written[deck] = (Path(tmp), digest)

    def take(self, digests: Mapping[str, str]) -> dict[str, Path]:
        """deck -> its temp file, for each deck to write (`digests`: deck -> its digest now) that was
        written early from the same; every other temp file is removed."""
        ready = {}
        for deck, (tmp, digest) in self.written.items():
            if digests.get(deck) == digest:
                ready[deck] = tmp
            else:
                tmp.unlink(missing_ok=True)
        self.written.clear()
        return ready

    def discard(self) -> None:
        """The build failed, and no worker is writing any more: remove every temp deck, those of
        files whose outcome never came back too."""
        _remove([tmp for tmp, _ in self.written.values()] + sorted(self.early.out.glob(TEMP_PREFIX + "*.apkg")))
        self.written.clear()


DISK_NOTES = 4_000
"""A deck with more notes than this is put together in a temp file, not in memory: its collection
(some 2 KB a note) would otherwise be held twice (the database and its serialised copy), so one
big notes file would need far more memory than the same papers in many files."""


def _write_deck(path: Path, name: str, notes: list[_Row], model_mtime: int) -> Path:
    media = list(dict.fromkeys(m for n in notes for m in n[3]))
    # Not synced to disk one by one (that kept the writers waiting 1.3-3.4 s per 1,000 decks here):
    # after a power cut, a deck that did not reach the disk differs from the size and mtime the
    # ledger keeps, so the next build writes it again. The ledger itself is synced: it holds the
    # identities that keep guids.
    if len(notes) <= DISK_NOTES:
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(_empty_collection())
            _fill(conn, name, notes, model_mtime)
            db = conn.serialize()
        finally:
            conn.close()
        atomic_write(path, lambda fh: _apkg(fh, db, media), durable=False)
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".anki2")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + APKG_SCHEMA + APKG_COL)
            _fill(conn, name, notes, model_mtime)
        finally:
            conn.close()
        atomic_write(path, lambda fh: _apkg(fh, Path(tmp), media), durable=False)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _fill(conn: sqlite3.Connection, name: str, notes: list[_Row], model_mtime: int) -> None:
    """genanki.Deck.write_to_db, one note object at a time (genanki's Deck holds them all)."""
    model = _model()
    deck = genanki.Deck(deck_id(name), name)
    deck.add_model(model)
    cursor = conn.cursor()
    # Note and card ids only matter for new notes (Anki matches by guid and renumbers a new note
    # whose id is taken); from the newest mtime, so a rebuild of unchanged notes is byte-identical.
    ids = itertools.count(max([model_mtime, *(n[-1] for n in notes)]) * 1000)
    deck.write_to_db(cursor, model_mtime, ids)  # the deck and the note type
    for fields, tags, guid, _, mtime in notes:
        _Note(model=model, fields=fields, tags=list(tags), guid=guid, mtime=mtime).write_to_db(
            cursor, model_mtime, deck.deck_id, ids)
    conn.commit()
