"""The data passed between stages: frozen, slotted, tuples inside."""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import ClassVar

LABELS = ("problem", "method", "finding", "background", "opinion", "other")
MISSING_IMAGE = "is missing or outside the notes folder"
"""In the warning for an image left out of a card: the one warning a file's cards are remade for
(the user may add the image later); any other warning stands as long as the text does."""


def waits_for_files(warnings: tuple[str, ...] | list[str]) -> bool:
    """Cards made with these warnings may come out otherwise from the same text: an image was missing."""
    return any(MISSING_IMAGE in w for w in warnings)
ASKED = ("problem", "method", "finding")
"""Labels that become questions, in the order their cards are studied."""


class _Record:
    """Pickles as its constructor's arguments: workers send, and the cache keeps, many thousands
    of these, and dataclasses' own per-field __setstate__ is several times slower."""

    __slots__ = ()
    _fields: ClassVar[dict[type, attrgetter]] = {}
    """Per class, one C call that reads every field (a loop of getattr takes twice as long)."""

    def __reduce__(self):
        cls = self.__class__
        fields = self._fields.get(cls)
        if fields is None:
            fields = self._fields[cls] = attrgetter(*cls.__slots__)  # two names or more: it gives a tuple
        return (cls, fields(self))


@dataclass(frozen=True, slots=True)
class SourceFile(_Record):
    path: str
    """Display path: as given on the command line or relative to the notes folder."""
    text: str
    """Decoded text: BOM removed, line ends normalised to \\n."""
    encoding: str
    folder: str = ""
    """The notes folder the file was found in (media and topics are relative to it)."""
    warnings: tuple[str, ...] = ()
    """`path:line: warning:` lines about the reading (characters removed)."""


@dataclass(frozen=True, slots=True)
class Block(_Record):
    """One Markdown block as written, in document order."""

    kind: str
    """heading | item | para | html | code | table | hr"""
    text: str
    """Inline source as written, list and quote markers removed; lines joined by \\n."""
    line: int
    """1-based line in the file."""
    level: int = 0
    """Heading level (1-6) for headings; list depth (1 = top-level list) for items."""
    quoted: bool = False
    """Inside a `> ` blockquote."""
    has_children: bool = False
    """A list item with nested items."""
    indent: int = 0
    """Column of a list item's marker in the source (to repair under-indented sub-items)."""
    cells: tuple[str, ...] = ()
    """A table row's cells as written (kind `row`; level 0 is the header row, 1 a body row)."""


@dataclass(frozen=True, slots=True)
class Bullet(_Record):
    text: str
    """The bullet as written, list markers removed (a quote keeps its `> `)."""
    line: int
    label: str = "other"
    rule: str = ""
    """The rule that decided the label, for `extract --explain` ('' for a weighed label in a build, which shows none)."""
    depth: int = 0
    section: str = ""
    """Heading or header line the bullet sits under (context for the classifier)."""
    parent: str = ""
    """The parent bullet's text, or the header line folded into this bullet."""
    index: int = 0
    """Position among the paper's bullets (0-based)."""

    def labelled(self, label: str, rule: str) -> Bullet:
        """This bullet with its label (dataclasses.replace costs several times more)."""
        return Bullet(self.text, self.line, label, rule, self.depth, self.section, self.parent, self.index)


@dataclass(frozen=True, slots=True)
class Paper(_Record):
    title: str
    venue: str | None
    year: int | None
    line: int
    bullets: tuple[Bullet, ...] = ()
    topics: tuple[str, ...] = ()
    gloss: str = ""
    """The reader's own name for the paper when the title came from a field."""
    link: str = ""


@dataclass(frozen=True, slots=True)
class Document(_Record):
    path: str
    title: str
    papers: tuple[Paper, ...]
    lang: str = "en"
    """zh | en: the language most of its notes are in, for `extract` ('' in a build: its cards
    work out each paper's and each bullet's own)."""
    topics: tuple[str, ...] = ()
    folder: str = ""
    warnings: tuple[str, ...] = ()
    shape: str = ""
    """Which opener shape won the file (`extract --explain`): 'heading level 3 (41.5, …)', 'table rows …'."""


@dataclass(frozen=True, slots=True)
class Card(_Record):
    guid: str
    deck: str
    kind: str
    """problem | method | finding | reverse | summary (a paper with no problem/method/finding bullet)"""
    question: str
    answer: str
    title: str
    meta: str
    context: str
    source: str
    tags: tuple[str, ...]
    paper_key: str
    extra: str = ""
    media: tuple[str, ...] = field(default=())
    slot: str = "1"
    """Where the card sits among its paper's cards of this kind ("2", or "2.1" for part of a long bullet)."""
    basis: str = ""
    """The bullet text the card was made from, so a rebuild can recognise it after it is reworded or moved."""
