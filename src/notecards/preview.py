"""Preview stage: list[Card] -> one static, self-contained HTML page showing the cards as Anki will.

Each card face is the deck's own note template (resources/card_front.html, card_back.html) filled
with the note's fields exactly as write.py stores them, under the deck's style sheet. Card fields
are HTML already (cards.py escapes text and render.py sanitises Markdown), so, as in Anki, they go
in unescaped; deck names, tags, kinds and file paths are plain text and are escaped.
"""
from __future__ import annotations

import base64
import hashlib
import html
import mimetypes
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from notecards.config import TAG_PREFIXES
from notecards.errors import OutputError
from notecards.fsutil import atomic_write
from notecards.model import Card
from notecards.render import media_name
from notecards.write import FIELDS, card_resources, note_fields
from notecards.segment import CJK_CHARS

KIND_ORDER = ("problem", "method", "finding", "reverse", "summary")
STAT_ROWS = 10
"""Rows a count table shows before the rest fold into a <details>."""

# Anki marks dark mode with classes on <body> (desktop: nightMode, AnkiDroid: night_mode), not with the
# media query, and the deck style sheet keys on them. This mirrors the browser's setting.
_NIGHT_JS = (
    "(function(){var m=window.matchMedia&&window.matchMedia('(prefers-color-scheme: dark)');"
    "function s(){var on=!!(m&&m.matches);['nightMode','night_mode'].forEach(function(c){"
    "document.body.classList.toggle(c,on);});}"
    "s();if(m&&m.addEventListener){m.addEventListener('change',s);}})();"
)

_FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
    '"Helvetica Neue", Arial, sans-serif'
)

# The page around the cards. Every class is `pv-`: the deck style sheet owns `.card` and `nc-`.
PAGE_CSS = """
:root { color-scheme: light dark; --pv-bg: #f4f5f7; --pv-fg: #1f2328; --pv-muted: #59636e;
  --pv-panel: #ffffff; --pv-border: #d8dee4; --pv-accent: #0b5cad; --pv-bar: #9ec1f7; --pv-chip: #eef2f7;
  --pv-warn-bg: #fff5d6; --pv-warn-fg: #5c4400; }
@media (prefers-color-scheme: dark) {
  :root { --pv-bg: #141518; --pv-fg: #e6e8eb; --pv-muted: #a2abb5; --pv-panel: #1b1d21;
    --pv-border: #353b43; --pv-accent: #7cb7ff; --pv-bar: #2f5a96; --pv-chip: #2a2e33;
    --pv-warn-bg: #3a2f0b; --pv-warn-fg: #f2d98a; }
}
html { background: var(--pv-bg); }
body.pv-page { margin: 0 auto; max-width: 1280px; padding: 24px 28px 64px; background: var(--pv-bg);
  color: var(--pv-fg); font-family: %(fonts)s; font-size: 15px; line-height: 1.5; }
.pv-page *, .pv-page *::before, .pv-page *::after { box-sizing: border-box; }
.pv-page a.pv-link { color: var(--pv-accent); }
.pv-page h1 { font-size: 26px; margin: 0 0 4px; }
.pv-summary { color: var(--pv-muted); margin: 0 0 6px; font-size: 16px; }
.pv-summary b { color: var(--pv-fg); }
.pv-hint { color: var(--pv-muted); font-size: 13px; margin: 0 0 18px; }
.pv-problems { background: var(--pv-warn-bg); color: var(--pv-warn-fg); border-radius: 10px; padding: 10px 16px;
  margin: 0 0 18px; font-size: 13px; }
.pv-problems h2 { font-size: 14px; margin: 0 0 4px; }
.pv-problems ul { margin: 0; padding-left: 18px; }
.pv-problems li { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.pv-stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 14px;
  margin: 0 0 18px; }
.pv-stat, .pv-toc { background: var(--pv-panel); border: 1px solid var(--pv-border); border-radius: 10px;
  padding: 12px 14px; }
.pv-stat h2, .pv-toc h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--pv-muted);
  margin: 0 0 8px; font-weight: 600; }
.pv-stat table { width: 100%%; border-collapse: collapse; font-size: 13px; }
.pv-stat td { padding: 2px 0; border: 0; vertical-align: middle; }
.pv-stat td.pv-k { width: 45%%; padding-right: 8px; overflow-wrap: anywhere; }
.pv-stat td.pv-n { width: 3.5em; text-align: right; font-variant-numeric: tabular-nums; }
.pv-stat summary { cursor: pointer; color: var(--pv-accent); font-size: 13px; margin-top: 4px; }
.pv-bar { height: 8px; border-radius: 4px; background: var(--pv-bar); min-width: 3px; }
.pv-none { color: var(--pv-muted); font-style: italic; }
.pv-toc { margin: 0 0 28px; }
.pv-toc ul { margin: 0; padding-left: 18px; columns: 2 340px; }
.pv-toc li { break-inside: avoid; }
.pv-count { color: var(--pv-muted); font-size: 13px; font-weight: 400; }
.pv-deck { margin: 0 0 40px; }
.pv-deck > h2 { font-size: 21px; margin: 0 0 14px; padding-bottom: 6px; border-bottom: 2px solid var(--pv-border); }
.pv-sep { color: var(--pv-muted); font-weight: 400; padding: 0 .3em; }
.pv-deck > h2 .pv-count { margin-left: .6em; }
.pv-paper { margin: 0 0 26px; }
.pv-paper > h3 { font-size: 17px; margin: 0; }
.pv-paper > p { color: var(--pv-muted); font-size: 13px; margin: 0 0 10px; }
.pv-item { background: var(--pv-panel); border: 1px solid var(--pv-border); border-radius: 10px; margin: 0 0 12px;
  overflow: hidden; }
.pv-head { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 6px 12px;
  border-bottom: 1px solid var(--pv-border); font-size: 12px; color: var(--pv-muted); }
.pv-kind { font-weight: 700; text-transform: uppercase; letter-spacing: .05em; font-size: 11px; border-radius: 4px;
  padding: 1px 7px; color: #fff; background: #6e7781; }
.pv-kind-problem { background: #c2410c; }
.pv-kind-method { background: #1d4ed8; }
.pv-kind-finding { background: #15803d; }
.pv-kind-reverse { background: #7e22ce; }
.pv-tag { background: var(--pv-chip); border-radius: 4px; padding: 1px 6px; overflow-wrap: anywhere; }
.pv-where { margin-left: auto; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
.pv-faces { display: grid; grid-template-columns: 1fr 1fr; }
.pv-face { min-width: 0; position: relative; display: flex; flex-direction: column; }
.pv-face + .pv-face { border-left: 1px solid var(--pv-border); }
.pv-side { position: absolute; top: 5px; right: 9px; font-size: 10px; text-transform: uppercase;
  letter-spacing: .1em; color: var(--pv-muted); opacity: .75; }
.pv-face > .card { flex: 1; padding: 22px 14px 18px; }
.pv-missing { display: inline-block; border: 1px dashed #c2410c; color: #c2410c; border-radius: 4px;
  padding: 2px 6px; font-size: 13px; }
.pv-empty { color: var(--pv-muted); }
@media (max-width: 800px) {
  body.pv-page { padding: 16px 12px 48px; }
  .pv-faces { grid-template-columns: 1fr; }
  .pv-face + .pv-face { border-left: 0; border-top: 1px solid var(--pv-border); }
}
""" % {"fonts": _FONT_STACK}

_IMG_TAG = re.compile(r"""<img\b(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
_ATTR = re.compile(r"""\s+([^\s=/>"']+)(?:(\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_HAN = re.compile(f"[{CJK_CHARS}]")
_SECTION = re.compile(r"\{\{([#^])\s*([^}]+?)\s*\}\}(.*?)\{\{/\s*\2\s*\}\}", re.S)
_FIELD = re.compile(r"\{\{\s*([^}#^/]+?)\s*\}\}")
_EMPTY_FIELD = re.compile(r"<br\s*/?>|<div>\s*</div>|&nbsp;|\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Count:
    """One row of a count table: a label and how many cards carry it."""

    key: str
    n: int


@dataclass(frozen=True, slots=True)
class NoteType:
    """What Anki renders a card with: the deck's templates, style sheet and field names."""

    front: str
    back: str
    css: str
    fields: tuple[str, ...]


def note_type() -> NoteType:
    """The templates and style sheet write.py packs into every deck, with its field order."""
    front, back, css = card_resources()
    return NoteType(front, back, css, tuple(FIELDS))


def fill_template(template: str, fields: Mapping[str, str], front: str = "") -> str:
    """Fill an Anki card template the way Anki does: `{{Field}}`, `{{#Field}}…{{/Field}}`, `{{^…}}`,
    `{{text:Field}}` and `{{FrontSide}}`; an unknown field or filter is an error, not a blank.

    >>> fill_template("{{#B}}[{{B}}]{{/B}}{{A}}", {"A": "a", "B": ""})
    'a'
    """
    def value(name: str) -> str:
        if name == "FrontSide":
            return front
        if name not in fields:
            raise ValueError(f"card template refers to unknown field {name!r}")
        return fields[name]

    def section(m: re.Match[str]) -> str:
        shown = bool(_EMPTY_FIELD.sub("", value(m.group(2))))
        return m.group(3) if shown == (m.group(1) == "#") else ""

    def field(m: re.Match[str]) -> str:
        *filters, name = m.group(1).split(":")
        text = value(name.strip())
        for f in reversed(filters):
            if f.strip() != "text":
                raise ValueError(f"card template uses filter {f!r}, which the preview cannot show")
            text = re.sub(r"<[^>]*>", "", text)  # tags only: entities stay escaped
        return text

    # Sections are resolved on the template alone, then fields filled in one pass, so a field
    # whose text happens to hold `{{…}}` is shown as written, never read as template.
    while (opened := _SECTION.sub(section, template)) != template:
        template = opened
    if re.search(r"\{\{\s*[#^/]", template):
        raise ValueError("card template has an unclosed {{#…}} or {{^…}} section")
    return _FIELD.sub(field, template)


def tag_values(cards: Iterable[Card], prefix: str) -> Counter[str]:
    """Count cards per value of the `prefix::value` tags; a card without one counts under ''."""
    counts: Counter[str] = Counter()
    lead = prefix + "::"
    for card in cards:
        values = {t[len(lead):] for t in card.tags if t.startswith(lead) and len(t) > len(lead)}
        counts.update(values or {""})
    return counts


def count_rows(cards: Sequence[Card], prefixes: Mapping[str, str] | None = None) -> dict[str, list[Count]]:
    """The tables at the top of the page: cards by kind, year, topic and venue, most useful order first."""
    prefixes = {**TAG_PREFIXES, **(prefixes or {})}
    kinds = Counter(c.kind for c in cards)
    kind_rows = [Count(k, kinds[k]) for k in KIND_ORDER if kinds[k]]
    kind_rows += [Count(k, n) for k, n in sorted(kinds.items()) if k not in KIND_ORDER]

    def by_count(counter: Counter[str]) -> list[Count]:
        return [Count(k, n) for k, n in sorted(counter.items(), key=lambda kv: (kv[0] == "", -kv[1], kv[0]))]

    years = tag_values(cards, prefixes["year"])
    # Newest first: a reader looks for recent papers; anything that isn't a year sorts after them.
    year_rows = [Count(y, years[y]) for y in sorted(years, key=lambda y: (y == "", not y.isdigit(),
                                                                           -int(y) if y.isdigit() else 0, y))]
    return {
        "kind": kind_rows,
        "year": year_rows,
        "topic": by_count(tag_values(cards, prefixes["topic"])),
        "venue": by_count(tag_values(cards, prefixes["venue"])),
    }


def render_preview(
    cards: Sequence[Card],
    *,
    title: str = "notecards preview",
    problems: Sequence[str] = (),
    tag_prefixes: Mapping[str, str] | None = None,
) -> str:
    """The whole preview page as one HTML string; reads only the packaged note type and the cards' media."""
    kind = note_type()
    decks = _group(cards)
    papers = sum(len(p) for p in decks.values())
    script_hash = base64.b64encode(hashlib.sha256(_NIGHT_JS.encode()).digest()).decode()
    # Nothing may be fetched: a preview opened from disk should not call out, and a card that got
    # past the sanitiser with a script still cannot run one here.
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{script_hash}'"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{_e(title)}</title>",
        f"<style>\n{_style_text(kind.css)}\n</style>",
        f"<style>{PAGE_CSS}</style>",
        "</head>",
        '<body class="pv-page">',
        f"<script>{_NIGHT_JS}</script>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="pv-summary"><b>{len(cards)}</b> {_plural(len(cards), "card")} from '
        f'<b>{papers}</b> {_plural(papers, "paper")} in <b>{len(decks)}</b> {_plural(len(decks), "deck")}</p>',
        '<p class="pv-hint">Each card is shown front and back as Anki’s review screen shows it, with the '
        "deck’s own style. Math stays as TeX source here (\\(…\\), \\[…\\]); Anki typesets it with MathJax. "
        "Nothing has been imported.</p>",
    ]
    if problems:
        out.append(f'<section class="pv-problems"><h2>{len(problems)} {_plural(len(problems), "note")} '
                   "to look at</h2><ul>")
        out.extend(f"<li>{_e(p)}</li>" for p in problems)
        out.append("</ul></section>")
    out.append(_stats_html(count_rows(cards, tag_prefixes)))
    if decks:
        out.append(_toc_html(decks))
    else:
        out.append('<p class="pv-empty">No cards were made from these notes.</p>')
    for n, (deck, paper_groups) in enumerate(decks.items()):
        out.append(_deck_html(n, deck, paper_groups, kind))
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def write_preview(
    cards: Sequence[Card],
    path: Path,
    *,
    title: str = "notecards preview",
    problems: Sequence[str] = (),
    tag_prefixes: Mapping[str, str] | None = None,
) -> Path:
    """Write the preview page to `path` atomically (a reader never sees half a page) and return it."""
    page = render_preview(cards, title=title, problems=problems, tag_prefixes=tag_prefixes)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, page.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write the preview: {exc.strerror or exc}", path=str(path)) from None
    return path


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _style_text(css: str) -> str:
    # A style sheet is raw text inside <style>: only a closing tag could break out of it.
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


def _group(cards: Sequence[Card]) -> dict[str, dict[str, list[Card]]]:
    """deck -> paper_key -> cards; decks sorted by name as Anki lists them, papers and cards as given."""
    grouped: dict[str, dict[str, list[Card]]] = {}
    for card in cards:
        grouped.setdefault(card.deck, {}).setdefault(card.paper_key, []).append(card)
    return {deck: grouped[deck] for deck in sorted(grouped, key=lambda d: [p.casefold() for p in d.split("::")])}


def _stats_html(rows: dict[str, list[Count]]) -> str:
    titles = {"kind": "Cards by kind", "year": "Cards by year", "topic": "Cards by topic",
              "venue": "Cards by venue"}
    blank = {"kind": "no cards", "year": "no year", "topic": "no topic", "venue": "no venue"}
    out = ['<section class="pv-stats">']
    for key, title in titles.items():
        table = rows[key]
        out.append(f'<div class="pv-stat" id="stat-{key}"><h2>{title}</h2>')
        if not table:
            out.append(f'<p class="pv-none">{blank[key]}</p></div>')
            continue
        top = max(r.n for r in table)

        def tr(r: Count, label: str = blank[key], top: int = top) -> str:
            name = _e(r.key) if r.key else f'<span class="pv-none">{label}</span>'
            return (f'<tr><td class="pv-k">{name}</td><td><div class="pv-bar" '
                    f'style="width:{max(1, round(100 * r.n / top))}%"></div></td><td class="pv-n">{r.n}</td></tr>')

        out.append("<table>" + "".join(tr(r) for r in table[:STAT_ROWS]) + "</table>")
        if len(table) > STAT_ROWS:  # the long tail folds away; <details> needs no script
            rest = table[STAT_ROWS:]
            out.append(f"<details><summary>{len(rest)} more</summary><table>"
                       + "".join(tr(r) for r in rest) + "</table></details>")
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)


def _toc_html(decks: dict[str, dict[str, list[Card]]]) -> str:
    out = ['<nav class="pv-toc"><h2>Decks</h2><ul>']
    for n, (deck, papers) in enumerate(decks.items()):
        count = sum(len(cs) for cs in papers.values())
        out.append(f'<li><a class="pv-link" href="#deck-{n}">{_e(deck)}</a> <span class="pv-count">'
                   f'{len(papers)} {_plural(len(papers), "paper")}, {count} {_plural(count, "card")}</span></li>')
    out.append("</ul></nav>")
    return "\n".join(out)


def _deck_html(n: int, deck: str, papers: dict[str, list[Card]], kind: NoteType) -> str:
    count = sum(len(cs) for cs in papers.values())
    crumbs = '<span class="pv-sep">›</span>'.join(_e(part) for part in deck.split("::"))
    out = [f'<section class="pv-deck" id="deck-{n}">',
           f'<h2>{crumbs}<span class="pv-count">{count} {_plural(count, "card")}</span></h2>']
    for cards in papers.values():
        first = cards[0]
        out.append('<article class="pv-paper">')
        # title and meta are card fields: HTML, escaped by cards.py
        out.append(f'<h3 lang="{_lang(first.title)}">{first.title}</h3>')
        count = f"{len(cards)} {_plural(len(cards), 'card')}"
        out.append(f"<p>{first.meta} · {count}</p>" if first.meta else f"<p>{count}</p>")
        out.extend(_card_html(c, kind, dict(zip(kind.fields, note_fields(c)))) for c in cards)
        out.append("</article>")
    out.append("</section>")
    return "\n".join(out)


def _card_html(card: Card, kind: NoteType, fields: dict[str, str]) -> str:
    media = _media_map(card.media)
    fields = {k: _inline_media(v, media) for k, v in fields.items()}
    front = fill_template(kind.front, fields)
    back = fill_template(kind.back, fields, front)
    tags = "".join(f'<span class="pv-tag">{_e(t)}</span>' for t in card.tags)
    where = f'<span class="pv-where">{_e(card.source)}</span>' if card.source else ""
    return (
        f'<div class="pv-item" id="card-{_e(card.guid)}">'
        f'<div class="pv-head"><span class="pv-kind pv-kind-{_e(_slug(card.kind))}">{_e(card.kind)}</span>'
        f"{tags}{where}</div>"
        f'<div class="pv-faces" lang="{_lang(card.question + card.answer)}">'
        f'<div class="pv-face"><span class="pv-side">front</span><div class="card card1">{front}</div></div>'
        f'<div class="pv-face"><span class="pv-side">back</span><div class="card card1">{back}</div></div>'
        "</div></div>"
    )


def _lang(text: str) -> str:
    # Han characters are shared by Chinese and Japanese: the lang attribute picks the Chinese glyph forms.
    return "zh-Hans" if _HAN.search(text) else "en"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "other"


def _media_map(media: Sequence[str]) -> dict[str, str]:
    """The name a card's HTML uses for each of its media files (render.media_name) -> the file."""
    names: dict[str, str] = {}
    for m in media:
        path = Path(m)
        names[path.name] = m
        try:
            names[media_name(path)] = m
        except OSError:
            pass  # unreadable now: the image shows as missing
    return names


def _inline_media(fragment: str, media: Mapping[str, str]) -> str:
    """Embed a card's local images as data: URLs and show remote ones as links, so the page fetches nothing."""

    def one(tag: re.Match[str]) -> str:
        text = tag.group(0)
        src = next((a for a in _ATTR.finditer(text, 4) if a.group(1).lower() == "src" and a.group(2)), None)
        if src is None:
            return text
        value = html.unescape(next(v for v in src.group(3, 4, 5) if v is not None))
        if value.startswith("data:"):
            return text
        if re.match(r"(?i)(https?:)?//", value):
            return f'<a class="pv-link" href="{_e(value)}">[remote image: {_e(value)}]</a>'
        path = media.get(value) or media.get(Path(value).name)
        try:
            data = Path(path).read_bytes() if path else None
        except OSError:
            data = None
        if data is None:  # Anki would show a broken image: say which one instead
            return f'<span class="pv-missing">[missing image: {_e(value)}]</span>'
        mime = mimetypes.guess_type(value)[0] or "application/octet-stream"
        url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        return f'{text[:src.start(2)]}="{url}"{text[src.end():]}'

    return _IMG_TAG.sub(one, fragment)
