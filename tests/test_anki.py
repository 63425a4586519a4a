"""Decks built from the example notes, imported by Anki's own engine (the `anki` package).

Import uses the options Anki's import dialog starts with (update notes if newer, no note type
merge). The re-import tests answer cards, edit the notes, rebuild at once (the same second),
import again into the same collection and check: no duplicates, the edits arrived, and every
answered card kept its review history and scheduling.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from notecards.config import Config
from notecards.pipeline import build_decks, extract_paths

from anki_helpers import (answer, card_ids_of, card_state, collection, deck_names, import_all, notes,
                          package_notes, review_queue, revlog)
from conftest import SEED

CONFIG = Config()
TARGET = "Safe RLHF: Safe Reinforcement Learning From Human Feedback"
M_LABEL = "在数据标注阶段提出了一种两步标注方法"
M_MODEL = "在偏好模型这里独立训练两个模型"
M_RL = "在强化学习阶段使用拉格朗日方法将成本函数和奖励函数结合到一起，然后使用PPO算法进行训练"


def build(notes_dir: Path, out: Path):
    report = build_decks(CONFIG, [notes_dir], out)
    assert not report.problems
    return report


def _all_fields_filled(rows) -> bool:
    return all(v.strip() for r in rows for v in r.fields.values())


def test_seed_decks_import_into_anki(tmp_path: Path, notes_dir: Path):
    report = build(notes_dir, tmp_path / "decks")
    with collection(tmp_path / "col") as col:
        logs = import_all(col, report.decks)
        assert not any(log.conflicting or log.missing_notetype or log.empty_first_field for log in logs)
        rows = notes(col)
        assert deck_names(col) == {"Papers::AI对齐论文阅读杂记"}
        assert len(rows) == report.cards == col.card_count()
        assert _all_fields_filled(rows)
        tags = {t for r in rows for t in r.tags}
        assert {"year::2017", "year::2024", "venue::arXiv", "venue::ICLR", "venue::NeurIPS",
                "topic::ai-alignment"} <= tags
        assert all(any(t.startswith("year::") for t in r.tags) for r in rows)
        assert len({r.fields["Question"] for r in rows}) == len(rows)  # no duplicate first field
        assert len({r.guid for r in rows}) == len(rows)
        # every paper of the notes is in Anki, each once
        titles = {html.unescape(r.fields["Title"]) for r in rows}
        extracted = {p.title for d in extract_paths([notes_dir], CONFIG).documents for p in d.papers if p.bullets}
        assert titles == extracted


def test_repeated_papers_give_one_set_of_notes(tmp_path: Path, notes_dir: Path):
    report = build(notes_dir, tmp_path / "decks")
    with collection(tmp_path / "col") as col:
        import_all(col, report.decks)
        rows = notes(col)
    drl = [r for r in rows if r.fields["Title"] == "Deep Reinforcement Learning from Human Preferences"]
    assert len([r for r in drl if r.fields["Kind"] == "reverse"]) == 1
    # the seed lists it under 2017 (lines 10-15) and again under 2023: only the first copy's bullets
    assert all(int(r.fields["Source"].rsplit(":", 1)[1]) <= 15 for r in drl)
    pairs = [(r.fields["Title"], r.fields["Answer"]) for r in rows]
    assert len(set(pairs)) == len(pairs)


def test_unchanged_rebuild_updates_nothing(tmp_path: Path, notes_dir: Path):
    out = tmp_path / "decks"
    with collection(tmp_path / "col") as col:
        import_all(col, build(notes_dir, out).decks)
        [log] = import_all(col, build(notes_dir, out).decks)
        assert (len(log.new), len(log.updated)) == (0, 0)


# --- re-import after each kind of edit ------------------------------------------------------


def _replace(notes_dir: Path, old: str, new: str, name: str = SEED.name) -> None:
    path = notes_dir / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"edit anchor not found once: {old[:30]}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _line_with(notes_dir: Path, part: str) -> str:
    return next(ln for ln in (notes_dir / SEED.name).read_text(encoding="utf-8").splitlines(keepends=True)
                if part in ln)


def reword(d: Path) -> None:
    _replace(d, M_RL, "在强化学习阶段用拉格朗日方法把成本函数与奖励函数结合起来，再用PPO算法训练")


def add(d: Path) -> None:
    _replace(d, _line_with(d, M_RL), "   6. 成本模型与奖励模型共享同一个预训练基座，只是输出头不同\n" + _line_with(d, M_RL))


def reorder(d: Path) -> None:
    a, b = _line_with(d, M_LABEL), _line_with(d, M_MODEL)
    _replace(d, a + b, b + a)


def delete(d: Path) -> None:
    _replace(d, _line_with(d, M_MODEL), "")


def retitle_case(d: Path) -> None:
    _replace(d, TARGET, "Safe RLHF - safe reinforcement learning from human feedback")


def retitle_word(d: Path) -> None:
    _replace(d, TARGET, "Safe RLHF: Safe Reinforcement Learning with Human Feedback")


def move_paper(d: Path) -> None:
    text = (d / SEED.name).read_text(encoding="utf-8")
    start = text.index(f"5. [ICLR] {TARGET}")
    end = text.index("6. [ICLR] Statistical Rejection Sampling")
    (d / SEED.name).write_text(text[:start] + text[end:], encoding="utf-8")
    block = text[start:end].replace("5. [ICLR]", "1. [ICLR]", 1)
    (d / "safety.md").write_text(f"---\ntitle: 安全对齐\n---\n## 2024\n\n{block}", encoding="utf-8")


def rename_file(d: Path) -> None:
    (d / SEED.name).rename(d / "alignment-reading.md")


@dataclass(frozen=True)
class Edit:
    apply: Callable[[Path], None]
    added: int
    """Notes the edit adds to the collection."""
    check: Callable[[dict, dict], None] = lambda before, after: None
    """(notes before by id, notes after by id) -> assertions about where the edit landed."""


def _answer_moved_to(old_part: str, new_part: str):
    def check(before, after):
        [nid] = [n for n, r in before.items() if old_part in r.fields["Answer"]]
        assert new_part in after[nid].fields["Answer"]  # the same note, so the same history
    return check


def _target_titles_are(title: str):
    def check(before, after):
        ids = [n for n, r in before.items() if r.fields["Title"] == TARGET]
        assert ids and all(after[n].fields["Title"] == title for n in ids)
    return check


def _sources_mention(name: str):
    def check(before, after):
        ids = [n for n, r in before.items() if r.fields["Title"] == TARGET]
        assert ids and all(name in after[n].fields["Source"] for n in ids)
    return check


EDITS = {
    "reword": Edit(reword, 0, _answer_moved_to("使用拉格朗日方法将成本函数", "再用PPO算法训练")),
    "add": Edit(add, 1),
    "reorder": Edit(reorder, 0),
    "delete": Edit(delete, 0),  # Anki's import never deletes: the note stays, with its history
    "retitle_case": Edit(retitle_case, 0, _target_titles_are("Safe RLHF - safe reinforcement learning from human feedback")),
    "retitle_word": Edit(retitle_word, 0, _target_titles_are("Safe RLHF: Safe Reinforcement Learning with Human Feedback")),
    "move_paper": Edit(move_paper, 0, _sources_mention("safety.md")),
    "rename_file": Edit(rename_file, 0, _sources_mention("alignment-reading.md")),
}

SCHEDULING = slice(2, None)  # card_state minus note id and deck: type, queue, ivl, due, reps, lapses, factor


@pytest.mark.parametrize("name", list(EDITS))
def test_reimport_after_edit_keeps_history(name: str, tmp_path: Path, notes_dir: Path):
    edit = EDITS[name]
    out = tmp_path / "decks"
    first = build(notes_dir, out)
    with collection(tmp_path / "col") as col:
        import_all(col, first.decks)
        target = [r.nid for r in notes(col) if r.fields["Title"] == TARGET]
        reviewed = answer(col, card_ids_of(col, target)) + review_queue(col, 4)
        assert len(reviewed) >= len(target) + 4
        before = {r.nid: r for r in notes(col)}
        cards_before = card_state(col)
        history = {cid: revlog(col, cid) for cid in reviewed}
        assert all(history.values())

        edit.apply(notes_dir)
        second = build(notes_dir, out)  # at once: usually the same second as the first build
        assert second.removed == []
        import_all(col, second.decks)
        after = {r.nid: r for r in notes(col)}
        cards_after = card_state(col)

        # no duplicates
        assert len({r.guid for r in after.values()}) == len(after)
        questions = [r.fields["Question"] for r in after.values()]
        assert len(set(questions)) == len(questions)
        assert len(set(after) - set(before)) == edit.added
        # every note of the new build arrived as built (the edits included), none left behind
        built = {guid: fields for deck in second.decks for guid, fields in package_notes(deck).items()}
        by_guid = {r.guid: r for r in after.values()}
        assert {g: list(by_guid[g].fields.values()) for g in built} == built
        # answered cards: same note, same revlog, same scheduling
        for cid in reviewed:
            assert cards_after[cid][0] == cards_before[cid][0]
            assert cards_after[cid][SCHEDULING] == cards_before[cid][SCHEDULING]
            assert history[cid] <= revlog(col, cid)
        # a bullet whose text survived is still on the note (and card) it was on
        still = {html.unescape(r.fields["Answer"]): r.nid for r in after.values() if r.guid in built}
        for nid, r in before.items():
            if r.fields["Kind"] in ("problem", "method", "finding") and html.unescape(r.fields["Answer"]) in still:
                assert still[html.unescape(r.fields["Answer"])] == nid
        edit.check(before, after)
