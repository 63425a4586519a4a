"""cards.py and render.py: card design, identity and safe HTML, without Anki."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from notecards.cards import (build_cards, key_part, load_wording, make_cards, merge_repeats, source_path,
                             split_cue, tag, text_language, wording)
from notecards.config import Config
from notecards.identity import assign_slots, carry_identity
from notecards.model import Bullet, Document, Paper
from notecards.pipeline import extract_paths
from notecards.render import media_name, render_markdown

from conftest import SEED

CONFIG = Config()


def paper(title="Attention Is All You Need", bullets=(), **kw) -> Paper:
    made = tuple(Bullet(text=t, line=10 + i, label=label) for i, (label, t) in enumerate(bullets))
    return Paper(title=title, venue=kw.pop("venue", "NeurIPS"), year=kw.pop("year", 2017), line=9,
                 bullets=made, **kw)


def doc(*papers: Paper, lang="en", path="notes/a.md", folder="notes") -> Document:
    return Document(path=path, title="My notes", papers=papers, lang=lang, folder=folder)


ATTENTION = paper(bullets=[("problem", "RNNs are slow to train because they are sequential."),
                           ("method", "Self-attention only, no recurrence."),
                           ("method", "Multi-head attention: several attention heads in parallel."),
                           ("finding", "New state of the art on WMT14 En-De."),
                           ("opinion", "> I wonder how it scales."),
                           ("background", "Attention was used with RNNs before.")])


@pytest.fixture(scope="module")
def seed_doc() -> Document:
    return extract_paths([SEED], CONFIG).documents[0]


def test_one_card_per_asked_bullet_plus_reverse():
    cards = make_cards(doc(ATTENTION), CONFIG)
    assert [c.kind for c in cards] == ["problem", "method", "method", "finding", "reverse"]


def test_english_questions_name_the_paper():
    q = [c.question for c in make_cards(doc(ATTENTION), CONFIG)]
    assert q[0] == "What problem does “Attention Is All You Need” address?"
    assert q[1] == "What is the method of “Attention Is All You Need” (“Self-attention only…”)?"  # first words
    assert q[2] == "In “Attention Is All You Need”, what is “Multi-head attention”?"  # the key is the cue
    assert q[4].startswith("Which paper addresses this problem: “RNNs are slow to train")


def test_chinese_notes_get_chinese_questions():
    p = paper("自注意力", bullets=[("problem", "循环网络训练慢"), ("method", "只用注意力")])
    q = [c.question for c in make_cards(doc(p, lang="zh"), CONFIG)]
    assert q[:2] == ["《自注意力》要解决什么问题？", "《自注意力》的方法是什么？"]


def test_card_language_setting_overrides_the_notes_language():
    cards = make_cards(doc(ATTENTION, lang="en"), replace(CONFIG, card_language="zh"))
    assert cards[0].question == "《Attention Is All You Need》要解决什么问题？"


def test_cue_key_moves_from_answer_to_question():
    assert split_cue("AIFT的生成：首先从IFT数据中采样prompt") == ("AIFT的生成", "首先从IFT数据中采样prompt")
    assert split_cue("方法：只用注意力") == (None, "只用注意力")  # a generic key is no cue
    assert split_cue("基本逻辑其实有点对抗优化：首先训练评分模型")[0] is None  # too long to be a key
    assert split_cue("see https://example.org")[0] is None


def test_opinions_and_background_are_context_not_questions():
    cards = make_cards(doc(ATTENTION), CONFIG)
    assert not any("wonder" in c.question or "wonder" in c.answer for c in cards)
    method = cards[1]
    assert "I wonder how it scales." in method.context and "&gt;" not in method.context
    assert "Attention was used with RNNs before." in method.context
    assert "RNNs are slow" in method.context  # the problem, as the why of the method


def test_back_shows_paper_meta_and_source():
    c = make_cards(doc(ATTENTION), CONFIG)[1]
    assert (c.title, c.meta, c.source) == ("Attention Is All You Need", "NeurIPS · 2017", "notes/a.md:11")
    assert c.extra.startswith('<a href="https://scholar.google.com/')


def test_reverse_cards_can_be_turned_off():
    cards = make_cards(doc(ATTENTION), replace(CONFIG, reverse_cards=False))
    assert "reverse" not in {c.kind for c in cards}


def test_paper_with_only_opinions_still_gets_one_card():
    p = paper("Only Opinions", bullets=[("opinion", "> not convinced")])
    [card] = make_cards(doc(p), CONFIG)
    assert card.kind == "summary" and "not convinced" in card.answer


def test_paper_without_bullets_is_reported_not_carded():
    batch = build_cards(doc(paper("Empty")), CONFIG)
    assert batch.cards == () and "no cards made" in batch.warnings[0]


def test_long_bullet_is_one_card_with_its_key_sentences_and_the_rest_on_the_back():
    long = "。".join(f"第{i}句话讲的是一个比较长的方法步骤，包含很多细节" for i in range(12)) + "。"
    config = replace(CONFIG, max_answer_chars=80)
    [card] = [c for c in make_cards(doc(paper("长", bullets=[("method", long)]), lang="zh"), config)
              if c.kind == "method"]
    shown = re.sub(r"<[^>]+>", "", card.answer)
    assert shown.startswith("第0句话") and len(shown) <= 82 and "第11句" not in shown
    assert "第11句话" in card.context and "笔记全文" in card.context  # the whole bullet, on the back
    assert (card.slot, card.basis) == ("1", long)
    assert card.question == "《长》的方法是什么？"


def test_one_long_sentence_is_cut_at_a_clause():
    text = ", ".join(f"clause {i} of a sentence that never ends" for i in range(20)) + "."
    assert key_part(text, 100) == "clause 0 of a sentence that never ends, clause 1 of a sentence that never ends,"


def test_seed_has_no_blank_question_or_answer(seed_doc):
    cards = make_cards(seed_doc, CONFIG)
    assert cards
    for c in cards:
        for value in (c.question, c.answer, c.title, c.meta, c.context, c.source, c.extra, c.kind):
            assert value.strip(), c
    assert len({c.question for c in cards}) == len(cards)


def test_paper_listed_twice_gives_one_set_of_cards(seed_doc):
    cards = make_cards(seed_doc, CONFIG)
    drl = [c for c in cards if c.title == "Deep Reinforcement Learning from Human Preferences"]
    assert len({c.guid for c in drl}) == len(drl)
    assert len([c for c in drl if c.kind == "reverse"]) == 1
    assert len({c.answer for c in drl}) == len(drl)  # identical bullets of the repeat kept once


def test_merge_keeps_distinct_bullets_of_a_repeat():
    a = paper("X", bullets=[("method", "same"), ("method", "only first")])
    b = paper("x.", bullets=[("method", "same"), ("method", "only second")], year=2016)
    [merged] = merge_repeats([a, b])
    assert [bl.text for bl in merged.bullets] == ["same", "only first", "only second"]
    assert merged.year == 2016


def test_tags_have_prefixes_and_no_spaces():
    p = replace(ATTENTION, venue="NeurIPS Workshop", topics=("machine translation", "nlp"))
    c = make_cards(doc(p), replace(CONFIG, tag_prefixes={"year": "y", "venue": "venue", "topic": "t"}))[0]
    assert c.tags == ("y::2017", "venue::NeurIPS_Workshop", "t::machine_translation", "t::nlp")
    assert tag("topic", " a :: b ") == "topic::a_:_b"


def test_topic_lexicon_matches_tokens():
    config = replace(CONFIG, topics={"alignment": ("对齐",), "rl": ("RL",), "rm": ("reward model",)})
    zh = paper("P", bullets=[("method", "使用奖励模型做价值观对齐")], topics=())
    en = paper("Q", bullets=[("method", "A reward model trained on the URL list")], topics=())
    assert "topic::alignment" in make_cards(doc(zh, lang="zh"), config)[0].tags
    tags = make_cards(doc(en), config)[0].tags
    assert "topic::rm" in tags and "topic::rl" not in tags  # "RL" is not inside "URL"


@pytest.mark.parametrize("deck_by, deck", [("file", "Papers::My notes"), ("year", "Papers::2017"),
                                           ("topic", "Papers::nlp")])
def test_deck_hierarchy(deck_by, deck):
    p = replace(ATTENTION, topics=("nlp",))
    assert {c.deck for c in make_cards(doc(p), replace(CONFIG, deck_by=deck_by))} == {deck}


# --- identity ---------------------------------------------------------------------------


def test_guid_does_not_depend_on_the_answer_text():
    edited = replace(ATTENTION, bullets=tuple(
        replace(b, text=b.text + " (reworded)") for b in ATTENTION.bullets))
    before = [c.guid for c in make_cards(doc(ATTENTION), CONFIG)]
    after = [c.guid for c in make_cards(doc(edited), CONFIG)]
    assert before == after


def test_guid_does_not_depend_on_file_or_title_case():
    a = [c.guid for c in make_cards(doc(ATTENTION), CONFIG)]
    b = [c.guid for c in make_cards(doc(replace(ATTENTION, title="attention is all you need!"),
                                        path="other/b.md"), CONFIG)]
    assert a == b


def test_slots_survive_reword_insert_reorder_delete():
    old = {1: "self attention only", 2: "multi head attention in parallel", 3: "positional encodings"}
    # reorder + reword #1 + delete #3 + insert a new bullet
    now = ["multi head attention in parallel", "a brand new idea", "self-attention only, no recurrence"]
    slots, nxt = assign_slots(now, old, 4)
    assert slots == {"multi head attention in parallel": 2, "self-attention only, no recurrence": 1,
                     "a brand new idea": 4}
    assert nxt == 5  # slot 3 (deleted) is never handed out again


def _previous(cards):
    return {p.ident: p for p in carry_identity(cards, {}).papers}


def test_inserted_bullet_does_not_shift_other_cards():
    before = make_cards(doc(ATTENTION), CONFIG)
    b = list(ATTENTION.bullets)
    b.insert(1, Bullet("Positional encodings with sines.", 11, "method"))
    after = carry_identity(make_cards(doc(replace(ATTENTION, bullets=tuple(b))), CONFIG), _previous(before)).cards
    old = {c.answer: c.guid for c in before}
    assert all(old[c.answer] == c.guid for c in after if c.answer in old and c.kind != "reverse")
    assert len({c.guid for c in after}) == len(after) == len(before) + 1


def test_retitled_paper_keeps_its_cards():
    before = make_cards(doc(ATTENTION), CONFIG)
    renamed = replace(ATTENTION, title="Attention Is All You Really Need")
    carried = carry_identity(make_cards(doc(renamed), CONFIG), _previous(before))
    assert [c.guid for c in carried.cards] == [c.guid for c in before]
    assert carried.removed == ()


def test_removed_paper_is_reported():
    other = paper("Other Paper Entirely", bullets=[("method", "something else")])
    before = make_cards(doc(ATTENTION, other), CONFIG)
    carried = carry_identity(make_cards(doc(other), CONFIG), _previous(before))
    assert carried.removed == ("Attention Is All You Need",)


# --- rendering --------------------------------------------------------------------------


def test_html_is_sanitised():
    html = render_markdown('<script>alert(1)</script>x <img src="https://e.org/a.png" onerror="alert(1)">'
                           ' <a href="javascript:alert(1)">l</a> <iframe src="https://e.org"></iframe>'
                           ' <b onclick="steal()">b</b>', "n.md", ".").html
    for bad in ("<script", "alert(1)", "onerror", "onclick", "javascript:", "<iframe"):
        assert bad not in html
    assert '<img src="https://e.org/a.png">' in html  # remote images stay links


def test_math_goes_to_mathjax_and_survives_emphasis():
    html = render_markdown(r"loss $a*b*c$ and $$\sum_i x_i < 1$$ and *em*", "n.md", ".").html
    assert r"\(a*b*c\)" in html and r"\[\sum_i x_i &lt; 1\]" in html and "<em>em</em>" in html


def test_dollar_amounts_are_not_math():
    assert render_markdown("costs $5 and $10", "n.md", ".").html == "costs $5 and $10"


def test_local_image_inside_notes_folder_is_packed(tmp_path: Path):
    (tmp_path / "notes" / "img").mkdir(parents=True)
    (tmp_path / "notes" / "img" / "fig 1.png").write_bytes(b"\x89PNG fake")
    r = render_markdown("![fig](img/fig%201.png)", str(tmp_path / "notes" / "a.md"), str(tmp_path / "notes"))
    name = media_name(tmp_path / "notes" / "img" / "fig 1.png")
    assert r.media == (str(tmp_path / "notes" / "img" / "fig 1.png"),) and f'src="{name}"' in r.html
    assert re.fullmatch(r"nc-[0-9a-f]{12}-fig_1\.png", name) and not r.warnings


def test_image_outside_notes_folder_is_refused(tmp_path: Path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    for src in ("../secret.png", str(tmp_path / "secret.png"), f"file://{tmp_path}/secret.png"):
        r = render_markdown(f"![s]({src})", str(tmp_path / "notes" / "a.md"), str(tmp_path / "notes"), line=3)
        assert r.media == () and "<img" not in r.html
        assert "outside the notes folder" in r.warnings[0] and ":3:" in r.warnings[0]


def test_refused_image_is_reported_by_make_cards(tmp_path: Path):
    (tmp_path / "notes").mkdir()
    p = paper(bullets=[("method", "see ![fig](../../etc/passwd.png) here")])
    batch = build_cards(doc(p, path=str(tmp_path / "notes" / "a.md"), folder=str(tmp_path / "notes")), CONFIG)
    assert any("left out" in w for w in batch.warnings)
    assert all("<img" not in c.answer for c in batch.cards)


def test_paper_that_left_is_reported_once_and_gets_its_cards_back():
    other = paper("Other Paper Entirely", bullets=[("method", "something else")])
    both = make_cards(doc(ATTENTION, other), CONFIG)
    first = carry_identity(make_cards(doc(other), CONFIG), _previous(both))
    second = carry_identity(make_cards(doc(other), CONFIG), {p.ident: p for p in first.papers})
    assert (first.removed, second.removed) == (("Attention Is All You Need",), ())
    back = carry_identity(both, {p.ident: p for p in second.papers})
    assert [c.guid for c in back.cards] == [c.guid for c in both] and back.removed == ()


def test_identical_bullets_in_one_paper_give_one_card():
    p = paper("Twice", bullets=[("method", "the same idea, written out"), ("method", "the same  idea, written out"),
                                ("method", "  ")])
    assert [c.kind for c in make_cards(doc(p), CONFIG)] == ["method", "reverse"]


def test_folders_under_the_notes_folder_are_topics():
    cards = make_cards(doc(ATTENTION, path="notes/nlp/translation/a.md", folder="notes"), CONFIG)
    assert {"topic::nlp", "topic::translation"} <= set(cards[0].tags)
    assert not any(t.startswith("topic::") for t in make_cards(doc(ATTENTION), CONFIG)[0].tags)


def test_file_and_title_markup_cannot_inject_html():
    p = replace(ATTENTION, title='<img src=x onerror="alert(1)">Attention')
    for c in make_cards(doc(p, path='notes/<script>alert(1)</script>.md'), CONFIG):
        for value in (c.question, c.title, c.source, c.answer, c.extra):
            assert "<script" not in value and "<img" not in value


def test_plain_bullets_render_as_the_parser_would(monkeypatch):
    """The fast path for plain bullets gives exactly what markdown-it + nh3 give."""
    from notecards import render
    from notecards.config import Config as _Config
    from notecards.pipeline import extract_paths as _extract

    fixtures = Path(__file__).parent / "fixtures" / "formats"
    texts = [b.text for d in _extract([fixtures], _Config()).documents for p in d.papers for b in p.bullets]
    plain = [t for t in texts if render._is_plain(t)]
    assert len(plain) > 50
    fast = [render.render_markdown(t, "n.md", ".").html for t in plain]
    monkeypatch.setattr(render, "_is_plain", lambda text: False)
    assert fast == [render.render_markdown(t, "n.md", ".").html for t in plain]


def test_brackets_and_equals_alone_are_plain_text(monkeypatch):
    """`(`, `)` and `=` take the fast path unless the parser would rewrite something: same HTML, same words."""
    import random

    from notecards import render

    rnd = random.Random(7)
    pieces = list("()=()=ab 12.-+:;,'\"%@{}^/?。，（）：中文\t\u3000\x0c") + [
        "(c)", "(tm)", "+-", "...", "--", "==", "1)", "1.", "www.a.org", "(https://x.y)", "\xa0", "\r", "\0"]
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randrange(1, 10))) for _ in range(3000)]
    texts = [t for t in texts if set("()=") & set(t)]
    plain = [t for t in texts if render._is_plain(t)]
    assert len(plain) > 500 and not any(render._is_plain(f"a(b){c}d") for c in "\0\r\xa0")
    fast = [(render.render_markdown(t, "n.md", "."), render.plain_text(t)) for t in plain]
    monkeypatch.setattr(render, "_is_plain", lambda text: False)
    assert fast == [(render.render_markdown(t, "n.md", "."), render.plain_text(t)) for t in plain]


def test_each_bullet_is_parsed_once_per_paper(monkeypatch):
    """The problem is both a card and context, its text is measured and rendered: one markdown-it parse."""
    from notecards import render

    texts: list[str] = []
    md = render._markdown()
    parse = md.render
    monkeypatch.setattr(md, "render", lambda text, *a: texts.append(text) or parse(text, *a))
    p = paper(bullets=[("problem", "Loss $a<b$ is unstable."), ("method", "Clip the *gradient*."),
                       ("method", "Key: warm up $lr$ first."), ("background", "SGD is `noisy`.")])
    cards = make_cards(doc(p), CONFIG)
    assert len(cards) == 4 and "\\(a&lt;b\\)" in cards[1].context
    assert sorted(texts) == sorted(set(texts)) and len(texts) == 4
