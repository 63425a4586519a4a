"""The shortcuts write.py takes around genanki's own writer give the decks genanki gives
(docs/internals.md lists every shortcut and the test behind it)."""
from __future__ import annotations

from pathlib import Path

import genanki
import pytest

from notecards import write

from anki_helpers import collection, import_deck, notes

NOTES = [
    ([f"Q{i} <b>bold</b>", f"A{i}", "Title", "NeurIPS · 2023", "", "notes/a.md:3", "", "method"],
     ("year::2023", "venue::NeurIPS"), f"guid-{i}", (), 1_700_000_000 + i)
    for i in range(5)
]


def _genanki_own(path: Path, name: str, model_mtime: int) -> None:
    """The plain way: genanki's Model, Deck, Note and Package, nothing overridden."""
    deck = genanki.Deck(write.deck_id(name), name)
    model = write._new_model()
    for fields, tags, guid, _, _ in NOTES:
        deck.add_note(genanki.Note(model=model, fields=list(fields), tags=list(tags), guid=guid))
    genanki.Package(deck).write_to_file(str(path), timestamp=model_mtime)


@pytest.mark.parametrize("on_disk", [False, True], ids=["in memory", "in a temp file"])
def test_decks_written_our_way_import_as_genankis_own(tmp_path, monkeypatch, on_disk):
    if on_disk:
        monkeypatch.setattr(write, "DISK_NOTES", 0)
    ours, theirs = tmp_path / "ours.apkg", tmp_path / "theirs.apkg"
    write._write_deck(ours, "Papers::a", [(list(f), t, g, m, mt) for f, t, g, m, mt in NOTES], 1_600_000_000)
    _genanki_own(theirs, "Papers::a", 1_600_000_000)
    seen = {}
    for name, path in (("ours", ours), ("theirs", theirs)):
        with collection(tmp_path / name) as col:
            import_deck(col, path)
            seen[name] = sorted((n.guid, tuple(n.fields.items()), tuple(sorted(n.tags))) for n in notes(col))
            seen[name + " mtimes"] = sorted(n.mod for n in notes(col))
            seen[name + " cards"] = col.card_count()
            seen[name + " decks"] = sorted(d.name for d in col.decks.all_names_and_ids())
    assert seen["ours"] == seen["theirs"] and len(seen["ours"]) == len(NOTES)
    assert seen["ours decks"] == seen["theirs decks"] and seen["ours cards"] == seen["theirs cards"] == len(NOTES)
    assert seen["ours mtimes"] == [n[-1] for n in NOTES]  # each note keeps its own, genanki gives all one


def test_records_pickle_back_to_equal_records():
    """model._Record.__reduce__ (constructor arguments, not dataclasses' per-field state)."""
    import pickle

    from notecards.pipeline import extract_document, rules_for
    from notecards.config import Config
    from notecards.model import SourceFile

    from conftest import SEED

    doc = extract_document(SourceFile(str(SEED), SEED.read_text(encoding="utf-8"), "utf-8"), rules_for(Config()))
    assert doc.papers and pickle.loads(pickle.dumps(doc)) == doc
