"""preview: the static HTML page, checked as text and loaded in headless Chromium.

The browser tests need Chromium (`apt-get install -y chromium`) and fail, with that hint, without it.
Set NOTECARDS_SHOTS=<folder> to keep their light and dark screenshots to look at.
"""
from __future__ import annotations

import base64
import html
import os
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from typer.testing import CliRunner

import chromium
from notecards import fsutil, preview
from notecards.cards import make_cards
from notecards.cli import app
from notecards.config import Config
from notecards.errors import OutputError
from notecards.model import Card
from notecards.pipeline import extract_paths
from notecards.preview import count_rows, render_preview, write_preview
from notecards.render import media_name

pytestmark = pytest.mark.slow  # starts Chromium

FORMATS = Path(__file__).parent / "fixtures" / "formats"
INSTALL_HINT = chromium.INSTALL_HINT


def png_bytes(width: int = 48, height: int = 24) -> bytes:
    """A small real PNG (a colour gradient), made without an imaging library."""
    rows = b"".join(b"\0" + bytes(v for x in range(width) for v in (x * 5 % 256, y * 10 % 256, 160))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def card(**kw) -> Card:
    base = dict(guid="g0", deck="Papers", kind="problem", question="Q?", answer="A.", title="T",
                meta="NeurIPS · 2017", context="", source="notes/a.md:3", tags=(), paper_key="p0")
    base.update(kw)
    return Card(**base)


def sample_cards(folder: Path) -> list[Card]:
    """A few cards shaped like make_cards output (fields are HTML): Chinese and English, math, an image."""
    figure = folder / "vit-figure.png"
    figure.write_bytes(png_bytes())
    vit = dict(deck="Papers::视觉", title="ViT：一张图像值 16×16 个词", meta="ICLR · 2021", paper_key="vit",
               tags=("year::2021", "venue::ICLR", "topic::视觉"), source="notes/视觉.md:12",
               extra='<a href="https://scholar.google.com/scholar?q=ViT">在 Google Scholar 搜索</a>')
    attn = dict(deck="Papers::NLP", title="Attention Is All You Need", meta="NeurIPS · 2017", paper_key="attn",
                tags=("year::2017", "venue::NeurIPS", "topic::nlp"), source="notes/nlp.md:4",
                extra='<a href="https://arxiv.org/abs/1706.03762">Paper link</a>')
    context = ('<div class="nc-ctx nc-ctx-opinion"><div class="nc-ctx-label">My take</div>'
               "<ul><li>the <em>positional encoding</em> is the clever part</li></ul></div>")
    return [
        card(guid="v1", kind="problem", question="《ViT：一张图像值 16×16 个词》要解决什么问题？",
             answer="卷积网络依赖<strong>局部归纳偏置</strong>，能否只用 Transformer 处理图像？",
             context='<div class="nc-ctx nc-ctx-background"><div class="nc-ctx-label">背景</div>'
                     "<ul><li>NLP 中 Transformer 已成为主流。</li></ul></div>", **vit),
        card(guid="v2", kind="method", question="《ViT：一张图像值 16×16 个词》的方法是什么？",
             answer=("<p>把图像切成 16×16 的块，线性投影后加位置编码送入编码器。</p>"
                     f'<p><img src="{media_name(figure)}" alt="patches"></p>'),
             context='<div class="nc-none">（笔记里没有更多内容）</div>', media=(str(figure),), **vit),
        card(guid="a1", kind="method", question="What is the method of “Attention Is All You Need”?",
             answer=r"Self-attention only: \(\mathrm{softmax}(QK^\top/\sqrt{d_k})V\), cost \(O(n^2 \cdot d)\).",
             context=context, **attn),
        card(guid="a2", kind="finding", question="What did “Attention Is All You Need” find?",
             answer="<ul><li>28.4 BLEU on WMT14 En→De</li><li>trains in 3.5 days on 8 GPUs</li></ul>",
             context=context, **attn),
        card(guid="a3", kind="reverse", question="Which paper proposes this: “Self-attention only”?",
             answer="Attention Is All You Need", context=context, **attn),
    ]


# --- the page as text -------------------------------------------------------------------------------


def test_groups_cards_by_deck_then_paper(tmp_path):
    page = render_preview(sample_cards(tmp_path))
    assert page.index('<span class="pv-sep">›</span>NLP') < page.index('<span class="pv-sep">›</span>视觉')
    assert page.index("Attention Is All You Need</h3>") < page.index("ViT：一张图像值 16×16 个词</h3>")
    assert page.count('class="pv-paper"') == 2
    assert page.count('class="pv-item"') == 5


def test_counts_cards_by_kind_year_topic_and_venue(tmp_path):
    rows = count_rows(sample_cards(tmp_path))
    as_pairs = {k: [(r.key, r.n) for r in v] for k, v in rows.items()}
    assert as_pairs["kind"] == [("problem", 1), ("method", 2), ("finding", 1), ("reverse", 1)]
    assert as_pairs["year"] == [("2021", 2), ("2017", 3)]  # newest first
    assert as_pairs["topic"] == [("nlp", 3), ("视觉", 2)]
    assert as_pairs["venue"] == [("NeurIPS", 3), ("ICLR", 2)]


def test_counts_follow_configured_tag_prefixes_and_cards_without_tags():
    cards = [card(tags=("jahr::2019", "thema::rl")), card(guid="g1", tags=())]
    rows = count_rows(cards, {"year": "jahr", "topic": "thema"})
    assert [(r.key, r.n) for r in rows["year"]] == [("2019", 1), ("", 1)]
    assert [(r.key, r.n) for r in rows["topic"]] == [("rl", 1), ("", 1)]


def test_faces_are_the_deck_templates_filled_with_the_note_fields():
    page = render_preview([card(question="Q &amp; <em>A</em>?", answer="<strong>yes</strong>")])
    front = '<div class="nc-question">Q &amp; <em>A</em>?</div>'
    assert front in page  # a field is HTML already: shown as Anki shows it, not escaped twice
    assert page.count(front) == 2  # on the front, and on the back through {{FrontSide}}
    assert '<div class="nc-answer"><strong>yes</strong></div>' in page
    assert preview.note_type().css.strip() in page


def test_plain_text_around_the_cards_is_escaped():
    evil = "<script>alert(1)</script>"
    page = render_preview([card(deck=f"Papers::{evil}", tags=(f"topic::{evil}",))],
                          problems=[f"notes/{evil}.md: error: bad bytes"], title=evil)
    assert "<script>alert" not in page
    # page title (2), problem, deck in the contents and heading, tag on the card and in the topic table
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 7


def test_the_page_cannot_run_or_fetch_anything_it_did_not_bring():
    page = render_preview([card()])
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "img-src data:" in csp and "'unsafe-inline'" not in csp.split("script-src")[1]


def test_style_sheet_cannot_close_its_style_element(monkeypatch):
    kind = preview.note_type()
    monkeypatch.setattr(preview, "note_type",
                        lambda: preview.NoteType(kind.front, kind.back, ".card{}</style><script>x()</script>", kind.fields))
    assert "</style><script>" not in render_preview([card()])


def test_fill_template_resolves_sections_and_frontside():
    fields = {"A": "a", "B": "", "C": "<br>"}
    assert preview.fill_template("{{#A}}[{{A}}]{{/A}}{{#B}}no{{/B}}{{^C}}empty{{/C}}|{{FrontSide}}",
                                 fields, front="F") == "[a]empty|F"


def test_fill_template_shows_braces_in_a_field_as_written():
    assert preview.fill_template("{{A}}", {"A": "use {{B}} here"}) == "use {{B}} here"


def test_fill_template_rejects_an_unknown_field():
    with pytest.raises(ValueError, match="unknown field 'Nope'"):
        preview.fill_template("{{Nope}}", {"A": "a"})


def test_local_image_is_embedded_as_data_url(tmp_path):
    (tmp_path / "fig.png").write_bytes(png_bytes())
    name = media_name(tmp_path / "fig.png")  # the name Anki's media folder gets, as in the card HTML
    page = render_preview([card(answer=f'<p><img src="{name}" alt="a &gt; b"></p>',
                                media=(str(tmp_path / "fig.png"),))])
    m = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="a &gt; b">', page)
    assert m and base64.b64decode(m.group(1)) == png_bytes()


def test_missing_image_is_shown_as_missing():
    page = render_preview([card(answer='<p><img src="gone.png"></p>')])
    assert "<img" not in page
    assert "[missing image: gone.png]" in page


def test_remote_image_becomes_a_link_so_nothing_is_fetched():
    page = render_preview([card(answer='<p><img src="https://example.org/a.png?x=1&amp;y=2"></p>')])
    assert '<a class="pv-link" href="https://example.org/a.png?x=1&amp;y=2">' in page
    assert "<img" not in page


def test_long_count_tables_fold_their_tail():
    cards = [card(guid=f"g{i}", tags=(f"topic::t{i:02d}",)) for i in range(preview.STAT_ROWS + 3)]
    stat = render_preview(cards).split('id="stat-topic"')[1].split('id="stat-venue"')[0]
    assert "<summary>3 more</summary>" in stat
    assert stat.index("t09") < stat.index("<details>") < stat.index("t10")


def test_lists_problems_before_the_cards():
    page = render_preview([card()], problems=["notes/x.md: error: <bad> bytes"])
    assert page.index("notes/x.md: error: &lt;bad&gt; bytes") < page.index('class="pv-item"')


def test_empty_preview_says_so():
    page = render_preview([])
    assert "<b>0</b> cards" in page and 'class="pv-item"' not in page
    assert "No cards were made" in page


def test_write_preview_creates_the_folder_and_leaves_no_temp_file(tmp_path):
    out = tmp_path / "decks" / "preview.html"
    assert write_preview([card()], out) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["preview.html"]


def test_failed_write_keeps_the_old_page_and_no_temp_file(tmp_path, monkeypatch):
    out = tmp_path / "preview.html"
    out.write_text("old", encoding="utf-8")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, "replace", broken)
    with pytest.raises(OutputError, match="No space left"):
        write_preview([card()], out)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["preview.html"]


# --- the command ------------------------------------------------------------------------------------

IMAGE_NOTE = """# Vision & <Language> notes

## [ICLR 2021] An Image is Worth 16x16 Words & More

- 问题：卷积网络依赖局部归纳偏置，能否只用 Transformer 处理图像？
- 方法：把图像切成 16×16 的块 ![patches](fig.png)，成本 $O(n^2 d)$
- 发现：在 JFT-300M 上预训练后超过 CNN ![gone](missing.png)
"""


@pytest.fixture
def notes_folder(tmp_path) -> Path:
    """Chinese, English and mixed notes, math, a local image, a missing one, `&` and `<` in titles."""
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("mixed_bilingual.md", "numbered_venue_zh.md", "attention-is-all-you-need.md"):
        shutil.copy(FORMATS / name, folder / name)
    (folder / "fig.png").write_bytes(png_bytes())
    (folder / "vision.md").write_text(IMAGE_NOTE, encoding="utf-8")
    (tmp_path / "config.yaml").write_text("{}\n", encoding="utf-8")
    return folder


def run_preview(*args: str):
    return CliRunner().invoke(app, ["preview", *args])


def test_preview_command_writes_the_page_and_reports_left_out_images(notes_folder, tmp_path):
    out = tmp_path / "site" / "p.html"
    result = run_preview(str(notes_folder), "--out", str(out), "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 0, result.output
    assert f": {out}" in result.stdout and re.search(r"\d+ files, \d+ papers, \d+ cards, \d+ decks", result.stdout)
    assert "vision.md:7: warning: image 'missing.png'" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert "vision.md:7: warning: image &#x27;missing.png&#x27;" in page
    assert "An Image is Worth 16x16 Words &amp; More</h3>" in page  # escaped once, by cards.py
    assert "data:image/png;base64," in page


def test_preview_command_writes_into_the_configured_out_folder(notes_folder, tmp_path):
    (tmp_path / "config.yaml").write_text("out: built\n", encoding="utf-8")
    result = run_preview(str(notes_folder), "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "built" / "preview.html").is_file()


def test_preview_command_bad_config_is_one_line_and_exit_2(notes_folder, tmp_path):
    (tmp_path / "config.yaml").write_text("deck_by: colour\n", encoding="utf-8")
    result = run_preview(str(notes_folder), "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 2
    assert "deck_by" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "decks").exists()


# --- the page in a real browser ----------------------------------------------------------------------


def chromium_binary() -> str:
    """The browser to test with; a missing browser fails the test (CI installs it), with the fix."""
    found = chromium.binary()
    if not found:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def png_colours(data: bytes) -> int:
    """How many distinct byte values the decoded image holds: 1-2 means a blank page."""
    pos, idat = 8, b""
    while pos < len(data):
        (n,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    return len(set(zlib.decompress(idat)))


def shown_text(dom: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture
def browser() -> str:
    return chromium_binary()


def test_preview_loads_in_chromium_without_console_errors(tmp_path, browser):
    cards = sample_cards(tmp_path)
    page = write_preview(cards, tmp_path / "out" / "preview.html", problems=["notes/old.md: error: skipped"])
    url = page.resolve().as_uri()
    light = chromium.load(browser, url, tmp_path / "light", shot=tmp_path / "preview-light.png")
    dark = chromium.load(browser, url, tmp_path / "dark", dark=True, shot=tmp_path / "preview-dark.png")

    text = shown_text(light.dom)
    for c in cards:
        assert html.unescape(re.sub(r"<[^>]+>", "", c.question)) in text
    assert "局部归纳偏置" in text and "28.4 BLEU" in text
    assert r"\(O(n^2 \cdot d)\)" in text  # math stays TeX for Anki's MathJax
    assert light.dom.count('class="pv-item"') == len(cards)
    assert light.dom.count('src="data:image/png;base64,') == 1  # the local figure travels inside the page
    assert 'class="pv-page nightMode night_mode"' in dark.dom and "nightMode" not in light.dom.split("<body")[1][:80]

    shots = {"light": light.png, "dark": dark.png}
    for mode, data in shots.items():
        assert png_size(data) == (1200, 2000)
        assert len(data) > 20_000 and png_colours(data) > 50, f"{mode} screenshot looks blank"
    assert shots["light"] != shots["dark"]

    assert (light.console, light.requests, dark.console, dark.requests) == ((), (), (), ())
    if os.environ.get("NOTECARDS_SHOTS"):  # keep the screenshots to look at
        for p in tmp_path.glob("preview-*.png"):
            shutil.copy(p, Path(os.environ["NOTECARDS_SHOTS"]) / p.name)


def test_browser_check_catches_a_broken_page(tmp_path, browser):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="https://example.invalid/x.png">'
                   '<script>console.error("boom"); missing();</script>', encoding="utf-8")
    found = chromium.load(browser, bad.as_uri(), tmp_path / "run", size=(400, 300), shot=tmp_path / "bad.png")
    assert any("boom" in p for p in found.console)
    assert any(p.startswith("Uncaught ReferenceError") for p in found.console)
    assert any("example.invalid" in u for u in found.requests)


def test_preview_of_real_notes_loads_in_chromium_without_console_errors(notes_folder, tmp_path, browser):
    out = tmp_path / "p.html"
    assert run_preview(str(notes_folder), "--out", str(out), "--config", str(tmp_path / "config.yaml")).exit_code == 0
    cards = [c for d in extract_paths([notes_folder], Config()).documents for c in make_cards(d, Config()).cards]
    page = chromium.load(browser, out.as_uri(), tmp_path / "run", shot=tmp_path / "notes.png")

    text = shown_text(page.dom)
    missing = [c.question for c in cards if html.unescape(re.sub(r"<[^>]+>", "", c.question)) not in text]
    assert not missing
    assert page.dom.count('class="pv-item"') == len(cards)
    assert "[missing image" not in text
    data = page.png
    assert png_size(data) == (1200, 2000) and png_colours(data) > 50
    assert (page.console, page.requests) == ((), ())
