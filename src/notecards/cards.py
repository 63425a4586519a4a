"""Document -> list[Card]: the card-design stage (questions, answers, context, tags, deck, guid).

Card design (the rules for formulating knowledge: minimum information, one idea per card,
cues and context):
- Each problem, method and finding bullet is one card. A bullet too long to recall
  (over max_answer_chars) is still one card: its key sentences are the answer, the whole
  bullet is on the back. One bullet, one card, so a card's identity is its bullet.
- Every question says what it asks, and no two cards of a paper share one: a paper with one
  card of a kind asks plainly; with several, each question names its bullet's lead key
  (`AIFT的生成：…`), aspect tag (`(data)`), or its first words. Never a part number.
- Each card asks in its bullet's own language (its script, else its paper's majority);
  `card_language` overrides.
- Not cards but context on the back: background, "other" and opinion bullets, quoted abstracts
  (`摘要：`, `Abstract:`; `abstract_cards` makes one card of them), bullets that only restate the
  title, and bullets that lean on their neighbours ("同上", "as above"). The paper's problem is
  shown on its method and finding cards (the why helps recall).
- A reverse card asks which paper a (whole) first sentence comes from, only when that sentence
  does not give the title away.
- The wording is data: resources/cards.yaml, checked on load.

Cards are drafts without a guid: identity.carry_identity() gives each its guid, a hash of (paper
identity, kind, slot), never the answer, so editing a bullet updates the note in Anki.
make_cards() makes each bullet's slot from its text (identity.text_slot), so a fresh build keeps
an unchanged bullet's card wherever it moves; carry_identity() (run by write.py
with the previous build's state) keeps each bullet's slot through rewording, insertion, reordering
and deletion, and a paper's identity through a retitle.
"""
from __future__ import annotations

import html
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import PurePath
from typing import NamedTuple
from urllib.parse import quote_plus

import yaml

from notecards.config import Config
from notecards.errors import ConfigError
from notecards.fsutil import resource_text
from notecards.identity import paper_key, text_slot
from notecards.model import ASKED, Bullet, Card, Document, Paper
from notecards.render import Memo, Rendered, plain_text, render_markdown
from notecards.rules import FOLDS_TO_ASCII, SHIPPED_LOADER
from notecards.segment import CJK_CHARS, has_cjk, language, tokens

CONTEXT = ("background", "other", "opinion")
"""Labels shown on the back of a paper's cards."""
REVERSE_CUE_CHARS = (15, 100)
"""A reverse card's prompt is a whole first sentence of this many characters (Latin-only ones
of four words or more): shorter ones ("GAN + data fidelity") could come from any paper."""
HINT_WORDS, HINT_CHARS, HINT_ROUNDS = 4, 8, 5
"""A question's hint: the first words (English) or characters (Chinese) of its bullet, and how
many times it may grow while two questions of a paper agree."""
ECHO = 0.6
"""A bullet most of whose words (this share) are the title's only restates it."""

_TEMPLATES = ("problem", "method", "finding", "abstract", "problem_hint", "method_hint", "finding_hint",
              "cued", "cued_hint", "reverse_problem", "reverse_method", "reverse_finding", "summary",
              "rest_ctx", "abstract_ctx", "problem_ctx", "background_ctx", "other_ctx", "opinion_ctx",
              "no_context", "no_meta", "link", "search")
_PLACEHOLDERS = frozenset({"title", "cue", "hint"})
_LISTS = ("generic_keys", "abstract_keys", "note_order", "continues", "title_stop_words")
_KEY = re.compile(r"\A\s*(?:(?:\*\*)?([^：:。！？!?\n*$`\[\]()<>]{1,30}?)(?:\*\*)?\s*[：:](?:\*\*)?\s*(?!//)"
                  r"|\*\*([^：:。！？!?\n*$`\[\]()<>.]{1,30}?)(?:[.。]\*\*|\*\*[.。])\s+)(\S.*)\Z", re.S)
"""'Key: body', '**Key:** body' and '**Key.** body' (a bold lead-in ended by a full stop), as classify reads them."""
_POSSESSIVE = re.compile(r"^(?:my|our|[\w.-]+['’]s)\s+|^(?:我的|我们的)")
"""'Mihai's comments', 'my notes', '我的笔记': whose note it is, before a generic key."""
_ASPECT = re.compile(r"\A\s*[(（]([^()（）\n]{1,20})[)）]\s*(\S.*)\Z", re.S)
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)(?=\s)")
_CLAUSE_END = re.compile(r"(?<=[，,：:、])")
_QUOTE = re.compile(r"^(?:[ \t]*>[ \t]?)+", re.M)
_LETTER = re.compile(r"[^\W\d_]")
_TAG = re.compile(r"<[^>]+>")
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
_LATIN = re.compile(r"[A-Za-z]")
_MARKS = re.compile(r"[*_`\[\]$#<>~|]|\\")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_LATIN_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
_LATIN_TOKEN = re.compile(r"[A-Za-z]\S*")
_LATIN_LOWER = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"\b(?=\w*[A-Z0-9])[A-Za-z][\w-]*[A-Z0-9][\w-]*|\b[A-Z]{2,}\b")


@dataclass(frozen=True, slots=True)
class Wording:
    """resources/cards.yaml: what cards say in each language, and the words that decide what is asked."""

    languages: dict[str, dict[str, str]]
    generic_keys: frozenset[str]
    abstract_keys: frozenset[str]
    note_order: re.Pattern[str]
    """Words anywhere in a bullet, or words it opens with, that make it lean on its neighbours."""
    title_stop_words: frozenset[str]
    note_order_lower: tuple[re.Pattern[str], re.Pattern[str]] | None = None
    """`note_order` without its case-blind flag, for lower-cased text (see leans_on_neighbours), in
    two: the words searched anywhere, the words matched at the start (one pattern with both can't
    skip ahead to a word's first character: its other branch may hold at any place). None when a
    word has a cased letter outside ASCII."""


def load_wording(data: object, where: str = "cards.yaml") -> Wording:
    """Check the wording table and make it usable; a problem is a ConfigError naming the key."""
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{key}: {message}", path=where)

    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with keys languages, " + ", ".join(_LISTS), path=where)
    unknown = set(data) - {"languages", *_LISTS}
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key; allowed keys: languages, " + ", ".join(_LISTS))
    langs = data.get("languages")
    if not isinstance(langs, dict) or not {"zh", "en"} <= set(langs):
        raise fail("languages", "expected a map with at least the languages zh and en")
    for lang, table in langs.items():
        if not isinstance(table, dict):
            raise fail(f"languages.{lang}", "expected a map of templates")
        for key in _TEMPLATES:
            text = table.get(key)
            if not isinstance(text, str) or not text.strip():
                raise fail(f"languages.{lang}.{key}", "missing, or not text")
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            except ValueError as exc:
                raise fail(f"languages.{lang}.{key}", f"bad template: {exc}") from None
            if names - _PLACEHOLDERS:
                raise fail(f"languages.{lang}.{key}", f"unknown placeholder {{{sorted(names - _PLACEHOLDERS)[0]}}}; "
                           "allowed: {title}, {cue}, {hint}")
        extra = set(table) - set(_TEMPLATES)
        if extra:
            raise fail(f"languages.{lang}.{sorted(extra)[0]}", "unknown template")
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LISTS:
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise fail(key, "expected a list of non-empty words")
        lists[key] = tuple(_norm(i).casefold() for i in items)
    def alternatives(words: tuple[str, ...]) -> str:
        return "|".join(map(re.escape, sorted(words, key=len, reverse=True))) or r"(?!)"

    anywhere, opening = alternatives(lists["note_order"]), rf"\s*(?:{alternatives(lists['continues'])})(?![a-z])"
    caseless = all(c.isascii() or c.lower() == c.upper() for word in lists["note_order"] + lists["continues"] for c in word)
    return Wording({k: dict(v) for k, v in langs.items()}, frozenset(lists["generic_keys"]),
                   frozenset(lists["abstract_keys"]), re.compile(rf"{anywhere}|\A{opening}", re.I),
                   frozenset(lists["title_stop_words"]), (re.compile(anywhere), re.compile(opening)) if caseless else None)


@lru_cache(maxsize=1)
def wording() -> Wording:
    """The shipped wording table, read and checked once."""
    text = resource_text("cards.yaml")
    return load_wording(yaml.load(text, Loader=SHIPPED_LOADER), "notecards/resources/cards.yaml")


@dataclass(frozen=True, slots=True)
class CardBatch:
    cards: tuple[Card, ...]
    warnings: tuple[str, ...] = ()
    """`path:line: warning: …` for images left out and papers that gave no card."""


def make_cards(doc: Document, config: Config) -> CardBatch:
    """The cards of one notes file, in study order (paper by paper, problem first), and the
    warnings met on the way."""
    cards: list[Card] = []
    tallies: list[PaperTally] = []
    for made, tally in paper_cards(doc, merge_repeats(doc.papers), config):
        cards.extend(made)
        tallies.append(tally)
    left_out, warnings = end_cards(doc.path, tallies)
    return CardBatch(tuple(c for i, c in enumerate(cards) if i not in left_out), warnings)


class PaperTally(NamedTuple):
    """What end_cards needs of one paper's cards: a file built a paper at a time keeps only this."""

    title: str
    line: int
    cards: int
    reverse: tuple[tuple[int, str], ...]
    """(position among the paper's cards, question) of its reverse cards."""
    warnings: tuple[str, ...]


def paper_cards(doc: Document, papers: Iterable[Paper], config: Config) -> Iterator[tuple[list[Card], PaperTally]]:
    """Each paper's cards, one paper at a time (`papers` with repeats merged, see merge_repeats).

    `doc` gives the file's path, title, folder and topics; its `papers` are not read."""
    folders = _folder_topics(doc)
    w = wording()
    for paper in papers:
        # a memo per paper: its texts recur in its cards (context, cue splits); across papers
        # real notes hardly repeat a line, and a longer-lived memo would only flatter the benchmark
        made, warned = _paper_cards(doc, paper, config, w, Memo(), folders)
        reverse = tuple((k, c.question) for k, c in enumerate(made) if c.kind == "reverse")
        yield made, PaperTally(paper.title, paper.line, len(made), reverse, tuple(warned))


def end_cards(path: str, tallies: list[PaperTally]) -> tuple[frozenset[int], tuple[str, ...]]:
    """Once every paper's cards are made: the positions (among all the file's cards) of those left
    out, reverse cards whose prompt two papers share (neither answer would be right), and the
    file's warnings."""
    asked = Counter(q for t in tallies for _, q in t.reverse)
    left_out: set[int] = set()
    made = 0
    for t in tallies:
        left_out.update(made + k for k, q in t.reverse if asked[q] > 1)
        made += t.cards
    warnings = [w for t in tallies for w in t.warnings]
    bare = [t for t in tallies if not t.cards]  # papers that gave no card
    if made == len(left_out):
        warnings.append(f"{path}: warning: no cards made from this file (no paper in it has a problem, "
                        "method, finding or note of yours under it)")
    elif bare:  # a reading list names many papers it says nothing about: one line, not one per paper
        first = bare[0]
        names = ", ".join(f"'{_norm(t.title) or t.line}'" for t in bare[:3]) + (", …" if len(bare) > 3 else "")
        warnings.append(f"{path}:{first.line}: note: {len(bare)} {'paper has' if len(bare) == 1 else 'papers have'} "
                        f"no notes to ask about, so no cards: {names}")
    return frozenset(left_out), tuple(dict.fromkeys(warnings))


# --- papers -----------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


def merge_repeats(papers: Iterable[Paper]) -> tuple[Paper, ...]:
    """Papers listed more than once (same paper_key) -> one; bullets merged, each text once."""
    return tuple(map(merge_listings, repeat_groups(papers)))


def repeat_groups(papers: Iterable[Paper]) -> list[list[Paper]]:
    """The listings of each paper (same paper_key), in the order papers first appear."""
    listings: dict[str, list[Paper]] = {}
    for p in papers:
        listings.setdefault(paper_key(p.title) or f"line{p.line}", []).append(p)
    return list(listings.values())


def merge_listings(listings: list[Paper]) -> Paper:
    """One paper from its listings: the first one's title, all their bullets (each text once) and
    topics, the earliest year, the first venue and link given."""
    seen: set[str] = set()  # normalised texts
    bullets = []
    for p in listings:
        for b in p.bullets:
            text = _norm(b.text)
            if text and text not in seen:
                seen.add(text)
                bullets.append(b)
    years = [p.year for p in listings if p.year]
    return replace(listings[0], venue=next((p.venue for p in listings if p.venue), listings[-1].venue),
                   year=min(years) if years else None, bullets=tuple(bullets),
                   topics=tuple(dict.fromkeys(t for p in listings for t in p.topics)),
                   link=next((p.link for p in listings if p.link), listings[-1].link))


def paper_topics(paper: Paper, doc: Document, config: Config, folders: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Topics written in the notes, the folders the file sits in, then lexicon topics the text uses.

    `folders`: _folder_topics(doc), when the caller has it already (it is the same for every paper).
    """
    found = [*paper.topics, *doc.topics, *(_folder_topics(doc) if folders is None else folders)]
    if config.topics:
        text = " ".join([paper.title, *(b.text for b in paper.bullets)])
        have, flat = tokens(text), _norm(text.casefold())
        found += [t for t, words in config.topics.items() if any(_mentions(w, have, flat) for w in words)]
    unique: dict[str, str] = {}
    for t in found:
        if t.strip():
            unique.setdefault(t.strip().casefold(), t.strip())
    return tuple(unique.values())


def _folder_topics(doc: Document) -> tuple[str, ...]:
    """`notes/nlp/attention.md` under the notes folder `notes` -> ('nlp',)."""
    try:
        rel = PurePath(doc.path).parent.relative_to(PurePath(doc.folder))
    except ValueError:
        return ()
    return tuple(part for part in rel.parts if part not in (".", ".."))


def _mentions(word: str, have: frozenset[str], flat: str) -> bool:
    """One-token words match whole jieba/Latin tokens ('RL' is not in 'URL'); phrases match as written."""
    want = tokens(word)
    if len(want) == 1:
        return want <= have
    return bool(want) and _norm(word.casefold()) in flat


def tag(prefix: str, value: object) -> str | None:
    """`year::2023`; spaces become `_` (Anki tags cannot hold them) and `::` cannot nest the value."""
    v = "_".join(str(value).split())  # str.split() and re's \s agree on what is whitespace
    v = re.sub(r":{2,}", ":", v).strip(":_") if "::" in v else v.strip(":_")
    return f"{prefix}::{v}" if v else None


def paper_tags(paper: Paper, topics: tuple[str, ...], config: Config, source: str = "") -> tuple[str, ...]:
    """Year, venue and topics as the notes state them, and the notes file (`source::…`): every card has
    a tag to find it by, also a paper the notes give no year, venue or topic."""
    p = config.tag_prefixes
    tags = [tag(p["year"], paper.year) if paper.year else None,
            tag(p["venue"], paper.venue) if paper.venue else None,
            *(tag(p["topic"], t) for t in topics),
            tag(p["source"], source) if source else None]
    unique: dict[str, str] = {}
    for t in tags:
        if t:
            unique.setdefault(t.casefold(), t)  # Anki tags ignore case
    return tuple(unique.values())


def deck_name(config: Config, doc: Document, paper: Paper, topics: tuple[str, ...]) -> str:
    if config.deck_by == "topic":
        leaf = topics[0] if topics else "(no topic)"
    elif config.deck_by == "year":
        leaf = str(paper.year) if paper.year else "(no year)"
    else:
        leaf = doc.title
    leaf = re.sub(r"\s*::\s*", " - ", _norm(leaf)) or "(untitled)"  # `::` would make a sub-deck
    return f"{config.root_deck}::{leaf}"


# --- one paper's cards -----------------------------------------------------------------------


class _Ask(NamedTuple):
    """One asked bullet, ready to word (a tuple: there is one per card, and tuples build fast)."""

    bullet: Bullet
    kind: str
    cue: str | None
    body: str
    """The bullet without its lead key or aspect tag."""
    lang: str | None


def split_cue(text: str, generic: frozenset[str] | None = None) -> tuple[str | None, str]:
    """`AIFT的生成：首先…` -> ('AIFT的生成', '首先…'); `(data) …` -> ('data', '…'); a long or generic lead is no cue."""
    generic = wording().generic_keys if generic is None else generic
    # most bullets have no colon and open with no bold
    m = _KEY.match(text) if ":" in text or "：" in text or text.lstrip()[:2] == "**" else None
    if m is not None:
        cue, body = m.group(1) or m.group(2), m.group(3)
    elif text[:1] in "(（" or text.lstrip()[:1] in "(（":
        m = _ASPECT.match(text)
        cue, body = (m.group(1), m.group(2)) if m else ("", "")
    if not m:
        return None, text
    cue = _norm(cue)
    short = len(cue) <= 10 if has_cjk(cue) else len(cue.split()) <= 4
    if not short or not _LETTER.search(cue):  # `3：…` is a numbered item, not a cue
        return None, text
    if cue.casefold() in generic or _POSSESSIVE.sub("", cue.casefold()) in generic:
        return None, body.strip()
    return cue, body.strip()


def text_language(text: str) -> str | None:
    """'zh' or 'en' when the text's own script says so, else None (too few letters to tell).

    A Chinese sentence full of English terms ("没有domain label的GDA") is Chinese.
    """
    cjk = sum(map(len, _CJK_RUN.findall(text))) if has_cjk(text) else 0
    if cjk >= 2:
        latin = len(_LATIN.findall(text))
        return "zh" if cjk * 12 >= latin else "en"
    return "en" if cjk == 0 and _LATIN.search(text) else None


def key_part(text: str, limit: int, memo: Memo | None = None) -> str:
    """The part of a bullet a card asks for: all of it when it fits in `limit` characters, else
    its leading sentences that fit (at least one; a sentence too long alone is cut at a clause)."""
    if _fits(text, limit, memo):
        return text
    for splitter in (_SENTENCE_END, _CLAUSE_END):
        kept = ""
        for piece in (p for p in splitter.split(text) if p.strip()):
            if kept and not _fits(kept + piece, limit, memo):
                break
            kept += piece
        if _fits(kept, limit, memo):
            return kept.strip()
        text = kept
    return text.strip()


def _fits(text: str, limit: int, memo: Memo | None) -> bool:
    """Whether `text` shows at most `limit` characters.

    Markdown shows no more characters than it is written with, but for `$x$` -> `\\(x\\)`: most
    texts are short enough to need no parse.
    """
    return len(text) + text.count("$") <= limit or len(plain_text(text, memo)) <= limit


def _title_words(text: str, stop: frozenset[str] = frozenset()) -> list[str]:
    """Latin words and Chinese character pairs ("自注意力" -> 自注, 注意, 意力)."""
    words = _LATIN_LOWER.findall(text.casefold())
    if stop:
        words = [t for t in words if t not in stop]
    if has_cjk(text):
        words += [run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(max(1, len(run) - 1))]
    return words


class _Title(NamedTuple):
    """A paper's title as its bullets are compared with it, tokenised once per paper."""

    text: str
    words: frozenset[str]
    """Its _title_words: what a bullet that only restates the title is made of."""
    names: tuple[str, ...]
    """The names in its main part (`LoRA`, `GPT-3`), casefolded: a reverse prompt naming one gives it away."""
    key_words: frozenset[str]
    """Its _title_words but the stop words: a reverse prompt holding half of them gives it away."""


def title_of(title: str, stop: frozenset[str]) -> _Title:
    """The title's words, names and key words (`stop`: the words that are not key words)."""
    names = _NAME.findall(title.partition(":")[0] if ":" in title else title)
    return _Title(title, frozenset(_title_words(title)), tuple(n.casefold() for n in names),
                  frozenset(_title_words(title, stop)))


def restates_title(text: str, title: _Title) -> bool:
    """A bullet most of whose words are the title's ("Principled disentanglement for DG")."""
    if len(text) > 2 * len(title.text) + 10:  # far longer than the title: it says more (and costs nothing)
        return False
    words = _title_words(text)
    return bool(words) and sum(map(title.words.__contains__, words)) >= ECHO * len(words)


def gives_title_away(prompt: str, title: _Title, stop: frozenset[str]) -> bool:
    """A reverse prompt that names the paper: a name from its title (`LoRA`, `GPT-3`), or half its words
    (`stop`: the words that don't count, as in title_of)."""
    low = prompt.casefold()
    if any(n in low for n in title.names):
        return True
    words = title.key_words
    return bool(words) and len(words & set(_title_words(prompt, stop))) * 2 >= len(words)


def leans_on_neighbours(text: str, w: Wording) -> bool:
    """Whether `w.note_order` holds in the text ("同上", "as above", "Then …").

    A case-blind search is slow in `re` (it can't skip ahead to a word's first letter), so most
    texts are lower-cased and searched by the same words as written (they are lower case): that
    finds the same when no character of the text folds onto an ASCII letter."""
    if w.note_order_lower is not None and FOLDS_TO_ASCII.search(text) is None:
        anywhere, opening = w.note_order_lower
        low = text.lower()
        return anywhere.search(low) is not None or opening.match(low) is not None
    return w.note_order.search(text) is not None


def _unfinished(text: str) -> bool:
    """A bullet that only leads into what follows ("相关视频如下：", "We can see that....") or says
    too little to ask about (one word: "Gist –", "TODO")."""
    plain = text.rstrip()
    if plain.endswith((":", "：", "...", "…", "–", "-")):
        return True
    cjk = sum(map(len, _CJK_RUN.findall(plain))) if has_cjk(plain) else 0
    return cjk < 2 and len(_LATIN_WORD.findall(plain)) < 2


def _is_abstract(b: Bullet, cue: str | None, w: Wording, heads: dict[str, bool]) -> bool:
    """A quoted abstract: led by `摘要：`/`Abstract:`, or under a heading or header line named so.

    `heads`: the paper's headings and header lines judged so far (its bullets share a few).
    """
    if cue is not None and cue.casefold() in w.abstract_keys:
        return True
    for s in (b.section, b.parent):
        if s and s not in heads:
            heads[s] = len(s) < 40 and _norm(s).strip("：:*# ").casefold() in w.abstract_keys
        if s and heads[s]:
            return True
    return False


def _bare(text: str) -> str:
    """Markdown's words without a parse (near enough for a hint): no link targets, tags or marks."""
    if _MARKS.search(text) is None:
        return " ".join(text.split())
    return " ".join(_MARKS.sub("", _LINK_TARGET.sub("]", _TAG.sub("", text))).split())


class _Hints:
    """The first words of a bullet (_bare), to tell its question from its siblings': never more
    than half of them at first (the question must not hold its answer), more as the size grows.
    The text is cut once (into characters for Chinese, else words): questions that open alike ask
    for several sizes."""

    __slots__ = ("units", "by_char", "half")

    def __init__(self, text: str, lang: str) -> None:
        self.by_char = lang == "zh" and has_cjk(text)
        self.units: str | list[str] = text if self.by_char else text.split(" ")
        self.half = max(1, len(self.units) // 2)

    def at(self, size: int) -> str:
        if self.by_char:
            return self.units[:min(HINT_CHARS * size, self.half * size)].rstrip("，,。；;：: ")
        return " ".join(self.units[:min(HINT_WORDS * size, self.half * size)]).rstrip(",.;: ")


def _unquote(text: str) -> str:
    """`> 不知道…` -> `不知道…`: the quote marks an opinion, the card shows it as such."""
    return _QUOTE.sub("", text).strip() if ">" in text else text.strip()


def _first_sentence(text: str) -> str:
    return next((p for p in _SENTENCE_END.split(text) if p.strip()), text).strip().rstrip("。；;，,.!?！？ ")


def _render(doc: Document, b: Bullet, memo: Memo, text: str | None = None) -> Rendered:
    return render_markdown(_unquote(b.text if text is None else text), doc.path, doc.folder, b.line, memo)


def _join(parts: Iterable[Rendered], html_text: str) -> Rendered:
    """Several rendered pieces as one: their HTML already placed in `html_text`, media and warnings merged."""
    parts = list(parts)
    return Rendered(html_text, tuple(dict.fromkeys(m for r in parts for m in r.media)),
                    tuple(dict.fromkeys(x for r in parts for x in r.warnings)))


def _bullet_list(items: list[Rendered]) -> Rendered:
    return _join(items, "<ul>" + "".join(f"<li>{r.html}</li>" for r in items) + "</ul>")


def _block(label: str, heading: str, body: Rendered) -> str:
    return f'<div class="nc-ctx nc-ctx-{label}"><div class="nc-ctx-label">{heading}</div>{body.html}</div>'


def _context(lists: dict[str, Rendered], t: dict[str, str], with_problem: bool) -> Rendered:
    """The back's context: the paper's problem (the why of a method), background, other notes,
    opinions, its abstract. `lists`: the rendered bullet list of each of those the paper has."""
    labels = [label for label in (("problem",) if with_problem else ()) + CONTEXT + ("restated", "abstract")
              if label in lists]
    if not labels:
        return Rendered(f'<div class="nc-none">{t["no_context"]}</div>')
    heading = {"restated": "other"}
    return _join([lists[label] for label in labels], "".join(
        _block(label, t[heading.get(label, label) + "_ctx"], lists[label]) for label in labels))


def _with_rest(ctx: Rendered, full: Rendered | None, t: dict[str, str]) -> Rendered:
    """The context, led by the whole bullet when the answer shows only its key part."""
    if full is None:
        return ctx
    body = ctx.html if 'class="nc-none"' not in ctx.html else ""
    return _join([full, ctx], _block("rest", t["rest_ctx"], full) + body)


def _has_content(html_text: str) -> bool:
    if "<" not in html_text:  # most answers: no tag to strip
        return bool(html_text.strip())
    return bool(_TAG.sub("", html_text).strip()) or "<img" in html_text


def source_path(doc: Document) -> str:
    """The file as named from its notes folder (`notes/a.md`), never an absolute path: the same
    wherever the build runs, so a rebuild from another folder changes no note."""
    return _source_path(doc.path, doc.folder)


@lru_cache(maxsize=64)  # one file's papers ask for it again and again
def _source_path(path_text: str, folder: str) -> str:
    path = PurePath(path_text.replace("\\", "/"))
    try:
        rel = path.relative_to(PurePath(folder.replace("\\", "/"))) if folder else path
    except ValueError:
        rel = path
    name = PurePath(folder).name if folder and rel != path else ""
    shown = (PurePath(name) / rel) if name and name not in (".", "..") else rel
    return shown.as_posix() if not shown.is_absolute() else shown.name


def _plan(bullets: list[Bullet], title: _Title, lang: str | None, w: Wording) -> tuple[list[_Ask], dict[str, list[Bullet]]]:
    """The paper's asked bullets (lang None: the paper's), and its context bullets by heading
    (label or 'abstract').

    Abstracts, bullets that restate the title and bullets that need their neighbours are context.
    """
    asks: list[_Ask] = []
    ctx: dict[str, list[Bullet]] = {}
    heads: dict[str, bool] = {}
    for b in bullets:
        cue, body = split_cue(b.text, w.generic_keys)
        if _is_abstract(b, cue, w, heads):
            ctx.setdefault("abstract", []).append(b)
        elif b.label not in ASKED:
            ctx.setdefault(b.label if b.label in CONTEXT else "other", []).append(b)
        elif leans_on_neighbours(body, w) or restates_title(body, title) or _unfinished(body):
            ctx.setdefault("restated", []).append(b)  # shown as "other", never a summary
        else:
            asks.append(_Ask(b, b.label, cue, body, lang or text_language(b.text)))
            if b.label == "problem":
                ctx.setdefault("problem", []).append(b)
    return asks, ctx


def _questions(asks: list[_Ask], title: str, w: Wording, memo: Memo) -> list[str | None]:
    """One question per asked bullet, no two alike: plain when a kind has one card (or a cue is the
    paper's only one), else with the bullet's first words, more of them while two questions agree.
    None for a bullet whose words are a sibling's to the end (nothing tells them apart)."""
    kinds = Counter(a.kind for a in asks)
    cues = Counter(a.cue for a in asks if a.cue)
    hints: dict[int, _Hints] = {}  # the words of each bullet that needed a hint, cut once
    # each bullet's wording (its language's templates, its cue as HTML), looked up once: questions
    # that open alike are worded again for every size of hint they try
    forms = [(w.languages[a.lang], html.escape(a.cue) if a.cue else None) for a in asks]

    def word(i: int, size: int) -> str:
        t, cue = forms[i]
        if size == 0:
            return t["cued"].format(title=title, cue=cue) if cue else t[asks[i].kind].format(title=title)
        if i not in hints:
            hints[i] = _Hints(_bare(_unquote(asks[i].body)), asks[i].lang)
        hint = html.escape(hints[i].at(size))
        return (t["cued_hint"].format(title=title, cue=cue, hint=hint) if cue
                else t[asks[i].kind + "_hint"].format(title=title, hint=hint))

    sizes = [0 if (cues[a.cue] == 1 if a.cue else kinds[a.kind] == 1) else 1 for a in asks]
    questions = [word(i, n) for i, n in enumerate(sizes)]
    counts = Counter(questions)
    clash = [i for i, q in enumerate(questions) if counts[q] > 1]
    for _ in range(HINT_ROUNDS):
        if not clash:
            break
        # only the clashing questions change, so the counts are moved for them alone
        for i in clash:
            counts[questions[i]] -= 1
            sizes[i] = 2 * sizes[i] or 1  # doubling: bullets that open alike take few rounds to tell apart
            questions[i] = word(i, sizes[i])
            counts[questions[i]] += 1
        clash = [i for i, q in enumerate(questions) if counts[q] > 1]
    seen: set[str] = set()
    out: list[str | None] = []
    for q in questions:
        out.append(None if q in seen else q)
        seen.add(q)
    return out


def _paper_cards(doc: Document, paper: Paper, config: Config, w: Wording, memo: Memo,
                 folders: tuple[str, ...] | None = None) -> tuple[list[Card], list[str]]:
    title = _norm(paper.title) or _norm(paper.gloss) or f"{doc.title}:{paper.line}"
    bullets = list(paper.bullets)  # merge_repeats dropped blank and repeated ones
    if not bullets:
        return [], []
    fixed = None if config.card_language == "auto" else config.card_language
    title_words = title_of(title, w.title_stop_words)
    asks, ctx_bullets = _plan(bullets, title_words, fixed, w)
    own = [b for label, bs in ctx_bullets.items() if label != "abstract" for b in bs] + [a.bullet for a in asks]

    @cache
    def paper_lang() -> str:
        """The paper's language, for cards whose own text does not tell (most bullets do: then it
        is never worked out). It is its reader's: a quoted abstract does not count."""
        return fixed or language([b.text for b in (own or bullets)])

    asks = [a if a.lang else a._replace(lang=paper_lang()) for a in asks]
    key = paper_key(title) or f"line{paper.line}"
    where = html.escape(source_path(doc)) + ":"  # a file name is text, not markup
    topics = paper_topics(paper, doc, config, folders)
    q_title = html.escape(title)
    lists = {label: _bullet_list([_render(doc, b, memo) for b in bs]) for label, bs in ctx_bullets.items()}
    contexts: dict[tuple[str, bool], Rendered] = {}

    def context(lang: str, with_problem: bool) -> Rendered:
        k = (lang, with_problem and "problem" in lists)
        if k not in contexts:
            contexts[k] = _context(lists, w.languages[lang], k[1])
        return contexts[k]

    made: dict[str, dict] = {}

    def common(lang: str) -> dict:
        """The fields every card of the paper shares, in one language."""
        if lang in made:
            return made[lang]
        t = w.languages[lang]
        made[lang] = dict(deck=deck_name(config, doc, paper, topics), title=q_title, paper_key=key,
                    meta=html.escape(" · ".join(str(x) for x in (paper.venue, paper.year) if x) or t["no_meta"]),
                    tags=paper_tags(paper, topics, config, PurePath(doc.path).stem), extra=_link(paper, title, t))
        return made[lang]

    warnings: list[str] = []
    cards: list[Card] = []
    for a, question in zip(asks, _questions(asks, q_title, w, memo)):
        basis = _norm(a.bullet.text)
        slot = text_slot(basis)  # the slot identity.assign_slots gives a bullet new to the state
        t = w.languages[a.lang]
        part = key_part(a.body, config.max_answer_chars, memo)
        answer = _render(doc, a.bullet, memo, part)
        warnings += answer.warnings
        if not _has_content(answer.html) or question is None:
            if question is not None:
                warnings.append(f"{doc.path}:{a.bullet.line}: warning: bullet has nothing to show; no card made")
            continue
        full = _render(doc, a.bullet, memo, a.body) if part != a.body.strip() else None
        ctx = _with_rest(context(a.lang, a.kind != "problem"), full, t)
        warnings += ctx.warnings
        shown = answer.html + (' <span class="nc-more">…</span>' if full is not None else "")
        cards.append(Card(guid="", kind=a.kind, question=question, answer=shown,
                          context=ctx.html, source=f"{where}{a.bullet.line}", slot=str(slot),
                          basis=basis, media=_join([answer, ctx], "").media if answer.media else ctx.media,
                          **common(a.lang)))
    if config.abstract_cards and "abstract" in ctx_bullets:
        cards += _abstract_card(doc, ctx_bullets["abstract"], paper_lang(), q_title, where, config, w, memo,
                                common(paper_lang()))
    if not cards:  # only opinions/background: one card, so the paper is still in Anki
        told = [b for label in CONTEXT for b in ctx_bullets.get(label, ())]
        if told:
            cards.append(_summary_card(doc, told, paper, paper_lang(), q_title, where, config, w, memo,
                                       common(paper_lang())))
    elif config.reverse_cards and asks:
        cards += _reverse_card(doc, asks, title_words, paper, where, w, memo, context, common)
    return cards, list(dict.fromkeys([*warnings, *(x for r in lists.values() for x in r.warnings)]))


def _summary_card(doc: Document, told: list[Bullet], paper: Paper, lang: str, q_title: str, where: str,
                  config: Config, w: Wording, memo: Memo, common: dict) -> Card:
    """What a paper with only background and opinions gets: its notes, as many as fit, the rest on the back."""
    t = w.languages[lang]
    items = [_render(doc, b, memo) for b in told]
    shown, size = [], 0
    for b, r in zip(told, items):
        size += len(plain_text(_unquote(b.text), memo))
        if shown and size > config.max_answer_chars:
            break
        shown.append(r)
    answer = _bullet_list(shown)
    rest = _bullet_list(items) if len(shown) < len(items) else None
    ctx = _with_rest(Rendered(f'<div class="nc-none">{t["no_context"]}</div>'), rest, t)
    return Card(guid="", kind="summary", question=t["summary"].format(title=q_title),
                answer=answer.html, context=ctx.html, source=f"{where}{paper.line}",
                media=_join([answer, ctx], "").media, basis=_norm(" ".join(b.text for b in told)), **common)


def _abstract_card(doc: Document, abstract: list[Bullet], lang: str, q_title: str, where: str,
                   config: Config, w: Wording, memo: Memo, common: dict) -> list[Card]:
    """`abstract_cards: true`: one card per paper, the abstract's key sentences, the whole of it on the back."""
    t = w.languages[lang]
    b = abstract[0]
    body = split_cue(b.text, frozenset())[1]  # without its `摘要：` key
    part = key_part(body, config.max_answer_chars, memo)
    answer = _render(doc, b, memo, part)
    if not _has_content(answer.html):
        return []
    full = _render(doc, b, memo, body) if part != body.strip() else None
    ctx = _with_rest(Rendered(""), full, t) if full else Rendered(f'<div class="nc-none">{t["no_context"]}</div>')
    return [Card(guid="", kind="abstract", question=t["abstract"].format(title=q_title),
                 answer=answer.html, context=ctx.html, source=f"{where}{b.line}", basis=_norm(b.text),
                 media=_join([answer, ctx], "").media, **common)]


def _reverse_card(doc: Document, asks: list[_Ask], title: _Title, paper: Paper, where: str, w: Wording,
                  memo: Memo, context: Callable[[str, bool], Rendered], common: Callable[[str], dict]) -> list[Card]:
    """"Which paper …?" from the first asked bullet whose whole first sentence is short and does not
    give the title away; the bullet in full is on the back."""
    for a in sorted(asks, key=lambda a: ASKED.index(a.kind)):
        said = plain_text(_unquote(a.body), memo)
        prompt = _first_sentence(said)
        low, high = REVERSE_CUE_CHARS
        short = len(prompt) < low if has_cjk(prompt) else len(_LATIN_TOKEN.findall(prompt)) < 4
        if short or len(prompt) > high or gives_title_away(prompt, title, w.title_stop_words):
            continue
        t = w.languages[a.lang]
        whole = said.rstrip("。；;，,.!?！？ ") != prompt
        ctx = _with_rest(context(a.lang, True), _render(doc, a.bullet, memo, a.body) if whole else None, t)
        return [Card(guid="", kind="reverse",
                     question=t[f"reverse_{a.kind}"].format(cue=html.escape(prompt)), answer=html.escape(title.text),
                     context=ctx.html, source=f"{where}{paper.line}", media=ctx.media,
                     basis=_norm(a.bullet.text), **common(a.lang))]
    return []


def _link(paper: Paper, title: str, w: dict[str, str]) -> str:
    """The paper's own link when the notes give one, else a scholar search for its title."""
    if paper.link.startswith(("http://", "https://")):
        return f'<a href="{html.escape(paper.link)}">{w["link"]}</a>'
    url = "https://scholar.google.com/scholar?q=" + quote_plus(title)
    return f'<a href="{html.escape(url)}">{w["search"]}</a>'
