"""Cards of this build + the previous build's paper identities -> the same guids for the same notes.

Why a slot from a matching step and not from the text or the position: a key made of the
bullet's words breaks when it is reworded, an index breaks when a bullet is inserted, deleted
or moved. So each asked bullet owns a slot number, kept in the output's state file (ledger.py).
"""
from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from functools import lru_cache
from operator import attrgetter

from notecards.meta import clean_inline
from notecards.model import ASKED, Card

SIMILAR = 0.5
"""A reworded bullet keeps its card when it is at least this similar (difflib ratio) to the old text."""
SAME_PAPER = 0.8
"""A retitled paper keeps its cards when its title key is this similar, or this share of bullets is unchanged."""


@dataclass(frozen=True, slots=True)
class PaperIdentity:
    """What the previous build knew about one paper, so its cards keep their guids."""

    ident: str
    """The key the paper's guids are made from: its paper_key when it was first built."""
    key: str
    """paper_key of the title it had in that build."""
    title: str
    slots: tuple[tuple[str, str, str], ...] = ()
    """(kind, slot, bullet text) for every asked bullet."""
    next_slot: tuple[tuple[str, int], ...] = ()
    """Per kind, the first slot never used: a deleted bullet's slot is never given to a new one."""
    live: bool = True
    """In the last build. A paper that left is kept (live=False) so it gets its cards back if it returns,
    e.g. after a build of only some of the notes files."""


@dataclass(frozen=True, slots=True)
class Carried:
    cards: tuple[Card, ...]
    papers: tuple[PaperIdentity, ...]
    removed: tuple[str, ...]
    """Titles of previous papers that no longer appear (their notes stay in Anki)."""
    index: tuple[int, ...] = ()
    """For each card of `cards`, its position in the input (duplicates are dropped)."""


def carry_identity(cards: Iterable[Card], previous: Mapping[str, PaperIdentity],
                   reserved: Collection[str] = (), fresh: bool = False) -> Carried:
    """Re-key cards so each keeps the guid it had in the previous build.

    Why a slot from a matching step and not from the text or the position: a key made of the
    bullet's words breaks when it is reworded, an index breaks when a bullet is inserted, deleted
    or moved. So each asked bullet owns a slot number, kept in the output's state file: an
    unchanged bullet keeps its slot, a reworded one takes the slot of the most similar old
    bullet (ratio >= SIMILAR), a new one a slot made from its text (text_slot), as make_cards()
    gives it. A retitled paper (typo fixed,
    a word changed) keeps its identity when its title key is close or most bullets are unchanged.
    Cards that end up with the same guid (the same paper in two notes files) are kept once.
    Papers that left are reported once and remembered (live=False).

    `reserved`: identities of papers outside `cards` that stay (in notes files this build does
    not read again); no paper here takes one. `fresh`: the cards carry the keys fresh_keys gives
    them (the extraction workers key them): a paper the previous build did not know, and whose key
    is free, keeps them as they are, which is every paper of a cold build.
    """
    groups: dict[str, list[tuple[int, Card]]] = {}
    for i, c in enumerate(cards):
        groups.setdefault(c.paper_key, []).append((i, c))
    matched = _match_papers({k: [c for _, c in g] for k, g in groups.items()}, previous)
    used: set[str] = set(reserved) | {p.ident for p in matched.values()}  # matched papers keep theirs
    seen_guids: set[str] = set()
    out: list[Card] = []
    index: list[int] = []
    papers: list[PaperIdentity] = []
    for key, group in groups.items():
        prev = matched.get(key)
        ident = prev.ident if prev else key
        while prev is None and ident in used:  # a new paper named like an old one that was retitled away
            ident += "~"
        used.add(ident)
        if fresh and prev is None and ident == key:  # keyed as a cold build keys them already
            slots, next_slot = _fresh_slots(c for _, c in group)
            keyed = group
        else:
            slots, next_slot = _match_slots([c for _, c in group], prev)
            keyed = [(i, _rekeyed(c, ident, slots)) for i, c in group]
        for i, c in keyed:
            if c.guid not in seen_guids:
                seen_guids.add(c.guid)
                out.append(c)
                index.append(i)
        papers.append(PaperIdentity(
            ident=ident, key=key, title=html.unescape(group[0][1].title),
            slots=tuple(sorted((k, n, b) for (k, b), n in slots.items())),
            next_slot=tuple(sorted(next_slot.items()))))
    kept = {p.ident for p in matched.values()}
    gone = [p for p in previous.values() if p.ident not in kept]
    removed = tuple(sorted(p.title for p in gone if p.live))
    return Carried(tuple(out), tuple(papers) + tuple(replace(p, live=False) for p in gone), removed, tuple(index))


def give_guids(cards: Iterable[Card]) -> tuple[Card, ...]:
    """Cards with the guids a build into a new output folder gives them (duplicates once)."""
    return carry_identity(cards, {}).cards


def fresh_keys(cards: Iterable[Card]) -> list[Card]:
    """Each card with the guid and slot a build into a new output folder gives it, duplicates
    kept (carry_identity drops them): what the extraction workers send, so that the build keys
    again, in carry_identity(..., fresh=True), only the papers an earlier build knew."""
    cards = list(cards)
    groups: dict[str, list[Card]] = {}
    for c in cards:
        groups.setdefault(c.paper_key, []).append(c)
    keyed = {}
    for key, group in groups.items():
        slots, _ = _match_slots(group, None)
        keyed[key] = iter([_rekeyed(c, key, slots) for c in group])
    return [next(keyed[c.paper_key]) for c in cards]  # in their own order: a paper's cards may not be together


def _rekeyed(card: Card, ident: str, slots: Mapping[tuple[str, str], str]) -> Card:
    """The card keyed to paper `ident`, its slot from `slots` ((kind, bullet text) -> slot)."""
    slot = card.slot
    if card.kind in ASKED:
        part = card.slot.partition(".")[2]
        slot = str(slots[(card.kind, card.basis)]) + (f".{part}" if part else "")
    return _keyed(card, card_guid(ident, card.kind, slot), slot)


def _fresh_slots(cards: Iterable[Card]) -> tuple[dict[tuple[str, str], str], dict[str, int]]:
    """_match_slots(cards, None), read from cards that fresh_keys keyed: each asked bullet's slot,
    and per kind the slot after the highest numbered one (a number is given only when two texts'
    text_slot clash)."""
    slots = {(c.kind, c.basis): c.slot.partition(".")[0] for c in cards if c.kind in ASKED}
    next_slot: dict[str, int] = {}
    for (kind, _), slot in slots.items():
        if slot.isdigit():
            next_slot[kind] = max(next_slot.get(kind, 1), int(slot) + 1)
    return slots, next_slot


_CARD_FIELDS = attrgetter(*Card.__slots__)
_GUID, _SLOT = Card.__slots__.index("guid"), Card.__slots__.index("slot")


def _keyed(card: Card, guid: str, slot: str) -> Card:
    """The card with its guid and slot (dataclasses.replace costs several times more, per card)."""
    values = list(_CARD_FIELDS(card))
    values[_GUID], values[_SLOT] = guid, slot
    return Card(*values)


def _bases(group: Iterable[Card]) -> set[str]:
    return {c.basis for c in group if c.kind in ASKED}


def _match_papers(groups: Mapping[str, list[Card]], previous: Mapping[str, PaperIdentity]) -> dict[str, PaperIdentity]:
    """paper_key now -> the previous paper it is: same key, else a close title or the same bullets."""
    by_key = {p.key: p for p in previous.values()}
    matched = {k: by_key[k] for k in groups if k in by_key}
    taken = {p.ident for p in matched.values()}  # a set: comparing whole identities is quadratic
    left_old = [p for p in previous.values() if p.ident not in taken]
    new_keys = [k for k in groups if k not in matched]
    candidates = _candidates(new_keys, groups, left_old)
    scored = []
    for k in new_keys:
        new = _bases(groups[k])
        for p in candidates[k]:
            old = {b for _, _, b in p.slots}
            title = _title_ratio(k, p.key)
            shared = len(new & old) / min(len(new), len(old)) if new and old else 0.0
            score = max(title, shared)
            if score >= SAME_PAPER:
                scored.append((score, k, p.ident, p))
    for _, k, _, p in sorted(scored, key=lambda s: (-s[0], s[1], s[2])):
        if k not in matched and p.ident not in taken:
            matched[k] = p
            taken.add(p.ident)
    return matched


def _title_ratio(a: str, b: str) -> float:
    """difflib's ratio of two title keys; 0.0 as soon as an upper bound of it (their lengths, then
    their letters as multisets: difflib's real_quick_ratio and quick_ratio) is below SAME_PAPER."""
    total = len(a) + len(b)
    if not total or 2 * min(len(a), len(b)) < SAME_PAPER * total:
        return 0.0
    if 2 * sum((_letters(a) & _letters(b)).values()) < SAME_PAPER * total:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@lru_cache(maxsize=4096)
def _letters(key: str) -> Counter:
    return Counter(key)


_GRAMS = 3
CANDIDATES = 16
"""A new title is compared with the old papers holding its rarest character 3-grams, taken rarest
first while they hold at most this many papers."""


def _grams(key: str) -> set[str]:
    return {key[i:i + _GRAMS] for i in range(max(1, len(key) - _GRAMS + 1))}


def _candidates(new_keys: list[str], groups: Mapping[str, list[Card]],
                old: list[PaperIdentity]) -> dict[str, list[PaperIdentity]]:
    """For each new paper key, the old papers worth comparing: those sharing a bullet, and those
    holding its rarest title 3-grams (see CANDIDATES). Titles 0.8 alike share most 3-grams, so a
    retitle is still found; comparing every new title with every paper that left (say, all the
    papers of a folder built before into the same output) would cost their product."""
    if not new_keys or not old:
        return {k: [] for k in new_keys}
    by_gram: dict[str, list[int]] = {}
    by_bullet: dict[str, list[int]] = {}
    for i, p in enumerate(old):
        for g in _grams(p.key):
            by_gram.setdefault(g, []).append(i)
        for b in {b for _, _, b in p.slots}:
            by_bullet.setdefault(b, []).append(i)
    out = {}
    for k in new_keys:
        hits = {i for b in _bases(groups[k]) for i in by_bullet.get(b, ())}
        titled: set[int] = set()
        for g in sorted((g for g in _grams(k) if g in by_gram), key=lambda g: (len(by_gram[g]), g)):
            if len(titled) + len(by_gram[g]) > CANDIDATES:  # rarest first: the rest are as common or more
                break
            titled.update(by_gram[g])
        out[k] = [old[i] for i in sorted(hits | titled)]
    return out


def _match_slots(group: list[Card], prev: PaperIdentity | None) -> tuple[dict[tuple[str, str], str], dict[str, int]]:
    """(kind, bullet text) -> slot for every asked bullet, and the next free slot per kind."""
    slots: dict[tuple[str, str], int] = {}
    next_slot: dict[str, int] = dict(prev.next_slot) if prev else {}
    for kind in ASKED:
        new = list(dict.fromkeys(c.basis for c in group if c.kind == kind))
        old = {n: b for k, n, b in (prev.slots if prev else ()) if k == kind}
        assigned, next_slot[kind] = assign_slots(new, old, next_slot.get(kind, 1))
        slots.update(((kind, b), n) for b, n in assigned.items())
    return slots, {k: n for k, n in next_slot.items() if n > 1}


_NON_KEY = re.compile(r"[\W_]+")


def paper_key(title: str) -> str:
    """What identifies a paper across edits: its title without case, spaces or punctuation."""
    return _NON_KEY.sub("", clean_inline(title).casefold())


def card_guid(ident: str, kind: str, slot: str) -> str:
    """What identifies a card: the paper, the kind, the slot. Never the answer text."""
    return hashlib.sha256(f"notecards\x1f{ident}\x1f{kind}\x1f{slot}".encode()).hexdigest()[:20]


def text_slot(text: str) -> str:
    """The slot a bullet gets when no earlier bullet is like it: made from its text, so that
    without a state file (a fresh output folder) an unchanged bullet keeps its card wherever it moves."""
    return "t" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def assign_slots(new: list[str], old: Mapping[str, str], first_free: int = 1) -> tuple[dict[str, str], int]:
    """Bullet texts now + {slot: text} before -> {text: slot}, next free numbered slot.

    An unchanged bullet keeps its slot wherever it moved; a reworded one takes the slot of the
    most similar old bullet; a new one gets text_slot(text) (a number never used before when an
    old bullet holds that slot under other words).

    >>> assign_slots(["b", "a2"], {"1": "a", "2": "b"}, 3)
    ({'b': '2', 'a2': '1'}, 3)
    """
    free = dict(old)
    out: dict[str, str] = {}
    by_text = {}
    for n, t in free.items():
        by_text.setdefault(t, n)
    for text in new:  # unchanged bullets, wherever they moved
        n = by_text.get(text)
        if n is not None and n in free:
            out[text] = n
            del free[n]
    pairs = sorted(((SequenceMatcher(None, text, t, autojunk=False).ratio(), i, n)
                    for i, text in enumerate(new) if text not in out for n, t in free.items()),
                   key=lambda p: (-p[0], p[1], p[2]))
    for score, i, n in pairs:  # reworded bullets take the most similar old one's slot
        if score >= SIMILAR and new[i] not in out and n in free:
            out[new[i]] = n
            del free[n]
    nxt = max([first_free, *(int(n) + 1 for n in old if n.isdigit())])
    taken = set(old) | set(out.values())
    for text in new:  # new bullets: a slot no earlier bullet ever had
        if text not in out:
            slot = text_slot(text)
            if slot in taken:
                slot, nxt = str(nxt), nxt + 1
            out[text] = slot
            taken.add(slot)
    return {t: out[t] for t in new}, nxt
