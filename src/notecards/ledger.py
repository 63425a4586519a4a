"""The output folder's memory of the last build, kept per notes file in `.notecards-state.json`.

Two things need it. Anki's importer matches notes by guid and updates one only when its mtime is
newer, so each note's guid, content hash and mtime must outlive the build (write.py). And a
rebuild after one file changed should touch that file only: each file's record says what it gave
(its cache key, notes, decks, paper keys, warnings), so an unchanged file is carried over without
reading its cards (pipeline.py). Every paper's identity (identity.PaperIdentity) is kept beside them.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from notecards.identity import PaperIdentity
from notecards.errors import OutputError

STATE_FILE = ".notecards-state.json"
VERSION = 2
TEMP_PREFIX = ".notecards-tmp-"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What one notes file gave in the last build."""

    key: str
    """Cache key of its text under the rules then in effect (cache.Cache.key)."""
    cards_key: str = ""
    """cache.cards_fingerprint of the config its cards were made with."""
    media: tuple[tuple[str, int, int], ...] = ()
    """(path, size, mtime_ns) of the images its cards pack."""
    papers: int = 0
    cards: int = 0
    keys: tuple[str, ...] = ()
    """paper_key of every paper it gave cards for."""
    idents: tuple[str, ...] = ()
    """The identities of those papers (identity.PaperIdentity.ident)."""
    decks: tuple[str, ...] = ()
    """The decks its notes are in."""
    warnings: tuple[str, ...] = ()
    reusable: bool = True
    """False when its cards carried a warning (an image missing, say): they are made again every build."""
    body: str = '{"notes":[],"papers":[]}'
    """JSON {"notes": [[guid, content hash, mtime, deck index], ...], "papers": [identity, ...]}: read
    only for a file that changed, written back as it is for one that did not."""

    def notes(self) -> list[tuple[str, str, int, str]]:
        """(guid, content hash, mtime, deck) of every note it made."""
        return _unpacked(lambda: [(g, h, int(m), self.decks[d]) for g, h, m, d in json.loads(self.body)["notes"]])

    def identities(self) -> list[PaperIdentity]:
        return _unpacked(lambda: [_paper(p) for p in json.loads(self.body)["papers"]])


def _unpacked(read):
    """A record's body, read when a file changed: a damaged one is the same error as a damaged file."""
    try:
        return read()
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise _unreadable(STATE_FILE, exc) from None


def _unreadable(path: str, exc: Exception) -> OutputError:
    return OutputError(f"the build state is unreadable ({exc}); delete it to start afresh "
                       "(cards of edited bullets may then be added again in Anki)", path=path)


def file_record(*, notes: list[tuple[str, str, int, str]], identities: list[PaperIdentity],
                **head) -> FileRecord:
    decks = sorted({d for _, _, _, d in notes})
    index = {d: i for i, d in enumerate(decks)}
    body = _dumps({"notes": [[g, h, m, index[d]] for g, h, m, d in notes],
                   "papers": [_paper_json(p) for p in identities]})
    return FileRecord(**head, cards=len(notes), idents=tuple(p.ident for p in identities), decks=tuple(decks), body=body)


@dataclass(frozen=True, slots=True)
class DeckRecord:
    file: str
    """File name of the .apkg in the output folder."""
    digest: str = ""
    """Digest of everything the file was written from: the same digest, the same bytes."""
    size: int = -1
    mtime_ns: int = -1
    """The file as written: a deck deleted or replaced since is written again."""


@dataclass(frozen=True, slots=True)
class Ledger:
    model: tuple[str, int] = ("", 0)
    """(hash of fields, templates and CSS, mtime)."""
    files: dict[str, FileRecord] = field(default_factory=dict)
    decks: dict[str, DeckRecord] = field(default_factory=dict)
    gone: tuple[PaperIdentity, ...] = ()
    """Papers no notes file has any more, remembered so they get their cards back if they return."""


# The file: JSON lines. The first holds the model and the decks; then one line per notes file,
# `{record head}<TAB>{record body}` (JSON text never holds a raw tab), then the papers gone.


def load_ledger(out: Path) -> Ledger:
    """The last build's ledger, an empty one for a new folder; OutputError when it can't be read."""
    path = Path(out) / STATE_FILE
    if not path.exists():
        return Ledger()
    try:
        text = path.read_text(encoding="utf-8")
        # "\n" only: JSON escapes it inside strings, but not U+2028 or U+0085, which splitlines() splits at
        first, *lines = text.rstrip("\n").split("\n")
        try:
            head = json.loads(first)
        except ValueError:  # version 1 was one JSON document over many lines
            head = json.loads(text)
        version = head.get("version")
        if version == 1:
            return _from_v1(head)
        if version != VERSION:
            raise ValueError(f"version {version!r}, expected {VERSION}")
        files = {}
        for line in lines[:-1]:
            record, body = line.split("\t", 1)
            r = json.loads(record)
            r.update({k: tuple(r[k]) for k in _TUPLES}, media=tuple((p, int(z), int(m)) for p, z, m in r["media"]))
            name = r.pop("file")
            files[name] = FileRecord(**r, body=body)
        return Ledger(
            model=(head["model"]["hash"], int(head["model"]["mtime"])), files=files,
            decks={k: DeckRecord(v["file"], v["digest"], int(v["size"]), int(v["mtime_ns"]))
                   for k, v in head["decks"].items()},
            gone=tuple(_paper(p) for p in json.loads(lines[-1])["gone"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise _unreadable(str(path), exc) from None


_TUPLES = ("keys", "idents", "decks", "warnings")


def _paper(p: dict) -> PaperIdentity:
    return PaperIdentity(ident=p["ident"], key=p["key"], title=p["title"],
                         slots=tuple((k, int(n), b) for k, n, b in p["slots"]),
                         next_slot=tuple((k, int(n)) for k, n in p["next"].items()), live=bool(p.get("live", True)))


def _paper_json(p: PaperIdentity) -> dict:
    return {"ident": p.ident, "key": p.key, "title": p.title, "slots": [list(s) for s in p.slots],
            "next": dict(p.next_slot), "live": p.live}


def _from_v1(data: dict) -> Ledger:
    """A state file from notecards before per-file records: its notes and papers become one record
    of a file no build has, so every file is built and every note and paper keeps what it had."""
    notes = [(g, n["hash"], int(n["mtime"]), "") for g, n in data["notes"].items()]
    papers = [_paper(p) for p in data["papers"]]
    return Ledger(model=(data["model"]["hash"], int(data["model"]["mtime"])),
                  files={"": file_record(key="", reusable=False, notes=notes, identities=[p for p in papers if p.live])},
                  decks={k: DeckRecord(v) for k, v in data["decks"].items()},
                  gone=tuple(p for p in papers if not p.live))


def ledger_lines(ledger: Ledger) -> Iterator[str]:
    """The file's lines, one at a time: the whole text of a large build is tens of MB."""
    yield _dumps({"version": VERSION, "model": {"hash": ledger.model[0], "mtime": ledger.model[1]},
                  "decks": {k: {"file": d.file, "digest": d.digest, "size": d.size, "mtime_ns": d.mtime_ns}
                            for k, d in sorted(ledger.decks.items())}}) + "\n"
    for name, r in sorted(ledger.files.items()):
        record = {"file": name, "key": r.key, "cards_key": r.cards_key, "media": [list(m) for m in r.media],
                  "papers": r.papers, "cards": r.cards, "reusable": r.reusable, **{k: list(getattr(r, k)) for k in _TUPLES}}
        yield _dumps(record) + "\t" + r.body + "\n"
    yield _dumps({"gone": [_paper_json(p) for p in ledger.gone]}) + "\n"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def atomic_write(path: Path, data: bytes | Iterable[bytes], durable: bool = True) -> None:
    """`data` (or its pieces) into a temp file beside `path`, then renamed over it: never a
    half-written file. `durable`: on disk (fsync) before the rename, so that a power cut can't
    lose it either; a file the ledger can tell is wrong, and remake, can do without (write.py)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines([data] if isinstance(data, bytes) else data)
            if durable:
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


def file_stat(path: Path) -> tuple[int, int]:
    """(size, mtime_ns), or (-1, -1) for a file that is not there."""
    try:
        st = path.stat()
    except OSError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


def save_ledger(out: Path, ledger: Ledger) -> None:
    atomic_write(Path(out) / STATE_FILE, (line.encode() for line in ledger_lines(ledger)))
