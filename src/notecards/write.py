"""Cards -> one .apkg per deck in the output folder: the only module that imports genanki.

Anki's importer (update notes "if newer") matches notes by guid and updates one only when the
package's note mtime is newer than the collection's. genanki stamps every note with the build
time, so an unchanged note would look edited on every build and a rebuild in the same second
would be skipped. We keep `.notecards-state.json` in the output folder (guid -> content hash,
mtime; plus each paper's identity, see cards.carry_identity) and give each note its own mtime,
moved only when its content changed.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import sqlite3
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import genanki

from notecards import workers
from notecards.cards import Carried, PaperIdentity, carry_identity
from notecards.config import Config
from notecards.errors import OutputError
from notecards.model import Card
from notecards.render import media_name

MODEL_ID = 1_735_801_607
"""Fixed forever: a new id (or a new field on this id) makes Anki add a second note type."""
MODEL_NAME = "notecards Paper"
FIELDS = ("Question", "Answer", "Title", "Meta", "Context", "Source", "Extra", "Kind")
STATE_FILE = ".notecards-state.json"
STATE_VERSION = 1
TEMP_PREFIX = ".notecards-tmp-"
ZIP_LEVEL = 1
"""zlib level: 1 packs a deck three times faster than the default 6, for a file about 10 % larger."""
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so an unchanged deck is byte-for-byte the same file
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


@dataclass(frozen=True, slots=True)
class State:
    """What the previous build wrote into this output folder."""

    model: tuple[str, int] = ("", 0)
    """(hash of fields, templates and CSS, mtime)."""
    notes: tuple[tuple[str, str, int], ...] = ()
    """(guid, content hash, mtime) per note."""
    decks: tuple[tuple[str, str], ...] = ()
    """(deck name, file name) per .apkg written."""
    papers: tuple[PaperIdentity, ...] = ()


# --- the note type -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _resources() -> tuple[str, str, str]:
    res = files("notecards") / "resources"
    return tuple((res / n).read_text(encoding="utf-8") for n in ("card_front.html", "card_back.html", "style.css"))


def _model() -> genanki.Model:
    """A fresh Model each time: genanki's Model.to_json mutates its field and template dicts."""
    front, back, css = _resources()
    return genanki.Model(MODEL_ID, MODEL_NAME, fields=[{"name": f} for f in FIELDS],
                         templates=[{"name": "Card", "qfmt": front, "afmt": back}], css=css)


def _model_hash() -> str:
    return _hash([MODEL_ID, MODEL_NAME, FIELDS, *_resources()])


class _Note(genanki.Note):
    """A note that writes its own mtime (genanki writes the package timestamp on every note)."""

    def __init__(self, *args, mtime: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.mtime = mtime

    def write_to_db(self, cursor, timestamp, deck_id, id_gen):
        super().write_to_db(cursor, self.mtime, deck_id, id_gen)

    def _check_invalid_html_tags_in_fields(self):
        """Skipped: render.py sanitised every field with nh3 (genanki's check costs 10 µs a note)."""


def note_fields(card: Card) -> list[str]:
    return [card.question, card.answer, card.title, card.meta, card.context, card.source, card.extra, card.kind]


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:24]


def _note_hash(card: Card) -> str:
    """What a note shows: its fields and tags (separators no field or tag contains)."""
    text = "\x1f".join(note_fields(card)) + "\x1e" + " ".join(sorted(card.tags))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


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


# --- state ---------------------------------------------------------------------------------


def load_state(out: Path) -> State:
    path = out / STATE_FILE
    if not path.exists():
        return State()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
        return State(
            model=(data["model"]["hash"], int(data["model"]["mtime"])),
            notes=tuple((g, n["hash"], int(n["mtime"])) for g, n in data["notes"].items()),
            decks=tuple(data["decks"].items()),
            papers=tuple(PaperIdentity(ident=p["ident"], key=p["key"], title=p["title"],
                                       slots=tuple((k, int(n), b) for k, n, b in p["slots"]),
                                       next_slot=tuple((k, int(n)) for k, n in p["next"].items()),
                                       live=bool(p.get("live", True)))
                         for p in data["papers"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OutputError(f"the build state is unreadable ({exc}); delete it to start afresh "
                          "(cards of edited bullets may then be added again in Anki)", path=str(path)) from None


def _state_json(state: State) -> str:
    data = {
        "version": STATE_VERSION,
        "model": {"hash": state.model[0], "mtime": state.model[1]},
        "decks": dict(state.decks),
        "notes": {g: {"hash": h, "mtime": m} for g, h, m in state.notes},
        "papers": [{"ident": p.ident, "key": p.key, "title": p.title, "slots": [list(s) for s in p.slots],
                    "next": dict(p.next_slot), "live": p.live} for p in state.papers],
    }
    # one paper per line: readable in a diff, and far quicker to write than a fully indented file
    papers = ",\n".join(json.dumps(p, ensure_ascii=False, sort_keys=True) for p in data.pop("papers"))
    head = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return head[:-1] + ',"papers":[\n' + papers + "\n]}\n"


# --- files ---------------------------------------------------------------------------------


def _atomic_write(path: Path, write) -> None:
    """write(fileobj) into a temp file beside `path`, fsync, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a deck is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _zip_entry(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    z.writestr(info, data, compresslevel=ZIP_LEVEL)


def _apkg_bytes(deck: genanki.Deck, media: list[str], timestamp: int, first_id: int) -> bytes:
    """The package as bytes; genanki writes into an in-memory database, serialised into the zip."""
    conn = sqlite3.connect(":memory:")
    try:
        genanki.Package([deck]).write_to_db(conn.cursor(), timestamp, itertools.count(first_id))
        conn.commit()
        db = conn.serialize()
    finally:
        conn.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        _zip_entry(z, "collection.anki2", db)
        _zip_entry(z, "media", json.dumps({str(i): media_name(Path(p)) for i, p in enumerate(media)}).encode())
        for i, p in enumerate(media):
            _zip_entry(z, str(i), Path(p).read_bytes())
    return buf.getvalue()


def _prepare(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror or exc}", path=str(out)) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", path=str(out))


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass  # a leftover we could not tidy is harmless; the next run tries again


# --- the stage -----------------------------------------------------------------------------


def write_decks(cards: Iterable[Card], out: Path, config: Config,
                progress: Callable[[int, int], None] | None = None) -> tuple[list[Path], list[str]]:
    """Write one .apkg per deck into `out`; return (files written, titles of papers gone since last build).

    Nothing is written or deleted when the folder can't be written: OutputError names it.
    `progress(done, total)` is called as decks are written.
    """
    out = Path(out)
    _prepare(out)
    previous = load_state(out)
    carried: Carried = carry_identity(cards, {p.ident: p for p in previous.papers})
    now = int(time.time())
    model_hash = _model_hash()
    model_mtime = next_mtime(previous.model if previous.model[0] else None, model_hash, now)
    old_notes = {g: (h, m) for g, h, m in previous.notes}

    notes: list[tuple[str, str, int]] = []
    content_of: dict[str, str] = {}
    by_deck: dict[str, list[tuple[Card, int]]] = {}
    for card in carried.cards:  # already in study order: paper by paper, as in the notes
        content = _note_hash(card)
        mtime = next_mtime(old_notes.get(card.guid), content, now)
        notes.append((card.guid, content, mtime))
        content_of[card.guid] = content
        by_deck.setdefault(card.deck, []).append((card, mtime))

    names = _file_names(by_deck)
    written: list[Path] = []
    old_digests = _load_digests(out)
    digests: dict[str, str] = {}
    jobs: list[_Job] = []
    for deck in sorted(by_deck):
        path = out / names[deck]
        digests[path.name] = _deck_digest(deck, by_deck[deck], content_of, model_hash, model_mtime)
        # an .apkg is a pure function of its digest's inputs: an unchanged deck is not rewritten
        if not (path.is_file() and old_digests.get(path.name) == digests[path.name]):
            jobs.append((path, deck, by_deck[deck], model_mtime))
        written.append(path)
    try:
        _write_all(jobs, progress or (lambda done, total: None))
        _atomic_write(out / DIGEST_FILE, lambda fh: fh.write(json.dumps(digests, sort_keys=True).encode()))
        state = State(model=(model_hash, model_mtime), notes=tuple(sorted(notes)),
                      decks=tuple(sorted(names.items())), papers=carried.papers)
        _atomic_write(out / STATE_FILE, lambda fh: fh.write(_state_json(state).encode()))
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=exc.filename or str(out)) from None
    # Only now that every deck is in place: decks no longer produced (a renamed notes file)
    # and temp files a killed run left behind.
    stale = {n for _, n in previous.decks if Path(n).name == n and n.endswith(".apkg")} - set(names.values())
    _remove([out / n for n in sorted(stale)] + sorted(out.glob(TEMP_PREFIX + "*")))
    return written, list(carried.removed)


DIGEST_FILE = ".notecards-decks.json"


def _load_digests(out: Path) -> dict[str, str]:
    """What each deck file was written from last time; anything unreadable means 'rewrite'."""
    try:
        data = json.loads((out / DIGEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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


_Job = tuple[Path, str, list[tuple[Card, int]], int]
"""What _write_deck takes: the file, the deck name, its cards with their mtimes, the model's mtime."""
PARALLEL_NOTES = 5_000
"""Fewer notes to write than this: one process (a worker costs more than it saves)."""
_JOBS: list[_Job] = []


def _write_job(i: int) -> None:
    _write_deck(*_JOBS[i])


def _write_all(jobs: list[_Job], progress: Callable[[int, int], None]) -> None:
    """Write every deck, spread over the cores when there is enough to write.

    The workers are forked, so they inherit the jobs instead of being sent 100,000 notes.
    """
    global _JOBS
    notes = sum(len(j[2]) for j in jobs)
    n = min(workers.cpus(), 8, len(jobs))
    progress(0, len(jobs))
    if n < 2 or notes < PARALLEL_NOTES or not workers.can_fork():
        for done, job in enumerate(jobs, 1):
            _write_deck(*job)
            progress(done, len(jobs))
        return
    _JOBS = jobs
    try:
        with workers.pool(n) as pool:
            for done, _ in enumerate(pool.map(_write_job, range(len(jobs))), 1):
                progress(done, len(jobs))
    finally:
        _JOBS = []


def _write_deck(path: Path, name: str, notes: list[tuple[Card, int]], model_mtime: int) -> Path:
    model = _model()
    deck = genanki.Deck(deck_id(name), name)
    media: list[str] = []
    for card, mtime in notes:
        deck.add_note(_Note(model=model, fields=note_fields(card), tags=list(card.tags), guid=card.guid,
                            mtime=mtime))
        media.extend(m for m in card.media if m not in media)
    # Note and card ids only matter for new notes (Anki matches by guid and renumbers a new note
    # whose id is taken); from the newest mtime, so a rebuild of unchanged notes is byte-identical.
    first_id = max([model_mtime, *(m for _, m in notes)]) * 1000
    data = _apkg_bytes(deck, media, model_mtime, first_id)
    _atomic_write(path, lambda fh: fh.write(data))
    return path
