"""Cue gates: strings one of which every match of a cue's regex contains, read from the pattern's
text, so that a bullet holding none of them skips the search (the same answer, in less time).

`re` finds quickly where a pattern that opens with a character or a class can start; one that
opens with `\\b`, a lookaround or `\\d` is tried at every position of the bullet, and a few `in`
tests are cheaper than that. Only the syntax the cue tables use is read; anything else (a flag, a
backreference, an escape such as `\\x41`) gives no gate, and the cue is searched as before.
"""
from __future__ import annotations

import re

GATE_MAX = 20
"""A gate of more strings costs more `in` tests than the search it would spare."""

_REPEAT = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_GROUP = re.compile(r"\?(?:P<\w+>|([aiLmsux]*(?:-[imsx]+)?):)")
"""What may follow '(' besides ?: and lookarounds: a named group, or flags for the group alone."""
_CLASS_ESCAPES = "dDwWsS"
_ZERO_WIDTH_ESCAPES = "bBAZ"


class _Unread(Exception):
    """Syntax this reader does not know: no gate."""


Needs = frozenset[str] | None
"""Strings one of which a match contains; None: nothing known."""


def cue_gate(pattern: str) -> tuple[str, ...] | None:
    """The gate of a cue regex, longest strings first, or None where it would not pay: a pattern
    whose every branch opens with ^ (tried at one place), one that opens with a character or class
    where re skips ahead on its own, one whose gate is unknown or too big."""
    reader = _Reader(pattern)
    try:
        needs = reader.alternation()
    except _Unread:
        return None
    if reader.at < len(pattern) or needs is None or "" in needs or len(needs) > GATE_MAX:
        return None
    if not reader.opens_slow:
        return None
    return tuple(sorted(needs, key=lambda s: (-len(s), s)))


def needed(pattern: str) -> Needs:
    """Strings one of which every match of `pattern` contains (None: nothing known). For tests."""
    reader = _Reader(pattern)
    try:
        needs = reader.alternation()
    except _Unread:
        return None
    return needs if reader.at == len(pattern) and needs is not None and "" not in needs else None


def _odds(needs: frozenset[str]) -> float:
    """How likely a text holds one of the strings, roughly: a longer string is rarer."""
    return sum(4.0 ** -len(s) for s in needs)


def _rarer(a: Needs, b: Needs) -> Needs:
    if a is None or b is None:
        return b if a is None else a
    return a if _odds(a) <= _odds(b) else b


class _Reader:
    """A recursive reading of a pattern: each part gives the strings one of which its matches contain."""

    def __init__(self, pattern: str) -> None:
        self.p, self.at = pattern, 0
        self.opens_slow = False
        """A branch opens with what re can't skip ahead to: a zero-width test other than ^, a class
        escape such as \\d, any character, or anything repeated."""

    def peek(self) -> str:
        return self.p[self.at] if self.at < len(self.p) else ""

    def alternation(self, opening: bool = True) -> Needs:
        """`opening`: what it matches is where a match of the whole pattern starts."""
        branches = [self.sequence(opening)]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.sequence(opening))
        return None if any(b is None for b in branches) else frozenset().union(*branches)

    def sequence(self, opening: bool) -> Needs:
        """A concatenation needs what any one of its parts needs: the rarest of them. Characters in
        a row, none of them repeated, make one string."""
        best: Needs = None
        run = ""
        while self.peek() not in ("", "|", ")"):
            kind, needs = self.atom(opening)
            least = self.repeat()
            if opening:
                self.opens_slow |= kind == "slow" or least is not None
                opening = False
            if kind == "char" and least is None:
                run += needs
                continue
            if run:
                best, run = _rarer(best, frozenset([run])), ""
            if least != 0 and kind in ("char", "needs"):
                best = _rarer(best, frozenset([needs]) if kind == "char" else needs)
        return _rarer(best, frozenset([run])) if run else best

    def repeat(self) -> int | None:
        """The fewest times a quantifier lets its atom match; None: there is none."""
        c = self.peek()
        if c in ("*", "+", "?"):
            self.at += 1
            least = 1 if c == "+" else 0
        elif c == "{":
            m = _REPEAT.match(self.p, self.at)
            if m is None:
                raise _Unread  # a literal '{': not worth knowing
            self.at = m.end()
            least = int(m.group(1) or 0)
        else:
            return None
        if self.peek() in ("?", "+"):  # lazy or possessive
            self.at += 1
        return least

    def atom(self, opening: bool) -> tuple[str, object]:
        """('char', c); ('needs', strings): a group or a short class; ('none', None): ^, or what
        nothing is known of (a class, a group under other flags); ('slow', None): a zero-width test
        or any character of a kind (see opens_slow). The last two need nothing."""
        c = self.peek()
        self.at += 1
        if c == "(":
            return self.group(opening)
        if c == "[":
            return self.char_class()
        if c == "^":
            return "none", None
        if c in ("$", "."):
            return "slow", None
        if c == "\\":
            e = self.peek()
            self.at += 1
            if e and e in _CLASS_ESCAPES + _ZERO_WIDTH_ESCAPES:
                return "slow", None
            if not e or e.isalnum() or e == "_":
                raise _Unread  # \1, \x41, \n, \N{…}
            return "char", e
        if c in ("*", "+", "?", "{", ")", "|", ""):
            raise _Unread
        return "char", c

    def group(self, opening: bool) -> tuple[str, object]:
        p = self.p
        zero_width = scoped = False
        if p.startswith("?:", self.at):
            self.at += 2
        elif p.startswith(("?=", "?!"), self.at):
            self.at, zero_width = self.at + 2, True
        elif p.startswith(("?<=", "?<!"), self.at):
            self.at, zero_width = self.at + 3, True
        elif p.startswith("?", self.at):
            m = _GROUP.match(p, self.at)
            if m is None:
                raise _Unread  # flags for the whole pattern, a backreference, a comment, a condition
            self.at, scoped = m.end(), m.group(1) is not None  # under other flags: nothing known inside
        inner = self.alternation(opening and not zero_width)
        if self.peek() != ")":
            raise _Unread
        self.at += 1
        if zero_width:
            return "slow", None
        return ("none", None) if scoped else ("needs", inner)

    def char_class(self) -> tuple[str, object]:
        """A short class of plain characters ('[？?]') needs one of them; any other matches something unknown."""
        start = self.at
        if self.peek() == "^":
            self.at += 1
        if self.peek() == "]":
            self.at += 1
        while self.peek() != "]":
            if not self.peek():
                raise _Unread
            self.at += 2 if self.peek() == "\\" else 1
        body = self.p[start:self.at]
        self.at += 1
        if body.startswith("^") or len(body) > 8 or any(ch in body for ch in "\\-[&~|"):
            return "none", None
        return "needs", frozenset(body)
