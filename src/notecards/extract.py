"""Blocks -> Papers: find every paper, its metadata and its bullets (labels come later)."""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from notecards.identity import paper_key
from notecards.meta import (CITED_TITLE, FOOTNOTE_REF, LEAD_PICTOGRAPHS, TitleLine, citation_venue, clean_inline,
                            could_be_key, drop_passage_links, find_year, is_date_text, links_to_passage,
                            looks_like_title, parse_venue, section_keys, split_field, split_title_line,
                            year_heading)
from notecards.model import Block, Bullet, Paper
from notecards.rules import LineMemo, Rules, norm_key, per_line
from notecards.segment import CJK_CHARS

_IMAGE_ONLY = re.compile(r"^(?:\s*(?:!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>|\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\))\s*)+$", re.I)
_BOLD_ONLY = re.compile(r"^\s*(\*\*|__)([*_]?)((?:\\.|[^*_\\])+?)\2\1\s*[:：\-–—]?\s*$")
"""`**Key Ideas**`, `__*What is the finding?*__`, `**Gist** –`: a bold line that only names what follows."""
_PASTED_MARKER = re.compile(r"^[•●▪◦‣⁃]\s*")
_LOCATION_LINE = re.compile(r"(?:^|\n)[ \t>]*[—–-]+\s*(?:Page|Location|Loc\.|p\.|页|位置)\s*\d[\d\-–]*"
                            r"(?:\s*[·|,]\s*(?:Highlight|Note|Bookmark|标注|笔记)[^\n]*)?\s*$", re.I)
"""'— Page 6 · Highlight (blue)', '— Location 123': where a quoted highlight sits in the book, not a note."""
"""A list marker pasted from a PDF or a word processor ('•\tThe paper …') is not part of the text."""
_AUTHOR_LINE = re.compile(r"^[A-Z][\w'\-]+(?: [A-Z][\w'\-]+)?,? et al\b|^[A-Z][\w\-]+(?: [A-Z][\w\-]+)*\s*等人?\s*$")
"""`Madaan et al. (CMU) NeurIPS 2023`, `Oriol Vinyals等`: who wrote the paper, its metadata."""
_NAME = r"[A-Z][\w'\-]*\.?(?:\s+[A-Z][\w'\-]*\.?){0,3}"
_AUTHOR_LIST = re.compile(rf"{_NAME}(?:\s*,\s*(?:and\s+)?{_NAME})+\s*[-–—,·|]\s*")
"""'Ilya Sutskever, Oriol Vinyals, Quoc V. Le — ': names, then where the paper appeared."""
_BR = re.compile(r"(?:\s*<br\s*/?>)+\s*$", re.I)
_HEADER_ONLY = re.compile(r"^[^:：\n]{1,40}[:：]\s*$")
_WORD_CHAR = re.compile(r"\w")
_TITLE_WORDS = re.compile(f"[a-z]+|[{CJK_CHARS}]{{2,}}")
_EVENT = re.compile(r"\S+\s+(?:19|20)\d{2}")
_LEAD_NUMBER = re.compile(r"^\s*\d{1,3}[.、．)]\s*")
_YEARS = re.compile(r"(?:19|20)\d{2}")
_VENUE_SPLIT = re.compile(r"[\s,，()（）]+")
_YEAR_VENUE = re.compile(r"((?:19|20)\d{2})[\s,，]+([A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*){0,4})")
_VENUE_YEAR = re.compile(r"([A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*){0,4})[\s,，]+((?:19|20)\d{2})")
_YEAR_ONLY = re.compile(r"\s*(?:19|20)\d{2}\s*年?\s*")
_LEAD_PUNCT = re.compile(f"^[^\\w{CJK_CHARS}]+")
_PAREN = re.compile(r"[(（]([^()（）]*)[)）]")
_TRAILING_DATE = re.compile(r"[\d\-./\s]+$")
_ALTERNATIVES = re.compile(r"\s+[/|]\s+|[/|｜]")
_CLAUSE = re.compile(r"[。；;，,.!?！？:：]\s*\S")
_LATIN_PAIR = re.compile(r"[A-Za-z]{2}")
_SENTENCE_MARK = re.compile(r"^\d{1,3}\s+\w|\b(?:is|are|was|were|there)\b|[，,、]\s*$", re.I)
"""What makes a short line a statement, not a name: a count ('3 datasets', '2 different architectures:'),
a verb that states ('Results are split into:'), a clause left open ('chubby 除了提供上述的分布式锁服务，')."""


_SENTENCE_PUNCT = re.compile(r"[，。；]|[.;]\s*$")
"""A Chinese comma or a full stop: a sentence, which no section name is."""
_META_PIECES = re.compile(r"\s[·|•]\s|[·•]")
_CALLOUT = re.compile(r"\[!([A-Za-z][\w-]*)\][+-]?[ \t]*(.*)", re.S)
_LINKS_ONLY = re.compile(r"^(?:\s*(?:!?\[[^\]]*\]\([^)]*\)|\[\[[^\]]*\]\]|<?https?://\S+>?)\s*[,，;；|/·]?)+\s*$")


def _is_link_only(text: str) -> bool:
    """Nothing but links: `[Paper](…), [Tweet](…)`, `[[Page]]`, a bare URL."""
    return ("](" in text or "[[" in text or "://" in text) and _LINKS_ONLY.match(text) is not None


_POINTER_LEAD = re.compile(r"^([^:：\[\]()（）<>]{1,24}?)\s*(?:[:：]|[-–—](?=\s|\[|<|h)|见\s*[:：]?|\bsee:?)\s*")


def _is_pointer(text: str) -> bool:
    """'Paper link - https://…', '论文见 [Title](…)', '个人总结：详细的分析见：https://…': a name or two, then
    only links: where to read more, metadata of the paper, not a note."""
    if "](" not in text and "://" not in text and "[[" not in text:
        return False  # most bullets hold no link: one look says so
    rest = text
    for _ in range(2):
        m = _POINTER_LEAD.match(rest)
        if m is None or not _names_only(m.group(1).strip()):
            return False
        rest = rest[m.end():]
        if _is_link_only(rest):
            return True
    return False


_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.I)


def _is_caption(text: str) -> bool:
    """'joint:' over an image: a name and a picture, nothing to learn (the image-only line is not a note)."""
    if "![" not in text and "<img" not in text.lower():
        return False
    rest = _IMAGE.sub("", text).strip()
    return rest != text.strip() and (not rest or _header_text(rest) is not None)


_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]", re.S)
"""'$$ m_t = … $$', '\\[ … \\]': a display equation and nothing else."""
_TAGS_ONLY = re.compile(r"^(?:\s*#[^\s#]+)+\s*$")
_LEAD_SPACES = re.compile(r"^(?:&(?:nbsp|emsp|ensp|#160);|[\u00a0\u3000\s])+")


def _strip_br(text: str) -> str:
    """Trailing `<br>`s removed; most lines have no `<` at all, and the regex scans every position."""
    return _BR.sub("", text) if "<" in text else text


@dataclass(slots=True)
class _Open:
    """A paper being read."""

    title: TitleLine
    line: int
    kind: str
    """heading | item | para | field | single"""
    anchor: int
    """Heading level or list depth that ends it."""
    year_ctx: int | None
    topics: tuple[str, ...]
    indent: int = -1
    """Marker column of an item paper: a later item indented deeper belongs to it."""
    bullets: list[Bullet] = field(default_factory=list)
    venue: str | None = None
    year: int | None = None
    field_title: str = ""
    gloss: str = ""
    section: str = ""
    parents: list[tuple[int, str]] = field(default_factory=list)
    """(depth, text) of the enclosing list items, for context."""


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    kind: str
    """year | date | skip | section | paper | topic"""
    text: str
    year: int | None = None


@per_line
def _key_variants(text: str, memo: LineMemo) -> frozenset[str]:
    """A heading as the section tables may name it: whole, without parentheses, and each part.

    Each regex runs only when the characters it needs are there: most lines have none of them.
    """
    plain = clean_inline(text, memo)
    if plain and not (plain[0].isalnum() or plain[0] == "_"):  # \w, as re defines it
        plain = _LEAD_PUNCT.sub("", plain)
    parts = {plain}
    no_parens = plain
    if "(" in plain or "（" in plain:
        no_parens = _PAREN.sub(" ", plain)
        parts.update((no_parens, *_PAREN.findall(plain)))
    last = plain[-1:]
    if last and (last in "-./" or last.isdecimal() or last.isspace()):
        parts.add(_TRAILING_DATE.sub("", plain))  # 'Updated 2022-3-26'
    if "/" in no_parens or "|" in no_parens or "｜" in no_parens:
        alternatives = [x.strip() for x in _ALTERNATIVES.split(no_parens)]
        if all(len(x.split()) <= 4 and len(x) <= 30 for x in alternatives):  # names, not 'Title | ICLR 2021 | code'
            parts.update(alternatives)  # '相关链接 / Related links'
    # A set first: the parts are mostly the same text. Most are too long to be a name: skip norm_key.
    keys = {norm_key(p, memo) for p in parts if could_be_key(p, section_keys(memo.rules))}
    keys.discard("")
    return frozenset(keys)


def is_non_paper_section(text: str, memo: LineMemo) -> bool:
    return not _key_variants(text, memo).isdisjoint(memo.rules.non_paper_sections)


def is_section_name(text: str, memo: LineMemo) -> bool:
    return not _key_variants(text, memo).isdisjoint(memo.rules.section_names)


def _is_label_line(text: str, memo: LineMemo) -> bool:
    """A short line with no sentence in it: 'RM model', 'InstructGPT achievements vs GPT3', '实验部分'."""
    plain = clean_inline(text, memo)
    return bool(plain) and len(plain) <= 40 and not _CLAUSE.search(plain) and _names_only(plain)


def _names_only(name: str) -> bool:
    """A name of what follows ('RM model', '核心组成部分'), not a short statement about it ('3 datasets',
    'There are 4 main components', '现有的深度学习系统测试存在以下局限性')."""
    if _SENTENCE_MARK.search(name):
        return False
    return len(name.split()) <= 4 if _LATIN_PAIR.search(name) else len(name) <= 10


def _is_name(text: str) -> bool:
    """'Key Ideas', '论文要点', a template's question: a bold line that names a section; a bold
    sentence ('**another entry point for our research: …**') is a note the reader stressed, and so is
    a long question (a template's questions are short)."""
    question = text.rstrip().endswith(("?", "？"))
    if _SENTENCE_PUNCT.search(text):
        return False
    if _LATIN_PAIR.search(text):
        return len(text.split()) <= (16 if question else 12)
    return len(text) <= (40 if question else 30)


def _header_text(text: str) -> str | None:
    """A line that only announces what follows (`阅读笔记：`, `Key Ideas`, `**论文要点**`) -> its name."""
    t = text.strip()
    m = _BOLD_ONLY.match(t) if t[:2] in ("**", "__") else None  # cheap tests first: few lines are headers
    if m and _is_name(m.group(3)):
        return m.group(3).strip()
    if t.endswith((":", "：")) and _HEADER_ONLY.match(t) and "\n" not in t and _names_only(t.rstrip(":： ")):
        return t.rstrip(":： ")
    return None


_PROPERTY_LINE = re.compile(r"\s*[\w\-]{1,24}::\s")
"""'venue:: ICLR 2021', 'tags:: diffusion': a property line (Logseq, Obsidian Dataview) under an item."""


@per_line
def _title_part(text: str, memo: LineMemo | None) -> tuple[str, str]:
    """An item's title line and its continuation lines: a marked title (link, wikilink, bold) on the
    first line is the whole title line, and the lines under it are a note; otherwise one wrapped line."""
    first, nl, rest = text.partition("\n")
    if nl and rest.strip() and (_PROPERTY_LINE.match(rest) or split_title_line(_strip_br(first), memo).strong):
        return _strip_br(first), rest  # 'venue:: ICLR 2021' under it: a notes app's properties, not the title
    return _strip_br(text.replace("\n", " ")), ""


def _item_title(blocks: list[Block], i: int, memo: LineMemo) -> tuple[TitleLine | None, bool]:
    """The paper a list item names, if it names one, and whether only its siblings could confirm it."""
    b = blocks[i]
    text = _title_part(b.text, memo)[0]
    if b.quoted or _IMAGE_ONLY.match(text) or (_header_text(text) and not _bold_title(text, memo)) or is_section_name(text, memo):
        return _gloss_title(blocks, i, memo), False
    if links_to_passage(text):
        return None, False  # a highlight with a link back to its page in the PDF
    f = split_field(text, memo)
    first = split_field(b.text.split("\n")[0], memo) if f and f[0] == "title" else None
    if first and (b.has_children or "\n" in b.text):
        # '1. 论文：Title' over its notes, '1. **Title:** T' over `**Venue:**` lines: the item opens the paper
        tl = split_title_line(first[2], memo)
        if tl.title and looks_like_title(tl.title, memo, min_words=1, marked=True):
            return tl, False
    if f:
        return (_gloss_title(blocks, i, memo) if f[0] != "title" else None), False
    tl = split_title_line(text, memo)
    if tl.link.startswith("#"):
        return None, False  # a table of contents
    if tl.note and norm_key(tl.note, memo) in memo.rules.non_paper_sections:
        return None, False  # '[Lil'Log: …](url) (blog post)'
    found, weak = _title_of_item(blocks, i, tl, memo)
    if found is not None and not tl.venue and _names_no_paper(tl.title, memo):
        return None, False  # asked only of the few items that name something: most are notes
    return found, weak


def _bold_title(text: str, memo: LineMemo) -> bool:
    """'**Self-Consistency Improves Chain of Thought Reasoning**', '**[ICLR 2023] Title**': a bold item
    that reads as a paper title (four words or more, or a venue tag), not a pseudo-heading ('**Key Ideas**')."""
    m = _BOLD_ONLY.match(text.strip())
    if m is None or text.rstrip().endswith((":", "：", "?", "？")):
        return False
    tl = split_title_line(text, memo)
    return looks_like_title(tl.title, memo, min_words=1 if (tl.venue or tl.year) else 4, marked=True)


def _title_of_item(blocks: list[Block], i: int, tl: TitleLine, memo: LineMemo) -> tuple[TitleLine | None, bool]:
    """The title an item's line, its gloss field or its children make of it, before the no-paper check."""
    b = blocks[i]
    if tl.strong and looks_like_title(tl.title, memo, min_words=1, marked=True):
        return tl, False
    gloss = _gloss_title(blocks, i, memo)
    if gloss:
        return gloss, False
    if b.has_children and looks_like_title(tl.title, memo, min_words=3) and _children_are_notes(blocks, i, memo):
        return tl, False
    if looks_like_title(tl.title, memo, min_words=2) and not tl.note:
        return tl, True
    return None, False


_EVENT_WORDS = re.compile(r"[A-Za-z][\w&\-]*(?:\s+[A-Za-z][\w&\-]*){0,2}?(?=\s*['’]?\s*(?:19|20)\d{2}\b)")


@per_line
def _named_event(text: str, memo: LineMemo) -> tuple[str, int] | None:
    """'Summary of EMNLP 2022' -> ('EMNLP', 2022): a known venue right before a year, anywhere in a heading."""
    plain = clean_inline(text, memo)
    year = find_year(plain)
    if year is None:
        return None
    for m in _EVENT_WORDS.finditer(plain):
        words = m.group(0).split()
        for k in range(len(words)):
            canon = memo.rules.venues.get(" ".join(words[k:]).casefold())
            if canon:
                return canon, year
    return None


def _names_no_paper(title: str, memo: LineMemo) -> bool:
    """'Quoc Le's Tutorials on Deep Learning', 'ScaledML 2018': a talk, course or event, not a paper."""
    if not memo.rules.non_paper_title_words.isdisjoint(_TITLE_WORDS.findall(title.casefold())):
        return True
    return _EVENT.fullmatch(title.strip()) is not None


def paper_items(blocks: list[Block], memo: LineMemo) -> dict[int, TitleLine]:
    """Every list item that names a paper, by block index.

    A plain title-like item with no marks counts when most of its siblings are marked papers
    (a reading log where a few titles have no link), or when all its siblings read as long titles
    (`shapes.sibling_title_words`) and one of them is marked (a list where only the first title got a link).
    """
    found: dict[int, TitleLine] = {}
    runs: dict[int, list[tuple[int, TitleLine | None, bool]]] = {}
    all_runs: list[list[tuple[int, TitleLine | None, bool]]] = []
    for i, b in enumerate(blocks):
        if b.kind == "heading" or (b.kind == "para" and b.level == 0):
            runs = {}
            continue
        if b.kind != "item":
            continue
        for d in [d for d in runs if d > b.level]:
            del runs[d]
        tl, weak = _item_title(blocks, i, memo)
        if b.level not in runs:
            runs[b.level] = []
            all_runs.append(runs[b.level])
        runs[b.level].append((i, tl, weak))
    all_runs = _known_titles_confirmed(all_runs)
    doc_marked = sum(1 for run in all_runs for _, tl, weak in run if tl is not None and not weak)
    for run in all_runs:
        marked = sum(1 for _, tl, weak in run if tl is not None and not weak)
        titled = sum(1 for _, tl, weak in run if tl is not None and (
            not weak or looks_like_title(tl.title, memo, min_words=int(memo.rules.shapes["sibling_title_words"]))))
        # most siblings marked, or every sibling reads as a long title beside a marked one
        siblings_agree = marked >= (1 if doc_marked >= 5 else 2) and (marked * 2 >= len(run) or titled == len(run))
        for i, tl, weak in run:
            if tl is not None and (not weak or siblings_agree):
                found[i] = tl
    return found


def _known_titles_confirmed(runs: list[list[tuple[int, TitleLine | None, bool]]]):
    """A plain item repeating a title the file already gives as a paper is that paper again
    (a weekly log listing each paper under a method, then again under a concept)."""
    known = {paper_key(tl.title) for run in runs for _, tl, weak in run if tl is not None and not weak}
    known.discard("")
    return [[(i, tl, weak and paper_key(tl.title) not in known) if tl is not None else (i, tl, weak)
             for i, tl, weak in run] for run in runs]


def _children(blocks: list[Block], i: int):
    depth = blocks[i].level
    for j in range(i + 1, len(blocks)):  # not blocks[i + 1:]: a copy per item is quadratic
        b = blocks[j]
        if b.kind in ("code", "html", "table", "row"):
            continue
        if b.kind != "item" or b.level <= depth:
            return
        yield b


def _gloss_title(blocks: list[Block], i: int, memo: LineMemo) -> TitleLine | None:
    """`- LoRA 篇` with a `- 论文名称：…` child: the field gives the title."""
    for child in _children(blocks, i):
        f = split_field(child.text, memo)
        if f and f[0] == "title" and f[2]:
            tl = split_title_line(f[2], memo)
            return replace(tl, strong=True, note="")
    return None


def _children_are_notes(blocks: list[Block], i: int, memo: LineMemo) -> bool:
    """Sub-items that read as notes on a paper, not as a nested list of titles."""
    kids = list(_children(blocks, i))
    if not kids:
        return False
    titled = sum(1 for k in kids if split_title_line(k.text, memo).strong)
    return titled * 2 <= len(kids)


def _classify_headings(blocks: list[Block], memo: LineMemo, items: dict[int, TitleLine],
                       rows: frozenset[int] = frozenset()) -> tuple[dict[int, _Heading], tuple[str, int]]:
    """Decide for every heading whether it is a year, a date, a paper, a section or a topic."""
    heads = [(i, b) for i, b in enumerate(blocks) if b.kind == "heading"]
    out: dict[int, _Heading] = {}
    for n, (i, b) in enumerate(heads):
        text = b.text
        if (y := year_heading(text, memo)) is not None:
            out[i] = _Heading(b.level, "year", text, y)
        elif is_date_text(text, memo):
            out[i] = _Heading(b.level, "date", text)
        elif _is_field_heading(blocks, i, memo):
            out[i] = _Heading(b.level, "field", text)
        elif is_non_paper_section(text, memo):
            out[i] = _Heading(b.level, "skip", text)
        elif is_section_name(text, memo) or text.rstrip().endswith((":", "：")):
            out[i] = _Heading(b.level, "section", text)
        else:
            out[i] = _Heading(b.level, "candidate", text)
    for n, (i, b) in enumerate(heads):
        h = out[i]
        if h.kind != "candidate":
            continue
        end = next((j for j, c in heads[n + 1:] if c.level <= b.level), len(blocks))
        inner = [out[j] for j, c in heads[n + 1:] if j < end]
        tl = split_title_line(text := h.text, memo)
        has_paper_items = _holds_listed_papers(blocks, i + 1, end, items, memo)
        direct_end = next((j for j, _ in heads[n + 1:]), len(blocks))
        own_content = _next_title_line(blocks, i, memo) or any(
            blocks[k].kind == "item" for k in range(i + 1, direct_end))  # an intro paragraph is not enough
        # deeper paper headings make this one a topic, unless it has notes of its own
        strong_inner = any(x.kind in ("year", "date") for x in inner) or (not own_content and any(
            x.kind == "candidate" and split_title_line(x.text, memo).strong for x in inner))
        strong = tl.strong and looks_like_title(tl.title, memo, min_words=1)
        if strong_inner or (has_paper_items and (not strong or _mostly_papers(blocks, i + 1, end, items))):
            out[i] = replace(h, kind="topic")
        elif strong:
            out[i] = replace(h, kind="paper")
        elif _next_title_line(blocks, i, memo) or (looks_like_title(tl.title, memo, min_words=2) and any(
                blocks[k].kind in ("item", "para") for k in range(i + 1, end))):
            out[i] = replace(h, kind="paper?")
        else:
            out[i] = replace(h, kind="topic")
    out = _settle_weak_headings(blocks, heads, out, memo)
    openers = sorted({*items, *rows})
    shape = _heading_shape(blocks, heads, openers, memo)
    out = _apply_heading_shape(heads, out, shape[0], shape[1]) if shape else out
    return (_over_rows(blocks, heads, out, rows) if rows else out), (shape[2:] if shape else ("", 0))


def _over_rows(blocks, heads, out, rows: frozenset[int]) -> dict[int, _Heading]:
    """A heading over a table of papers is a topic ('Top papers of the week'), not a paper."""
    result = dict(out)
    at = sorted(rows)
    ends = _section_ends(heads, len(blocks))
    for i, _ in heads:
        k = bisect_right(at, i)
        if out[i].kind == "paper" and k < len(at) and at[k] < ends[i]:
            result[i] = replace(out[i], kind="topic")
    return result


_LABEL_END = ("-", "–", "—", ":", "：")


def _is_field_heading(blocks: list[Block], i: int, memo: LineMemo) -> bool:
    """'### Venue' over one paragraph ('NeurIPS 2023'), then the next heading: a form's field (an issue form)."""
    if norm_key(blocks[i].text, memo) not in memo.rules.fields:
        return False
    nxt = blocks[i + 1] if i + 1 < len(blocks) else None
    return nxt is not None and nxt.kind == "para" and (i + 2 == len(blocks) or blocks[i + 2].kind == "heading")


def _names_a_part(text: str, memo: LineMemo) -> bool:
    """A year, a date, a non-paper section or a section of one paper's notes: never a paper."""
    return (text.rstrip().endswith(_LABEL_END) or year_heading(text, memo) is not None or is_date_text(text, memo)
            or is_non_paper_section(text, memo) or is_section_name(text, memo))


def heading_evidence(blocks: list[Block], i: int, nxt: int, memo: LineMemo) -> float:
    """How strongly one heading reads as a paper's title, from what it says and what is under it."""
    w = memo.rules.shapes
    text = blocks[i].text
    if _names_a_part(text, memo):
        return w["label_heading"]
    tl = split_title_line(text, memo)
    if looks_like_title(tl.title, memo, min_words=3):
        score = w["title_words"]
    elif looks_like_title(tl.title, memo, min_words=2):
        score = w["short_title"]
    else:
        return w["label_heading"]
    if tl.venue or tl.year:
        score += w["venue_year"]
    if tl.link and not tl.link.startswith("#"):
        score += w["link"]
    if any(blocks[k].kind in ("para", "item", "row") for k in range(i + 1, nxt)):
        score += w["notes_below"]
    return score


def _heading_shape(blocks, heads, item_at: list[int], memo) -> tuple[int, frozenset[int], str, int] | None:
    """The heading level that opens papers in this file, if one does:
    (level, its openers, explanation, how many of them carry a venue, year or link).

    Every level is scored over the whole file; a level whose headings hold lists of paper items is a
    level of topics, not papers.
    """
    w = memo.rules.shapes
    nexts = [j for j, _ in heads[1:]] + [len(blocks)]
    by_level: dict[int, list[tuple[int, float]]] = {}
    for (i, b), nxt in zip(heads, nexts):
        by_level.setdefault(b.level, []).append((i, heading_evidence(blocks, i, nxt, memo)))
    scored = []
    for level, rows in by_level.items():
        titled = [(i, e) for i, e in rows if e > 0]
        if len(titled) < w["min_repeat"] or len(titled) < w["min_share"] * len(rows):
            continue
        if _holds_paper_items(blocks, heads, level, titled, item_at):
            continue
        marked = sum(e > w["title_words"] + w["notes_below"] for _, e in titled)
        scored.append((sum(e for _, e in titled) * len(titled) / len(rows), level, frozenset(i for i, _ in titled),
                       marked))
    if not scored:
        return None
    scored.sort(reverse=True)
    (score, level, openers, marked), rest = scored[0], scored[1:]
    runner = f"; runner-up heading level {rest[0][1]} ({rest[0][0]:.1f})" if rest else ""
    return level, openers, f"heading level {level} ({score:.1f}, {marked} with venue, year or link){runner}", marked


def _section_ends(heads, n_blocks: int) -> dict[int, int]:
    """Per heading, the block index where its section ends (the next heading at its level or above)."""
    ends: dict[int, int] = {}
    open_: list[tuple[int, int]] = []  # (level, block index), levels increasing
    for i, b in heads:
        while open_ and open_[-1][0] >= b.level:
            ends[open_.pop()[1]] = i
        open_.append((b.level, i))
    for _, i in open_:
        ends[i] = n_blocks
    return ends


def _holds_paper_items(blocks, heads, level, titled, item_at) -> bool:
    """Most of these headings have marked paper items under them: they are topics over a list."""
    ends = _section_ends(heads, len(blocks))
    holding = 0
    for i, _ in titled:
        k = bisect_right(item_at, i)
        holding += k < len(item_at) and item_at[k] < ends[i]
    return holding * 2 > len(titled)


def _apply_heading_shape(heads, out, level: int, openers: frozenset[int]) -> dict[int, _Heading]:
    """Headings of the paper level open papers; deeper ones are sections of the paper above them."""
    result = dict(out)
    in_paper = False
    for i, b in heads:
        h = out[i]
        if b.level < level:
            in_paper = False
            if h.kind == "paper":
                result[i] = replace(h, kind="topic")
        elif b.level == level:
            in_paper = i in openers
            if in_paper:
                result[i] = replace(h, kind="paper")
            elif h.kind == "paper":
                result[i] = replace(h, kind="section")
        elif in_paper and h.kind not in ("skip", "field"):
            result[i] = replace(h, kind="section")
    return result


def _settle_weak_headings(blocks, heads, out, memo) -> dict[int, _Heading]:
    """A weakly title-like heading is a paper when its siblings are papers, never inside a section."""
    stack: list[_Heading] = []
    for n, (i, b) in enumerate(heads):
        while stack and stack[-1].level >= b.level:
            stack.pop()
        h = out[i]
        if h.kind == "paper?":
            inside = any(s.kind in ("section", "paper") for s in stack)
            if inside and not _next_title_line(blocks, i, memo):
                out[i] = replace(h, kind="section")
            else:
                out[i] = replace(h, kind="paper")
        stack.append(out[i])
    return out


def _mostly_papers(blocks: list[Block], start: int, end: int, items: dict[int, TitleLine]) -> bool:
    """A heading's own content is a list of papers, not notes that happen to cite a few."""
    depth = _top_depth(blocks, start, end)
    tops = [k for k in range(start, end) if blocks[k].kind == "item" and blocks[k].level == depth]
    papers = sum(1 for k in tops if k in items)
    prose = sum(1 for k in range(start, end) if blocks[k].kind == "para" and len(blocks[k].text) > 60)
    return papers >= 2 and papers >= 0.6 * len(tops) and prose <= 1


def _holds_listed_papers(blocks: list[Block], start: int, end: int, items: dict[int, TitleLine],
                         memo: LineMemo) -> bool:
    """Paper items at the top of the section's list, or right under a group item ('- Deep learning'
    over '  - [Title](…)'): a list of papers, not notes that cite one."""
    top = _top_depth(blocks, start, end)
    group = False
    for k in range(start, end):
        b = blocks[k]
        if b.kind != "item":
            continue
        if k in items and (b.level == top or (group and b.level == top + 1)):
            return True
        if b.level == top:
            group = b.has_children and k not in items and _is_label_line(b.text, memo)
    return False


def _top_depth(blocks: list[Block], start: int, end: int) -> int:
    depths = [blocks[k].level for k in range(start, end) if blocks[k].kind == "item"]
    return min(depths) if depths else 0


def _next_title_line(blocks: list[Block], i: int, memo: LineMemo) -> str | None:
    """`## 5.MOCO v1` followed by the full title on its own line -> that title."""
    short = clean_inline(_LEAD_NUMBER.sub("", blocks[i].text), memo)
    if i + 1 >= len(blocks) or len(short.split()) > 4:
        return None
    nxt = blocks[i + 1]
    if nxt.kind != "para" or "\n" in nxt.text.strip() or nxt.quoted:
        return None
    tl = split_title_line(nxt.text, memo)
    # a marked line ('**[Title](url)**') starts a paper of its own; the full title is a bare line
    if not tl.note and not tl.strong and looks_like_title(tl.title, memo, min_words=3) and len(tl.title) > len(short):
        return nxt.text
    return None


def _front_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in re.split(r"[,，;；]", str(value)) if p.strip()]


_CELL_MARKS = re.compile(r"[*_\[《(（]")
_CELL_BREAK = re.compile(r"\s*<br\s*/?>\s*", re.I)
_SEGMENT_NUMBER = re.compile(r"^\s*(?:\d{1,3}[.、．)]?\s+|\d{1,3}[.、．)]|[-*+]\s*)")
_EMPTY_CELL = frozenset({"", "-", "—", "null", "none", "n/a", "na", "/", "无"})


def _cell_title(cell: str, memo: LineMemo, titles_column: bool = False) -> TitleLine | None:
    """A table cell that names a paper: a marked title (bold, link, 《》, venue), or in a column headed
    `Title`/`Paper`/`论文名称` a plain one."""
    if not titles_column and not _CELL_MARKS.search(cell):
        return None  # most cells are notes or numbers: no mark, no title
    tl = split_title_line(_CELL_BREAK.split(cell, maxsplit=1)[0], memo)
    if (tl.strong or titles_column) and not tl.link.startswith("#") and looks_like_title(tl.title, memo, min_words=2, marked=True):
        return tl
    return None


_Row = tuple[TitleLine, int, tuple[str | None, ...], tuple[str, ...]]


def paper_rows(blocks: list[Block], memo: LineMemo) -> dict[int, _Row]:
    """Every table row that names a paper -> (its title, the title column, the field each column's
    header names: `Venue`, `Year`, `Authors`, `Link` columns are the paper's metadata, not notes;
    the section each column's header names: a `Problem` or `Results` column's cells are under it).

    Per table, the title column is the one with the most marked titles; the table is a table of
    papers when they repeat (`shapes.min_repeat`). A row whose short cells name a blog post,
    talk or course ('Blog2023', '[Blog](…)') is not a paper.
    """
    found: dict[int, _Row] = {}
    tables: list[list[int]] = []
    heads: list[tuple[str, ...]] = []
    for i, b in enumerate(blocks):
        if b.kind == "table":
            tables.append([])
            heads.append(())
        elif b.kind == "row" and tables:
            if b.level == 1:
                tables[-1].append(i)
            elif not heads[-1]:
                heads[-1] = b.cells
    for rows, head in zip(tables, heads):
        keys = [norm_key(clean_inline(cell, memo), memo) for cell in head]
        fields = tuple(memo.rules.fields.get(k) for k in keys)
        sections = tuple(cell if k in memo.rules.sections or k in memo.rules.prefix_keys else ""
                         for k, cell in zip(keys, head))
        named = fields.index("title") if "title" in fields else None  # a column headed `Title`/`论文名称`
        titled: dict[int, dict[int, TitleLine]] = {}
        for i in rows:
            for col, cell in enumerate(blocks[i].cells):
                tl = _cell_title(cell, memo, col == named)
                if tl is not None:
                    titled.setdefault(col, {})[i] = tl
        if not titled:
            continue
        col, hits = max(titled.items(), key=lambda kv: (len(kv[1]), -kv[0]))
        if len(hits) < memo.rules.shapes["min_repeat"]:
            continue
        for i, tl in hits.items():
            if not _names_other_work(blocks[i].cells, col, memo):
                found[i] = (tl, col, fields, sections)
    return found


def _names_other_work(cells: tuple[str, ...], col: int, memo: LineMemo) -> bool:
    for k, cell in enumerate(cells):
        plain = clean_inline(cell, memo)
        if k != col and len(plain) <= 40 and not memo.rules.non_paper_title_words.isdisjoint(
                _TITLE_WORDS.findall(plain.casefold())):
            return True
    return False


def _cell_segments(cell: str) -> list[str]:
    """A cell's `<br/>`-separated lines; a lead line over numbered ones names them (a gloss)."""
    segs = [x.strip() for x in _CELL_BREAK.split(cell) if x.strip()]
    if len(segs) >= 2 and not _SEGMENT_NUMBER.match(segs[0]) and _SEGMENT_NUMBER.match(segs[1]):
        segs = segs[1:]
    return [_SEGMENT_NUMBER.sub("", x, count=1) for x in segs]


class _Reader:
    """Walks the blocks once, opening and closing papers."""

    def __init__(self, blocks: list[Block], memo: LineMemo, front: dict[str, Any], single: bool = False,
                 footnotes: dict[str, tuple[int, str]] | None = None):
        self.blocks = blocks
        self.footnotes = footnotes or {}
        """Footnote definitions by id: (line, text); each is a note under the bullet that cites it."""
        self.memo = memo
        self.single = single
        """One paper per file: nothing opens a paper, every heading is a section of it."""
        self.items = {} if single else paper_items(blocks, memo)
        self.rows = {} if single else paper_rows(blocks, memo)
        self.headings, (self.shape, self.shape_marked) = _classify_headings(blocks, memo, self.items,
                                                                             frozenset(self.rows))
        """self.shape: which heading level opens papers, with its score and the runner-up ('' if none)."""
        if single:
            self.headings = {i: h if h.kind in ("year", "date", "skip", "field") else replace(h, kind="section")
                             for i, h in self.headings.items()}
        self.stack: list[_Heading] = []
        self.papers: list[_Open] = []
        self.cur: _Open | None = None
        self.orphans: list[Bullet] = []
        self.orphan_section = ""
        self.front_topics = tuple(_front_list(front.get("tags")) + _front_list(front.get("category"))
                                  + _front_list(front.get("categories")) + _front_list(front.get("topics")))
        self.fields_seen: list[tuple[str, str]] = []
        self.skip_block = False
        self.skip_next = -1
        self.pending_gloss = ""
        self.prose_papers = sum(1 for b in blocks if b.kind == "para" and not b.quoted and _opens_with_mark(b.text)
                                and _opens_paper_prose(b.text.split("\n")[0], split_title_line(b.text.split("\n")[0], memo))
                                ) >= memo.rules.shapes["min_repeat"]
        """Paragraphs that open with a marked title and its venue repeat: a log in prose, each opens a paper
        (one such paragraph in a note about another paper cites related work)."""
        self.field_heading: tuple[int, str] | None = None
        """(block index, key) of the paragraph a form's field heading ('### Venue') names."""
        self.event_levels = frozenset(h.level for h in self.headings.values()
                                      if h.kind in ("topic", "section") and _named_event(h.text, memo))
        """Heading levels where some topic names an event ('## Papers at EMNLP 2022')."""
        self.callout: str | None = None
        """Kind of the `> [!kind]` callout being read, until the quote ends."""

    def repeating(self) -> bool:
        """The file repeats one opener shape (a heading level, table rows): it is not a one-paper note."""
        return bool(self.rows) or (bool(self.shape) and self.shape_marked >= self.memo.rules.shapes["min_repeat"])

    # -- context ----------------------------------------------------------------------
    def year_ctx(self) -> int | None:
        return next((h.year for h in reversed(self.stack) if h.kind == "year"), None)

    def event_ctx(self) -> tuple[str | None, int | None]:
        """'## Papers at EMNLP 2022' above a paper: the event it was presented at. When headings of one
        level over papers name the event themselves, one of that level that names none ('## From another
        conference') holds papers from elsewhere: the file's title does not date them."""
        for h in reversed(self.stack):
            if h.kind not in ("topic", "section"):
                continue
            if found := _named_event(h.text, self.memo):
                return found
            if h.level in self.event_levels:
                return None, None
        return None, None

    def topics(self) -> tuple[str, ...]:
        heads = tuple(clean_inline(h.text, self.memo) for h in self.stack if h.kind == "topic")
        return tuple(dict.fromkeys(t for t in self.front_topics + heads if t))

    def skipping(self) -> bool:
        """Under a non-paper section (`## Datasets`), unless a paper heading inside it is open: the notes
        under `### [LoRA](…)` are read wherever its heading sits ('# Reading list 2024')."""
        for h in reversed(self.stack):
            if h.kind in ("skip", "paper"):
                return h.kind == "skip"
        return False

    def open(self, tl: TitleLine, line: int, kind: str, anchor: int) -> None:
        self.close()
        event_venue, event_year = self.event_ctx() if not (tl.venue or tl.year) else (None, None)
        self.cur = _Open(title=tl, line=line, kind=kind, anchor=anchor, year_ctx=self.year_ctx() or event_year,
                         topics=self.topics(), venue=tl.venue or event_venue, year=tl.year)
        if tl.note:
            self.add_bullet(tl.note, line, depth=anchor + 1 if kind == "item" else 1)

    def close(self) -> None:
        if self.cur is not None:
            self.papers.append(self.cur)
            self.cur = None

    # -- bullets ------------------------------------------------------------------------
    def add_bullet(self, text: str, line: int, depth: int, quoted: bool = False, has_children: bool = False) -> None:
        """Attach a bullet (or the metadata it really is) to the open paper."""
        if "[^" in text and self.footnotes:
            text, cited = _cut_footnote_refs(text, self.footnotes)
            if cited:  # 'Gains appear at 100B[^2].': the marker goes, the footnote is a note under it
                self.add_bullet(text, line, depth, quoted, has_children)
                for at, body in cited:
                    self.add_bullet(body, at, depth + 1)
                return
        text = _PASTED_MARKER.sub("", _strip_br(text).strip())
        if "](" in text:
            text = drop_passage_links(text)
        if "\n" in text or text.lstrip(" >")[:1] in ("—", "–", "-"):
            text = _LOCATION_LINE.sub("", text).rstrip()
            if not text.strip(" >"):
                return
        if text[:1] == "&" or text[:1] == "\u00a0":
            text = _LEAD_SPACES.sub("", text)
        if not text or _IMAGE_ONLY.match(text) or not _WORD_CHAR.search(clean_inline(text, self.memo)) or (_is_caption(text) and not has_children):
            return
        target = self.cur
        parents = target.parents if target else []
        while parents and parents[-1][0] >= depth:
            parents.pop()
        plain = text[1:].strip() if quoted and text.startswith(">") else text
        f = split_field(plain, self.memo)
        if f and quoted and f[0] == "title":
            f = None  # a quoted 'Title: …' is a comment's words; a quoted 'Venue: …' is still the paper's
        if f:
            kind, _, value = f
            if target is not None and self._take_field(target, kind, value):
                parents.append((depth, ""))
                return
            if target is None and kind in ("title", "venue", "year", "drop"):
                self.fields_seen.append((kind, value))
                return
        header = _header_text(plain) if not quoted else None
        if header is None and not quoted and (
                (len(plain) <= 30 and is_section_name(plain, self.memo)) or (has_children and _is_label_line(plain, self.memo))):
            header = clean_inline(plain, self.memo)  # 'Key Ideas', '3 datasets' over sub-items: they name what follows
        if header is not None:
            if depth == 0:  # a header paragraph or bold pseudo-heading; a header item is its children's parent
                self._set_section(header)
            parents.append((depth, header))
            return
        if _is_link_only(plain) or _is_pointer(plain) or _TAGS_ONLY.match(clean_inline(plain, self.memo)):
            parents.append((depth, ""))  # `[Code](…)`, `[[Page]]`, `#tag`: metadata of the paper, not a note
            return
        if target is not None and self._is_meta_line(target, plain):
            parents.append((depth, ""))
            return
        parent = ""
        for _, p in reversed(parents):
            if p:
                parent = p
                break
        section = target.section if target else self.orphan_section
        into = target.bullets if target else self.orphans
        if into and into[-1].section == section and text[:2] in ("$$", "\\[") and _DISPLAY_MATH.fullmatch(text):
            last = into[-1]  # an equation on its own under a note: part of that note, not a note of its own
            into[-1] = Bullet(text=f"{last.text}\n{text}", line=last.line, depth=last.depth, section=last.section,
                              parent=last.parent, index=last.index)
            return
        into.append(Bullet(text=text, line=line, depth=depth, section=section, parent=parent, index=len(into)))
        parents.append((depth, text))

    def _set_section(self, name: str) -> None:
        if self.cur is not None:
            self.cur.section = name
        else:
            self.orphan_section = name

    def _take_field(self, target: _Open, kind: str, value: str) -> bool:
        if kind == "drop":
            return True
        if kind == "title":
            tl = split_title_line(value, self.memo)
            if not tl.title:
                return True
            target.field_title = tl.title
            target.venue = target.venue or tl.venue
            target.year = target.year or tl.year
            return True
        venue, year = parse_venue(value, self.memo, kind == "venue")
        if kind == "year":
            year = year or find_year(value)
        target.venue = target.venue or venue
        target.year = target.year or year
        return True

    def _is_meta_line(self, target: _Open, text: str) -> bool:
        """`- 2022 ACL`, `- ICLR 2023`, `Yao et al, ICLR 2023`: a line that only states authors, venue and year
        (and names links: `NeurIPS 2017 · [code](…)`; emoji before it: `🏛️ NeurIPS 2022`)."""
        plain = clean_inline(text, self.memo)
        if plain and not plain[0].isalnum():
            plain = LEAD_PICTOGRAPHS.sub("", plain, count=1)
        if plain[:5].casefold() == "arxiv" and _ARXIV_ID_LINE.match(plain):
            return True  # 'arXiv:2303.01234': the paper's id, which never gives its venue or year
        if len(plain) <= 60 and (m := _venue_keys(self.memo.rules).match(plain)):
            plain = plain[m.end():]  # '发表于 ICCV 2021', 'Accepted at ICLR 2023': a venue key without its colon
        if "·" in plain or "|" in plain or "•" in plain:
            pieces = [x.strip() for x in _META_PIECES.split(plain) if x.strip()]
            kept = [x for x in pieces if norm_key(x, self.memo) not in self.memo.rules.generic_link_texts]
            if kept and len(kept) < len(pieces):
                plain = " ".join(kept)
        if len(plain) <= 200 and (m := _AUTHOR_LIST.match(plain)):
            venue, year = parse_venue(plain[m.end():], self.memo)  # 'Ilya Sutskever, Oriol Vinyals — NeurIPS 2014'
            if venue:
                target.venue = target.venue or venue
                target.year = target.year or year
                return True
        if len(plain) <= 100 and (m := _AUTHOR_LINE.match(plain)):
            venue, year = parse_venue(plain[m.end():].strip(" .,，、"), self.memo)
            target.venue = target.venue or venue
            target.year = target.year or year
            return True
        if len(plain) > 40:
            return False
        venue, year = parse_venue(plain, self.memo)
        leftover = _YEARS.sub("", plain)
        if venue and (year or len(leftover.split()) <= 3):
            rest = [w for w in _VENUE_SPLIT.split(leftover) if w]
            if len(rest) <= 4:
                target.venue = target.venue or venue
                target.year = target.year or year
                return True
        m = _YEAR_VENUE.fullmatch(plain.strip()) or _VENUE_YEAR.fullmatch(plain.strip())
        if m:  # '- 2022 ACM Computing Surveys': a year and a venue the table does not know, as written
            year_s, name = (m.group(1), m.group(2)) if m.group(1)[:1].isdigit() else (m.group(2), m.group(1))
            target.venue = target.venue or name
            target.year = target.year or int(year_s)
            return True
        if _YEAR_ONLY.fullmatch(plain):
            target.year = target.year or int(plain.strip()[:4])
            return True
        return False

    # -- blocks -----------------------------------------------------------------------
    def heading(self, i: int, b: Block) -> None:
        h = self.headings[i]
        while self.stack and self.stack[-1].level >= b.level:
            self.stack.pop()
        cur = self.cur
        if cur is not None:
            ends = (cur.kind == "heading" and b.level <= cur.anchor) or (
                cur.kind in ("item", "para", "field") and h.kind != "section") or h.kind == "paper"
            if ends and h.kind != "field":
                self.close()
        self.stack.append(h)
        if h.kind == "field":
            self.field_heading = (i + 1, clean_inline(h.text, self.memo))
        if h.kind == "paper":
            full = _next_title_line(self.blocks, i, self.memo)
            if full:
                tl = split_title_line(full, self.memo)
                head = split_title_line(h.text, self.memo)
                tl = replace(tl, venue=tl.venue or head.venue, year=tl.year or head.year)
                self.open(tl, b.line, "heading", b.level)
                self.cur.gloss = clean_inline(_LEAD_NUMBER.sub("", h.text), self.memo)
                self.skip_next = i + 1
            else:
                self.open(split_title_line(h.text, self.memo), b.line, "heading", b.level)
        elif h.kind == "section" or (h.kind == "topic" and self.cur is not None
                                     and self.cur.kind == "heading" and b.level > self.cur.anchor):
            self._set_section(h.text)  # '## Strengths' under a paper heading: a part of its notes
        if self.cur is not None and h.kind != "paper":
            self.cur.parents.clear()  # a heading starts lines of its own: no note above it is their parent

    def item(self, i: int, b: Block) -> None:
        if self.callout is not None:
            self.add_bullet(self._callout_body(b.text), b.line, b.level + 1, False, b.has_children)
            return
        cur = self.cur
        in_heading_paper = cur is not None and cur.kind in ("heading", "single")
        if not in_heading_paper:
            if cur is not None and cur.kind == "item" and (b.level > cur.anchor or b.indent > cur.indent):
                # deeper, or under-indented below a wide marker ('10. Title' then '   1. note')
                depth = b.level if b.level > cur.anchor else cur.anchor + 1 + b.level - 1
                self.add_bullet(b.text, b.line, depth, b.quoted, b.has_children)
                return
            tl = self.items.get(i)
            if tl is not None:
                self.open(tl, b.line, "item", b.level)
                self.cur.indent = b.indent
                first, _, more = b.text.partition("\n")
                if more and (f := split_field(first, self.memo)) and f[0] == "title":
                    for line_no, line in _key_lines(more, b.line + 1):  # its fields and notes
                        self.add_bullet(line, line_no, b.level + 1)
                    return
                head, rest = _title_part(b.text, self.memo)
                own = split_title_line(head, self.memo).title
                if own != tl.title:
                    self.cur.gloss = own  # '- LoRA 篇' named the paper; a 论文名称 field gave the title
                if rest and _PROPERTY_LINE.match(rest):
                    for line_no, line in _split_at(rest, b.line + 1, _PROPERTY_LINE.match, strip=True):
                        self.add_bullet(line, line_no, b.level + 1)
                elif rest:
                    self.add_bullet(rest.replace("\n", " "), b.line + 1, b.level + 1)
                return
            if cur is not None and cur.kind == "item":
                self.close()  # a sibling item that names no paper ends the list of papers
        self.add_bullet(b.text, b.line, b.level, b.quoted, b.has_children)

    def para(self, i: int, b: Block) -> None:
        text = b.text
        if self.skip_next == i:
            return
        if self.field_heading is not None and self.field_heading[0] == i:
            text = f"{self.field_heading[1]}: {text}"  # '### Venue' over 'NeurIPS 2023': 'Venue: NeurIPS 2023'
        if b.quoted and text[:2] == "[!" and (m := _CALLOUT.match(text)):
            self._callout(m, b)
            return
        if self.callout is not None:
            self.add_bullet(self._callout_body(text), b.line, 1)
            return
        plain = clean_inline(text, self.memo)
        if is_date_text(plain, self.memo) or _IMAGE_ONLY.match(text.strip()):
            return
        if "\n" not in text and len(plain) <= 60 and self._title_field_follows(i):
            self.pending_gloss = plain  # '[3]级联自编码器…' names the paper whose title field comes next
            return
        header = _header_text(text)
        if header is not None and is_non_paper_section(header, self.memo):
            self.close()
            self.skip_block = True  # `参考资料：` as a plain line: links follow, not papers
            return
        if "<br" in text and any(split_field(x, self.memo) for x in _CELL_BREAK.split(text)[1:]):
            text = _CELL_BREAK.sub("\n", text)  # '**Authors:** … <br> **Venue:** …': field lines in one line
        pieces = _definitions(text, b.line) if "\n:" in text and _DEFINITION.search(text) else \
            self._title_then_lines(text, b.line) if "\n" in text and self._may_open_here() else \
            _field_lines(text, b.line, self.memo)
        for line_no, line in pieces:
            f = split_field(line, self.memo)
            if f and f[0] == "title" and not b.quoted and not self.single:
                cur = self.cur
                if cur is None or cur.field_title or cur.kind in ("item", "para", "field"):
                    tl = split_title_line(f[2], self.memo)
                    self.open(replace(tl, note=""), line_no, "field", 0)
                    self.cur.field_title = tl.title
                    self.cur.gloss, self.pending_gloss = self.pending_gloss, ""
                    continue
            cur = self.cur
            if self._may_open_here():
                tl = split_title_line(line, self.memo)
                titled = tl.strong and looks_like_title(tl.title, self.memo, min_words=2)
                bold = _BOLD_ONLY.match(line) or ((tl.venue or tl.year) and line.lstrip()[:2] in ("**", "__"))
                if titled and not tl.note and (tl.link or bold):  # '**Title**', '**Title** (ICLR 2024)', '[Title](…)'
                    self.open(tl, line_no, "para", 0)
                    continue
                if self.prose_papers and titled and _opens_paper_prose(line, tl):
                    self.open(tl, line_no, "para", 0)  # '[Title](…) (NeurIPS 2017): note …': the note is its bullet
                    continue
                if cur is not None and cur.kind == "item" and not self._notes_below(cur, b) \
                        and not 0 < cur.anchor <= b.level:
                    self.close()  # a paragraph inside the paper's item ('1. Title' then an indented paragraph) is its note
            self.add_bullet(line, line_no, b.level + 1 if b.level else 0, b.quoted)

    def _may_open_here(self) -> bool:
        """A paragraph here may open a paper: no heading, field or one-paper note is being read."""
        return not self.single and (self.cur is None or self.cur.kind not in ("heading", "single", "field"))

    def _title_then_lines(self, text: str, line: int):
        """A paragraph whose first line is a bold or linked title alone ('**Title**' over 'ICLR 2015'):
        the title line is a piece of its own, the lines under it are read as a paragraph of their own."""
        first, rest = text.split("\n", 1)
        tl = split_title_line(first, self.memo)
        if tl.strong and not tl.note and (tl.link or _BOLD_ONLY.match(first)) \
                and looks_like_title(tl.title, self.memo, min_words=2):
            return [(line, first), *_field_lines(rest, line + 1, self.memo)]
        return _field_lines(text, line, self.memo)

    def _callout(self, m: re.Match[str], b: Block) -> None:
        """`> [!note] Title` and its first lines: the title heads the body, each body paragraph is a bullet."""
        self.callout = m.group(1).casefold()
        title, _, body = m.group(2).partition("\n")
        if self.cur is not None and title.strip():
            self.cur.parents.append((0, clean_inline(title, self.memo)))
        if body.strip():
            self.add_bullet(self._callout_body(body), b.line + 1, 1)

    def _callout_body(self, text: str) -> str:
        """A callout line as a bullet: a quote line for a comment kind (`[!quote]`), else plain notes."""
        text = text.replace("\n", " ")
        bare = text[1:].lstrip() if text.startswith(">") else text
        return "> " + bare if self.callout in self.memo.rules.quote_callouts else bare

    def row(self, i: int, b: Block) -> None:
        """A table row: a paper of its own (its other cells are its notes and metadata), or notes."""
        found = self.rows.get(i)
        if found is None:
            if self.cur is not None and self.cur.kind == "row":
                self.close()
            elif len(b.cells) == 2:
                self._property_row(b.cells)
            return
        tl, col, fields, sections = found
        self.open(tl, b.line, "row", 0)
        for k, cell in enumerate(b.cells):
            if k == col:
                continue
            if k < len(fields) and fields[k] is not None:  # a `Venue`, `Year` or `Link` column
                self._take_field(self.cur, fields[k], clean_inline(cell, self.memo))
                continue
            self.cur.section = sections[k] if k < len(sections) else ""
            for seg in _cell_segments(cell):
                plain = clean_inline(seg, self.memo)
                if plain.casefold() in _EMPTY_CELL or not plain or _is_link_only(seg):
                    continue
                if len(plain) <= 30 and self._cell_meta(plain):
                    continue
                self.add_bullet(seg, b.line, 1)

    def _property_row(self, cells: tuple[str, ...]) -> None:
        """'| Venue | NeurIPS |' in a table of a page's properties (Notion): a field of the paper."""
        f = split_field(f"{clean_inline(cells[0], self.memo)}: {cells[1]}", self.memo)
        if f is None:
            return
        kind, _, value = f
        if self.cur is not None:
            self._take_field(self.cur, kind, clean_inline(value, self.memo))
        elif kind in ("title", "venue", "year"):
            self.fields_seen.append((kind, clean_inline(value, self.memo)))

    def _cell_meta(self, plain: str) -> bool:
        """'arxiv2023', 'ICLR 2023', '2022': a cell that only says where and when."""
        venue, year = parse_venue(plain, self.memo)
        if not (venue or year) or len(_VENUE_SPLIT.split(_YEARS.sub(" ", plain).strip())) > 3:
            return False
        self.cur.venue = self.cur.venue or venue
        self.cur.year = self.cur.year or year or find_year(plain)
        return True

    def _notes_below(self, cur: _Open, b: Block) -> bool:
        """A paragraph right under a top-level paper item (`1.《Title》` then prose) is its note."""
        return cur.anchor == 1 and b.level == 0 and all(x.depth == 0 or x.line == cur.line for x in cur.bullets)

    def _title_field_follows(self, i: int) -> bool:
        nxt = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
        if nxt is None or nxt.kind != "para":
            return False
        f = split_field(nxt.text.split("\n")[0], self.memo)
        return f is not None and f[0] == "title"

    def run(self) -> list[_Open]:
        skipping = False  # the heading stack changes only at headings
        for i, b in enumerate(self.blocks):
            if not b.quoted:
                self.callout = None
            if b.kind == "heading":
                self.skip_block = False
                self.heading(i, b)
                skipping = self.skipping()
            elif skipping or self.skip_block:
                continue
            else:
                if b.kind != "row" and self.cur is not None and self.cur.kind == "row":
                    self.close()  # a table's papers have their notes in their cells: what follows the table is not
                if b.kind == "item":
                    self.item(i, b)
                elif b.kind == "para":
                    self.para(i, b)
                elif b.kind == "row":
                    self.row(i, b)
        self.close()
        return self.papers


_FOOTNOTE_DEF = re.compile(r"\s*\[\^([^\]\s]{1,40})\]:\s*")


def _footnotes(blocks: list[Block]) -> tuple[list[Block], dict[str, tuple[int, str]]]:
    """Footnote definitions (`[^1]: …`) that the file cites, taken out of its blocks: id -> (line, text)."""
    if not any("[^" in b.text for b in blocks):
        return blocks, {}  # most files have no footnotes
    cited = {m.group(1) for b in blocks for m in FOOTNOTE_REF.finditer(b.text)}
    notes: dict[str, tuple[int, str]] = {}
    kept = []
    for b in blocks:
        if b.kind == "para" and not b.quoted and (m := _FOOTNOTE_DEF.match(b.text)) and m.group(1) in cited:
            for at, piece in _split_at(b.text, b.line, _FOOTNOTE_DEF.match):
                d = _FOOTNOTE_DEF.match(piece)
                if d:
                    notes[d.group(1)] = (at, piece[d.end():].strip())
            continue
        kept.append(b)
    return kept, notes


def _cut_footnote_refs(text: str, notes: dict[str, tuple[int, str]]) -> tuple[str, list[tuple[int, str]]]:
    """A line without the markers of the footnotes it cites (`[^1]`), and those footnotes."""
    cited = [notes[m.group(1)] for m in FOOTNOTE_REF.finditer(text) if m.group(1) in notes]
    return FOOTNOTE_REF.sub(lambda m: "" if m.group(1) in notes else m.group(0), text), cited


def _opens_paper_prose(line: str, tl: TitleLine) -> bool:
    """'[Title](…) (NeurIPS 2017): note …', '**Title** (arXiv 2019). note': a marked title, its venue or year."""
    return tl.strong and bool(tl.venue or tl.year) and _opens_with_mark(line)


def _opens_with_mark(line: str) -> bool:
    """A line that starts with a link or bold text ('[Title](…) …', '**Title** …')."""
    t = line.lstrip()
    return t[:2] in ("**", "__") or (t[:1] == "[" and "](" in t)


def _split_at(text: str, line: int, starts: Callable[[str], object], strip: bool = False):
    """(line number, text) of each piece of a paragraph: a line for which `starts` holds opens a piece,
    any other line continues the one before."""
    start, buf = line, []
    for k, ln in enumerate(text.split("\n")):
        if buf and starts(ln):
            yield start, " ".join(buf)
            start, buf = line + k, []
        buf.append(ln.strip() if strip else ln)
    if buf:
        yield start, " ".join(buf)


@lru_cache(maxsize=8)
def _venue_keys(rules: Rules) -> re.Pattern[str]:
    """The field table's venue keys at the start of a line, then a space ('发表于 ', 'published in ')."""
    keys = sorted((k for k, kind in rules.fields.items() if kind == "venue"), key=len, reverse=True)
    return re.compile("(?i)(?:" + "|".join(map(re.escape, keys)) + r")\s+" if keys else "(?!)")


def _field_lines(text: str, line: int, memo: LineMemo):
    """Split a paragraph at lines that start a known field or carry a pasted list marker ('•\tdataset
    used - …': a list pasted from a PDF is one item per line); other lines continue the previous one."""
    def starts(ln: str) -> bool:
        return bool(_PASTED_MARKER.match(ln) or split_field(ln, memo) or _ARXIV_ID_LINE.match(ln))

    if "\n" not in text:
        return iter(((line, text),))  # most paragraphs: one piece, as written
    lines = text.split("\n")
    opening = [bool(starts(ln)) for ln in lines]
    if opening[0] and sum(opening) >= 2:
        return _split_at(text, line, lambda ln: True)  # a block of metadata, one field a line: 'Venue' may lack its colon
    if sum(1 for ln in lines if _BOLD_KEY_LINE.match(ln)) >= 2:
        # '**Idea:** …' then '**Result:** …' on the next line: each bold key opens a note of its own
        return _split_at(text, line, lambda ln: starts(ln) or _BOLD_KEY_LINE.match(ln))
    if sum(1 for ln in lines if _ENUM_LINE.match(ln)) >= 2:
        # '（1）…' then '（2）…', '①', 'a)': numbered lines Markdown reads as one paragraph, a note each
        return _split_at(text, line, lambda ln: starts(ln) or _ENUM_LINE.match(ln))
    if not any(opening[1:]):
        return iter(((line, text),))
    return _split_at(text, line, starts)


_DEFINITION = re.compile(r"^[^\n:：]{1,40}\n:[ \t]+", re.M)


def _definitions(text: str, line: int):
    """A definition list ('Method' over ': Two log-linear models …'): each term and its definition is one
    piece, 'Term: definition', at the term's line; lines before the first term are a piece of their own."""
    lines = text.split("\n")

    def is_term(k: int) -> bool:
        return k + 1 < len(lines) and lines[k + 1][:1] == ":" and ":" not in lines[k]

    start, buf = line, []
    for k, ln in enumerate(lines):
        if is_term(k):
            if buf:
                yield start, " ".join(buf)
            start, buf = line + k, [ln.strip() + ":"]
        elif ln[:1] == ":" and k and is_term(k - 1):
            buf.append(ln[1:].strip())
        else:
            buf.append(ln)
    if buf:
        yield start, " ".join(buf)


_ARXIV_ID_LINE = re.compile(r"(?i)\s*arxiv\s*:\s*\d{4}\.\d{4,5}(?:v\d+)?\s*$")
"""'arXiv:2303.01234' on a line of its own: a digest's id line, metadata."""
_BOLD_KEY_LINE = re.compile(r"\s*(?:\*\*[^:：*\n]{1,20}?(?:\*\*\s*[:：]|[:：]\*\*)|__[^:：_\n]{1,20}?(?:__\s*[:：]|[:：]__))")
"""'**Idea:** …', '**Result**: …': a line that opens with a bold key."""
_ENUM_LINE = re.compile(r"\s*(?:[（(]\s*(?:\d{1,2}|[A-Za-z])\s*[)）]|[\u2460-\u2473\u2474-\u2487]|(?:\d{1,2}|[A-Za-z])[)）])\s*\S")
"""'（1）', '(a)', '①', '⑴', 'a)', '2）': an enumerator Markdown does not read as a list marker."""
_KEY_LINE = re.compile(r"\s*(?:\*\*|__)?[^:：*_\n]{1,20}?(?:\*\*|__)?\s*[:：]")


def _key_lines(text: str, line: int):
    """`**Venue:** …` / `**Summary:** …` lines under a title field: each `Key:` line is one piece (a
    field or a note), a line without a key continues the one before."""
    return _split_at(text, line, _KEY_LINE.match, strip=True)


def _fallback_title(blocks: list[Block], front: dict[str, Any], fields: list[tuple[str, str]],
                    path: str, memo: LineMemo) -> tuple[str, int]:
    """The one paper of a file that names no paper inline: a title field, front matter, heading, first
    line, file name. A `Paper:`/`论文名称：` field names the paper; front matter names the page, which is
    often the paper too but may be 'Notes on …'."""
    for kind, value in fields:
        if kind == "title" and value:
            return clean_inline(value, memo), 0
    if (named := _front_title(front, memo)):
        return named, 0
    def naming(b: Block) -> bool:
        return not (is_section_name(b.text, memo) or b.text.rstrip().endswith((":", "："))
                    or year_heading(b.text, memo) or is_date_text(b.text, memo))

    first = next((b for b in blocks if b.kind in ("para", "item", "heading")), None)
    if first is not None and first.kind == "heading" and naming(first):
        return split_title_line(first.text, memo).title, first.line
    if first is not None and first.kind == "para":
        line = first.text.split("\n")[0]
        tl = split_title_line(line, memo)
        if tl.strong and looks_like_title(tl.title, memo, min_words=3, marked=True):
            return tl.title, first.line  # '**Title** — authors [paper](…)'
        if looks_like_title(line, memo, min_words=3):
            return clean_inline(line, memo), first.line  # a bare first line: the title with no markup at all
    h1 = next((b for b in blocks if b.kind == "heading" and b.level == 1 and naming(b)), None)
    if h1 is not None:
        return split_title_line(h1.text, memo).title, h1.line
    return re.sub(r"[_\-]+", " ", PurePath(path).stem).strip(), 0


_JSON_TITLE = re.compile(r'"title"\s*:\s*"((?:[^"\\]|\\.){4,300})"')
_BIB_FIELD = re.compile(r"(?im)^\s*(title|booktitle|journal|year)\s*=\s*[{\"]+(.*?)[}\"]+\s*,?\s*$")
_LEAD_BLOCKS = 6
"""How far into a file a one-paper note states its paper (citation line, bibtex, JSON comment)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a one-paper note names its paper."""

    kind: str
    """json | bibtex | citation | front"""
    title: str
    line: int = 0
    venue: str | None = None
    year: int | None = None


def one_paper_source(blocks: list[Block], front: dict[str, Any], memo: LineMemo) -> Source | None:
    """The paper a one-paper note is about, if the file states it the way one-paper notes do:
    a JSON comment or a bibtex block near the top, a citation line (`Authors. "Title." Venue, 2019.`)
    opening the file, or a front-matter `title` (also `citation: {title: …}`) that reads as a title."""
    lead = [b for b in blocks if b.kind in ("para", "code", "html", "heading", "item")][:_LEAD_BLOCKS]
    found: list[Source] = []
    for b in lead:
        if b.kind == "html" and b.text.startswith("<!--") and (m := _JSON_TITLE.search(b.text)):
            found.append(Source("json", clean_inline(m.group(1), memo), b.line))
        if b.kind == "code" and "@" in b.text and (bib := _bibtex(b.text, memo)):
            found.append(replace(bib, line=b.line))
    if found:  # the first names it; a bibtex block adds venue and year
        return replace(found[0], venue=next((x.venue for x in found if x.venue), None),
                       year=next((x.year for x in found if x.year), None))
    first = next((b for b in lead if b.kind == "para"), None)
    if first is not None and first is lead[0]:
        plain = clean_inline(first.text.split("\n")[0], memo)
        m = CITED_TITLE.search(plain)
        if m and find_year(plain) and looks_like_title(m.group(1), memo, min_words=3):
            venue = citation_venue(plain[m.end():], memo)
            return Source("citation", m.group(1).strip(), first.line, venue, find_year(plain[m.end():]))
    meta = front.get("citation") if isinstance(front.get("citation"), dict) else front
    title = _front_title(meta, memo)
    tl = split_title_line(_after_label(title), memo) if title else None
    if tl and looks_like_title(tl.title, memo, min_words=3):
        raw = meta.get("venue") or meta.get("conference") or meta.get("journal")
        venue, in_venue = parse_venue(raw, memo) if isinstance(raw, str) else (None, None)
        venue = venue or (raw.strip() if isinstance(raw, str) else None)
        year = find_year(str(meta.get("year", ""))) or in_venue  # 'venue: ACL 2022'
        return Source("front", tl.title, venue=venue or tl.venue, year=year or tl.year)  # '【CVPR 2016】Title' too
    return None


def _front_title(meta: dict[str, Any], memo: LineMemo) -> str:
    """Front matter's `title`, else a key the field table knows as a title (`paper:`, `论文名称:`)."""
    title = meta.get("title")
    if not (isinstance(title, str) and title.strip()):
        title = next((v for k, v in meta.items() if isinstance(k, str) and isinstance(v, str) and v.strip()
                      and memo.rules.fields.get(k.strip().casefold()) == "title"), "")
    return title.strip()


def _after_label(title: str) -> str:
    """'论文笔记 - DeepXplore-Automated …' -> the part after a short label ('Notes: Title' too)."""
    m = re.match(r"\s*[^\s:：\-–—]{1,8}(?:\s*[:：]|\s+[-–—|]\s+)\s*", title)
    return title[m.end():] if m else title


def _bibtex(text: str, memo: LineMemo) -> Source | None:
    got = {k.casefold(): clean_inline(v.replace("{", "").replace("}", ""), memo) for k, v in _BIB_FIELD.findall(text)}
    if not got.get("title"):
        return None
    where = got.get("booktitle") or got.get("journal")
    venue = (parse_venue(where, memo)[0] or citation_venue(where, memo) or where.split(",")[0].strip()) if where else None
    return Source("bibtex", got["title"], venue=venue, year=find_year(got.get("year", "")))


def _shape_note(reader: _Reader, opened: list[_Open]) -> str:
    """Which opener shape won this file: its score and the runner-up, or how many papers each kind opened."""
    if reader.rows:
        return f"table rows ({len(reader.rows)} papers)"
    if reader.shape:
        return reader.shape
    kinds = [o.kind for o in opened]
    return ", ".join(f"{k} ({kinds.count(k)})" for k in dict.fromkeys(kinds)) or "one paper (no opener)"


def _one_unit(opened: list[_Open]) -> list[_Open]:
    """The file's papers open one way: a lone linked line with no notes among a list of papers is a link."""
    kinds = [o.kind for o in opened]
    main = max(set(kinds), key=kinds.count) if kinds else ""
    if main == "para" or kinds.count(main) < 2:
        return opened
    return [o for o in opened if not (o.kind == "para" and not o.bullets and not (o.venue or o.year))]


def _body_title(source: Source, opened: list[_Open]) -> str:
    """A paper title in the body that the source names too ('DeepXplore: …' for '… DeepXplore-…')."""
    named = [x.field_title for x in opened if x.field_title]
    if len(named) == 1:  # a `Paper:`/`论文名称：` field names the paper; the source may name the page
        return named[0]
    key = paper_key(source.title)
    for x in opened:
        k = paper_key(x.field_title or x.title.title)
        if k and (k in key or key in k):
            return x.field_title or x.title.title
    return source.title


def _single_paper(blocks: list[Block], front: dict[str, Any], path: str, memo: LineMemo, reader: _Reader,
                  source: Source | None) -> _Open:
    """The one paper of a file that opens none: titled from its source, else front matter, field, heading…"""
    if source is not None:
        title, title_line = source.title, source.line
    else:
        title, title_line = _fallback_title(blocks, front, reader.fields_seen, path, memo)
    venue = year = None
    for kind, value in reader.fields_seen:
        if kind in ("venue", "year"):
            v, y = parse_venue(value, memo, kind == "venue")
            venue, year = venue or v, year or y or (find_year(value) if kind == "year" else None)
    fm_year = find_year(str(front.get("year", ""))) if front.get("year") else None
    if source is not None:
        venue, year = venue or source.venue, year or source.year
    if not (venue or year or front.get("venue") or fm_year):
        venue, year = _lead_venue(blocks, memo)
    lead = blocks[0].line if blocks else 1
    single = _Open(title=TitleLine(title), line=lead, kind="single", anchor=0, year_ctx=None,
                   topics=reader.front_topics, venue=venue or front.get("venue"), year=year or fm_year)
    single.bullets = [b for b in reader.orphans if b.line != title_line]  # the title line is not a note
    return single


_VENUE_MARK = re.compile(r"(?<![\w'])[A-Za-z][\w&]{1,15}\s?['’\-]?\s?(?:19|20)?\d{2}(?![\w'])")


def _lead_venue(blocks: list[Block], memo: LineMemo) -> tuple[str | None, int | None]:
    """A one-paper note whose opening prose says where the paper appeared ('这篇文章是 SOSP'17 的 best
    paper', 'our ICLR 2023 paper'): a known venue with its year, the only one the lead names."""
    marks = set()
    for b in [b for b in blocks if b.kind != "heading"][:_LEAD_BLOCKS]:
        if b.kind != "para" or b.quoted:
            continue
        for m in _VENUE_MARK.finditer(clean_inline(b.text, memo)):
            venue, year = parse_venue(m.group(0), memo)
            if venue and year:
                marks.add((venue, year))
    return next(iter(marks)) if len(marks) == 1 else (None, None)


def extract_papers(blocks: tuple[Block, ...], front: dict[str, Any], path: str, rules: Rules) -> list[Paper]:
    """Every paper in document order, repeats kept, with bullets in document order."""
    return extract_structure(blocks, front, path, rules)[0]


def extract_structure(blocks: tuple[Block, ...], front: dict[str, Any], path: str,
                      rules: Rules) -> tuple[list[Paper], str]:
    """The papers, and which opener shape won the file (for `extract --explain`)."""
    memo = LineMemo(rules)  # this file's answers about its lines, for this file only
    blocks, notes = _footnotes(list(blocks))
    reader = _Reader(blocks, memo, front, footnotes=notes)
    opened = reader.run()
    source = None if reader.repeating() else one_paper_source(blocks, front, memo)
    if source is not None and sum(1 for o in opened if o.venue or o.year) <= 1:
        # a one-paper note: the papers the reader saw are its sections; read it again as one paper
        source = replace(source, title=_body_title(source, opened))
        reader = _Reader(blocks, memo, front, single=True, footnotes=notes)
        opened = reader.run()
        shape = f"one paper, named by its {source.kind}"
    else:
        source = None
        shape = _shape_note(reader, opened)
    if not opened and reader.orphans:
        opened = [_single_paper(blocks, front, path, memo, reader, source)]
    opened = _one_unit(opened)
    papers = [_finish(o) for o in opened]
    papers = [p for p in papers if p.title]
    return _earliest_years(_with_toc_meta(papers, blocks, memo)), shape


def _with_toc_meta(papers: list[Paper], blocks: list[Block], memo: LineMemo) -> list[Paper]:
    """A table of contents (`1. [Title, ICLR 2023](#title)`) states venue and year its headings leave out."""
    toc: dict[str, tuple[str | None, int | None]] = {}
    for b in blocks:
        if b.kind == "item" and "](#" in b.text:
            tl = split_title_line(b.text, memo)
            if tl.link.startswith("#") and (tl.venue or tl.year):
                toc.setdefault(paper_key(tl.title), (tl.venue, tl.year))
    if not toc:
        return papers
    out = []
    for p in papers:
        venue, year = toc.get(paper_key(p.title), (None, None))
        out.append(replace(p, venue=p.venue or venue, year=p.year or year) if venue or year else p)
    return out


def _finish(o: _Open) -> Paper:
    title = o.field_title or o.title.title
    gloss = o.title.title if o.field_title and o.title.title != o.field_title else o.gloss
    bullets = tuple(b if b.index == k else replace(b, index=k) for k, b in enumerate(o.bullets))
    venue = o.venue if isinstance(o.venue, str) else None
    return Paper(title=title, venue=venue, year=o.year or o.year_ctx, line=o.line, bullets=bullets,
                 topics=o.topics, gloss=gloss or "", link=o.title.link)


def _earliest_years(papers: list[Paper]) -> list[Paper]:
    """A paper listed under several years is dated by the earliest; a venue given once holds for all."""
    years: dict[str, int] = {}
    venues: dict[str, str] = {}
    keys = [paper_key(p.title) for p in papers]
    for p, key in zip(papers, keys):
        if p.year:
            years[key] = min(years.get(key, p.year), p.year)
        if p.venue:
            venues.setdefault(key, p.venue)
    return [replace(p, year=years.get(key, p.year), venue=p.venue or venues.get(key)) for p, key in zip(papers, keys)]
