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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import NamedTuple
from urllib.parse import quote_plus

from notecards.config import Config
from notecards.identity import paper_key, text_slot
from notecards.model import ASKED, Bullet, Card, Document, Paper
from notecards.render import Memo, Rendered, plain_text, render_markdown
from notecards.segment import has_cjk, tokens

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
_WORD = re.compile(r"\w")
_TAG = re.compile(r"<[^>]+>")
REVERSE_CUE_CHARS = 100


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
    folders = _folder_topics(doc)
    for paper in merge_repeats(doc.papers):
        # a memo per paper: its texts recur in its cards (context, cue splits); across papers
        # real notes hardly repeat a line, and a longer-lived memo would only flatter the benchmark
        made, warned = _paper_cards(doc, paper, config, WORDING.get(lang, WORDING["en"]), Memo(), folders)
        cards.extend(made)
        warnings.extend(warned)
    return CardBatch(tuple(cards), tuple(dict.fromkeys(warnings)))


# --- papers -----------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


def merge_repeats(papers: Iterable[Paper]) -> tuple[Paper, ...]:
    """Papers listed more than once (same paper_key) -> one; bullets merged, each text once."""
    listings: dict[str, list[Paper]] = {}
    for p in papers:
        listings.setdefault(paper_key(p.title) or f"line{p.line}", []).append(p)
    return tuple(map(_merge, listings.values()))


def _merge(listings: list[Paper]) -> Paper:
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


def source_path(doc: Document) -> str:
    """`/home/me/notes/nlp/a.md` in the notes folder `/home/me/notes` -> `notes/nlp/a.md`: the same
    whatever folder the build runs from, so a note's Source (and so the note) does not change."""
    try:
        rel = PurePath(doc.path).relative_to(PurePath(doc.folder).parent)
    except ValueError:
        rel = PurePath(doc.path)
    return rel.as_posix()


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


# --- one paper's cards -----------------------------------------------------------------------


class _Unit(NamedTuple):
    """One answer-sized piece of an asked bullet (a tuple: there is one per card, and tuples build fast)."""

    bullet: Bullet
    cue: str | None
    text: str
    part: int
    parts: int
    slot: str


def split_cue(text: str) -> tuple[str | None, str]:
    """`AIFT的生成：首先…` -> ('AIFT的生成', '首先…'); a long or generic lead is no cue."""
    m = _KEY.match(text) if ":" in text or "：" in text else None  # most bullets have no colon
    if not m:
        return None, text
    cue = _norm(m.group(1))
    short = len(cue) <= 10 if has_cjk(cue) else len(cue.split()) <= 4
    if not short or not _WORD.search(cue):
        return None, text
    if cue.casefold() in _GENERIC_KEYS:
        return None, m.group(2).strip()
    return cue, m.group(2).strip()


def split_long(text: str, limit: int, memo: Memo | None = None) -> list[str]:
    """A bullet over `limit` characters -> parts that end at sentence ends, each under the limit
    unless one sentence alone is longer. `memo`: the paper's Markdown rendered so far."""
    if _fits(text, limit, memo):
        return [text]
    parts, cur = [], ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        if cur and not _fits(cur + sentence, limit, memo):
            parts.append(cur.strip())
            cur = ""
        cur += sentence
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _fits(text: str, limit: int, memo: Memo | None) -> bool:
    """Whether `text` shows at most `limit` characters.

    Markdown shows no more characters than it is written with, but for `$x$` -> `\\(x\\)`: most
    texts are short enough to need no parse.
    """
    return len(text) + text.count("$") <= limit or len(plain_text(text, memo)) <= limit


def _units(bullets: list[Bullet], kind: str, limit: int, memo: Memo | None = None) -> list[_Unit]:
    units = []
    for b in bullets:
        slot = text_slot(_norm(b.text))  # the slot identity.assign_slots gives a bullet new to the state
        cue, body = split_cue(b.text) if kind != "problem" else (None, b.text)
        pieces = split_long(body, limit, memo)
        units += [_Unit(b, cue, piece, k, len(pieces), slot) for k, piece in enumerate(pieces, 1)]
    return units


def _unquote(text: str) -> str:
    """`> 不知道…` -> `不知道…`: the quote marks an opinion, the card shows it as such."""
    return _QUOTE.sub("", text).strip() if ">" in text else text.strip()


def _first_sentence(text: str) -> str:
    s = next((p for p in _SENTENCE_END.split(text) if p.strip()), text).strip()
    s = s.rstrip("。；;，,.!?！？ ")
    return s if len(s) <= REVERSE_CUE_CHARS else s[:REVERSE_CUE_CHARS - 1].rstrip() + "…"


def _render(doc: Document, b: Bullet, memo: Memo, text: str | None = None) -> Rendered:
    return render_markdown(_unquote(b.text if text is None else text), doc.path, doc.folder, b.line, memo)


def _join(parts: Iterable[Rendered], html_text: str) -> Rendered:
    """Several rendered pieces as one: their HTML already placed in `html_text`, media and warnings merged."""
    parts = list(parts)
    return Rendered(html_text, tuple(dict.fromkeys(m for r in parts for m in r.media)),
                    tuple(dict.fromkeys(x for r in parts for x in r.warnings)))


def _bullet_list(items: list[Rendered]) -> Rendered:
    return _join(items, "<ul>" + "".join(f"<li>{r.html}</li>" for r in items) + "</ul>")


def _context(lists: dict[str, Rendered], w: dict[str, str], with_problem: bool) -> Rendered:
    """The back's context: the paper's problem (the why of a method), background, other notes, opinions.

    `lists`: the rendered bullet list of each of those labels the paper has.
    """
    labels = [label for label in (("problem",) if with_problem else ()) + CONTEXT if label in lists]
    if not labels:
        return Rendered(f'<div class="nc-none">{w["no_context"]}</div>')
    return _join([lists[label] for label in labels], "".join(
        f'<div class="nc-ctx nc-ctx-{label}"><div class="nc-ctx-label">{w[label + "_ctx"]}</div>{lists[label].html}</div>'
        for label in labels))


def _question(w: dict[str, str], kind: str, title: str, u: _Unit, i: int, n: int, asked: set[str]) -> str:
    """The kind's question, numbered when the paper has several; a key (cue) replaces the number."""
    numbered = w["n"].format(i=i, n=n) if n > 1 else ""
    if not u.cue:
        return w[kind].format(title=title, n=numbered)
    q = w["cued"].format(title=title, cue=html.escape(u.cue), n=w["n"].format(i=u.part, n=u.parts) if u.parts > 1 else "")
    # the same key twice in one paper: the number tells them apart (Anki flags duplicate first fields)
    return w["cued"].format(title=title, cue=html.escape(u.cue), n=numbered) if q in asked else q


def _has_content(html_text: str) -> bool:
    if "<" not in html_text:  # most answers: no tag to strip
        return bool(html_text.strip())
    return bool(_TAG.sub("", html_text).strip()) or "<img" in html_text


def _paper_cards(doc: Document, paper: Paper, config: Config, w: dict[str, str], memo: Memo,
                 folders: tuple[str, ...] | None = None) -> tuple[list[Card], list[str]]:
    title = _norm(paper.title) or _norm(paper.gloss) or f"{doc.title}:{paper.line}"
    bullets = list(paper.bullets)  # merge_repeats dropped blank and repeated ones
    if not bullets:
        return [], [f"{doc.path}:{paper.line}: warning: '{title}' has no notes under it; no cards made"]
    key = paper_key(title) or f"line{paper.line}"
    path = html.escape(source_path(doc))  # a file name is text, not markup
    where = html.escape(f"{path}:")  # + a line number, which needs no escaping
    by_label = {label: [b for b in bullets if b.label == label] for label in ASKED + CONTEXT}
    topics = paper_topics(paper, doc, config, folders)
    q_title = html.escape(title)
    common = dict(deck=deck_name(config, doc, paper, topics), title=q_title, paper_key=key,
                  meta=html.escape(" · ".join(str(x) for x in (paper.venue, paper.year) if x) or w["no_meta"]),
                  tags=paper_tags(paper, topics, config), extra=_link(paper, title, w))
    lists = {label: _bullet_list([_render(doc, b, memo) for b in by_label[label]])
             for label in ("problem",) + CONTEXT if by_label[label]}
    ctx_without_problem = _context(lists, w, with_problem=False)
    ctx_with_problem = _context(lists, w, with_problem=True) if "problem" in lists else ctx_without_problem
    warnings = [*ctx_without_problem.warnings, *ctx_with_problem.warnings]

    cards: list[Card] = []
    for kind in ASKED:
        ctx = ctx_without_problem if kind == "problem" else ctx_with_problem
        units = _units(by_label[kind], kind, config.max_answer_chars, memo)
        asked: set[str] = set()
        for i, u in enumerate(units, 1):
            answer = _render(doc, u.bullet, memo, u.text)
            warnings += answer.warnings
            if not _has_content(answer.html):
                warnings.append(f"{doc.path}:{u.bullet.line}: warning: bullet has nothing to show; no card made")
                continue
            question = _question(w, kind, q_title, u, i, len(units), asked)
            asked.add(question)
            slot = f"{u.slot}.{u.part}" if u.part > 1 else str(u.slot)
            cards.append(Card(guid="", kind=kind, question=question, answer=answer.html,
                              context=ctx.html, source=f"{where}{u.bullet.line}", slot=slot, basis=_norm(u.bullet.text),
                              media=_join([answer, ctx], "").media if answer.media else ctx.media, **common))
    if not cards:  # only opinions/background: one card, so the paper is still in Anki
        answer = _bullet_list([_render(doc, b, memo) for b in bullets])
        warnings += answer.warnings
        cards.append(Card(guid="", kind="summary",
                          question=w["summary"].format(title=q_title), answer=answer.html,
                          context=f'<div class="nc-none">{w["no_context"]}</div>',
                          source=f"{where}{paper.line}", media=answer.media, **common))
    elif config.reverse_cards:
        cue_kind, cue_bullet = next((k, by_label[k][0]) for k in ASKED if by_label[k])
        cue = _first_sentence(plain_text(_unquote(split_cue(cue_bullet.text)[1]), memo))
        if cue:
            cards.append(Card(guid="", kind="reverse",
                              question=w[f"reverse_{cue_kind}"].format(cue=html.escape(cue)),
                              answer=q_title, context=ctx_with_problem.html, source=f"{where}{paper.line}",
                              media=ctx_with_problem.media, **common))
    return cards, warnings


def _link(paper: Paper, title: str, w: dict[str, str]) -> str:
    """The paper's own link when the notes give one, else a scholar search for its title."""
    if paper.link.startswith(("http://", "https://")):
        return f'<a href="{html.escape(paper.link)}">{w["link"]}</a>'
    url = "https://scholar.google.com/scholar?q=" + quote_plus(title)
    return f'<a href="{html.escape(url)}">{w["search"]}</a>'
