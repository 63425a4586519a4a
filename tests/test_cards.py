"""cards.py and render.py: card design, identity and safe HTML, without Anki."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from notecards.cards import (key_part, load_wording, make_cards, merge_repeats, source_path,
                             split_cue, tag, text_language, wording)
from notecards.config import Config
from notecards.identity import assign_slots, carry_identity, give_guids, text_slot
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
    cards = make_cards(doc(ATTENTION), CONFIG).cards
    assert [c.kind for c in cards] == ["problem", "method", "method", "finding", "reverse"]


def test_english_questions_name_the_paper():
    q = [c.question for c in make_cards(doc(ATTENTION), CONFIG).cards]
    assert q[0] == "What problem does “Attention Is All You Need” address?"
    assert q[1] == "What is the method of “Attention Is All You Need” (“Self-attention only…”)?"  # first words
    assert q[2] == "In “Attention Is All You Need”, what is “Multi-head attention”?"  # the key is the cue
    assert q[4].startswith("Which paper addresses this problem: “RNNs are slow to train")


def test_chinese_notes_get_chinese_questions():
    p = paper("自注意力", bullets=[("problem", "循环网络训练慢"), ("method", "只用注意力")])
    q = [c.question for c in make_cards(doc(p, lang="zh"), CONFIG).cards]
    assert q[:2] == ["《自注意力》要解决什么问题？", "《自注意力》的方法是什么？"]


def test_card_language_setting_overrides_the_notes_language():
    cards = make_cards(doc(ATTENTION, lang="en"), replace(CONFIG, card_language="zh")).cards
    assert cards[0].question == "《Attention Is All You Need》要解决什么问题？"


def test_cue_key_moves_from_answer_to_question():
    assert split_cue("AIFT的生成：首先从IFT数据中采样prompt") == ("AIFT的生成", "首先从IFT数据中采样prompt")
    assert split_cue("方法：只用注意力") == (None, "只用注意力")  # a generic key is no cue
    # whose note it is names no term: "In X, what is “Lena's comments”?" would ask nothing
    assert split_cue("**Lena's comments**: a neat trick for long inputs") == (None, "a neat trick for long inputs")
    assert split_cue("My notes: read twice") == (None, "read twice")
    assert split_cue("**Problem.** Attention is quadratic") == (None, "Attention is quadratic")  # a bold run-in key
    assert split_cue("**TL;DR:** T0 generalises to held-out tasks") == (None, "T0 generalises to held-out tasks")
    assert split_cue("**Data pipeline.** Dedup, then filter") == ("Data pipeline", "Dedup, then filter")
    assert split_cue("我的笔记：值得复现") == (None, "值得复现")
    assert split_cue("Lena's trick: sort the batch by length")[0] == "Lena's trick"
    assert split_cue("基本逻辑其实有点对抗优化：首先训练评分模型")[0] is None  # too long to be a key
    assert split_cue("see https://example.org")[0] is None
    assert split_cue("3：一个有很多参数的语言模型")[0] is None  # a numbered item, not a key


def test_opinions_and_background_are_context_not_questions():
    cards = make_cards(doc(ATTENTION), CONFIG).cards
    assert not any("wonder" in c.question or "wonder" in c.answer for c in cards)
    method = cards[1]
    assert "I wonder how it scales." in method.context and "&gt;" not in method.context
    assert "Attention was used with RNNs before." in method.context
    assert "RNNs are slow" in method.context  # the problem, as the why of the method


def test_back_shows_paper_meta_and_source():
    c = make_cards(doc(ATTENTION), CONFIG).cards[1]
    assert (c.title, c.meta, c.source) == ("Attention Is All You Need", "NeurIPS · 2017", "notes/a.md:11")
    assert c.extra.startswith('<a href="https://scholar.google.com/')


def test_reverse_cards_can_be_turned_off():
    cards = make_cards(doc(ATTENTION), replace(CONFIG, reverse_cards=False)).cards
    assert "reverse" not in {c.kind for c in cards}


def test_paper_with_only_opinions_still_gets_one_card():
    p = paper("Only Opinions", bullets=[("opinion", "> not convinced")])
    [card] = make_cards(doc(p), CONFIG).cards
    assert card.kind == "summary" and "not convinced" in card.answer


def test_paper_without_bullets_is_reported_not_carded():
    batch = make_cards(doc(paper("Empty")), CONFIG)
    assert batch.cards == () and "no cards made" in batch.warnings[0]


def test_long_bullet_is_one_card_with_its_key_sentences_and_the_rest_on_the_back():
    long = "。".join(f"第{i}句话讲的是一个比较长的方法步骤，包含很多细节" for i in range(12)) + "。"
    config = replace(CONFIG, max_answer_chars=80)
    [card] = [c for c in make_cards(doc(paper("长", bullets=[("method", long)]), lang="zh"), config).cards
              if c.kind == "method"]
    shown = re.sub(r"<[^>]+>", "", card.answer)
    assert shown.startswith("第0句话") and len(shown) <= 82 and "第11句" not in shown
    assert "第11句话" in card.context and "笔记全文" in card.context  # the whole bullet, on the back
    assert card.basis == long
    assert card.question == "《长》的方法是什么？"


def test_one_long_sentence_is_cut_at_a_clause():
    text = ", ".join(f"clause {i} of a sentence that never ends" for i in range(20)) + "."
    assert key_part(text, 100) == "clause 0 of a sentence that never ends, clause 1 of a sentence that never ends,"


def test_seed_has_no_blank_question_or_answer(seed_doc):
    cards = make_cards(seed_doc, CONFIG).cards
    assert cards
    for c in cards:
        for value in (c.question, c.answer, c.title, c.meta, c.context, c.source, c.extra, c.kind):
            assert value.strip(), c
    assert len({c.question for c in cards}) == len(cards)


def test_paper_listed_twice_gives_one_set_of_cards(seed_doc):
    cards = keyed(seed_doc)
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
    c = make_cards(doc(p), replace(CONFIG, tag_prefixes={"year": "y", "venue": "venue", "topic": "t", "source": "src"})).cards[0]
    assert c.tags == ("y::2017", "venue::NeurIPS_Workshop", "t::machine_translation", "t::nlp", "src::a")
    assert tag("topic", " a :: b ") == "topic::a_:_b"


def test_a_paper_with_no_year_venue_or_topic_is_tagged_with_its_notes_file():
    bare = replace(ATTENTION, year=None, venue=None, topics=())
    assert {c.tags for c in make_cards(doc(bare, path="notes/reading 2024.md"), CONFIG).cards} == {("source::reading_2024",)}


def test_topic_lexicon_matches_tokens():
    config = replace(CONFIG, topics={"alignment": ("对齐",), "rl": ("RL",), "rm": ("reward model",)})
    zh = paper("P", bullets=[("method", "使用奖励模型做价值观对齐")], topics=())
    en = paper("Q", bullets=[("method", "A reward model trained on the URL list")], topics=())
    assert "topic::alignment" in make_cards(doc(zh, lang="zh"), config).cards[0].tags
    tags = make_cards(doc(en), config).cards[0].tags
    assert "topic::rm" in tags and "topic::rl" not in tags  # "RL" is not inside "URL"


@pytest.mark.parametrize("deck_by, deck", [("file", "Papers::My notes"), ("year", "Papers::2017"),
                                           ("topic", "Papers::nlp")])
def test_deck_hierarchy(deck_by, deck):
    p = replace(ATTENTION, topics=("nlp",))
    assert {c.deck for c in make_cards(doc(p), replace(CONFIG, deck_by=deck_by)).cards} == {deck}


# --- identity ---------------------------------------------------------------------------


def keyed(d, config=CONFIG):
    """The cards of a document with the guids a first build gives them (make_cards makes drafts)."""
    return give_guids(make_cards(d, config).cards)


def test_cards_are_drafts_until_identity_gives_them_guids():
    drafts = make_cards(doc(ATTENTION), CONFIG).cards
    assert {c.guid for c in drafts} == {""}
    assert all(len(c.guid) == 20 for c in keyed(doc(ATTENTION)))


def test_guid_does_not_depend_on_the_answer_text():
    edited = replace(ATTENTION, bullets=tuple(
        replace(b, text=b.text + " (reworded)") for b in ATTENTION.bullets))
    before = keyed(doc(ATTENTION))
    after = carry_identity(keyed(doc(edited)), _previous(before)).cards
    assert [c.guid for c in before] == [c.guid for c in after]


def test_without_a_state_an_unchanged_bullet_keeps_its_guid_wherever_it_moves():
    before = {c.answer: c.guid for c in keyed(doc(ATTENTION)) if c.kind != "reverse"}
    moved = replace(ATTENTION, bullets=ATTENTION.bullets[::-1])
    after = {c.answer: c.guid for c in keyed(doc(moved)) if c.kind != "reverse"}
    assert after == before


def test_guid_does_not_depend_on_file_or_title_case():
    a = [c.guid for c in keyed(doc(ATTENTION))]
    b = [c.guid for c in keyed(doc(replace(ATTENTION, title="attention is all you need!"),
                                        path="other/b.md"))]
    assert a == b


def test_slots_survive_reword_insert_reorder_delete():
    old = {1: "self attention only", 2: "multi head attention in parallel", 3: "positional encodings"}
    # reorder + reword #1 + delete #3 + insert a new bullet
    now = ["multi head attention in parallel", "a brand new idea", "self-attention only, no recurrence"]
    slots, _ = assign_slots(now, {str(n): t for n, t in old.items()}, 4)
    assert slots == {"multi head attention in parallel": "2", "self-attention only, no recurrence": "1",
                     "a brand new idea": text_slot("a brand new idea")}
    assert "3" not in slots.values()  # slot 3 (deleted) is never handed out again


def _previous(cards):
    return {p.ident: p for p in carry_identity(cards, {}).papers}


def test_inserted_bullet_does_not_shift_other_cards():
    before = keyed(doc(ATTENTION))
    b = list(ATTENTION.bullets)
    b.insert(1, Bullet("Positional encodings with sines.", 11, "method"))
    after = carry_identity(keyed(doc(replace(ATTENTION, bullets=tuple(b)))), _previous(before)).cards
    old = {c.answer: c.guid for c in before}
    assert all(old[c.answer] == c.guid for c in after if c.answer in old and c.kind != "reverse")
    assert len({c.guid for c in after}) == len(after) == len(before) + 1


def test_retitled_paper_keeps_its_cards():
    before = keyed(doc(ATTENTION))
    renamed = replace(ATTENTION, title="Attention Is All You Really Need")
    carried = carry_identity(keyed(doc(renamed)), _previous(before))
    assert [c.guid for c in carried.cards] == [c.guid for c in before]
    assert carried.removed == ()


def test_removed_paper_is_reported():
    other = paper("Other Paper Entirely", bullets=[("method", "something else")])
    before = keyed(doc(ATTENTION, other))
    carried = carry_identity(keyed(doc(other)), _previous(before))
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
    batch = make_cards(doc(p, path=str(tmp_path / "notes" / "a.md"), folder=str(tmp_path / "notes")), CONFIG)
    assert any("left out" in w for w in batch.warnings)
    assert all("<img" not in c.answer for c in batch.cards)


def test_paper_that_left_is_reported_once_and_gets_its_cards_back():
    other = paper("Other Paper Entirely", bullets=[("method", "something else")])
    both = keyed(doc(ATTENTION, other))
    first = carry_identity(keyed(doc(other)), _previous(both))
    second = carry_identity(keyed(doc(other)), {p.ident: p for p in first.papers})
    assert (first.removed, second.removed) == (("Attention Is All You Need",), ())
    back = carry_identity(both, {p.ident: p for p in second.papers})
    assert [c.guid for c in back.cards] == [c.guid for c in both] and back.removed == ()


def test_identical_bullets_in_one_paper_give_one_card():
    p = paper("Twice", bullets=[("method", "the same idea, written out"), ("method", "the same  idea, written out"),
                                ("method", "  ")])
    assert [c.kind for c in make_cards(doc(p), CONFIG).cards] == ["method", "reverse"]


def test_folders_under_the_notes_folder_are_topics():
    cards = make_cards(doc(ATTENTION, path="notes/nlp/translation/a.md", folder="notes"), CONFIG).cards
    assert {"topic::nlp", "topic::translation"} <= set(cards[0].tags)
    assert not any(t.startswith("topic::") for t in make_cards(doc(ATTENTION), CONFIG).cards[0].tags)


def test_file_and_title_markup_cannot_inject_html():
    p = replace(ATTENTION, title='<img src=x onerror="alert(1)">Attention')
    for c in make_cards(doc(p, path='notes/<script>alert(1)</script>.md'), CONFIG).cards:
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
    cards = make_cards(doc(p), CONFIG).cards
    assert len(cards) == 4 and "\\(a&lt;b\\)" in cards[1].context
    assert sorted(texts) == sorted(set(texts)) and len(texts) == 4


# --- questions a reviewer can answer (issue 14) ---------------------------------------------------

PART_NUMBER = re.compile(r"[(（]\s*\d+\s*/\s*\d+\s*[)）]")


def test_several_bullets_of_a_kind_ask_by_their_first_words_never_by_number():
    p = paper("Sparse Mixtures", bullets=[("method", "Route each token to two experts out of sixty-four."),
                                          ("method", "Balance the experts with an auxiliary loss term."),
                                          ("method", "Drop tokens that overflow an expert's capacity.")])
    q = [c.question for c in make_cards(doc(p), CONFIG).cards if c.kind == "method"]
    assert q == ["What is the method of “Sparse Mixtures” (“Route each token to…”)?",
                 "What is the method of “Sparse Mixtures” (“Balance the experts with…”)?",
                 "What is the method of “Sparse Mixtures” (“Drop tokens that…”)?"]  # half its words at most


def test_two_bullets_with_the_same_key_are_told_apart_by_their_words():
    p = paper("检测器", bullets=[("method", "训练：先在大数据集上预训练主干网络"),
                                 ("method", "训练：再用少量标注数据微调检测头")])
    q = [c.question for c in make_cards(doc(p, lang="zh"), CONFIG).cards if c.kind == "method"]
    assert len(set(q)) == 2 and all("「训练」" in x for x in q) and not any(PART_NUMBER.search(x) for x in q)
    assert "先在大数据集" in q[0] and "再用少量标注" in q[1]


def test_bullets_with_the_same_opening_get_longer_hints_until_they_differ():
    p = paper("Twins", bullets=[("finding", "It improves accuracy on ImageNet by two points over the baseline."),
                                ("finding", "It improves accuracy on COCO by one point over the baseline.")])
    q = [c.question for c in make_cards(doc(p), CONFIG).cards if c.kind == "finding"]
    assert len(set(q)) == 2 and "ImageNet" in q[0] and "COCO" in q[1]


def test_an_aspect_tag_is_the_cue():
    assert split_cue("(data) 1.2M images from 1000 classes") == ("data", "1.2M images from 1000 classes")
    assert split_cue("（模型）双塔结构，共享词表")[0] == "模型"


def test_quoted_abstract_is_context_not_a_card():
    abstract = "摘要：" + " ".join(f"Sentence {i} of the authors' abstract about defect detection." for i in range(9))
    p = paper("Defect Nets", bullets=[("method", abstract), ("method", "用级联自编码器重建图像，再阈值分割缺陷")])
    cards = make_cards(doc(p, lang="zh"), CONFIG).cards
    assert [c.kind for c in cards if c.kind != "reverse"] == ["method"]
    assert all("Sentence 0" not in c.question + c.answer for c in cards)
    assert "Sentence 8" in cards[0].context and "摘要" in cards[0].context


def test_abstract_cards_setting_makes_one_abstract_card():
    abstract = "Abstract: We study defects. " + " ".join(f"Detail {i} follows here at length." for i in range(20))
    p = paper("Defect Nets", bullets=[("finding", abstract), ("method", "Cascade auto-encoders rebuild the image.")])
    cards = make_cards(doc(p), replace(CONFIG, abstract_cards=True)).cards
    [card] = [c for c in cards if c.kind == "abstract"]
    assert card.question == "What does the abstract of “Defect Nets” say?"
    assert len(re.sub(r"<[^>]+>", "", card.answer)) <= CONFIG.max_answer_chars and "Detail 19" in card.context


def test_bullet_that_restates_the_title_is_context():
    p = paper("Uncertainty Modeling for Out-of-Distribution Generalization",
              bullets=[("problem", "Uncertainty modeling for OOD generalization"),
                       ("method", "Model feature statistics as Gaussians and sample them during training.")])
    cards = make_cards(doc(p), CONFIG).cards
    assert [c.kind for c in cards] == ["method", "reverse"]
    assert "Uncertainty modeling for OOD generalization" in cards[0].context


def test_bullet_that_only_leads_into_what_follows_or_says_too_little_is_context():
    p = paper("Bigtable", bullets=[("method", "下面是几个相关的视频："), ("method", "We can see that...."),
                                   ("method", "Gist –"), ("method", "TODO"), ("finding", "Then improved by training on demonstrations"),
                                   ("method", "Rows are kept sorted and split into tablets.")])
    cards = make_cards(doc(p), CONFIG).cards
    assert [c.kind for c in cards] == ["method", "reverse"]
    assert all(t in cards[0].context for t in ("相关的视频", "We can see", "Gist", "Then improved"))


def test_bullet_that_leans_on_its_neighbours_is_context():
    p = paper("Second Paper", bullets=[("method", "和前面那篇的思路一样，只是换了损失函数"),
                                       ("method", "Same as above, but with a larger batch."),
                                       ("method", "用对比损失替换交叉熵，提升小样本表现")])
    cards = make_cards(doc(p, lang="zh"), CONFIG).cards
    assert [c.kind for c in cards] == ["method", "reverse"]
    assert "和前面那篇" in cards[0].context and "Same as above" in cards[0].context


def test_each_bullet_asks_in_its_own_language():
    p = paper("Domain Adaptation Survey", bullets=[
        ("method", "Unfortunately a shared encoder cannot align the label shift."),
        ("method", "没有domain label的情况下用聚类得到伪标签")])
    q = [c.question for c in make_cards(doc(p, lang="zh"), CONFIG).cards if c.kind == "method"]
    assert q[0].startswith("What is the method of") and q[1].startswith("《Domain Adaptation Survey》的方法")
    assert text_language("用domain randomization进行sim-to-real transfer") == "zh"
    assert text_language("Unfortunately, a B-tree may not do well.") == "en"
    assert text_language("2023 · 42") is None


def test_a_bullet_without_letters_asks_in_its_papers_language():
    p = paper("视觉变换器", bullets=[("finding", "ResNet-50 上 76.1%"), ("method", "把图像切块后送入编码器"),
                                     ("problem", "卷积网络的归纳偏置是否必要")])
    [finding] = [c for c in make_cards(doc(p, lang="en"), CONFIG).cards if c.kind == "finding"]
    assert finding.question == "《视觉变换器》有什么发现？"


def test_reverse_card_never_gives_the_title_away():
    p = paper("LoRA: Low-Rank Adaptation of Large Language Models",
              bullets=[("problem", "LoRA fine-tunes large models cheaply."),
                       ("method", "Freeze the weights and train a pair of small matrices per layer.")])
    [rev] = [c for c in make_cards(doc(p), CONFIG).cards if c.kind == "reverse"]
    assert "LoRA" not in rev.question and "Freeze the weights" in rev.question


def test_reverse_card_asks_a_whole_sentence_and_shows_the_bullet_on_the_back():
    long = "A" + " very" * 40 + " long first sentence. Then more."
    p = paper("Some Paper", bullets=[("problem", long), ("method", "Train two towers that share a vocabulary. Then rank.")])
    [rev] = [c for c in make_cards(doc(p), CONFIG).cards if c.kind == "reverse"]
    assert "…" not in rev.question and "Train two towers that share a vocabulary" in rev.question
    assert "Then rank." in rev.context


def test_reverse_card_two_papers_share_is_left_out():
    a = paper("First Paper", bullets=[("method", "GAN plus a perceptual loss term")])
    b = paper("Second Paper", bullets=[("method", "GAN plus a perceptual loss term")])
    assert "reverse" not in {c.kind for c in make_cards(doc(a, b), CONFIG).cards}
    assert "reverse" in {c.kind for c in make_cards(doc(a), CONFIG).cards}


def test_no_question_of_the_seed_carries_a_part_number_or_repeats(seed_doc):
    cards = make_cards(seed_doc, CONFIG).cards
    assert not [c.question for c in cards if PART_NUMBER.search(c.question)]
    assert len({c.question for c in cards}) == len(cards)
    assert all(len(re.sub(r"<[^>]+>", "", c.answer)) <= CONFIG.max_answer_chars + 2 for c in cards)


def test_source_is_relative_to_the_notes_folder_wherever_the_build_runs():
    here = doc(ATTENTION, path="/home/me/notes/nlp/a.md", folder="/home/me/notes")
    there = doc(ATTENTION, path="../../me/notes/nlp/a.md", folder="../../me/notes")
    assert source_path(here) == source_path(there) == "notes/nlp/a.md"
    assert source_path(doc(ATTENTION, path="a.md", folder=".")) == "a.md"
    assert make_cards(here, CONFIG).cards[0].source == "notes/nlp/a.md:10"


def test_a_file_with_no_cards_says_so_and_papers_without_notes_are_one_line():
    empty = make_cards(doc(paper("A"), paper("B")), CONFIG)
    assert empty.cards == () and len(empty.warnings) == 1 and "no cards made from this file" in empty.warnings[0]
    some = make_cards(doc(ATTENTION, paper("A"), paper("B"), paper("C"), paper("D")), CONFIG)
    [note] = [w for w in some.warnings if "no notes to ask about" in w]
    assert note.startswith("notes/a.md:9: note: 4 papers have") and "'A', 'B', 'C', …" in note


def test_shipped_wording_has_every_template_in_both_languages():
    w = wording()
    assert {"zh", "en"} <= set(w.languages) and "方法" in w.generic_keys and "摘要" in w.abstract_keys
    assert w.note_order.search("和前面一样") and w.note_order.search("See above.")


@pytest.mark.parametrize("change,message", [
    (lambda d: d["languages"]["en"].pop("method"), "languages.en.method: missing, or not text"),
    (lambda d: d["languages"]["zh"].update(problem="《{paper}》？"), "unknown placeholder {paper}"),
    (lambda d: d.update(abstract_keys="摘要"), "abstract_keys: expected a list of non-empty words"),
    (lambda d: d.update(note_order=[True]), "note_order: expected a list of non-empty words"),
    (lambda d: d.update(colour=[]), "colour: unknown key"),
    (lambda d: d["languages"].pop("zh"), "at least the languages zh and en"),
])
def test_wording_table_is_checked_on_load(change, message):
    import copy
    from importlib import resources

    import yaml

    from notecards.errors import ConfigError

    data = yaml.safe_load(resources.files("notecards").joinpath("resources", "cards.yaml").read_text("utf-8"))
    data = copy.deepcopy(data)
    change(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_wording(data, "my-cards.yaml")
