"""Document -> list[Card]: the card-design stage (questions, answers, context, tags, deck, guid).

Card design (the rules for formulating knowledge: minimum information, one idea per card,
cues and context):
- Each problem, method and finding bullet is its own card. A bullet longer than
  max_answer_chars is split at sentence ends into numbered parts. Short bullets are not grouped:
  a group's identity would depend on its neighbours' lengths, so one edit would reshuffle cards.
- The question names the paper; a method/finding bullet that opens with a short key
  (`AIFT的生成：…`) asks about that key instead of "method (2/5)": a cue, not a number.
- Background, "other" bullets and the reader's opinions are context on the back, never
  questions; so is the paper's problem on its method/finding cards (the why helps recall).
- A reverse card asks which paper addresses the (first sentence of the) problem.

Guid = hash(paper identity, kind, slot), never the answer, so editing a bullet updates the
note in Anki. make_cards() numbers slots in note order; carry_identity() (run by write.py with
the previous build's state) keeps each bullet's slot through rewording, insertion, reordering
and deletion, and a paper's identity through a retitle.
"""
from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import PurePath
from urllib.parse import quote_plus

from notecards.config import Config
from notecards.extract import paper_key
from notecards.model import Bullet, Card, Document, Paper
from notecards.render import Rendered, plain_text, render_markdown
from notecards.segment import has_cjk, tokens

ASKED = ("problem", "method", "finding")
"""Labels that become questions, in the order their cards are studied."""
CONTEXT = ("background", "other", "opinion")
"""Labels shown on the back of a paper's cards."""

WORDING = {
    "zh": {
        "problem": "《{title}》要解决什么问题{n}？",
        "method": "《{title}》的方法{n}是什么？",
        "finding": "《{title}》有什么发现{n}？",
        "cued": "《{title}》中的「{cue}」是怎样的{n}？",
        "reverse_problem": "哪篇论文要解决这个问题：「{cue}」？",
        "reverse_method": "哪篇论文提出了这个方法：「{cue}」？",
        "reverse_finding": "哪篇论文有这个发现：「{cue}」？",
        "summary": "关于《{title}》，你的笔记记下了什么？",
        "n": "（{i}/{n}）",
        "problem_ctx": "问题", "background_ctx": "背景", "other_ctx": "其他", "opinion_ctx": "我的看法",
        "no_context": "（笔记里没有更多内容）",
        "no_meta": "未注明会议和年份",
        "link": "论文链接",
        "search": "在 Google Scholar 搜索",
    },
    "en": {
        "problem": "What problem does “{title}” address{n}?",
        "method": "What is the method of “{title}”{n}?",
        "finding": "What did “{title}” find{n}?",
        "cued": "In “{title}”, what is “{cue}”{n}?",
        "reverse_problem": "Which paper addresses this problem: “{cue}”?",
        "reverse_method": "Which paper proposes this: “{cue}”?",
        "reverse_finding": "Which paper found this: “{cue}”?",
        "summary": "What do your notes say about “{title}”?",
        "n": " ({i}/{n})",
        "problem_ctx": "Problem", "background_ctx": "Background", "other_ctx": "Also noted",
        "opinion_ctx": "My take",
        "no_context": "(nothing more in the notes)",
        "no_meta": "venue and year not stated",
        "link": "Paper link",
        "search": "Search Google Scholar",
    },
}

# A leading `Key：` that names the label itself is no cue ("方法：…" asks nothing new).
_GENERIC_KEYS = frozenset("""方法 做法 思路 发现 结果 结论 实验 实验结果 实验效果 效果 贡献 创新点 问题 动机
    method methods approach idea finding findings result results outcome conclusion contribution""".split())
_KEY = re.compile(r"\A\s*(?:\*\*)?([^：:。！？!?\n*$`\[\]()<>]{1,30}?)(?:\*\*)?\s*[：:]\s*(?!//)(\S.*)\Z", re.S)
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)(?=\s)")
_QUOTE = re.compile(r"^(?:[ \t]*>[ \t]?)+", re.M)
REVERSE_CUE_CHARS = 100
SIMILAR = 0.5
"""A reworded bullet keeps its card when it is at least this similar (difflib ratio) to the old text."""
SAME_PAPER = 0.8
"""A retitled paper keeps its cards when its title key is this similar, or this share of bullets is unchanged."""


@dataclass(frozen=True, slots=True)
class CardBatch:
    cards: tuple[Card, ...]
    warnings: tuple[str, ...] = ()
    """`path:line: warning: …` for images left out and papers that gave no card."""


def make_cards(doc: Document, config: Config) -> list[Card]:
    """The cards of one notes file, in study order (paper by paper, problem first)."""
    return list(build_cards(doc, config).cards)


def build_cards(doc: Document, config: Config) -> CardBatch:
    """make_cards() plus the warnings met on the way."""
    lang = doc.lang if config.card_language == "auto" else config.card_language
    cards: list[Card] = []
    warnings: list[str] = []
    for paper in merge_repeats(doc.papers):
        made, warned = _paper_cards(doc, paper, config, WORDING.get(lang, WORDING["en"]))
        cards.extend(made)
        warnings.extend(warned)
    return CardBatch(tuple(cards), tuple(dict.fromkeys(warnings)))


# --- papers -----------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


def merge_repeats(papers: Iterable[Paper]) -> tuple[Paper, ...]:
    """Papers listed more than once (same paper_key) -> one; bullets merged, each text once."""
    merged: dict[str, Paper] = {}
    for p in papers:
        key = paper_key(p.title) or f"line{p.line}"
        first = merged.get(key) or replace(p, bullets=())
        seen = {_norm(b.text) for b in first.bullets}
        extra = []
        for b in p.bullets:
            if _norm(b.text) and _norm(b.text) not in seen:
                seen.add(_norm(b.text))
                extra.append(b)
        years = [y for y in (first.year, p.year) if y]
        merged[key] = replace(first, venue=first.venue or p.venue, year=min(years) if years else None,
                              bullets=first.bullets + tuple(extra),
                              topics=tuple(dict.fromkeys(first.topics + p.topics)), link=first.link or p.link)
    return tuple(merged.values())


def paper_topics(paper: Paper, doc: Document, config: Config) -> tuple[str, ...]:
    """Topics written in the notes, the folders the file sits in, then lexicon topics the text uses."""
    found = list(paper.topics) + list(doc.topics) + list(_folder_topics(doc))
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
    v = re.sub(r"\s+", "_", str(value).strip())
    v = re.sub(r":{2,}", ":", v).strip(":_")
    return f"{prefix}::{v}" if v else None


def paper_tags(paper: Paper, topics: tuple[str, ...], config: Config) -> tuple[str, ...]:
    p = config.tag_prefixes
    tags = [tag(p["year"], paper.year) if paper.year else None,
            tag(p["venue"], paper.venue) if paper.venue else None,
            *(tag(p["topic"], t) for t in topics)]
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


def card_guid(ident: str, kind: str, slot: str) -> str:
    """What identifies a card: the paper, the kind, the slot. Never the answer text."""
    return hashlib.sha256(f"notecards\x1f{ident}\x1f{kind}\x1f{slot}".encode()).hexdigest()[:20]


# --- one paper's cards -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    """One answer-sized piece of an asked bullet."""

    bullet: Bullet
    cue: str | None
    text: str
    part: int
    parts: int
    slot: int


def split_cue(text: str) -> tuple[str | None, str]:
    """`AIFT的生成：首先…` -> ('AIFT的生成', '首先…'); a long or generic lead is no cue."""
    m = _KEY.match(text)
    if not m:
        return None, text
    cue = _norm(m.group(1))
    short = len(cue) <= 10 if has_cjk(cue) else len(cue.split()) <= 4
    if not short or not re.search(r"\w", cue):
        return None, text
    if cue.casefold() in _GENERIC_KEYS:
        return None, m.group(2).strip()
    return cue, m.group(2).strip()


def split_long(text: str, limit: int) -> list[str]:
    """A bullet over `limit` characters -> parts that end at sentence ends, each under the limit
    unless one sentence alone is longer."""
    if len(plain_text(text)) <= limit:
        return [text]
    parts, cur = [], ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        if cur and len(plain_text(cur + sentence)) > limit:
            parts.append(cur.strip())
            cur = ""
        cur += sentence
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _units(bullets: list[Bullet], kind: str, limit: int) -> list[_Unit]:
    units = []
    for slot, b in enumerate(bullets, 1):
        cue, body = split_cue(b.text) if kind != "problem" else (None, b.text)
        pieces = split_long(body, limit)
        units += [_Unit(b, cue, piece, k, len(pieces), slot) for k, piece in enumerate(pieces, 1)]
    return units


def _unquote(text: str) -> str:
    """`> 不知道…` -> `不知道…`: the quote marks an opinion, the card shows it as such."""
    return _QUOTE.sub("", text).strip()


def _first_sentence(text: str) -> str:
    s = next((p for p in _SENTENCE_END.split(text) if p.strip()), text).strip()
    s = s.rstrip("。；;，,.!?！？ ")
    return s if len(s) <= REVERSE_CUE_CHARS else s[:REVERSE_CUE_CHARS - 1].rstrip() + "…"


def _render(doc: Document, b: Bullet, text: str | None = None) -> Rendered:
    return render_markdown(_unquote(b.text if text is None else text), doc.path, doc.folder, b.line)


def _join(parts: Iterable[Rendered], html_text: str) -> Rendered:
    """Several rendered pieces as one: their HTML already placed in `html_text`, media and warnings merged."""
    parts = list(parts)
    return Rendered(html_text, tuple(dict.fromkeys(m for r in parts for m in r.media)),
                    tuple(dict.fromkeys(x for r in parts for x in r.warnings)))


def _bullet_list(doc: Document, bullets: Iterable[Bullet]) -> Rendered:
    items = [_render(doc, b) for b in bullets]
    return _join(items, "<ul>" + "".join(f"<li>{r.html}</li>" for r in items) + "</ul>")


def _context(doc: Document, by_label: dict[str, list[Bullet]], w: dict[str, str], with_problem: bool) -> Rendered:
    """The back's context: the paper's problem (the why of a method), background, other notes, opinions."""
    labels = [label for label in (("problem",) if with_problem else ()) + CONTEXT if by_label[label]]
    if not labels:
        return Rendered(f'<div class="nc-none">{w["no_context"]}</div>')
    lists = [_bullet_list(doc, by_label[label]) for label in labels]
    return _join(lists, "".join(
        f'<div class="nc-ctx nc-ctx-{label}"><div class="nc-ctx-label">{w[label + "_ctx"]}</div>{r.html}</div>'
        for label, r in zip(labels, lists)))


def _question(w: dict[str, str], kind: str, title: str, u: _Unit, i: int, n: int, asked: set[str]) -> str:
    """The kind's question, numbered when the paper has several; a key (cue) replaces the number."""
    numbered = w["n"].format(i=i, n=n) if n > 1 else ""
    if not u.cue:
        return w[kind].format(title=title, n=numbered)
    q = w["cued"].format(title=title, cue=html.escape(u.cue), n=w["n"].format(i=u.part, n=u.parts) if u.parts > 1 else "")
    # the same key twice in one paper: the number tells them apart (Anki flags duplicate first fields)
    return w["cued"].format(title=title, cue=html.escape(u.cue), n=numbered) if q in asked else q


def _has_content(html_text: str) -> bool:
    return bool(re.sub(r"<[^>]+>", "", html_text).strip()) or "<img" in html_text


def _paper_cards(doc: Document, paper: Paper, config: Config, w: dict[str, str]) -> tuple[list[Card], list[str]]:
    title = _norm(paper.title) or _norm(paper.gloss) or f"{doc.title}:{paper.line}"
    bullets = list(paper.bullets)  # merge_repeats dropped blank and repeated ones
    if not bullets:
        return [], [f"{doc.path}:{paper.line}: warning: '{title}' has no notes under it; no cards made"]
    key = paper_key(title) or f"line{paper.line}"
    path = html.escape(doc.path.replace("\\", "/"))  # a file name is text, not markup
    by_label = {label: [b for b in bullets if b.label == label] for label in ASKED + CONTEXT}
    topics = paper_topics(paper, doc, config)
    q_title = html.escape(title)
    common = dict(deck=deck_name(config, doc, paper, topics), title=q_title, paper_key=key,
                  meta=html.escape(" · ".join(str(x) for x in (paper.venue, paper.year) if x) or w["no_meta"]),
                  tags=paper_tags(paper, topics, config), extra=_link(paper, title, w))
    ctx_without_problem = _context(doc, by_label, w, with_problem=False)
    ctx_with_problem = _context(doc, by_label, w, with_problem=True)
    warnings = [*ctx_without_problem.warnings, *ctx_with_problem.warnings]

    cards: list[Card] = []
    for kind in ASKED:
        ctx = ctx_without_problem if kind == "problem" else ctx_with_problem
        units = _units(by_label[kind], kind, config.max_answer_chars)
        asked: set[str] = set()
        for i, u in enumerate(units, 1):
            answer = _render(doc, u.bullet, u.text)
            warnings += answer.warnings
            if not _has_content(answer.html):
                warnings.append(f"{doc.path}:{u.bullet.line}: warning: bullet has nothing to show; no card made")
                continue
            question = _question(w, kind, q_title, u, i, len(units), asked)
            asked.add(question)
            slot = f"{u.slot}.{u.part}" if u.part > 1 else str(u.slot)
            cards.append(Card(guid=card_guid(key, kind, slot), kind=kind, question=question, answer=answer.html,
                              context=ctx.html, source=html.escape(f"{path}:{u.bullet.line}"), slot=slot,
                              basis=_norm(u.bullet.text), media=_join([answer, ctx], "").media, **common))
    if not cards:  # only opinions/background: one card, so the paper is still in Anki
        answer = _bullet_list(doc, bullets)
        warnings += answer.warnings
        cards.append(Card(guid=card_guid(key, "summary", "1"), kind="summary",
                          question=w["summary"].format(title=q_title), answer=answer.html,
                          context=f'<div class="nc-none">{w["no_context"]}</div>',
                          source=html.escape(f"{path}:{paper.line}"), media=answer.media, **common))
    elif config.reverse_cards:
        cue_kind, cue_bullet = next((k, by_label[k][0]) for k in ASKED if by_label[k])
        cue = _first_sentence(plain_text(_unquote(split_cue(cue_bullet.text)[1])))
        if cue:
            cards.append(Card(guid=card_guid(key, "reverse", "1"), kind="reverse",
                              question=w[f"reverse_{cue_kind}"].format(cue=html.escape(cue)),
                              answer=q_title, context=ctx_with_problem.html, source=html.escape(f"{path}:{paper.line}"),
                              media=ctx_with_problem.media, **common))
    return cards, warnings


def _link(paper: Paper, title: str, w: dict[str, str]) -> str:
    """The paper's own link when the notes give one, else a scholar search for its title."""
    if paper.link.startswith(("http://", "https://")):
        return f'<a href="{html.escape(paper.link)}">{w["link"]}</a>'
    url = "https://scholar.google.com/scholar?q=" + quote_plus(title)
    return f'<a href="{html.escape(url)}">{w["search"]}</a>'


# --- identity across builds -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaperIdentity:
    """What the previous build knew about one paper, so its cards keep their guids."""

    ident: str
    """The key the paper's guids are made from: its paper_key when it was first built."""
    key: str
    """paper_key of the title it had in that build."""
    title: str
    slots: tuple[tuple[str, int, str], ...] = ()
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


def carry_identity(cards: Iterable[Card], previous: Mapping[str, PaperIdentity]) -> Carried:
    """Re-key cards so each keeps the guid it had in the previous build.

    Why a slot from a matching step and not from the text or the position: a key made of the
    bullet's words breaks when it is reworded, an index breaks when a bullet is inserted, deleted
    or moved. So each asked bullet owns a slot number, kept in the output's state file: an
    unchanged bullet keeps its slot, a reworded one takes the slot of the most similar old
    bullet (ratio >= SIMILAR), a new one gets a never-used number. With no previous build the
    slots are 1..n in note order, as make_cards() numbers them. A retitled paper (typo fixed,
    a word changed) keeps its identity when its title key is close or most bullets are unchanged.
    Cards that end up with the same guid (the same paper in two notes files) are kept once.
    Papers that left are reported once and remembered (live=False).
    """
    groups: dict[str, list[Card]] = {}
    for c in cards:
        groups.setdefault(c.paper_key, []).append(c)
    matched = _match_papers(groups, previous)
    used: set[str] = set()
    seen_guids: set[str] = set()
    out: list[Card] = []
    papers: list[PaperIdentity] = []
    for key, group in groups.items():
        prev = matched.get(key)
        ident = prev.ident if prev else key
        while ident in used:  # a new paper named like an old one that was retitled away
            ident += "~"
        used.add(ident)
        slots, next_slot = _match_slots(group, prev)
        for c in group:
            slot = c.slot
            if c.kind in ASKED:
                part = c.slot.partition(".")[2]
                slot = str(slots[(c.kind, c.basis)]) + (f".{part}" if part else "")
            guid = card_guid(ident, c.kind, slot)
            if guid not in seen_guids:
                seen_guids.add(guid)
                out.append(c if (c.slot, c.guid) == (slot, guid) else replace(c, slot=slot, guid=guid))
        papers.append(PaperIdentity(
            ident=ident, key=key, title=html.unescape(group[0].title),
            slots=tuple(sorted((k, n, b) for (k, b), n in slots.items())),
            next_slot=tuple(sorted(next_slot.items()))))
    kept = {p.ident for p in matched.values()}
    gone = [p for p in previous.values() if p.ident not in kept]
    removed = tuple(sorted(p.title for p in gone if p.live))
    return Carried(tuple(out), tuple(papers) + tuple(replace(p, live=False) for p in gone), removed)


def _bases(group: Iterable[Card]) -> set[str]:
    return {c.basis for c in group if c.kind in ASKED}


def _match_papers(groups: Mapping[str, list[Card]], previous: Mapping[str, PaperIdentity]) -> dict[str, PaperIdentity]:
    """paper_key now -> the previous paper it is: same key, else a close title or the same bullets."""
    by_key = {p.key: p for p in previous.values()}
    matched = {k: by_key[k] for k in groups if k in by_key}
    taken = {p.ident for p in matched.values()}  # a set: comparing whole identities is quadratic
    left_old = [p for p in previous.values() if p.ident not in taken]
    scored = []
    for k in (k for k in groups if k not in matched):
        new = _bases(groups[k])
        for p in left_old:
            old = {b for _, _, b in p.slots}
            title = SequenceMatcher(None, k, p.key, autojunk=False).ratio()
            shared = len(new & old) / min(len(new), len(old)) if new and old else 0.0
            score = max(title, shared)
            if score >= SAME_PAPER:
                scored.append((score, k, p.ident, p))
    for _, k, _, p in sorted(scored, key=lambda s: (-s[0], s[1], s[2])):
        if k not in matched and p.ident not in taken:
            matched[k] = p
            taken.add(p.ident)
    return matched


def _match_slots(group: list[Card], prev: PaperIdentity | None) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """(kind, bullet text) -> slot for every asked bullet, and the next free slot per kind."""
    slots: dict[tuple[str, str], int] = {}
    next_slot: dict[str, int] = dict(prev.next_slot) if prev else {}
    for kind in ASKED:
        new = list(dict.fromkeys(c.basis for c in group if c.kind == kind))
        old = {n: b for k, n, b in (prev.slots if prev else ()) if k == kind}
        assigned, next_slot[kind] = assign_slots(new, old, next_slot.get(kind, 1))
        slots.update(((kind, b), n) for b, n in assigned.items())
    return slots, {k: n for k, n in next_slot.items() if n > 1}


def assign_slots(new: list[str], old: Mapping[int, str], first_free: int = 1) -> tuple[dict[str, int], int]:
    """Bullet texts now + {slot: text} before -> {text: slot}, next free slot.

    >>> assign_slots(["b", "a2", "c"], {1: "a", 2: "b"}, 3)
    ({'b': 2, 'a2': 1, 'c': 3}, 4)
    """
    free = dict(old)
    out: dict[str, int] = {}
    for text in new:  # unchanged bullets, wherever they moved
        n = next((n for n, t in free.items() if t == text), None)
        if n is not None:
            out[text] = n
            del free[n]
    pairs = sorted(((SequenceMatcher(None, text, t, autojunk=False).ratio(), i, n)
                    for i, text in enumerate(new) if text not in out for n, t in free.items()),
                   key=lambda p: (-p[0], p[1], p[2]))
    for score, i, n in pairs:  # reworded bullets take the most similar old one's slot
        if score >= SIMILAR and new[i] not in out and n in free:
            out[new[i]] = n
            del free[n]
    nxt = max([first_free, *(n + 1 for n in old)])
    for text in new:  # new bullets: a slot no earlier bullet ever had
        if text not in out:
            out[text] = nxt
            nxt += 1
    return {t: out[t] for t in new}, nxt
