"""SourceFile -> (front matter, Blocks): knows Markdown, knows nothing of papers."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from functools import lru_cache
from typing import Any

import yaml

from notecards.model import Block

_FRONT = re.compile(r"\A(---|\+\+\+)[ \t]*\n(.*?\n)?(\1|\.\.\.)[ \t]*(\n|\Z)", re.S)
# `1.使用` / `2、方法` / `3．` : ordered markers written without the space CommonMark needs.
# _TIGHT_MARKER starts at the newline before the line (the body gets one in front): re then jumps from
# newline to newline, where `^` with re.M is tried at every character.
_TIGHT_MARKER = re.compile(r"\n(\s{0,12})(\d{1,3})[.、．)](?=[^\s\d.、．)])")
_CHINESE_MARKER = re.compile(r"^(\s{0,12})(\d{1,3})[、．]\s*", re.M)
# `<details><summary>阅读笔记: </summary>` wrappers hide Markdown from the parser.
_DETAILS = re.compile(r"^[ \t]*</?details[^>\n]*>[ \t]*(<summary[^>\n]*>(.*?)</summary>)?[ \t]*$",
                      re.M | re.I)
_SUMMARY = re.compile(r"^[ \t]*<summary[^>\n]*>(.*?)</summary>[ \t]*$", re.M | re.I)
_HTML_BOLD = re.compile(r"<(b|strong)>(.*?)</\1>", re.I)
"""`<summary><b>Title</b> (ICLR 2024)</summary>`: bold in HTML, read as Markdown bold."""
_HTML_WRAPPER = re.compile(r"</?details|<summary", re.I)
"""What _DETAILS or _SUMMARY needs: found by a fast literal scan, where they try every line."""
_TOC_MARKER = re.compile(r"^[ \t]*(?:\[\[?toc\]\]?|\$\{toc\}|\{:toc\})[ \t]*$", re.M | re.I)
"""'[TOC]', '[[toc]]', '${toc}': an editor's table-of-contents marker (Typora, VuePress), no text."""
_TEMPLATE_TAG = re.compile(r"\{\{[<%].*?[>%]\}\}|\{%.*?%\}")
"""A static-site generator's tag (Hugo `{{< figure … >}}`, Jekyll `{% include … %}`): markup, not text."""
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = str.maketrans(dict.fromkeys(_INVISIBLE_CHARS, ""))
# Front matter starts with a `key:` (YAML) or `key =` / `[table]` (TOML) line; anything else between
# two `---` lines is Markdown between rules, and is kept as Markdown.
_FRONT_KEY = re.compile(r"""(?:"[^"]*"|'[^']*'|\w[^:="']*?)\s*[:=](?:\s|$)|\[""")
# The alias pass looks for `*name`, and can fail differently from the load only with anchors (`&`) or a
# second document (`---`, `...`): front matter with none of these skips it (a second full YAML parse).
_ALIAS_PASS = re.compile(r"[*&]|^(?:---|\.\.\.)", re.M)
MAX_FRONT_CHARS = 64 * 1024
MAX_NESTING = 100
"""Lists and quotes nested deeper than this are kept as plain text (markdown-it stops there)."""
_CONTAINERS = ("blockquote_open", "list_item_open", "bullet_list_open", "ordered_list_open")


@dataclass(frozen=True, slots=True)
class Parsed:
    front: dict[str, Any]
    blocks: tuple[Block, ...]
    warnings: tuple[tuple[int, str], ...] = ()
    """(line, message) for input that was used only in part, e.g. broken front matter."""


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING})
    md.enable(["table", "strikethrough"])
    # Blocks keep their inline source as written, so the inline parse is never needed; skipping it
    # also keeps pathological inline input (a million `[`) from costing minutes. text_join only
    # merges the text tokens the inline parse would have made: with it off, there are none.
    md.disable(["inline", "text_join"])
    md.core.ruler.at("normalize", _normalize)
    return md


def _normalize(state) -> None:
    """markdown-it's own normalize rule, run only when the text holds a carriage return or a NUL:
    it would leave any other text as it is, but only after rewriting each of its newlines."""
    from markdown_it.rules_core import normalize

    if "\r" in state.src or "\0" in state.src:
        normalize(state)


def split_front_matter(text: str) -> tuple[dict[str, Any], str, list[tuple[int, str]]]:
    """Front matter -> (mapping, body with the front matter blanked, warnings).

    The body keeps its line count so that block lines are file lines.
    """
    m = _FRONT.match(text)
    raw = (m.group(2) or "") if m else ""
    first = next((x for x in raw.split("\n") if x.strip() and not x.startswith("#")), "")
    if not m or first and not _FRONT_KEY.match(first):
        return {}, text, []
    if len(raw) > MAX_FRONT_CHARS:
        return {}, text, [(1, f"front matter over {MAX_FRONT_CHARS // 1024} KiB; read as Markdown")]
    blank = "\n" * m.group(0).count("\n")
    body = blank + text[m.end():]
    try:
        data = _yaml(raw) if m.group(1) == "---" else _toml(raw)
    except RecursionError:
        return {}, body, [(1, "front matter nested too deep; ignored")]
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: bad TOML, or a date like 2020-13-45
        mark = getattr(exc, "problem_mark", None)
        if mark:
            line = 2 + mark.line
        elif isinstance(exc, yaml.reader.ReaderError):  # a control character
            line = 2 + raw.count("\n", 0, exc.position)
        else:
            line = 1 + getattr(exc, "line", 0)
        why = " ".join(str(getattr(exc, "problem", None) or exc).split("\n")[0].split())
        return {}, body, [(line, f"broken front matter ignored ({why})")]
    if data is None:
        return {}, body, []
    if not isinstance(data, dict):
        return {}, body, [(1, "front matter is not a mapping of keys; ignored")]
    return {str(k): v for k, v in data.items()}, body, []


def _yaml(raw: str) -> Any:
    # safe_load: a YAML tag in someone's notes must never run code. Aliases are refused because
    # a few nested `*a` references expand to billions of items for whoever walks the result.
    events = yaml.parse(raw, Loader=yaml.SafeLoader) if _ALIAS_PASS.search(raw) else ()
    alias = next((e for e in events if isinstance(e, yaml.AliasEvent)), None)
    if alias:
        raise yaml.MarkedYAMLError(problem="YAML aliases (*name) are not read", problem_mark=alias.start_mark)
    return yaml.safe_load(raw)


def _toml(raw: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        error = ValueError(str(exc))
        at = re.search(r"at line (\d+)", str(exc))
        error.line = int(at.group(1)) if at else 0  # type: ignore[attr-defined]
        raise error from None


def _prepare(body: str) -> str:
    """Line-preserving clean-up of shapes CommonMark reads differently from people."""
    # Each step is skipped when its text cannot occur: translate() alone costs more than the rest.
    if any(c in body for c in _INVISIBLE_CHARS):
        body = body.translate(_INVISIBLE)
    if _HTML_WRAPPER.search(body):
        body = _DETAILS.sub(lambda m: _HTML_BOLD.sub(r"**\2**", m.group(2) or ""), body)
        body = _SUMMARY.sub(lambda m: _HTML_BOLD.sub(r"**\2**", m.group(1)), body)
    if "toc" in body or "TOC" in body:
        body = _TOC_MARKER.sub("", body)
    if "{{" in body or "{%" in body:
        body = _TEMPLATE_TAG.sub("", body)
    if "、" in body or "．" in body:
        body = _CHINESE_MARKER.sub(lambda m: f"{m.group(1)}{m.group(2)}. ", body)
    return _TIGHT_MARKER.sub(lambda m: f"\n{m.group(1)}{m.group(2)}. ", "\n" + body)[1:]


def parse_markdown(text: str) -> Parsed:
    """Markdown text -> front matter and a flat list of blocks with their file lines."""
    if "\r" in text:  # read.py does this for files; markdown-it breaks lines at a lone \r too
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    front, body, warnings = split_front_matter(text)
    prepared = _prepare(body)
    source = prepared.split("\n")
    blocks: list[Block] = []
    for start, end in _chunks(source):
        blocks += _blocks(_tokens(source, start, end), source, warnings)
    return Parsed(front=front, blocks=tuple(blocks), warnings=tuple(warnings))


def _tokens(source: list[str], start: int, end: int):
    """markdown-it's tokens for source[start:end], their line maps counted from the file's start."""
    tokens = _markdown().parse("\n".join(source[start:end]))
    if start:
        for tok in tokens:
            if tok.map:
                tok.map = [tok.map[0] + start, tok.map[1] + start]
    return tokens


_LIST_LINE = re.compile(r"\s*(?:[-*+]|\d{1,3}[.)])\s+\S")


def _indented_list(tok, source: list[str], depth: int, warnings: list[tuple[int, str]]) -> list[Block] | None:
    """An indented code block whose every line is a list item is a list indented by one step too many
    after a paragraph (Markdown reads four spaces there as code; the writer meant a nested list)."""
    if tok.type != "code_block" or not tok.map:
        return None
    start, end = tok.map
    rows = [row.expandtabs(4) for row in source[start:end]]
    lines = [row for row in rows if row.strip()]
    if not lines or not all(_LIST_LINE.match(row) for row in lines):
        return None
    pad = min(len(row) - len(row.lstrip(" ")) for row in lines)
    if pad == 0:  # nothing to take off (a tab-indented block read as code): parsing it again would loop
        return None
    inner = source[:start] + [row[pad:] for row in rows]  # the same line numbers, less indented
    blocks = _blocks(_tokens(inner, start, end), inner, warnings)
    return [replace(b, level=b.level + depth) if b.kind == "item" else b for b in blocks]


CHUNK_LINES = 4000
"""A longer file is parsed a piece at a time: markdown-it's tokens take some 20 times the text's
size, so a 30 MB notes file parsed whole needed 600 MB at once, the same papers in many files 1 %."""
_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})")
_ATX = re.compile(r"#{1,6}(?:[ \t]|$)")


def _chunks(source: list[str]) -> list[tuple[int, int]]:
    """(start, end) line spans that parse alone as they do in the whole text: each cut is at an
    unindented `#` heading after a blank line, outside code fences, where every list, quote and
    paragraph has ended. Raw HTML that can run over blank lines (`<pre>`, `<!--` ...) stops the cuts."""
    if len(source) <= CHUNK_LINES:
        return [(0, len(source))]
    spans, start, fence = [], 0, None
    for i, line in enumerate(source):
        if m := _FENCE.match(line):
            mark = m.group(2)
            if m.group(1):
                return [(0, len(source))]  # an indented fence may be a list item's: parsed whole
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip().strip(mark[0]):
                fence = None
        elif _HTML_SPANS.match(line):
            return [(0, len(source))]  # rare in notes: parsed whole, as before
        elif (fence is None and i - start >= CHUNK_LINES and _ATX.match(line) and not source[i - 1].strip()):
            spans.append((start, i))
            start = i
    return [*spans, (start, len(source))]


_HTML_SPANS = re.compile(r" {0,3}<(?:pre|script|style|textarea|!--|\?|![A-Za-z]|!\[CDATA\[)", re.I)
"""CommonMark's HTML blocks 1-5, which end at a closing mark, not at a blank line."""


_TASK = re.compile(r"\[[ xX]\]\s+")
"""`- [x] Title`: a task-list checkbox, not part of the item's text."""

_LAZY_HEADER = re.compile(r"^[^\s:：>#*+\-][^:：]{0,30}[:：]\s*$")


def _split_lazy_header(text: str, first: int, source: list[str]) -> tuple[str, int, str] | None:
    """An unindented `参考资料：` line swallowed into a list item as a lazy continuation.

    Returns (item text, line of the header, rest) when the item's paragraph should be cut there.
    """
    lines = text.split("\n")
    for k in range(1, len(lines)):
        row = first - 1 + k
        if row < len(source) and source[row][:1] not in (" ", "\t") and _LAZY_HEADER.match(source[row]):
            return "\n".join(lines[:k]), first + k, "\n".join(lines[k:])
    return None


@dataclass(slots=True)
class _Item:
    line: int
    depth: int
    indent: int = 0
    index: int | None = None
    """Index of the emitted block once the item's first paragraph is seen."""


def _blocks(tokens, source: list[str], warnings: list[tuple[int, str]]) -> list[Block]:
    out: list[Block] = []
    items: list[_Item] = []
    depth = quote = 0
    pending_quote_in_item = False
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        t = tok.type
        if tok.level == MAX_NESTING - 1 and t in _CONTAINERS and tok.map:
            out.append(_too_deep(tok.map, source, items[-1].depth if items else 0, quote > 0, warnings))
        # The commonest tokens first: a note file is mostly list items of one paragraph each.
        if t == "paragraph_open":
            text = tokens[i + 1].content.strip()
            line = tok.map[0] + 1 if tok.map else 0
            item = items[-1] if items else None
            if item is not None and item.index is None:
                quoted = pending_quote_in_item
                if text[:1] == "[" and (task := _TASK.match(text)):
                    text = text[task.end():]
                if quoted:
                    text = "> " + text
                item.index = len(out)
                cut = _split_lazy_header(text, line, source) if "\n" in text else None
                if cut:
                    out.append(Block("item", cut[0], item.line, level=item.depth, quoted=quoted,
                                     indent=item.indent))
                    out.append(Block("para", cut[2], cut[1]))
                else:
                    out.append(Block("item", text, item.line, level=item.depth, quoted=quoted, indent=item.indent))
            else:  # a later paragraph of an item is a paragraph of its own, at the item's depth
                out.append(Block("para", text, line, level=item.depth if item else 0, quoted=quote > 0))
            i += 3  # the inline and paragraph_close tokens
            continue
        elif t == "list_item_open":
            line = tok.map[0] + 1 if tok.map else 0
            d = depth
            # `- 1. text`: an empty item whose first child starts on its line is one item.
            if items and items[-1].index is None and items[-1].line == line:
                d = items[-1].depth
            row = source[line - 1] if 0 < line <= len(source) else ""
            items.append(_Item(line=line, depth=d, indent=len(row) - len(row.lstrip(" \t"))))
            pending_quote_in_item = False
        elif t == "list_item_close":
            items.pop()
        elif t == "bullet_list_open" or t == "ordered_list_open":
            depth += 1
        elif t == "bullet_list_close" or t == "ordered_list_close":
            depth -= 1
        elif t == "blockquote_open":
            quote += 1
            if items and items[-1].index is None:
                pending_quote_in_item = True
        elif t == "blockquote_close":
            quote -= 1
        elif t == "heading_open":
            inline = tokens[i + 1]
            out.append(Block("heading", inline.content.strip(), tok.map[0] + 1, level=int(tok.tag[1:]),
                             quoted=quote > 0))
            i += 2
        elif t in ("fence", "code_block"):
            listed = _indented_list(tok, source, depth, warnings) if t == "code_block" else None
            if listed is not None:
                out += listed
            else:
                out.append(Block("code", tok.content, tok.map[0] + 1 if tok.map else 0))
        elif t == "html_block":
            line = tok.map[0] + 1 if tok.map else 0
            content = tok.content
            if "<table" in content.lower():
                # a blank line ends an HTML block: the table's other rows are the HTML blocks after it
                while "</table" not in content.lower() and i + 1 < len(tokens) and tokens[i + 1].type == "html_block":
                    i += 1
                    gap = tokens[i].map[0] + 1 - line - content.count("\n") if tokens[i].map else 0
                    content += "\n" * max(gap, 0) + tokens[i].content
            rows = _html_table(content, line)
            out += rows or [Block("html", content.strip(), line)]
        elif t == "table_open":
            line = tok.map[0] + 1 if tok.map else 0
            out.append(Block("table", "", line))
            i = _table_rows(tokens, i, out)
        elif t == "hr":
            out.append(Block("hr", "", tok.map[0] + 1 if tok.map else 0))
        i += 1
    return _mark_children(out)


def _table_rows(tokens, i: int, out: list[Block]) -> int:
    """The rows of the table opening at tokens[i] -> `row` blocks; returns the index of table_close."""
    cells: list[str] = []
    header = False
    line = 0
    while i < len(tokens) and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "thead_open":
            header = True
        elif tok.type == "tbody_open":
            header = False
        elif tok.type == "tr_open":
            cells, line = [], (tok.map[0] + 1 if tok.map else 0)
        elif tok.type == "inline":
            cells.append(tok.content.strip())
        elif tok.type == "tr_close":
            out.append(Block("row", " | ".join(cells), line, level=0 if header else 1, cells=tuple(cells)))
        i += 1
    return i


class _TableReader(HTMLParser):
    """An HTML `<table>` -> rows of cells written as Markdown: links, bold and line breaks kept."""

    _MARKS = {"b": "**", "strong": "**", "em": "*", "i": "*", "code": "`"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[int, bool, list[str]]] = []  # (line in the block, header row, cells)
        self.cell: list[str] | None = None
        self.href: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append((self.getpos()[0], False, []))
        elif tag in ("td", "th") and self.rows:
            self.cell = []
            if tag == "th":
                self.rows[-1] = (self.rows[-1][0], True, self.rows[-1][2])
        elif self.cell is not None:
            if tag == "a":
                self.href.append(dict(attrs).get("href") or "")
                self.cell.append("[")
            elif tag == "br":
                self.cell.append("<br/>")
            elif tag in self._MARKS:
                self.cell.append(self._MARKS[tag])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1][2].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif self.cell is not None:
            if tag == "a" and self.href:
                self.cell.append(f"]({self.href.pop()})")
            elif tag in self._MARKS:
                self.cell.append(self._MARKS[tag])

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _html_table(content: str, line: int) -> list[Block] | None:
    """A `<table>` written in HTML, as GitHub READMEs often are -> the `table` and `row` blocks a
    Markdown table gives (a row of `<th>` cells is the header); None when the block holds no table."""
    if "<table" not in content.lower():
        return None
    reader = _TableReader()
    try:
        reader.feed(content)
        reader.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; a block it cannot read stays HTML
        return None
    rows = [(k, head, cells) for k, head, cells in reader.rows if any(cells)]
    if not rows:
        return None
    out = [Block("table", "", line)]
    for k, head, cells in rows:
        out.append(Block("row", " | ".join(cells), line + k - 1, level=0 if head else 1, cells=tuple(cells)))
    return out


def _too_deep(span: list[int], source: list[str], level: int, quoted: bool,
              warnings: list[tuple[int, str]]) -> Block:
    """The lines markdown-it drops past MAX_NESTING -> one paragraph as written, and a warning."""
    start, end = span
    lines = f"lines {start + 1}-{end}" if end > start + 1 else f"line {start + 1}"
    warnings.append((start + 1, f"nested more than {MAX_NESTING} levels deep; {lines} kept as plain text"))
    text = "\n".join(x.rstrip() for x in source[start:end]).strip()
    return Block("para", text, start + 1, level=level, quoted=quoted)


def _mark_children(blocks: list[Block]) -> list[Block]:
    """Set has_children on items followed by a deeper item."""
    result = list(blocks)
    for k, b in enumerate(blocks):
        if b.kind == "item":
            for j in range(k + 1, len(blocks)):  # not blocks[k + 1:]: a copy per item is quadratic
                nxt = blocks[j]
                if nxt.kind in ("code", "html", "table", "row"):
                    continue
                if nxt.kind == "item" and (nxt.level > b.level or nxt.indent > b.indent):
                    result[k] = replace(b, has_children=True)
                break
    return result
