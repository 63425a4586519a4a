"""History follows content, property-based: random notes, random everyday edits, a rebuild and a
re-import into the same Anki collection (the import dialog's defaults) after each edit. Then no
duplicate note, every edit in the collection, and every answered card still on its bullet."""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notecards.config import Config
from notecards.pipeline import build_decks

from anki_helpers import answer, card_ids_of, collection, import_all, notes, package_notes, revlog

pytestmark = pytest.mark.slow

CONFIG = Config(max_answer_chars=120, reverse_cards=True)
LABELS = {"problem": "Problem", "method": "Method", "finding": "Finding"}
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Bullet:
    id: int
    label: str
    sentences: list[str]

    def text(self) -> str:
        return f"{LABELS[self.label]}: " + " ".join(self.sentences)


@dataclass
class Paper:
    title: str
    bullets: list[Bullet]


@dataclass
class Notes:
    """The notes as data: file name -> papers; each bullet keeps an id through the edits."""

    files: dict[str, list[Paper]]
    words: int = 0
    bullets: int = 0
    relative: bool = False
    """Build from the folder above the notes, naming them `notes`, instead of by their absolute path."""
    heirs: dict[int, set[int]] = field(default_factory=dict)
    """Bullet id -> the ids its text went to (itself after a reword, the pieces of a split, a merge)."""

    def word(self) -> str:
        self.words += 1
        return "w" + "".join("abcdefghij"[int(d)] for d in str(self.words))

    def sentence(self, n: int = 6) -> str:
        return " ".join(self.word() for _ in range(n)).capitalize() + "."

    def bullet(self, label: str, sentences: int) -> Bullet:
        self.bullets += 1
        return Bullet(self.bullets, label, [self.sentence() for _ in range(sentences)])

    def papers(self) -> list[Paper]:
        return [p for ps in self.files.values() for p in ps]

    def alive(self) -> dict[int, Bullet]:
        return {b.id: b for p in self.papers() for b in p.bullets}

    def write(self, folder: Path) -> None:
        for f in folder.rglob("*.md"):
            f.unlink()
        for name, papers in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"## {p.title} (ICLR 2021)\n\n" + "".join(f"- {b.text()}\n" for b in p.bullets)
                                    + "\n" for p in papers), encoding="utf-8")


TITLES = ["Sparse Routing Of Experts", "Contrastive Views Of Speech", "Tiny Models Reason Well",
          "Graph Priors For Vision", "Reward Shaping Without Regret"]


def make_notes(shape: list[list[list[tuple[str, int]]]]) -> Notes:
    n = Notes({})
    t = iter(TITLES)
    for i, papers in enumerate(shape):
        n.files[f"file{i}.md"] = [Paper(next(t), [n.bullet(label, k) for label, k in bullets]) for bullets in papers]
    return n


# --- edits: each takes the notes and a random number generator (hypothesis's), returns a description


def reword(n: Notes, rnd) -> str:
    b = rnd.choice(list(n.alive().values()))
    s = rnd.randrange(len(b.sentences))
    words = b.sentences[s].rstrip(".").split()
    words[rnd.randrange(len(words))] = n.word()
    b.sentences[s] = " ".join(words).capitalize() + "."
    return f"reword {b.id}"


def add(n: Notes, rnd) -> str:
    p = rnd.choice(n.papers())
    b = n.bullet(rnd.choice(list(LABELS)), rnd.choice([1, 1, 3]))
    p.bullets.insert(rnd.randrange(len(p.bullets) + 1), b)
    return f"add {b.id}"


def delete(n: Notes, rnd) -> str:
    p = rnd.choice([p for p in n.papers() if len(p.bullets) > 1] or [None])
    if p is None:
        return "delete nothing"
    b = p.bullets.pop(rnd.randrange(len(p.bullets)))
    return f"delete {b.id}"


def reorder(n: Notes, rnd) -> str:
    p = rnd.choice(n.papers())
    rnd.shuffle(p.bullets)
    return f"reorder {p.title}"


def split(n: Notes, rnd) -> str:
    p = rnd.choice(n.papers())
    i = rnd.randrange(len(p.bullets))
    b = p.bullets[i]
    if len(b.sentences) < 2:
        return "split nothing"
    cut = rnd.randrange(1, len(b.sentences))
    rest = n.bullet(b.label, 0)
    b.sentences, rest.sentences = b.sentences[:cut], b.sentences[cut:]
    p.bullets.insert(i + 1, rest)
    n.heirs.setdefault(b.id, {b.id}).add(rest.id)
    return f"split {b.id} -> {rest.id}"


def merge(n: Notes, rnd) -> str:
    p = rnd.choice(n.papers())
    pairs = [i for i in range(len(p.bullets) - 1) if p.bullets[i].label == p.bullets[i + 1].label]
    if not pairs:
        return "merge nothing"
    i = rnd.choice(pairs)
    a, b = p.bullets[i], p.bullets.pop(i + 1)
    a.sentences += b.sentences
    n.heirs.setdefault(b.id, {b.id}).add(a.id)
    n.heirs.setdefault(a.id, {a.id}).add(b.id)  # either note may keep the merged text
    return f"merge {b.id} into {a.id}"


def retitle(n: Notes, rnd) -> str:
    p = rnd.choice(n.papers())
    p.title = p.title.lower() if p.title != p.title.lower() else p.title.title()
    return f"retitle {p.title}"


def move_paper(n: Notes, rnd) -> str:
    src = rnd.choice([f for f, ps in n.files.items() if ps])
    p = n.files[src].pop(rnd.randrange(len(n.files[src])))
    dst = rnd.choice([*n.files, f"moved{len(n.files)}.md"])
    n.files.setdefault(dst, []).append(p)
    return f"move {p.title} to {dst}"


def move_file(n: Notes, rnd) -> str:
    name = rnd.choice(list(n.files))
    new = f"sub/{Path(name).name}" if "/" not in name else f"top-{Path(name).name}"
    if new in n.files:
        return "move nothing"
    n.files[new] = n.files.pop(name)
    return f"move {name} to {new}"


def build_elsewhere(n: Notes, rnd) -> str:
    n.relative = not n.relative
    return "build from " + ("the folder above" if n.relative else "anywhere, by absolute path")


EDITS = [reword, add, delete, reorder, split, merge, retitle, move_paper, move_file, build_elsewhere]


def _build(n: Notes, folder: Path, out: Path):
    if not n.relative:
        return build_decks(CONFIG, [folder], out)
    cwd = os.getcwd()
    os.chdir(folder.parent)
    try:
        return build_decks(CONFIG, [Path(folder.name)], out)
    finally:
        os.chdir(cwd)

bullet_shape = st.tuples(st.sampled_from(list(LABELS)), st.sampled_from([1, 1, 2, 4]))
paper_shape = st.lists(bullet_shape, min_size=1, max_size=4)
notes_shape = st.lists(st.lists(paper_shape, min_size=1, max_size=2), min_size=1, max_size=2)


_MORE = re.compile(r'<span class="nc-more">.*?</span>')
"""The mark after an answer that shows only a long bullet's key sentences (the rest is on the back)."""


def _plain(answer_html: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", _MORE.sub("", answer_html))).split())


def _owner(n: Notes, answer_html: str) -> int:
    text = _plain(answer_html)
    [owner] = [b.id for b in n.alive().values() if text in b.text()]
    return owner


def _heirs(n: Notes, bid: int) -> set[int]:
    """Every id the bullet's text may be in now (following splits and merges)."""
    seen, todo = set(), [bid]
    while todo:
        i = todo.pop()
        if i not in seen:
            seen.add(i)
            todo += n.heirs.get(i, ())
    return seen


@settings(max_examples=int(os.environ.get("NOTECARDS_HISTORY_EXAMPLES", "12")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(shape=notes_shape, edits=st.lists(st.sampled_from(EDITS), min_size=1, max_size=4), rnd=st.randoms())
def test_history_follows_content_through_random_edits(tmp_path_factory, shape, edits, rnd):
    tmp = tmp_path_factory.mktemp("history")
    folder, out = tmp / "notes", tmp / "decks"
    folder.mkdir()
    n = make_notes(shape)
    n.write(folder)
    with collection(tmp / "col") as col:
        import_all(col, build_decks(CONFIG, [folder], out).decks)
        answered: dict[int, tuple[int, int]] = {}  # card id -> (note id, bullet id)

        def answer_new():
            rows = [r for r in notes(col) if r.fields["Kind"] in LABELS and r.nid not in {v[0] for v in answered.values()}]
            for r in rows:
                for cid in answer(col, card_ids_of(col, [r.nid])):
                    answered[cid] = (r.nid, _owner(n, r.fields["Answer"]))

        answer_new()
        history = {cid: revlog(col, cid) for cid in answered}
        done = []
        for edit in edits:
            done.append(edit(n, rnd))
            n.write(folder)
            report = _build(n, folder, out)
            assert not report.problems, done
            before = {r.nid: r.mod for r in notes(col)}
            import_all(col, report.decks)
            rows = {r.nid: r for r in notes(col)}
            built = {g: f for deck in report.decks for g, f in package_notes(deck).items()}
            by_guid = {r.guid: r for r in rows.values()}
            # every note of the build arrived as built: each edit applied
            assert {g: list(by_guid[g].fields.values()) for g in built} == built, done
            questions = [by_guid[g].fields["Question"] for g in built]
            assert len(set(questions)) == len(questions), done
            alive = n.alive()
            holders: dict[int, list[int]] = {}
            for cid, (nid, bid) in answered.items():
                r = rows[nid]
                assert history[cid] <= revlog(col, cid), done
                if r.guid in built:  # on its bullet, or on what the bullet's text went to
                    text = _plain(r.fields["Answer"])
                    assert any(text in alive[h].text() for h in _heirs(n, bid) if h in alive), (done, bid, text)
                    holders.setdefault(bid, []).append(nid)
                else:  # a note left behind: only a bullet that is gone (or went into another) may leave one
                    assert bid not in alive or _heirs(n, bid) != {bid}, (done, bid)
            # one reverse note per paper (no edit here deletes a paper): none is left behind beside a new one
            assert sum(r.fields["Kind"] == "reverse" for r in rows.values()) == len(n.papers()), done
            if done[-1].startswith("build from"):  # the same notes from elsewhere: no note changes
                assert all(r.mod == before[r.nid] for r in rows.values()), done
            answer_new()
            history = {cid: revlog(col, cid) for cid in answered}
