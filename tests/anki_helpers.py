"""Anki's own engine for tests: import decks the way the desktop import dialog does, answer cards
through the v3 scheduler, and read notes, cards and review history back (see shared anki_check.py)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageRequest  # first: avoids a circular import
from anki.scheduler_pb2 import CardAnswer
from anki.utils import split_fields

RATINGS = (CardAnswer.GOOD, CardAnswer.EASY, CardAnswer.AGAIN, CardAnswer.HARD)


@contextlib.contextmanager
def collection(folder: Path) -> Iterator[Collection]:
    folder.mkdir(parents=True, exist_ok=True)
    col = Collection(str(folder / "collection.anki2"))
    try:
        yield col
    finally:
        col.close()


def import_deck(col: Collection, path: Path):
    """Import one .apkg with the options Anki's import dialog starts with (update if newer, no merge)."""
    opts = col._backend.get_import_anki_package_presets()
    return col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path), options=opts)).log


def import_all(col: Collection, paths: Iterable[Path]) -> list:
    return [import_deck(col, p) for p in sorted(paths)]


@dataclass(frozen=True)
class NoteRow:
    nid: int
    guid: str
    mod: int
    fields: dict[str, str]
    tags: tuple[str, ...]


def notes(col: Collection) -> list[NoteRow]:
    rows = []
    for nid, guid, mid, mod, tags, flds in col.db.all("select id, guid, mid, mod, tags, flds from notes order by id"):
        names = [f["name"] for f in col.models.get(mid)["flds"]]
        rows.append(NoteRow(nid, guid, mod, dict(zip(names, split_fields(flds))), tuple(col.tags.split(tags))))
    return rows


def card_state(col: Collection) -> dict[int, tuple]:
    """card id -> (note id, deck id, type, queue, ivl, due, reps, lapses, factor)."""
    return {r[0]: tuple(r[1:]) for r in col.db.all(
        "select id, nid, did, type, queue, ivl, due, reps, lapses, factor from cards")}


def revlog(col: Collection, cid: int) -> set[int]:
    return set(col.db.list("select id from revlog where cid = ?", cid))


def answer(col: Collection, card_ids: Iterable[int]) -> list[int]:
    """Answer these cards through the v3 scheduler, as the reviewer does for a shown card."""
    done = []
    for i, cid in enumerate(card_ids):
        card = col.get_card(cid)
        card.start_timer()
        states = col._backend.get_scheduling_states(cid)
        col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=RATINGS[i % len(RATINGS)]))
        done.append(cid)
    return done


def review_queue(col: Collection, n: int) -> list[int]:
    """Answer the next n distinct cards the v3 queue shows for the biggest deck (like anki_check)."""
    did = col.db.scalar("select did from cards group by did order by count() desc limit 1")
    col.decks.select(did)
    done: list[int] = []
    for _ in range(4 * n):
        if len(done) >= n:
            break
        queued = col.sched.get_queued_cards(fetch_limit=1)
        if not queued.cards:
            break
        qc = queued.cards[0]
        card = col.get_card(qc.card.id)
        card.start_timer()
        col.sched.answer_card(col.sched.build_answer(card=card, states=qc.states,
                                                     rating=RATINGS[len(done) % len(RATINGS)]))
        if card.id not in done:
            done.append(card.id)
    return done


def card_ids_of(col: Collection, nids: Iterable[int]) -> list[int]:
    return [cid for nid in nids for cid in col.card_ids_of_note(nid)]


def deck_names(col: Collection) -> set[str]:
    used = set(col.db.list("select distinct did from cards"))
    return {d.name for d in col.decks.all_names_and_ids() if d.id in used}


def package_notes(apkg: Path) -> dict[str, list[str]]:
    """guid -> fields of every note in an .apkg, read from its sqlite (no Anki involved)."""
    import sqlite3
    import tempfile
    import zipfile

    with zipfile.ZipFile(apkg) as z, tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(z.extract("collection.anki2", tmp))
        try:
            return {g: flds.split("\x1f") for g, flds in conn.execute("select guid, flds from notes")}
        finally:
            conn.close()
