"""Bullet Markdown -> safe card HTML: math for Anki's MathJax, sanitised HTML, images as media."""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nh3

from notecards.model import MISSING_IMAGE

# What a card may show. No script/style/iframe/object/form, and no attribute that can run code:
# nh3 drops on* handlers and every URL scheme not listed here (javascript:, data:, vbscript:).
_TAGS = nh3.ALLOWED_TAGS - {"map", "area"}
_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "img": {"src", "alt", "title", "width", "height"},
               "a": {"href", "title"}}
_URL_SCHEMES = {"http", "https", "mailto", "file"}  # file: only so a local image can be reported
_REMOTE = ("http://", "https://")
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_TAG = re.compile(r"<[^>]+>")
_ONE_PARAGRAPH = re.compile(r"\A<p>((?:(?!<p>).)*)</p>\n?\Z", re.S)


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    media: tuple[str, ...] = ()
    """Absolute paths of local images the HTML refers to (by media_name)."""
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class Memo:
    """One paper's Markdown work, so that a text its cards repeat is parsed and cleaned once."""

    html: dict[str, str] = field(default_factory=dict)
    """markdown-it's HTML of each text parsed so far."""
    rendered: dict[str, Rendered] = field(default_factory=dict)
    """Each finished render that warned of nothing."""


@lru_cache(maxsize=1)
def _markdown():
    """The extraction parser's settings (parse.py), plus `$…$`/`$$…$$` read as math tokens.

    Math becomes a token before emphasis rules run, so `$a*b*c$` keeps its stars.
    """
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True, "maxNesting": 40})
    md.enable(["table", "strikethrough"])
    # markdown-it drops file: links silently; let them through so a local image is reported.
    # nh3 below still removes every scheme that can run code.
    default_validate = md.validateLink
    md.validateLink = lambda url: url.strip().lower().startswith("file:") or default_validate(url)
    # allow_digits=False: "$5 and $10" is money, not math.
    dollarmath_plugin(md, allow_digits=False, double_inline=True)
    inline = lambda self, tokens, i, options, env: r"\(" + html.escape(tokens[i].content.strip(), quote=False) + r"\)"  # noqa: E731
    display = lambda self, tokens, i, options, env: r"\[" + html.escape(tokens[i].content.strip(), quote=False) + r"\]"  # noqa: E731
    md.add_render_rule("math_inline", inline)
    md.add_render_rule("math_inline_double", display)
    md.add_render_rule("math_block", display)
    md.add_render_rule("math_block_label", display)
    return md


def media_name(path: Path) -> str:
    """The name a local image gets in Anki's media folder: content hash + readable stem.

    The hash keeps names unique across notes folders and changes when the image changes,
    so an edited figure reaches Anki instead of colliding with the old file.
    """
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    stem = re.sub(r"[^\w.-]+", "_", path.stem)[:40].strip("._") or "image"
    return f"nc-{digest}-{stem}{path.suffix.lower()}"


def _local_image(src: str, note_path: str, folder: str) -> Path | None:
    """The file an image source names, if it exists inside the notes folder."""
    if src.startswith("file:"):
        src = urlsplit(src).path
    target = (Path(note_path).parent / unquote(src)).resolve()
    root = Path(folder or Path(note_path).parent).resolve()
    return target if target.is_file() and target.is_relative_to(root) else None


def _parse(text: str, memo: Memo | None) -> str:
    """markdown-it's HTML of `text`, from `memo` if it was parsed already (an answer is measured
    by plain_text, then rendered)."""
    if memo is None:
        return _markdown().render(text)
    if text not in memo.html:
        memo.html[text] = _markdown().render(text)
    return memo.html[text]


def render_markdown(text: str, note_path: str, folder: str, line: int = 0, memo: Memo | None = None) -> Rendered:
    """Markdown of one bullet -> sanitised HTML, the local images it packs, and warnings.

    >>> render_markdown("loss $a<b$", "n.md", ".").html
    'loss \\\\(a&lt;b\\\\)'
    """
    if memo is None:
        return _render(text, note_path, folder, line, None)
    rendered = memo.rendered.get(text)
    if rendered is None:
        rendered = _render(text, note_path, folder, line, memo)
        if not rendered.warnings:  # a warning names its line, so it fits no other
            memo.rendered[text] = rendered
    return rendered


def _render(text: str, note_path: str, folder: str, line: int, memo: Memo | None) -> Rendered:
    if _is_plain(text):  # most bullets are plain prose: skip the parser and the sanitiser
        return Rendered(text)  # it holds no & < >, so it is its own HTML
    where = f"{note_path}:{line}" if line else note_path
    media: list[str] = []
    warnings: list[str] = []

    def keep(tag: str, attr: str, value: str) -> str | None:
        if tag == "a" and attr == "href" and value.startswith("file:"):
            return None  # a link to a file on this machine means nothing inside Anki
        if tag != "img" or attr != "src" or value.startswith(_REMOTE):
            return value
        path = _local_image(value, note_path, folder)
        if path is None:
            warnings.append(f"{where}: warning: image '{value}' {MISSING_IMAGE} "
                            f"{folder or '.'}; left out of the card")
            return None
        media.append(str(path))
        return media_name(path)

    raw = _parse(text, memo)
    clean = nh3.clean(raw, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES,
                      clean_content_tags={"script", "style"}, attribute_filter=keep)
    if _IMG_WITHOUT_SRC.search(clean):
        clean = _IMG_WITHOUT_SRC.sub("", clean)
        if not warnings:
            warnings.append(f"{where}: warning: an image with an unsafe or unsupported source was left out")
    one = _ONE_PARAGRAPH.match(clean)
    body = (one.group(1) if one else clean).strip()
    return Rendered(body, tuple(dict.fromkeys(media)), tuple(dict.fromkeys(warnings)))


_MARKUP = re.compile(r"[\\`*_\[\]<>&$!#|~\n]")
_MARKUP_LEAD = re.compile(r"\s|\d+[.)]|[-+>]")  # an indent, a list item or a quote
_LITERAL = re.compile(r"[()=]")


def _is_plain(text: str) -> bool:
    """Text that Markdown renders as itself: one line, no markup characters, no space at either end.

    `(`, `)` and `=` mean something only beside other markup (a link's `](`, an underline on a
    line of its own), so alone they are plain, common in notes and cheap to pass; but not with
    a character markdown-it or nh3 rewrites (NUL, CR, no-break space), which the parser must see.
    Several small regexes (one with anchored alternatives scans four times slower), and `in` for
    single characters, which is faster still.
    """
    return (_MARKUP.search(text) is None and _MARKUP_LEAD.match(text) is None and not text[-1:].isspace()
            and ("\0" not in text and "\r" not in text and "\xa0" not in text or _LITERAL.search(text) is None))


def plain_text(text: str, memo: Memo | None = None) -> str:
    """Markdown -> the words a reader sees (for lengths, cues and tags)."""
    if _is_plain(text):
        return " ".join(text.split())
    body = _TAG.sub("", _parse(text, memo))
    return " ".join(html.unescape(body).split())
