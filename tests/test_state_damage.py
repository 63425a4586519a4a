"""A damaged or hand-edited state file (.notecards-state.json) is an error naming the file and the
record: never a traceback, never a note given a new guid (property-based: random damage to each field)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notecards.config import Config
from notecards.errors import OutputError
from notecards.ledger import STATE_FILE
from notecards.pipeline import build_decks

from anki_helpers import package_notes

pytestmark = pytest.mark.slow

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.text(max_size=5),
                   st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
                   st.floats(allow_nan=False))


def _paths(value, path=()):
    """Every place in a JSON value: (path, value)."""
    yield path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        yield from _paths(v, (*path, k))


def _set(value, path, new):
    if not path:
        return new
    value[path[0]] = _set(value[path[0]], path[1:], new)
    return value


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("state")
    folder = tmp / "notes"
    folder.mkdir()
    for name, title in (("a.md", "Attention Is All You Need"), ("b.md", "Layer Normalization")):
        (folder / name).write_text(f"## {title} (ICLR 2017)\n\n- Problem: training is slow.\n"
                                   f"- Method: we propose {name} layers.\n- Finding: it is fast.\n", encoding="utf-8")
    out = tmp / "decks"
    report = build_decks(Config(), [folder], out)
    return folder, out, {g for d in report.decks for g in package_notes(d)}


def _pieces(line: str, summed: bool) -> list[str]:
    """A state line as its JSON pieces (a file record is head<TAB>body), without its checksum."""
    text = line.rpartition("\t")[0] if summed else line
    return text.split("\t")


def _damaged(state: str, line: int, piece: int, where: int, new, summed: bool) -> str:
    lines = state.rstrip("\n").split("\n")
    line %= len(lines)
    parts = _pieces(lines[line], summed)
    piece %= len(parts)
    value = json.loads(parts[piece])
    places = list(_paths(value))
    path, _ = places[where % len(places)]
    parts[piece] = json.dumps(_set(value, path, new), ensure_ascii=False)
    lines[line] = "\t".join(parts) + ("\t" + lines[line].rpartition("\t")[2] if summed else "")
    return "\n".join(lines) + "\n"


def _rebuild(tmp: Path, built, state: str):
    folder, out, guids = built
    shutil.copytree(folder, tmp / "notes")
    shutil.copytree(out, tmp / "decks")
    (tmp / "decks" / STATE_FILE).write_text(state, encoding="utf-8")
    with (tmp / "notes" / "a.md").open("a", encoding="utf-8") as f:  # a.md's record is read, b.md's carried
        f.write("- Finding: it also works for speech.\n")
    try:
        report = build_decks(Config(), [tmp / "notes"], tmp / "decks")
    except OutputError as exc:
        assert STATE_FILE in str(exc.path) and ("line " in exc.message or "the record of " in exc.message)
        return None
    return {g for d in report.decks for g in package_notes(d)}


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(line=st.integers(0, 9), piece=st.integers(0, 1), where=st.integers(0, 200), new=VALUES)
def test_damage_is_an_error_naming_the_record_or_changes_no_guid(tmp_path_factory, built, line, piece, where, new):
    state = (built[1] / STATE_FILE).read_text(encoding="utf-8")
    damaged = _damaged(state, line, piece, where, new, summed=True)
    after = _rebuild(tmp_path_factory.mktemp("d"), built, damaged)
    assert after is None or built[2] <= after


@SETTINGS
@given(line=st.integers(0, 9), piece=st.integers(0, 1), where=st.integers(0, 200), new=VALUES)
def test_wrong_types_in_a_state_of_the_previous_format_are_errors_not_tracebacks(tmp_path_factory, built, line,
                                                                                  piece, where, new):
    lines = (built[1] / STATE_FILE).read_text(encoding="utf-8").rstrip("\n").split("\n")
    v2 = "\n".join(ln.rpartition("\t")[0] for ln in lines).replace('"version":3', '"version":2', 1) + "\n"
    damaged = _damaged(v2, line, piece, where, new, summed=False)
    _rebuild(tmp_path_factory.mktemp("d"), built, damaged)  # no exception but OutputError


def test_a_count_given_as_text_names_the_record(tmp_path, built):
    state = (built[1] / STATE_FILE).read_text(encoding="utf-8")
    with pytest.raises(OutputError, match=r"line 2.*checksum"):
        _rebuild_raising(tmp_path, built, re.sub(r'"cards":(\d+)', r'"cards":"\1"', state, count=1))


def test_a_slot_turned_into_an_object_names_the_record_in_the_previous_format(tmp_path, built):
    lines = (built[1] / STATE_FILE).read_text(encoding="utf-8").rstrip("\n").split("\n")
    v2 = "\n".join(ln.rpartition("\t")[0] for ln in lines).replace('"version":3', '"version":2', 1) + "\n"
    damaged = re.sub(r'\["problem","t[0-9a-f]+"', '["problem",{}', v2, count=1)
    assert damaged != v2
    with pytest.raises(OutputError, match=r"the record of '.*a\.md': papers\[0\]\.slots\[\d+\]"):
        _rebuild_raising(tmp_path, built, damaged)


def _rebuild_raising(tmp, built, state):
    folder, out, _ = built
    shutil.copytree(folder, tmp / "notes")
    shutil.copytree(out, tmp / "decks")
    (tmp / "decks" / STATE_FILE).write_text(state, encoding="utf-8")
    with (tmp / "notes" / "a.md").open("a", encoding="utf-8") as f:
        f.write("- Finding: it also works for speech.\n")
    build_decks(Config(), [tmp / "notes"], tmp / "decks")
