"""The output folder's memory of the last build, kept per notes file in `.notecards-state.json`.

Two things need it. Anki's importer matches notes by guid and updates one only when its mtime is
newer, so each note's guid, content hash and mtime must outlive the build (write.py). And a
rebuild after one file changed should touch that file only: each file's record says what it gave
(its cache key, notes, decks, paper keys, warnings), so an unchanged file is carried over without
reading its cards (pipeline.py). Every paper's identity (identity.PaperIdentity) is kept beside them.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from notecards.identity import PaperIdentity
from notecards.errors import OutputError
from notecards.fsutil import atomic_write

STATE_FILE = ".notecards-state.json"
VERSION = 3


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
    seen: str = ""
    """cache.Cache.seen of the file (its size and mtime before it was read, under the rules then in
    effect): the same, and the file is not read again to key it (a file saved while a build reads it
    has a newer mtime)."""
    body: str = '{"notes":[],"papers":[]}'
    """JSON {"notes": [[guid, content hash, mtime, deck index], ...], "papers": [identity, ...]}: read
    only for a file that changed, written back as it is for one that did not."""

    def notes(self, name: str = "") -> list[tuple[str, str, int, str]]:
        """(guid, content hash, mtime, deck) of every note it made; `name`: the record's, for errors."""
        where = f"the record of {name!r}"
        body = _body(self.body, where)
        notes = _list(body.get("notes"), f"{where}: notes")
        out = []
        for i, n in enumerate(notes):
            at = f"{where}: notes[{i}]"
            if not (isinstance(n, list) and len(n) == 4):
                raise _bad(at, "expected [guid, hash, mtime, deck]")
            g, h, m, d = n
            if not (isinstance(d, int) and not isinstance(d, bool) and 0 <= d < len(self.decks)):
                raise _bad(at, f"deck index {d!r} is not one of its {len(self.decks)} decks")
            out.append((_str(g, at), _str(h, at), _int(m, at), self.decks[d]))
        return out

    def identities(self, name: str = "") -> list[PaperIdentity]:
        where = f"the record of {name!r}"
        papers = _list(_body(self.body, where).get("papers"), f"{where}: papers")
        return [_paper(p, f"{where}: papers[{i}]") for i, p in enumerate(papers)]


def _body(text: str, where: str) -> dict:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise _bad(where, f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise _bad(where, "expected a JSON object")
    return body


def _bad(where: str, what: str) -> OutputError:
    return OutputError(f"the build state is damaged: {where}: {what}; delete the file to start afresh "
                       "(cards of edited bullets may then be added again in Anki)", path=STATE_FILE)


def _str(v: object, where: str) -> str:
    if not isinstance(v, str):
        raise _bad(where, f"expected text, got {v!r}")
    return v


def _int(v: object, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise _bad(where, f"expected a whole number, got {v!r}")
    return v


def _list(v: object, where: str) -> list:
    if not isinstance(v, list):
        raise _bad(where, f"expected a list, got {v!r}")
    return v


def _dict(v: object, where: str) -> dict:
    if not isinstance(v, dict):
        raise _bad(where, f"expected an object, got {v!r}")
    return v


def _strs(v: object, where: str) -> tuple[str, ...]:
    return tuple(_str(x, f"{where}[{i}]") for i, x in enumerate(_list(v, where)))


def file_record(*, notes: list[tuple[str, str, int, str]], identities: list[PaperIdentity],
                **head) -> FileRecord:
    decks = sorted({d for _, _, _, d in notes})
    index = {d: i for i, d in enumerate(decks)}
    # The JSON of {"notes": [...], "papers": [...]}, joined from a thousand items' at a time: one big
    # notes file can hold 150,000 notes, and json.dumps of the whole held 85 MB besides their 60 MB
    # body (this, 50); one json.dumps per item cost twice the time.
    body = "".join(['{"notes":[', _items([[g, h, m, index[d]] for g, h, m, d in notes]),
                    '],"papers":[', _items([_paper_json(p) for p in identities]), "]}"])
    return FileRecord(**head, cards=len(notes), idents=tuple(p.ident for p in identities), decks=tuple(decks), body=body)


_BATCH = 1000


def _items(values: list) -> str:
    """",".join(map(_dumps, values)), dumped _BATCH values at a time (the list's brackets cut off)."""
    return ",".join(_dumps(values[i:i + _BATCH])[1:-1] for i in range(0, len(values), _BATCH))


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
    issued: int = 0
    """The latest note mtime any build gave. A note the ledger no longer holds (a bullet merged away)
    may come back with its guid, and Anki takes it only if it is newer than what it has."""


# The file: JSON lines. The first holds the model and the decks; then one line per notes file,
# `{record head}<TAB>{record body}` (JSON text never holds a raw tab), then the papers gone.
# Every line ends in `<TAB>sum`, a digest of the rest of it: a record edited by hand or damaged on
# disk is an error that names it, never a note given a new guid (which would lose its history).
# Version 2 (no sums) is read too, each field checked for its type.


def load_ledger(out: Path) -> Ledger:
    """The last build's ledger, an empty one for a new folder; OutputError naming the record that
    is damaged, when one is."""
    path = Path(out) / STATE_FILE
    if not path.exists():
        return Ledger()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise _unreadable(str(path), exc) from None
    try:
        return _parse(text)
    except OutputError as exc:
        raise OutputError(exc.message, path=str(path)) from None


def _unreadable(path: str, exc: Exception) -> OutputError:
    return OutputError(f"the build state is unreadable ({exc}); delete it to start afresh "
                       "(cards of edited bullets may then be added again in Anki)", path=path)


def _parse(text: str) -> Ledger:
    # "\n" only: JSON escapes it inside strings, but not U+2028 or U+0085, which splitlines() splits at
    lines = text.split("\n")  # not text.rstrip("\n") first: that copies the whole text (tens of MB)
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2:
        raise _bad("line 1", "expected a head line and a line of papers gone")
    first = _json(lines[0], 1, summed=None)
    version = first.get("version")
    if version not in (2, VERSION):
        raise _bad("line 1", f"version {version!r}, expected {VERSION}")
    summed = version == VERSION
    if summed:
        first = _json(lines[0], 1, summed)
    model = _dict(first.get("model"), "line 1: model")
    decks = {}
    for name, d in _dict(first.get("decks"), "line 1: decks").items():
        at = f"line 1: decks[{name!r}]"
        d = _dict(d, at)
        decks[name] = DeckRecord(_str(d.get("file"), f"{at}.file"), _str(d.get("digest"), f"{at}.digest"),
                                 _int(d.get("size"), f"{at}.size"), _int(d.get("mtime_ns"), f"{at}.mtime_ns"))
    files = {}
    for n, line in enumerate(lines[1:-1], 2):
        name, record = _file_record(line, n, summed)
        if name in files:
            raise _bad(f"line {n}", f"a second record of {name!r}")
        files[name] = record
    last = _json(lines[-1], len(lines), summed)
    gone = tuple(_paper(p, f"line {len(lines)}: gone[{i}]")
                 for i, p in enumerate(_list(last.get("gone"), f"line {len(lines)}: gone")))
    return Ledger(model=(_str(model.get("hash"), "line 1: model.hash"), _int(model.get("mtime"), "line 1: model.mtime")),
                  files=files, decks=decks, gone=gone, issued=_int(first.get("issued", 0), "line 1: issued"))


def _split_sum(line: str, n: int) -> int:
    """Where the line's text ends (its last tab), once its checksum is checked: not a copy of the
    text, which for one big notes file's record is tens of MB."""
    cut = line.rfind("\t")
    data = line.encode("utf-8", "surrogatepass")
    if cut < 0 or hashlib.blake2b(memoryview(data)[:len(data) - len(line) + cut], digest_size=10).hexdigest() != line[cut + 1:]:
        raise _bad(f"line {n}", "changed since notecards wrote it (its checksum does not match)")
    return cut


def _line_sum(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


def _json(line: str, n: int, summed: bool | None) -> dict:
    """One line's JSON object; `summed`: check its checksum first (None: take the object before it, if any)."""
    if summed:
        line = line[:_split_sum(line, n)]
    elif summed is None and "\t" in line:
        line = line.rpartition("\t")[0]
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise _bad(f"line {n}", f"not JSON ({exc})") from None
    return _dict(value, f"line {n}")


_TUPLES = ("keys", "idents", "decks", "warnings")
_FIELDS = {"file", "key", "cards_key", "media", "papers", "cards", "reusable", "seen", *_TUPLES}


def _file_record(line: str, n: int, summed: bool) -> tuple[str, FileRecord]:
    end = _split_sum(line, n) if summed else len(line)
    tab = line.find("\t", 0, end)
    if tab < 0:
        raise _bad(f"line {n}", "expected a record and its body")
    head, body = line[:tab], line[tab + 1:end]
    try:
        r = _dict(json.loads(head), f"line {n}")
    except ValueError as exc:
        raise _bad(f"line {n}", f"not JSON ({exc})") from None
    name = _str(r.get("file"), f"line {n}: file")
    at = f"line {n} (the record of {name!r})"
    if set(r) != _FIELDS and (summed or set(r) != _FIELDS - {"seen"}):
        raise _bad(at, f"expected the fields {', '.join(sorted(_FIELDS))}")
    media = []
    for i, m in enumerate(_list(r["media"], f"{at}: media")):
        if not (isinstance(m, list) and len(m) == 3):
            raise _bad(f"{at}: media[{i}]", "expected [path, size, mtime]")
        media.append((_str(m[0], f"{at}: media[{i}]"), _int(m[1], f"{at}: media[{i}]"), _int(m[2], f"{at}: media[{i}]")))
    seen = _str(r.get("seen", "") if not summed else r["seen"], f"{at}: seen")
    if not isinstance(r["reusable"], bool):
        raise _bad(f"{at}: reusable", f"expected true or false, got {r['reusable']!r}")
    tuples = {k: _strs(r[k], f"{at}: {k}") for k in _TUPLES}
    return name, FileRecord(key=_str(r["key"], f"{at}: key"), cards_key=_str(r["cards_key"], f"{at}: cards_key"),
                            media=tuple(media), papers=_int(r["papers"], f"{at}: papers"),
                            cards=_int(r["cards"], f"{at}: cards"), reusable=r["reusable"], body=body,
                            seen=seen, **tuples)


def _paper(p: object, where: str) -> PaperIdentity:
    p = _dict(p, where)
    slots = []
    for i, s in enumerate(_list(p.get("slots"), f"{where}.slots")):
        at = f"{where}.slots[{i}]"
        if not (isinstance(s, list) and len(s) == 3):
            raise _bad(at, "expected [kind, slot, bullet text]")
        slot = str(_int(s[1], at)) if isinstance(s[1], int) else _str(s[1], at)  # version 2 numbered them
        slots.append((_str(s[0], at), slot, _str(s[2], at)))
    nxt = tuple((_str(k, f"{where}.next"), _int(v, f"{where}.next[{k!r}]"))
                for k, v in _dict(p.get("next"), f"{where}.next").items())
    live = p.get("live", True)
    if not isinstance(live, bool):
        raise _bad(f"{where}.live", f"expected true or false, got {live!r}")
    return PaperIdentity(ident=_str(p.get("ident"), f"{where}.ident"), key=_str(p.get("key"), f"{where}.key"),
                         title=_str(p.get("title"), f"{where}.title"), slots=tuple(slots), next_slot=nxt, live=live)


def _paper_json(p: PaperIdentity) -> dict:
    return {"ident": p.ident, "key": p.key, "title": p.title, "slots": [list(s) for s in p.slots],
            "next": dict(p.next_slot), "live": p.live}


def ledger_bytes(ledger: Ledger) -> Iterator[bytes]:
    """The file, a piece at a time: the whole text of a large build is tens of MB, and so is the
    record of one big notes file."""
    yield from _summed(_dumps({"version": VERSION, "model": {"hash": ledger.model[0], "mtime": ledger.model[1]},
                               "issued": ledger.issued,
                               "decks": {k: {"file": d.file, "digest": d.digest, "size": d.size, "mtime_ns": d.mtime_ns}
                                         for k, d in sorted(ledger.decks.items())}}))
    for name, r in sorted(ledger.files.items()):
        record = {"file": name, "key": r.key, "cards_key": r.cards_key, "media": [list(m) for m in r.media],
                  "papers": r.papers, "cards": r.cards, "reusable": r.reusable, "seen": r.seen, **{k: list(getattr(r, k)) for k in _TUPLES}}
        yield from _summed(_dumps(record) + "\t", r.body)
    yield from _summed(_dumps({"gone": [_paper_json(p) for p in ledger.gone]}))


_PIECE_CHARS = 1 << 20


def _summed(*parts: str) -> Iterator[bytes]:
    """One line: `parts` encoded a megabyte at a time, then a tab and the checksum of their text
    (_line_sum of their join, made as they go)."""
    h = hashlib.blake2b(digest_size=10)
    for part in parts:
        for i in range(0, len(part), _PIECE_CHARS):
            data = part[i:i + _PIECE_CHARS].encode()
            h.update(data)  # the same bytes as surrogatepass gives: a lone surrogate fails the encode
            yield data
    yield f"\t{h.hexdigest()}\n".encode()


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def file_stat(path: Path) -> tuple[int, int]:
    """(size, mtime_ns), or (-1, -1) for a file that is not there."""
    try:
        st = path.stat()
    except OSError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


def save_ledger(out: Path, ledger: Ledger) -> None:
    atomic_write(Path(out) / STATE_FILE, ledger_bytes(ledger))
