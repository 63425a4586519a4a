"""Title lines -> title, venue, year and inline note: the metadata rules of extraction."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from notecards.rules import LineMemo, Rules, norm_key, per_line
from notecards.segment import CJK_CHARS, PICTOGRAPHS

_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s>]*(?:\([^()\s]*\)[^()\s>]*)*)>?(?:\s+[\"'][^\"']*[\"']|[^()]*)?\s*\)")
_REF_LINK = re.compile(r"(?<!!)\[([^\[\]]+)\]\[[^\[\]]*\]")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_BOLD = re.compile(r"(\*\*|__)(.{1,300}?)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?!\s)(.{1,300}?)(?<!\s)\1(?![\w*])")
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?![\d])")
_SHORT_YEAR = re.compile(r"(?:['’‘-]|(?<=[A-Za-z]))(\d{2})\b")
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*")
_PARENS = re.compile(r"[(（]([^()（）]{1,60})[)）]")
_FIELD = re.compile(r"\s*(?:[-*+]\s+)?(?:\*\*|__)?([^:：*\n]{1,24}?)(?:\*\*|__)?\s*(?:::|[:：])\s*(?:\*\*|__)?\s*")
"""'Venue: …', '**论文名称**：…', 'venue:: …' (a notes app's property)."""
_NUMBERING = re.compile(r"^\s*(?:(?:arXiv:\s?)?\d{4}\.\d{4,5}(?:v\d+)?\s+|\[\d{1,3}\]|\d{1,3}(?:\.\d{1,3})+\.?\s|\d{1,3}[.、．)]|[（(]\d{1,3}[)）]|0x[0-9A-Fa-f]{1,4}\s|(?:[Pp]aper|论文|第)\s*(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*篇?\s*[:：.、)]|(?:论文|第)\s*(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*篇?\s(?=\s*[A-Za-z《\[]))\s*")
"""'1.', '2.1 ', '[3]', '（2）', '0x01 ', 'Paper 1:', '第2篇：', '论文一：', '论文3 Title': the number a list gives a title,
not part of it; '2305.14314 Title': its arXiv id (which never gives a year)."""
_FIRST_PERSON = re.compile(r"(?i)(?<![\w\-])(?:i|i'm|i've|i'd|my|me)(?![\w\-])|[我你]")
_MAYBE_FIRST_PERSON = re.compile(r"\b(?:i|m[ye])\b")
# ^ matches wherever _FIRST_PERSON does in lower-cased ASCII text, and runs about three times faster
# Compiled once: these run for every new line of every file.
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|$])")
_TAG_WORD = re.compile(r"[A-Za-z][A-Za-z&.\-]{1,15}")
_VENUE_SEP = re.compile(r"[\s\-–—_,，:：/|()（）\[\]*'’]+")
_DIGITS = re.compile(r"\d+")
_CAPS = re.compile(r"[A-Z]{2,6}")
_EXCLAIMS = re.compile(r"[!！]{2}|\?\!|[。！]$")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_TAIL_PARENS = re.compile(r"[(（]([^()（）]{2,60})[)）]")
_TAIL_COMMA = re.compile(r",\s*([^,.;:]{2,40}?(?:19|20)\d{2})\b")
_TAIL_LINK = re.compile(r"\[\s*\[([^\[\]]+)\]\([^)]*\)\s*\]|\[([^\[\]]+)\]\([^)]*\)")
_TAIL_PAREN_LINK = re.compile(r"[(（]\s*(?:\[\s*\[([^\[\]]+)\]\([^)]*\)\s*\]|\[([^\[\]]+)\]\([^)]*\))\s*[)）]")
"""'Title ([paper](url))': a link cluster in parentheses."""
_END_PARENS = re.compile(r"\s*[(（]([^()（）]{2,60})[)）]\s*$")
_END_DASH = re.compile(r"\s+[-–—]\s+([^-–—]{2,50})$")
_END_COMMA_YEAR = re.compile(r"\s*,\s*((?:[A-Za-z]{3,9}\.?\s+)?(?:19|20)\d{2})\s*$")

_ESCAPED_BRACKET = re.compile(r"\\([\[\]])")
CITED_TITLE = re.compile(r"[\"“]([^\"“”]{10,300}?)[.,]?[\"”]")
"""The quoted title of a citation line: authors, "Title.", then venue and year."""
_CITING_AUTHORS = re.compile(r"\s*(?:(?:[A-Z][\w'’\-]*\.?|et al\.?|and|&)[,;]?\s*)*")
"""What may stand before a cited title: authors' names and initials ('Vaswani, A., et al.')."""
_APA = re.compile(r"(?P<authors>[A-Z][\w'’\-]+,\s*(?:[A-Z]\.[\s\-]*)+[^()]{0,300}?)\s*\((?P<year>(?:19|20)\d{2})[a-z]?"
                  r"(?:,[^)]{0,20})?\)\.\s+(?P<title>[^.?!]{8,300}[?!]?)[.]?(?:\s+(?P<rest>.*))?$")
"""An APA reference: 'Vaswani, A., Shazeer, N., et al. (2017). Title. *Venue*, 30.'"""
_TRAILING_AUTHORS = re.compile(r"\s+[-–—,]\s+[A-Z][\w'’\-]+(?:\s+[A-Z][\w'’\-]+)?,?\s+et\s+al\.?\s*[-–—,]?\s*$")
_BARS = re.compile(r"\s*[|｜]\s*")
_LEAD_DATE = re.compile(r"(?:19|20)\d{2}[-./年]\d{1,2}(?:[-./月]\d{1,2}日?)?\s+")
LEAD_PICTOGRAPHS = re.compile(f"^[{PICTOGRAPHS}\\s]+")
"""'📄 Title', '🏛️ NeurIPS 2022': emoji that decorate a line, not part of what it says."""
_LEAD_LABEL = re.compile(r"【([^【】]{1,20})】\s*")
_LEAD_TAG = re.compile(r"\[([^\[\]]{1,40})\](?!\()\s*")
_LEAD_BOLD = re.compile(r"(.{0,60}?)(\*\*|__)(.+?)\2")
_LEAD_ITALIC = re.compile(r"(.{0,60}?)(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\2(?![\w*])")
_VENUE_CUT = re.compile(r"(?:[(（][^()（）]{2,60}[)）]|,\s*[A-Za-z][^,]{1,30}(?:19|20)\d{2})")
_TITLE_LABEL = re.compile(r"\s*([^\W\d_][^:：|\-–—]{0,20}?)(?:\s*[:：|]\s*|\s+[-–—]\s+|(?<=\s[Oo]n)\s+)")
"""A short label before a title: 'Paper notes: ', '论文笔记 - ', 'Notes on '."""
_LEAD_CITATION = re.compile(r"[A-Z][\w'’\-]+(?:\s+et\s+al\.?|\s+(?:and|&)\s+[A-Z][\w'’\-]+)"
                            r"(?:\s*[(（]((?:19|20)\d{2})[a-z]?[)）]\s*[:：\-–—,.]?|,?\s*((?:19|20)\d{2})[a-z]?\s*[:：\-–—,])"
                            r"\s+(?=[A-Z0-9\[*_\"“《])")
"""'Vaswani et al. (2017) ', 'Kaplan et al., 2020 — ', 'Kingma and Ba (2015): ': a citation before a title."""
_YEAR_PARENS = re.compile(r"\s*[(（]\s*(?:[A-Z][\w'’\-]+(?:\s+(?:et\s+al\.?|and|&)(?:\s+[A-Z][\w'’\-]+)?)?,?\s+)?"
                          r"(?:19|20)\d{2}[a-z]?\s*[)）]")
"""'(2021)', and an author-year citation: '(Fedus et al., 2021)', '(Kingma & Ba, 2015)'."""
_GLOSS = re.compile(f"(?<=[A-Za-z0-9?!)）])\\s*[{CJK_CHARS}][^A-Za-z]*$")
_PREFIX_TOKEN = re.compile(r"[^\s(（*\[_]+")
_PREFIX_CHARS = re.compile(r"[\w\s'’.\-–:：]+")
_NOTE_LINKS = re.compile(r"\[\s*\[[^\[\]]*\]\([^)]*\)\s*\]|\[\[[^\[\]]*\]\]\([^)]*\)")
_NOTE_LEAD = re.compile(r"^[\s:：\-–—,，.。|]+")
_WORD_CHAR = re.compile(r"\w")
_DATE = r"(?:19|20)\d{2}\s*[-./年]\s*\d{1,2}(?:\s*[-./月]\s*\d{1,2}\s*日?)?\s*月?"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_WHEN = re.compile(rf"(?i)\s*(?:{_MONTH}\s*)?(?:19|20)\d{{2}}\s*")
"""A date and nothing else: 'Jan 2023', '2022' after a title dates the paper."""
_DATE_RANGE = re.compile(rf"{_DATE}(?:\s*(?:-|–|—|~|/|to)\s*{_DATE})?")
_MONTH_DATE = re.compile(rf"(?i)(?:\d{{1,2}}\s+)?{_MONTH}\s*,?\s*(?:\d{{1,2}},?\s*)?(?:19|20)\d{{2}}")
_DIGIT_DATE = re.compile(r"(?:19|20)\d{6}")
# Obsidian syntax: `![[embed]]` is dropped, `[[Page#part|alias]]` reads as Page, `==mark==` as mark,
# a trailing `^block-id` is an anchor, not text.
_EMBED = re.compile(r"!\[\[[^\[\]]*\]\]")
_WIKILINK = re.compile(r"\[\[([^\[\]|#]*)(?:#[^\[\]|]*)?(?:\|[^\[\]]*)?\]\]")
_HIGHLIGHT = re.compile(r"==(?=\S)(.+?)(?<=\S)==")
_BLOCK_ID = re.compile(r"\s\^[\w-]+\s*$")
FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]{1,40})\](?!:)")
"""'…reasoning[^1].': a footnote's marker, not text."""
# `《Title》 note` / `[[Title]] note` at the start of a line: a title marked as one
_LEAD_BOOK = re.compile(r"《([^《》]{2,300})》")
_LEAD_WIKI = re.compile(r"\[\[([^\[\]|#]+)(?:#[^\[\]|]*)?(?:\|[^\[\]]*)?\]\]")
_YEAR_HEADING = re.compile(r"(?i)(?:year\s*)?((?:19|20)\d{2})\s*年?(?:\s*(?:papers|论文))?")


@dataclass(frozen=True, slots=True)
class TitleLine:
    title: str
    venue: str | None = None
    year: int | None = None
    note: str = ""
    """Text after the title on the same line (an inline one-line note)."""
    link: str = ""
    strong: bool = False
    """Marked as a title: a link, bold, italics, a venue tag or a venue in parentheses."""


@per_line
def clean_inline(text: str, memo: LineMemo | None = None) -> str:
    """Markdown inline text -> plain text: links to their text, no emphasis, tags or escapes.

    Each substitution runs only when the characters it needs are there: most lines have no markup.
    """
    if "[[" in text:
        text = _WIKILINK.sub(r"\1", _EMBED.sub("", text))
    if "==" in text:
        text = _HIGHLIGHT.sub(r"\1", text)
    if "^" in text:
        text = FOOTNOTE_REF.sub("", _BLOCK_ID.sub("", text))
    if "<" in text or "![" in text:
        text = _IMAGE.sub("", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "][" in text:
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _HTML_TAG.sub("", text)
    if "**" in text or "__" in text:
        text = _BOLD.sub(r"\2", text)
    if "*" in text or "_" in text:
        text = _ITALIC.sub(r"\2", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    if "`" in text:
        text = text.replace("`", "")
    if "&" in text:
        text = text.replace("&emsp;", " ").replace("&nbsp;", " ").replace("&amp;", "&")
    return " ".join(text.split())  # str and re agree on what is whitespace


def _short_year(yy: str) -> int:
    n = int(yy)
    return 2000 + n if n <= 40 else 1900 + n


def find_year(text: str) -> int | None:
    """A four-digit year 1950-2039 in text, else None."""
    for m in _YEAR.finditer(text):
        y = int(m.group(1))
        if 1950 <= y <= 2039:
            return y
    return None


@per_line
def parse_venue(text: str, memo: LineMemo, loose: bool = False) -> tuple[str | None, int | None]:
    """'ICLR-22 oral' -> ('ICLR', 2022); 'CVPR（CMU）' -> ('CVPR', None); 'NIPS'17' -> ('NeurIPS', 2017).

    Only spellings in the venue table count, unless `loose` (a `[TAG]` prefix), where an
    acronym-like tag is kept as written.
    """
    s = _BOLD.sub(" ", text) if "**" in text or "__" in text else text  # people or institutions: 'Arxiv(**Bengio**)'
    if "(" in s or "（" in s:
        s = _PARENS.sub(lambda m: " " + m.group(1) + " " if _venue_words(m.group(1), memo)[0] else " ", s)
    year = find_year(s)
    s = _YEAR.sub(" ", s)
    if year is None:
        m = _SHORT_YEAR.search(s)
        if m:
            year = _short_year(m.group(1))
            s = s[:m.start()] + " " + s[m.end():]
    venue, _ = _venue_words(s, memo)
    if venue is None and loose:
        words = clean_inline(s, memo).strip(" -–—:：,，.").split()
        if 1 <= len(words) <= 3 and all(_TAG_WORD.fullmatch(w) for w in words) \
                and any(w[:2].isupper() or w[0].isupper() for w in words) and not is_title_label(s, memo):
            venue = " ".join(words)
    return venue, year


def is_title_label(tag: str, memo: LineMemo) -> bool:
    """'[Paper Notes]', '[论文阅读]': what the note calls itself (a title label), not where the paper appeared."""
    return norm_key(clean_inline(tag, memo), memo) in memo.rules.title_labels


def _venue_words(s: str, memo: LineMemo) -> tuple[str | None, list[str]]:
    words = [w for w in _VENUE_SEP.split(clean_inline(s, memo)) if w]
    words = [w for w in words if not _DIGITS.fullmatch(w)]
    kept: list[str] = []
    status = memo.rules.venue_status_words
    i = 0
    while i < len(words):  # drop status words, longest match first ('best paper award')
        for n in (3, 2, 1):
            phrase = " ".join(words[i:i + n])
            if i + n <= len(words) and could_be_key(phrase, status) and norm_key(phrase, memo) in status:
                i += n
                break
        else:
            kept.append(words[i])
            i += 1
    for n in range(min(3, len(kept)), 0, -1):  # longest known spelling at the start
        canon = memo.rules.venues.get(" ".join(kept[:n]).casefold())
        if canon:
            rest = kept[n:]
            if not rest:
                return canon, []
            if all(w.casefold() in memo.rules.venue_suffix_words or _CAPS.fullmatch(w) for w in rest):
                return " ".join([canon] + [w.capitalize() if w.casefold() in memo.rules.venue_suffix_words else w
                                           for w in rest]), []
            return None, kept
    return None, kept


def looks_like_title(text: str, memo: LineMemo, min_words: int = 2, marked: bool = False) -> bool:
    """Plain text that reads as a paper title: mostly Latin words, not a sentence or a label."""
    shape = _title_shape(text, memo)
    return shape is not None and min_words <= shape[0] and (marked or not shape[1])


@per_line
def _title_shape(text: str, memo: LineMemo) -> tuple[int, bool] | None:
    """What looks_like_title weighs besides its thresholds: (Latin words, says 'I' or 'my'), or None
    when no threshold makes it a title. One cache entry per line serves every min_words and marked."""
    t = clean_inline(text, memo)
    if not t or len(t) > 300 or t.endswith((":", "：")):
        return None
    cjk = 0 if t.isascii() else sum(map(len, _CJK_RUN.findall(t)))  # runs: fewer strings than one per char
    words = _LATIN_WORD.findall(t)
    letters = sum(map(len, words))
    if cjk > max(2, letters * 0.25) or len(words) > 40:
        return None
    if ("!" in t or "！" in t or "。" in t) and _EXCLAIMS.search(t):
        return None
    if t.count(".") + t.count("!") + t.count("?") > 1 and len(_SENTENCE_END.findall(t)) > 1:
        return None
    if could_be_key(t, section_keys(memo.rules)):  # last: the tests above are cheaper and turn away most lines
        key = norm_key(t, memo)
        if key in memo.rules.non_paper_sections or key in memo.rules.sections:
            return None
    first_person = (not t.isascii() or _MAYBE_FIRST_PERSON.search(t.lower()) is not None) \
        and _FIRST_PERSON.search(t) is not None
    return len(words), first_person  # a linked or bold title may say 'I' or 'You'


def could_be_key(text: str, keys: frozenset[str]) -> bool:
    """Whether norm_key(text) may be one of keys, at a fraction of norm_key's cost.

    norm_key only drops or merges _KEY_NOISE characters, and casefold never maps a character to
    nothing: every other character stays, so their count is a lower bound on the key's length.
    """
    longest = _longest(keys)
    if len(text) <= longest:
        return True
    if text.isascii():  # a C loop over bytes, several times faster than the regex
        return len(text.encode().translate(None, _ASCII_KEY_NOISE)) <= longest
    return _more_kept_than(longest).match(text) is None


# Every character rules.norm_key can remove, in any position: keep the two in step.
_KEY_NOISE = r"\s\d*_`#>\[\].、．)）(（:：。,，;；!！?？\-–—一二三四五六七八九十" + PICTOGRAPHS
_ASCII_KEY_NOISE = bytes(c for c in range(128) if re.match(f"[{_KEY_NOISE}]", chr(c)))


@lru_cache(maxsize=16)
def _longest(keys: frozenset[str]) -> int:
    return max(map(len, keys), default=0)


@lru_cache(maxsize=16)
def _more_kept_than(n: int) -> re.Pattern[str]:
    """Matches text with more than n characters outside _KEY_NOISE."""
    return re.compile(rf"(?:[{_KEY_NOISE}]*[^{_KEY_NOISE}]){{{n + 1}}}")


@lru_cache(maxsize=16)
def section_keys(rules: Rules) -> frozenset[str]:
    """Per table: every key that names a section, to skip norm_key on lines too long to be one."""
    return frozenset({*rules.sections, *rules.section_names, *rules.non_paper_sections})


def _venue_from_tail(tail: str, memo: LineMemo) -> tuple[str | None, int | None, str]:
    """Venue and year stated right after a title: '(ICLR 2023)', ', Interspeech 2021', '[[CVPR'17](u)]'."""
    venue = year = None
    while True:
        tail = tail.lstrip()
        if tail[:1] not in ("(", "（", ",", "["):  # what every pattern below starts with
            return venue, year, tail
        m = _TAIL_PARENS.match(tail) or _TAIL_COMMA.match(tail)
        if m:
            v, y = parse_venue(m.group(1), memo)
            if v or y:
                venue, year = venue or v, year or y
                tail = tail[m.end():]
                continue
        m = _TAIL_LINK.match(tail) or _TAIL_PAREN_LINK.match(tail)
        if m:  # link clusters after the title: venue labels count, 'paper'/'code' do not
            v, y = parse_venue(m.group(1) or m.group(2), memo)  # '[[arXiv](u)]' names where it is published
            if v and not venue:
                venue, year = v, year or y
            tail = tail[m.end():]
            continue
        return venue, year, tail


def _strip_title_venue(title: str, memo: LineMemo) -> tuple[str, str | None, int | None]:
    """'Title (CVPR 2017)' or 'Title - ICLR'16 Best Paper Award' -> the title and its venue."""
    # Each pattern can only match at the last parenthesis or dash: try there, not at every position.
    at = max(title.rfind("("), title.rfind("（"))
    m = _END_PARENS.match(title, at) if at >= 0 else None
    if m is None:
        at = max(title.rfind("-"), title.rfind("–"), title.rfind("—"))
        m = _END_DASH.match(title, at - 1) if at > 0 and title[at - 1].isspace() else None
    if m is None and "," in title:
        m = _END_COMMA_YEAR.search(title)
        at = m.start() if m else at
    if m:
        venue, year = parse_venue(m.group(1), memo)
        if venue or (year and _WHEN.fullmatch(m.group(1))):
            return title[:at].rstrip(), venue, year  # the spaces before `at` are part of the match
    return title, None, None


_ORDINAL = re.compile(r"(?i)\d{1,3}(?:st|nd|rd|th)")
"""'the 38th International Conference …': which meeting, not its name."""


def citation_venue(rest: str, memo: LineMemo) -> str | None:
    """' In Proceedings of the IEEE International Conference on Computer Vision, pp. 1-9. 2019.' -> 'ICCV'."""
    words = [w for w in re.split(r"[\s,.]+", rest) if w]
    while words and (words[0].casefold() in memo.rules.citation_noise or words[0].isdigit() or _ORDINAL.fullmatch(words[0])):
        words.pop(0)
    for n in range(min(10, len(words)), 0, -1):
        canon = memo.rules.venues.get(" ".join(words[:n]).casefold())
        if canon:
            return canon
    return None


@per_line
def split_title_line(text: str, memo: LineMemo) -> TitleLine:
    """A paper's title line -> its parts. `[ICLR] Title`, `ICLR-22 [Title](url)`, `**Title** (ICLR 2023) note`."""
    s = text.strip()
    if "\\" in s:
        s = _ESCAPED_BRACKET.sub(r"\1", s)
    s = _NUMBERING.sub("", LEAD_PICTOGRAPHS.sub("", s, count=1), count=1)
    if s[:2] in ("19", "20"):
        s = _LEAD_DATE.sub("", s, count=1)  # '2024-03-02 [Title](…)': the day it was read, not its year
    venue = year = None
    if memo.rules.title_labels and (m := _TITLE_LABEL.match(s)) and norm_key(m.group(1), memo) in memo.rules.title_labels \
            and looks_like_title(s[m.end():], memo, min_words=1, marked=True):
        s = s[m.end():]  # 'Notes on Title', '论文笔记：Title': what the note calls itself, not the title
    if " et al" in s[:60] or " and " in s[:40] or " & " in s[:40]:
        if (m := _LEAD_CITATION.match(s)) and looks_like_title(s[m.end():], memo, min_words=2, marked=True):
            year, s = int(m.group(1) or m.group(2)), s[m.end():]  # 'Vaswani et al. (2017) Title': who and when
    strong = False
    if (":" in s[:40] or "：" in s[:40]) and (f := split_field(s, memo)) and f[0] == "title" and f[2]:
        s = f[2]  # '## Paper: Title', '### 论文：Title': the key names what follows
    if s[:1] == "【" and (m := _LEAD_LABEL.match(s)) and looks_like_title(s[m.end():], memo, min_words=1):
        v, y = parse_venue(m.group(1), memo, True)
        venue, year, strong = v, y, bool(v or y)
        s = s[m.end():]  # '【论文阅读】Title', '【CVPR 2022】Title': a blog's tag, not part of the title
    links = "](" in s  # every link pattern below needs it
    m = _LEAD_TAG.match(s) if s[:1] == "[" else None
    if m and not _LINK.match(s):
        v, y = parse_venue(m.group(1), memo, True)
        if v or y:
            venue, year, strong = v, y, True
            s = s[m.end():]
        elif is_title_label(m.group(1), memo) and looks_like_title(s[m.end():], memo, min_words=1):
            s = s[m.end():]  # '[Paper Notes] Title': what the note is, not a venue
    title, link, rest, prefix = "", "", "", ""
    mark = _LEAD_BOOK.match(s) or _LEAD_WIKI.match(s) if s[:1] in ("《", "[") else None
    if mark and looks_like_title(mark.group(1), memo, min_words=1, marked=True):
        title, rest, strong = mark.group(1), s[mark.end():], True
        links = False
    checked = None  # a title _strip_title_venue found no venue in
    lead, s = _take_venue_prefix(s, memo)
    if lead:
        v, y = parse_venue(lead, memo)
        venue, year, strong = venue or v, year or y or find_year(lead), True
        links = "](" in s
    for lm in _LINK.finditer(s) if links and not title else ():
        label = lm.group(1)
        if norm_key(label, memo) in memo.rules.generic_link_texts or not clean_inline(label, memo) or _is_venue_label(label, memo) \
                or _PASSAGE_TARGET.match(lm.group(2)):
            continue  # '[[paper](u)]', '[[CVPR'17](u)]' name a link, not the paper; '[p. 2](zotero://…)' a passage
        before = s[:lm.start()]
        if len(clean_inline(before, memo)) > 80:
            break
        title, link, rest, prefix = lm.group(1), lm.group(2), s[lm.end():], before
        strong = True
        break
    if not title:
        em = (_LEAD_BOLD.match(s) or _LEAD_ITALIC.match(s)) if "*" in s or "_" in s else None
        if em and (not em.group(1).strip() or parse_venue(em.group(1), memo)[0] or find_year(em.group(1))):
            prefix, title, rest = em.group(1), _NUMBERING.sub("", em.group(3), count=1), s[em.end():]  # '**1. Title**'
            strong = True
            tag = (_LEAD_TAG if title[:1] == "[" else _LEAD_LABEL).match(title) if title[:1] in ("[", "【") else None
            if tag:  # '**[ICLR 2023] Title**': the venue tag inside the bold
                v, y = parse_venue(tag.group(1), memo, True)
                if v or y:
                    venue, year, title = venue or v, year or y, title[tag.end():]
    if not title and ('"' in s or "“" in s) and (q := CITED_TITLE.search(s)) and find_year(s[q.end():]) \
            and _CITING_AUTHORS.fullmatch(s[:q.start()]) and looks_like_title(q.group(1), memo, min_words=3):
        title, rest, strong = q.group(1), s[q.end():], True  # 'Vaswani, A., et al. "Title." NeurIPS 2017.'
        tail = rest.strip(" .,;")
        v, y = parse_venue(tail, memo)
        if (v or y) and len(tail.split()) <= 4:
            venue, year, rest = venue or v, year or y, ""
    if not title and "(" in s[:300] and (apa := _APA.match(s)) and looks_like_title(apa.group("title"), memo, min_words=3):
        title, rest, strong = apa.group("title"), "", True  # the authors and year first, then the title
        venue, year = venue or citation_venue(clean_inline(apa.group("rest") or "", memo), memo), int(apa.group("year"))
    if not title:
        cut = _TRAILING_LINKS.search(s) if links else None
        title, rest = (s[:cut.start()], s[cut.start():]) if cut else (s, "")
        if cut and looks_like_title(title, memo, min_words=1) and not _ENDS_SENTENCE.search(title) \
                and not links_to_passage(rest):
            v, y, _ = _venue_from_tail(rest, memo)  # 'Title [[arXiv](url)]', 'Title \\[[paper](url)]'
            venue, year, strong = venue or v, year or y, True
        bare = _strip_title_venue(title, memo)
        if bare[1] or bare[2]:
            title, venue, year, strong = bare[0], venue or bare[1], year or bare[2], True
        else:
            checked = title  # 'Title, Interspeech 2021' / 'Title (ICLR 2023) note'
            cut = _VENUE_CUT.search(title) if _could_cut_venue(title) else None
            if cut:
                at = len(title[:cut.start()].rstrip())  # from the spaces before it
                v, y, tail = _venue_from_tail(title[at:], memo)
                if v or (y and _YEAR_PARENS.match(title[at:])):
                    title, rest = title[:at], tail  # '(Smith et al., 2018)' is a citation
                    venue, year, strong = venue or v, year or y, True
    if prefix.strip():
        v, y = parse_venue(prefix, memo)
        venue, year = venue or v, year or y or find_year(prefix)
        strong = True
    v, y, rest = _venue_from_tail(rest, memo)
    venue, year = venue or v, year or y
    title = clean_inline(title, memo)
    gloss = None if title.isascii() else _GLOSS.search(title)
    if gloss and looks_like_title(title[:gloss.start()], memo, min_words=3):
        title = title[:gloss.start()]  # 'Title得知了两个结论': the reader's words after the title
    if title != checked:  # most plain lines come out of clean_inline as they went in
        title, v, y = _strip_title_venue(title, memo)
        venue, year = venue or v, year or y
    if "|" in title or "｜" in title:  # 'Title | ICLR 2021 | [code](…)': a venue and link names after bars
        head, *tail = _BARS.split(title)
        tail = [x for x in tail if x]
        meta = [parse_venue(x, memo) for x in tail]
        said = [bool(v or y or norm_key(x, memo) in memo.rules.generic_link_texts) for x, (v, y) in zip(tail, meta)]
        lead = next((k for k, ok in enumerate(said) if not ok), len(said))  # the pieces that state where and when
        if head.strip() and tail and (lead == len(tail) or any(v or y for v, y in meta[:lead])):
            title = head
            venue = venue or next((v for v, _ in meta[:lead] if v), None)
            year = year or next((y for _, y in meta[:lead] if y), None)
            if lead < len(tail):  # 'Title | CVPR | 2016 | note': what follows them is a note
                rest, strong = " | ".join(tail[lead:]) + (" " + rest if rest else ""), True
    if "et al" in title:
        title = _TRAILING_AUTHORS.sub("", title)  # 'Title - Child et al.': who wrote it, not the title
    note = clean_note(rest)
    return TitleLine(title=title.strip(" \t:：-–—,，"), venue=venue, year=year, note=note, link=link,
                     strong=strong)


def _could_cut_venue(title: str) -> bool:
    """Cheap test before _VENUE_CUT: parentheses, or a comma and a year."""
    return (("(" in title or "（" in title) and (")" in title or "）" in title)) or (
        "," in title and ("19" in title or "20" in title))


_PASSAGE_URL = r"(?:zotero|kindle|marginnote\d?app|x-devonthink-item|hook)://|https?://read\.readwise\.io/"
_PASSAGE_LINK = re.compile(rf"\]\(\s*<?(?:{_PASSAGE_URL})")
_PASSAGE_TARGET = re.compile(_PASSAGE_URL)
"""'([p. 2](zotero://open-pdf/…))', '([View Highlight](https://read.readwise.io/…))': a link from a highlight
back to its place in a reader app, not to a paper."""


def links_to_passage(text: str) -> bool:
    """A line that links back to its passage in a PDF reader or highlight app: a highlight, not a title."""
    return "](" in text and _PASSAGE_LINK.search(text) is not None


_PASSAGE_REF = re.compile(rf"\s*[(（]?\s*\[[^\[\]]*\]\(\s*<?(?:{_PASSAGE_URL})[^)\s]*>?\s*\)\s*[)）]?")


def drop_passage_links(text: str) -> str:
    """'Deeper nets are harder to train. ([View Highlight](https://read.readwise.io/…))' -> the
    sentence: the way back to the reader app is no part of the note (nor of its card)."""
    return _PASSAGE_REF.sub("", text).strip() if links_to_passage(text) else text


_TRAILING_LINKS = re.compile(r"\s*(?:[(（]\s*)?(?<!!)(?:\[\s*\[[^\[\]]*\]\([^)]*\)\s*\]|\[\[[^\[\]]*\]\]\([^)]*\)|\[[^\[\]]*\]\([^)]*\)).*$")
_ENDS_SENTENCE = re.compile(r"[.。!！]\s*$")
"""'Deeper nets are harder to train. ([View Highlight](…))': a sentence and a link back, no title."""
_PREFIX_TAIL = re.compile(r"\s*(?:[(（][^()（）]{1,40}[)）]|\*\*[^*]{1,40}\*\*|__[^_]{1,40}__)")


def _could_open_venue(word: str, memo: LineMemo) -> bool:
    """Cheap test before the full parse: the first word starts a known venue spelling."""
    head = _FIRST_WORD.split(word.casefold(), maxsplit=1)[0]
    return head in _venue_starts(memo.rules) if head else False


_FIRST_WORD = re.compile(r"[\s\-–:：,'’]")


@lru_cache(maxsize=16)
def _venue_starts(rules: Rules) -> frozenset[str]:
    """Per table: each venue spelling, and each start of one that a space follows
    ('neural information' of '… systems')."""
    return frozenset(rules.venues).union(v[:k] for v in rules.venues for k, c in enumerate(v) if c == " ")


def _take_venue_prefix(s: str, memo: LineMemo) -> tuple[str, str]:
    """'ICLR-22 oral [T](u)' -> ('ICLR-22 oral', '[T](u)'); 'Arxiv(**Bengio**) _T_' -> ('Arxiv', '_T_')."""
    head80 = s[:80]
    first = _PREFIX_TOKEN.match(head80)
    if not first or not _could_open_venue(first.group(0), memo):
        return "", s
    tokens = list(_PREFIX_TOKEN.finditer(head80))
    for n in range(min(5, len(tokens)), 0, -1):
        end = tokens[n - 1].end()
        if s[:tokens[0].start()].strip():
            break
        head = s[:end]
        venue, year = parse_venue(head, memo)
        if not venue or not _PREFIX_CHARS.fullmatch(head):
            continue
        if _venue_words(head, memo)[1]:
            continue  # words left over: 'ICLR tricks' is not a venue prefix
        rest = s[end:]
        while (m := _PREFIX_TAIL.match(rest)):
            rest = rest[m.end():]
        rest = rest.lstrip(" :：-–—,，")
        if rest and (rest[0] in "[*_" or looks_like_title(rest, memo, min_words=2)):
            return head, rest
    return "", s


def _is_venue_label(label: str, memo: LineMemo) -> bool:
    plain = clean_inline(label, memo)
    return len(plain) <= 30 and parse_venue(plain, memo)[0] is not None and not looks_like_title(plain, memo, 3)


def _one_group(text: str) -> bool:
    """'(a note, (nested) or not, however long)' is one parenthesised group; '(a)(b)' is two."""
    depth = 0
    for k, ch in enumerate(text):
        depth += (ch in "(（") - (ch in ")）")
        if depth <= 0:
            return k == len(text) - 1
    return False


def clean_note(rest: str) -> str:
    """What follows a title on its line, as a bullet: no leading punctuation or empty links."""
    if not rest:
        return ""
    if "](" in rest:
        rest = _NOTE_LINKS.sub("", rest)
    rest = rest.strip()
    rest = _NOTE_LEAD.sub("", rest).strip()
    if rest.startswith(("(", "（")) and rest.endswith((")", "）")) and _one_group(rest):
        rest = rest[1:-1].strip()
    return rest if _WORD_CHAR.search(rest) else ""


@per_line
def split_field(text: str, memo: LineMemo) -> tuple[str, str, str] | None:
    """'论文名称：LoRA…' -> ('title', '论文名称', 'LoRA…'); None when the line is not a known field."""
    head = text[:80]  # the key is near the start; never scan a long bullet for it
    m = _FIELD.match(head) if ":" in head or "：" in head else None
    if not m:
        return None
    key = norm_key(m.group(1), memo)
    kind = memo.rules.fields.get(key)
    if kind is None or (kind == "drop" and key in memo.rules.venues):
        return None  # 'Arxiv: [Title](url)' is a venue prefix, not a link field
    return kind, m.group(1).strip(), text[m.end():].strip().rstrip("*_ ").strip()


@per_line
def is_date_text(text: str, memo: LineMemo | None = None) -> bool:
    """A reading-log date or month: '2023.2.19', '2019-07', '2018-06 - 2019-01', 'February 2023'."""
    t = clean_inline(text, memo).strip()
    return bool(_DATE_RANGE.fullmatch(t) or _MONTH_DATE.fullmatch(t) or _DIGIT_DATE.fullmatch(t))


def year_heading(text: str, memo: LineMemo | None = None) -> int | None:
    """'2023', '2023年', 'Year 2023', '**2023**' -> 2023; anything else -> None."""
    t = clean_inline(text, memo).strip()
    m = _YEAR_HEADING.fullmatch(t)
    return int(m.group(1)) if m else None
