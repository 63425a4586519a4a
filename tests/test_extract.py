"""The paper finder and its metadata rules, one shape or trap per test (own small notes)."""
from __future__ import annotations

from pathlib import Path

import pytest

from notecards.config import Config
from notecards.extract import _header_text
from notecards.pipeline import extract_paths


def papers(tmp_path: Path, text: str, name: str = "notes.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    report = extract_paths([path], Config())
    assert not report.problems
    return report.documents[0].papers


def test_emoji_decorate_titles_venue_lines_and_section_headings(tmp_path):
    got = papers(tmp_path, "## 📄 Chain-of-Thought Prompting Elicits Reasoning\n🏛️ NeurIPS 2022\n\n"
                           "### 💡 Key idea\n- Prompt with worked steps.\n\n"
                           "## 📄 Self-Consistency Improves Chain of Thought Reasoning\n🏛️ ICLR 2023\n\n"
                           "### 🤔 Thoughts\n- Only works at scale.\n")
    assert [(p.title, p.venue, p.year) for p in got] == [
        ("Chain-of-Thought Prompting Elicits Reasoning", "NeurIPS", 2022),
        ("Self-Consistency Improves Chain of Thought Reasoning", "ICLR", 2023)]
    assert [[(b.text, b.label) for b in p.bullets] for p in got] == [
        [("Prompt with worked steps.", "method")], [("Only works at scale.", "opinion")]]


def test_a_heading_inside_a_paper_starts_a_section_and_lines_of_its_own(tmp_path):
    got = papers(tmp_path, "# Scaling Laws for Neural Language Models\n\n## Summary\n\nLoss falls as a power law.\n\n"
                           "## Strengths\n\n- Clean design.\n\n## Weaknesses\n\n- Schedules were not tuned.\n")
    assert [(b.text, b.section, b.parent) for b in got[0].bullets] == [
        ("Loss falls as a power law.", "Summary", ""), ("Clean design.", "Strengths", ""),
        ("Schedules were not tuned.", "Weaknesses", "")]


def test_a_footnote_is_a_note_under_the_bullet_that_cites_it(tmp_path):
    got = papers(tmp_path, "## Scaling Laws for Neural Language Models[^t]\n\n- Loss falls as a power law[^1].\n"
                           "- Width matters little.\n\n## Training Compute-Optimal Large Language Models\n\n"
                           "- Scale data with parameters.\n\n[^1]: Over seven orders of magnitude.\n"
                           "[^t]: Read twice.\n")
    assert [p.title for p in got] == ["Scaling Laws for Neural Language Models",
                                      "Training Compute-Optimal Large Language Models"]
    assert [(b.text, b.line, b.parent) for b in got[0].bullets] == [
        ("Loss falls as a power law.", 3, ""), ("Over seven orders of magnitude.", 10, "Loss falls as a power law."),
        ("Width matters little.", 4, "")]
    assert [b.text for b in got[1].bullets] == ["Scale data with parameters."]


@pytest.mark.parametrize("booktitle, venue", [
    ("International Conference on Machine Learning", "ICML"),
    ("Proceedings of the 38th International Conference on Machine Learning", "ICML"),
    ("Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition", "CVPR"),
    ("Workshop on Odd Things", "Workshop on Odd Things")])  # a venue the table lacks: as written
def test_a_bibtex_booktitle_names_its_venue_as_a_citation_does(tmp_path, booktitle, venue):
    got = papers(tmp_path, "```bibtex\n@inproceedings{key2021,\n  title={Learning Transferable Visual Models},\n"
                           f"  booktitle={{{booktitle}}},\n  year={{2021}}\n}}\n```\n\n- Contrastive image-text pairs.\n")
    assert [(p.title, p.venue, p.year) for p in got] == [("Learning Transferable Visual Models", venue, 2021)]


def test_a_definition_list_entry_is_one_term_and_definition_bullet(tmp_path):
    got = papers(tmp_path, "## GloVe: Global Vectors for Word Representation (EMNLP 2014)\n\nMethod\n"
                           ": Fit vectors to log co-occurrence counts.\nResult\n: Beats skip-gram.\n")
    assert [(b.text, b.line) for b in got[0].bullets] == [
        ("Method: Fit vectors to log co-occurrence counts.", 3), ("Result: Beats skip-gram.", 5)]


def test_a_line_of_authors_and_a_venue_is_metadata(tmp_path):
    got = papers(tmp_path, "## Sequence to Sequence Learning with Neural Networks\n\n"
                           "Ilya Sutskever, Oriol Vinyals, Quoc V. Le — NeurIPS 2014\n\n"
                           "- Reversing the source sentence helps.\n- BERT, GPT, T5 - all evaluated on GLUE.\n")
    assert [(p.title, p.venue, p.year) for p in got] == [
        ("Sequence to Sequence Learning with Neural Networks", "NeurIPS", 2014)]
    assert [b.text for b in got[0].bullets] == ["Reversing the source sentence helps.",
                                                "BERT, GPT, T5 - all evaluated on GLUE."]


def test_an_html_table_split_by_blank_lines_is_one_table(tmp_path):
    text = (
        "# Vision transformers\n\n<table>\n<tr><th>Paper</th><th>Venue</th><th>Notes</th></tr>\n\n"
        "<tr><td><a href=\"https://arxiv.org/abs/2010.11929\">An Image is Worth 16x16 Words: Transformers for Image "
        "Recognition at Scale</a></td><td>ICLR 2021</td><td>Splits the image into patches.</td></tr>\n\n"
        "<tr><td><b>Training data-efficient image transformers &amp; distillation through attention</b></td>"
        "<td>ICML 2021</td><td>A distillation token lets ViT train on ImageNet alone.</td></tr>\n</table>\n")
    got = papers(tmp_path, text)
    assert [(p.title, p.venue, p.line, [b.line for b in p.bullets]) for p in got] == [
        ("An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale", "ICLR", 6, [6]),
        ("Training data-efficient image transformers & distillation through attention", "ICML", 8, [8])]


def test_venue_tags_are_normalised_and_years_come_from_headings(tmp_path):
    ps = papers(tmp_path, "## 2021\n\n1. [Arixv]Some Paper About Things\n   1. 提出了新方法\n"
                          "2. [nips] Another Paper On Stuff\n   1. 实验表明效果好\n")
    assert [(p.title, p.venue, p.year) for p in ps] == [
        ("Some Paper About Things", "arXiv", 2021), ("Another Paper On Stuff", "NeurIPS", 2021)]


def test_repeated_paper_takes_the_earliest_year(tmp_path):
    ps = papers(tmp_path, "## 2019\n\n1. [ICLR] A Repeated Paper Title\n   1. 方法一\n\n"
                          "## 2023\n\n1. [ICLR] A Repeated Paper Title\n   1. 方法二\n")
    assert [p.year for p in ps] == [2019, 2019]


def test_reading_log_dates_are_not_years(tmp_path):
    ps = papers(tmp_path, "## 2023.2.19\n\n- [Deep Residual Learning for Image Recognition](https://x.org)\n"
                          "  - residual connections\n\n## 2023-03\n\n"
                          "- [Mask R-CNN](https://x.org) (ICCV 2017)\n  - adds a mask branch\n")
    assert [(p.title, p.venue, p.year) for p in ps] == [
        ("Deep Residual Learning for Image Recognition", None, None), ("Mask R-CNN", "ICCV", 2017)]


def test_link_and_dataset_sections_give_no_papers(tmp_path):
    ps = papers(tmp_path, "## Papers\n\n- [A Real Paper Title Here](https://x.org)\n  - note one\n\n"
                          "## Datasets\n\n- [ImageNet Large Scale Dataset](https://x.org)\n\n"
                          "## 相关链接 / Links\n\n- [Some Blog About Attention](https://x.org)\n")
    assert [p.title for p in ps] == ["A Real Paper Title Here"]


def test_gloss_item_takes_its_title_from_the_field(tmp_path):
    ps = papers(tmp_path, "- LoRA 篇\n  - 论文名称：LoRA: Low-Rank Adaptation of Large Language Models\n"
                          "  - 会议：ICLR 2022\n  - 论文地址：https://arxiv.org/abs/2106.09685\n"
                          "  - 动机：全量微调成本太高\n    - Adapter 增加推理延迟\n  - 论文方法：冻结原权重\n")
    (p,) = ps
    assert (p.title, p.venue, p.year, p.gloss) == (
        "LoRA: Low-Rank Adaptation of Large Language Models", "ICLR", 2022, "LoRA 篇")
    assert [(b.text, b.label) for b in p.bullets] == [
        ("动机：全量微调成本太高", "problem"), ("Adapter 增加推理延迟", "background"), ("论文方法：冻结原权重", "method")]


def test_header_only_lines_images_and_markers(tmp_path):
    ps = papers(tmp_path, "**[A Bold Linked Title Line](https://arxiv.org/abs/1)**\n"
                          "- Notes:\n  1. first note<br>\n  2. second note\n"
                          "- ![](fig.png)\n1.没有空格的编号\n- 1. double marker\n")
    (p,) = ps
    assert [b.text for b in p.bullets] == ["first note", "second note", "没有空格的编号", "double marker"]


def test_details_blocks_are_read(tmp_path):
    ps = papers(tmp_path, "## A Paper With Hidden Notes (CVPR 2020)\n\n"
                          "<details><summary>阅读笔记: </summary>\n\n- 隐藏的笔记\n\n</details>\n")
    assert [(p.title, p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("A Paper With Hidden Notes", "CVPR", 2020, ["隐藏的笔记"])]


def test_heading_paper_keeps_prose_and_sections(tmp_path):
    ps = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/2)\n\n_February 2023_\n\n"
                          "Prose paragraph about the paper.\n\n## Results\n\n- It works on ImageNet.\n\n"
                          "**Pseudo heading**\n\nMore prose.\n")
    (p,) = ps
    assert [b.text for b in p.bullets] == ["Prose paragraph about the paper.", "It works on ImageNet.",
                                           "More prose."]
    assert p.bullets[1].label == "finding"


def test_short_model_name_heading_takes_the_full_title_below(tmp_path):
    ps = papers(tmp_path, "## 3.BYOL\nBootstrap Your Own Latent: A New Approach to Self-Supervised Learning\n\n"
                          "- 不需要负样本\n")
    assert [(p.title, p.gloss) for p in ps] == [
        ("Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning", "BYOL")]


def test_inline_note_becomes_the_single_bullet(tmp_path):
    ps = papers(tmp_path, "1. **Toolformer: Language Models Can Teach Themselves to Use Tools** (NeurIPS 2023) "
                          "[[paper]](https://x.org) the model learns to call APIs\n")
    (p,) = ps
    assert (p.venue, p.year, [b.text for b in p.bullets]) == ("NeurIPS", 2023, ["the model learns to call APIs"])


def test_one_paper_per_file_falls_back_to_front_matter_then_file_name(tmp_path):
    ps = papers(tmp_path, "---\ntitle: Front Matter Title Of Paper\n---\n## Method\n\n- uses a trick\n")
    assert [p.title for p in ps] == ["Front Matter Title Of Paper"]
    ps = papers(tmp_path, "- 只有要点\n- 没有标题\n", name="attention-is-all-you-need.md")
    assert [p.title for p in ps] == ["attention is all you need"]


def test_key_value_cards_start_papers_at_title_fields(tmp_path):
    ps = papers(tmp_path, "[1]中文概括\n\n论文题目：First Paper About Defects\n\n摘要：We study defects.\n\n"
                          "[2]另一个概括\n\n题目：Second Paper About Defects\n\n个人总结：方法简单。\n")
    assert [p.title for p in ps] == ["First Paper About Defects", "Second Paper About Defects"]


def test_short_items_over_sub_items_are_headers_not_bullets(tmp_path):
    ps = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/3)\n\n"
                          "- Model achievements vs baseline\n  - Highly preferred by labelers\n"
                          "- Uses PPO with a KL penalty to the SFT model.\n")
    (p,) = ps
    assert [(b.text, b.parent) for b in p.bullets] == [
        ("Highly preferred by labelers", "Model achievements vs baseline"),
        ("Uses PPO with a KL penalty to the SFT model.", "")]
    assert p.bullets[0].label == "finding"


@pytest.mark.parametrize("line, header", [
    ("Losses:", "Losses"), ("核心组成部分：", "核心组成部分"), ("Disease/anomaly detection:", "Disease/anomaly detection"),
    ("There are 4 main components:", None),    # a verb that states
    ("Results are split into:", None),
    ("2 different architectures:", None),      # a count
    ("现有的测试方法存在以下几点局限性：", None),   # a sentence, too long for a name
    ("梯度大家都很熟悉，直接给出公式：", None),     # a clause inside
    ("**Key Ideas**", "Key Ideas"), ("**论文要点**", "论文要点"),
    ("**这个结论对做检索的人很有启发，值得一试。**", None),  # a bold sentence is a note the reader stressed
    ("**Works well on small data.**", None),
])
def test_a_line_ending_in_a_colon_is_a_header_only_when_it_is_a_name(line, header):
    assert _header_text(line) == header


def test_a_short_statement_over_sub_items_is_a_bullet_and_their_parent(tmp_path):
    ps = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/3)\n\n"
                          "- 3 datasets\n  - SFT: 13k prompts\n- Reward model\n  - Trained on rankings\n"
                          "- There are 2 branches:\n  - A detection decoder\n")
    (p,) = ps
    assert [(b.text, b.parent) for b in p.bullets] == [
        ("3 datasets", ""), ("SFT: 13k prompts", "3 datasets"), ("Trained on rankings", "Reward model"),
        ("There are 2 branches:", ""), ("A detection decoder", "There are 2 branches:")]


def test_bare_first_line_title_is_not_a_bullet(tmp_path):
    ps = papers(tmp_path, "Rich Features For Accurate Object Detection\n\n1. 在解决的是什么问题？检测精度低\n")
    assert [(p.title, [b.line for b in p.bullets]) for p in ps] == [
        ("Rich Features For Accurate Object Detection", [3])]


def test_gloss_line_before_a_title_field_names_the_next_paper(tmp_path):
    ps = papers(tmp_path, "论文题目：First Paper About Defects\n\n个人总结：方法简单。\n\n[2]级联自编码器做分割\n\n"
                          "论文题目：Second Paper About Defects\n\n摘要：We segment defects.\n")
    assert [(p.title, p.gloss, [b.text for b in p.bullets]) for p in ps] == [
        ("First Paper About Defects", "", ["个人总结：方法简单。"]),
        ("Second Paper About Defects", "[2]级联自编码器做分割", ["摘要：We segment defects."])]


def test_bold_pseudo_headings_with_escapes_are_not_bullets(tmp_path):
    ps = papers(tmp_path, "#### **[The Ubiquitous B-Tree](http://x.org/btree.pdf)**\n\n**B\\* Tree**\n\n"
                          "B* Tree 通过 redistribution 减少分裂。\n")
    assert [[b.text for b in p.bullets] for p in ps] == [["B* Tree 通过 redistribution 减少分裂。"]]


# Shapes the fast paths of parse and extract skip work for: each must still be read as before.


def test_trailing_br_tags_in_any_case_are_dropped(tmp_path):
    ps = papers(tmp_path, "## Some Paper About Things (CVPR 2020)\n\n"
                          "- first note<BR/>\n- second note <br> <Br>\n- third < note\n")
    assert [[b.text for b in p.bullets] for p in ps] == [["first note", "second note", "third < note"]]


def test_invisible_characters_upper_case_details_and_chinese_markers(tmp_path):
    ps = papers(tmp_path, "<DETAILS><SUMMARY>Notes</SUMMARY>\n\n"
                          "## A Paper\u200b With Hidden\ufeff Notes (ICLR 2021)\n\n1、第一点\n2．第二点\n3.第三点\n\n</DETAILS>\n")
    assert [(p.title, p.venue, [b.text for b in p.bullets]) for p in ps] == [
        ("A Paper With Hidden Notes", "ICLR", ["第一点", "第二点", "第三点"])]


def test_multi_word_venue_prefix_and_events_among_linked_titles(tmp_path):
    ps = papers(tmp_path, "- IEEE TPAMI [Deep Residual Learning Reviewed](https://x.org)\n  - 残差连接\n"
                          "- [A Tutorial Paper On Things](https://x.org/a)\n  - note a\n- ScaledML 2018\n  - note c\n")
    assert [(p.title, p.venue, [b.text for b in p.bullets]) for p in ps] == [
        ("Deep Residual Learning Reviewed", "TPAMI", ["残差连接"])]


def test_header_items_with_and_without_bold_name_their_sub_items(tmp_path):
    ps = papers(tmp_path, "## A Paper On Headers (ICML 2019)\n\n"
                          "- **Key Ideas**\n  - one idea\n- Results:\n  - a result\n- __Bold__ but not alone\n")
    assert [[(b.text, b.parent) for b in p.bullets] for p in ps] == [
        [("one idea", "Key Ideas"), ("a result", "Results"), ("__Bold__ but not alone", "")]]


def test_front_matter_with_a_second_document_or_anchor_is_still_checked():
    from notecards.parse import parse_markdown

    why = "broken front matter ignored (expected the node content, but found '<stream end>')"
    assert parse_markdown("---\ntitle: A\n--- [\n---\n# Body\n").warnings == ((4, why),)
    assert parse_markdown("---\na: &x 1\nb: [\n---\n# Body\n").warnings == ((4, why),)
    plain = parse_markdown("---\ntitle: A Title\ntags: [x, y]\n---\n# Body\n")
    assert (plain.front, plain.warnings) == ({"title": "A Title", "tags": ["x", "y"]}, ())


def test_line_answers_live_in_their_documents_memo():
    from notecards.meta import LineMemo, split_title_line
    from notecards.pipeline import rules_for
    rules = rules_for(Config())
    line = "[A Real Paper Title Here](https://x.org)"
    memo = LineMemo(rules)
    first = split_title_line(line, memo)
    assert split_title_line(line, memo) is first  # asked again within the document: from its memo
    assert ("split_title_line", line) in memo.answers
    other = split_title_line(line, LineMemo(rules))  # another document works it out for itself
    assert other == first and other is not first


def test_title_line_shapes_the_fast_paths_must_keep():
    from notecards.meta import LineMemo, looks_like_title, split_title_line
    from notecards.pipeline import rules_for
    rules = LineMemo(rules_for(Config()))
    def parts(line):
        tl = split_title_line(line, rules)
        return tl.title, tl.venue, tl.year
    assert parts("Deep Residual Learning (for fun) (CVPR 2016)") == ("Deep Residual Learning (for fun)", "CVPR", 2016)
    assert parts("Adam - A Method - ICLR'15 oral") == ("Adam - A Method", "ICLR", 2015)
    assert parts("Some Paper Title, Interspeech 2021") == ("Some Paper Title", "Interspeech", 2021)
    assert parts("Some Paper Title (Smith et al., 2018)") == ("Some Paper Title", None, 2018)  # an author-year citation
    assert parts("Self-Attention-Only Models") == ("Self-Attention-Only Models", None, None)
    assert not looks_like_title("What I'm reading this week", rules)
    assert not looks_like_title("Notes for my team", rules)
    assert looks_like_title("What I'm reading this week", rules, marked=True)
    assert looks_like_title("Time-Me Self-My Models", rules)  # hyphenated words are not 'me' or 'my'
    assert not looks_like_title("我读的 Attention Is All You Need", rules)


# -- the title-line grammar: exact line -> (title, venue, year, note) ----------------------------------
import pytest  # noqa: E402

from notecards.meta import LineMemo, clean_inline, split_title_line  # noqa: E402
from notecards.rules import load_rules  # noqa: E402
from notecards.show import to_contract, to_table  # noqa: E402

TITLE_LINES = [
    ("《Attention Is All You Need》", ("Attention Is All You Need", None, None, "")),
    ("【论文阅读】LoRA: Low-Rank Adaptation", ("LoRA: Low-Rank Adaptation", None, None, "")),  # a blog's tag
    ("[Paper Notes] Learning Transferable Visual Models", ("Learning Transferable Visual Models", None, None, "")),  # what the post is
    ("[Reading Notes] Deep Residual Learning", ("Deep Residual Learning", None, None, "")),
    ("[CVPR Oral] Deep Residual Learning", ("Deep Residual Learning", "CVPR", None, "")),  # a venue tag still is one
    ("📄 Chain-of-Thought Prompting Elicits Reasoning", ("Chain-of-Thought Prompting Elicits Reasoning", None, None, "")),
    ("📄 Self-Consistency Improves Reasoning (ICLR 2023)", ("Self-Consistency Improves Reasoning", "ICLR", 2023, "")),
    ("AWQ: Activation-aware Weight Quantization (MLSys 2024)", ("AWQ: Activation-aware Weight Quantization", "MLSys", 2024, "")),
    ("Vaswani, A., Shazeer, N., et al. (2017). Attention is all you need. *Advances in Neural Information Processing Systems*, 30.",
     ("Attention is all you need", "NeurIPS", 2017, "")),  # an APA reference
    ("Switch Transformers (Fedus et al., 2021)", ("Switch Transformers", None, 2021, "")),  # an author-year citation
    ("Vaswani et al. (2017) Attention Is All You Need", ("Attention Is All You Need", None, 2017, "")),  # the citation first
    ("Kaplan et al., 2020 — Scaling Laws for Neural Language Models", ("Scaling Laws for Neural Language Models", None, 2020, "")),
    ("Kingma and Ba (2015): Adam: A Method for Stochastic Optimization",
     ("Adam: A Method for Stochastic Optimization", None, 2015, "")),
    ("Smith and Jones 2019 were wrong about it", ("Smith and Jones 2019 were wrong about it", None, None, "")),
    ("**1. LLaMA: Open and Efficient Foundation Language Models**", ("LLaMA: Open and Efficient Foundation Language Models", None, None, "")),
    ("2305.14314 QLoRA: Efficient Finetuning of Quantized LLMs", ("QLoRA: Efficient Finetuning of Quantized LLMs", None, None, "")),
    ("【CVPR 2022】Masked Autoencoders Are Scalable", ("Masked Autoencoders Are Scalable", "CVPR", 2022, "")),
    ("**[ICLR 2023] Self-Consistency Improves Reasoning**", ("Self-Consistency Improves Reasoning", "ICLR", 2023, "")),
    ("Paper: Scaling Data-Constrained Language Models", ("Scaling Data-Constrained Language Models", None, None, "")),
    ("Notes on Attention Is All You Need", ("Attention Is All You Need", None, None, "")),  # what the note calls itself
    ("Paper notes: Deep Residual Learning (CVPR 2016)", ("Deep Residual Learning", "CVPR", 2016, "")),
    ("论文笔记：Deep Residual Learning for Image Recognition", ("Deep Residual Learning for Image Recognition", None, None, "")),
    ("Highlights - Sequence to Sequence Learning", ("Sequence to Sequence Learning", None, None, "")),
    ("Paper 2: Densely Connected Convolutional Networks", ("Densely Connected Convolutional Networks", None, None, "")),
    ("Deformable DETR: Deformable Transformers | ICLR 2021 | [code](https://x.org/c)",
     ("Deformable DETR: Deformable Transformers", "ICLR", 2021, "")),  # venue and link names after bars
    ("Densely Connected Convolutional Networks | CVPR | 2017 | every layer sees all earlier maps",
     ("Densely Connected Convolutional Networks", "CVPR", 2017, "every layer sees all earlier maps")),  # then a note
    ("Apples | Oranges | Pears", ("Apples | Oranges | Pears", None, None, "")),
    ("Big Bird: Transformers for Longer Sequences - Zaheer et al. - NeurIPS 2020",
     ("Big Bird: Transformers for Longer Sequences", "NeurIPS", 2020, "")),  # the authors after a dash
    ("2024-03-02 [Self-RAG: Learning to Retrieve](https://x.org/1)", ("Self-RAG: Learning to Retrieve", None, None, "")),  # read that day
    ("第3篇：Masked Autoencoders Are Scalable Learners", ("Masked Autoencoders Are Scalable Learners", None, None, "")),
    ("论文二：Visual Instruction Tuning", ("Visual Instruction Tuning", None, None, "")),
    ("2.1 Swin Transformer: Hierarchical Vision Transformer (ICCV 2021)",
     ("Swin Transformer: Hierarchical Vision Transformer", "ICCV", 2021, "")),  # an outline's section number
    ("3.1.2. Conformer: Convolution-augmented Transformer", ("Conformer: Convolution-augmented Transformer", None, None, "")),
    ("0x01 Flamingo: a Visual Language Model for Few-Shot Learning",
     ("Flamingo: a Visual Language Model for Few-Shot Learning", None, None, "")),  # hex numbering
    ("论文3 Grounding DINO: Marrying DINO with Grounded Pre-Training",
     ("Grounding DINO: Marrying DINO with Grounded Pre-Training", None, None, "")),  # no colon after the number
    ("第2篇 《Visual Instruction Tuning》", ("Visual Instruction Tuning", None, None, "")),
    ('Vaswani, A., et al. "Attention Is All You Need." NeurIPS 2017.', ("Attention Is All You Need", "NeurIPS", 2017, "")),
    ('Builds on "Attention Is All You Need" from 2017', ('Builds on "Attention Is All You Need" from 2017', None, None, "")),
    ("2.《Layer Normalization》,最早的归一化之一", ("Layer Normalization", None, None, "最早的归一化之一")),
    ("[[Graph Attention Networks]]", ("Graph Attention Networks", None, None, "")),
    ("[[Graph Attention Networks|GAT]] read twice", ("Graph Attention Networks", None, None, "read twice")),
    ("Self-Consistency Improves Reasoning, ICLR March 2023", ("Self-Consistency Improves Reasoning", "ICLR", 2023, "")),
    ("Models Are Easily Distracted – Jan 2023", ("Models Are Easily Distracted", None, 2023, "")),
    ("Chain of Thought Prompting Elicits Reasoning, 2022", ("Chain of Thought Prompting Elicits Reasoning", None, 2022, "")),
    ("A Study of Things, Mostly", ("A Study of Things, Mostly", None, None, "")),
    ("1) **Dissociating Language and Thought** - a review paper",
     ("Dissociating Language and Thought", None, None, "a review paper")),
    ("[A Long Paper Title On Robustness](https://x.org/1)(基于 Wasserstein-ball 构造 uncertainty set，用于对抗鲁棒性的训练与认证，并给出收敛速度的理论保证)",
     ("A Long Paper Title On Robustness", None, None,
      "基于 Wasserstein-ball 构造 uncertainty set，用于对抗鲁棒性的训练与认证，并给出收敛速度的理论保证")),  # one group, however long
    ("[Fine-Tuning Distorts Features](https://x.org/2)(fine-tuning（微调）和 linear probing 相辅相成)",
     ("Fine-Tuning Distorts Features", None, None, "fine-tuning（微调）和 linear probing 相辅相成")),  # nested
    ("Dense Passage Retrieval for Open-Domain QA ([paper](https://x.org/4))",
     ("Dense Passage Retrieval for Open-Domain QA", None, None, "")),  # a link in parentheses after the title
    ("[Prefix Tuning For Generation](https://x.org/3)(用于生成任务)(只训练前缀)",
     ("Prefix Tuning For Generation", None, None, "(用于生成任务)(只训练前缀)")),  # two groups stay as written
]


@pytest.mark.parametrize("line,expected", TITLE_LINES, ids=[t[0][:30] for t in TITLE_LINES])
def test_title_line_grammar(line, expected):
    tl = split_title_line(line, LineMemo(load_rules()))
    assert (tl.title, tl.venue, tl.year, tl.note) == expected


@pytest.mark.parametrize("text,plain", [
    ("see [[Page#Part|shown]] and ![[figure.png]]", "see Page and"),
    ("a ==marked== word ^block-1", "a marked word"),
])
def test_obsidian_syntax_reads_as_plain_text(text, plain):
    assert clean_inline(text) == plain


# -- the paper unit is chosen once per file ----------------------------------------------------------
def test_heading_level_with_repeated_titles_opens_papers_and_deeper_headings_are_sections(tmp_path):
    ps = papers(tmp_path, "# Notes\n\n## Learning Sparse Codes With Unrolled Solvers\n\n#### Approach -\n\n"
                          "- Unrolls the solver\n\n#### Methods tried and results (part 3) –\n\n- Works well\n\n"
                          "## Plug and Play Priors for Restoration\n\n- A denoiser as prior\n")
    assert [p.title for p in ps] == ["Learning Sparse Codes With Unrolled Solvers",
                                     "Plug and Play Priors for Restoration"]
    assert [b.section for b in ps[0].bullets] == ["Approach -", "Methods tried and results (part 3) –"]


def test_table_rows_open_papers_and_blog_rows_do_not(tmp_path):
    ps = papers(tmp_path, "| Paper | Links |\n| --- | --- |\n"
                          "| 1) **Scaling Sparse Expert Models** - a study of routing | [Paper](https://x.org/1) |\n"
                          "| 2) **A Year of Research in Review** - a summary post | [Blog](https://x.org/2) |\n"
                          "| 3) **Retrieval Heads in Long Models** - finds a few heads | [Paper](https://x.org/3) |\n")
    assert [(p.title, [b.text for b in p.bullets]) for p in ps] == [
        ("Scaling Sparse Expert Models", ["a study of routing"]),
        ("Retrieval Heads in Long Models", ["finds a few heads"])]


def test_citation_line_makes_a_one_paper_note_whose_bold_lines_are_notes(tmp_path):
    ps = papers(tmp_path, '[Doe, Jane. "Learning Fixed Points in Image Translation." In Proceedings of the '
                          'IEEE International Conference on Computer Vision, pp. 1-9. 2019.](https://x.org/p.pdf)\n\n'
                          "1) **Identity mapping must be kept** (healthy images stay)\n2) Training with unpaired images\n")
    assert [(p.title, p.venue, p.year) for p in ps] == [("Learning Fixed Points in Image Translation", "ICCV", 2019)]
    assert [b.text for b in ps[0].bullets] == ["**Identity mapping must be kept** (healthy images stay)",
                                               "Training with unpaired images"]


def test_front_matter_title_with_a_label_names_the_one_paper(tmp_path):
    ps = papers(tmp_path, "---\ntitle: 论文笔记 - Whitebox Testing of Deep Learning Systems\n---\n\n"
                          "# Background\n\n现有测试成本高。\n\n# Overview of the Method\n\n用神经元覆盖率引导生成。\n")
    assert [p.title for p in ps] == ["Whitebox Testing of Deep Learning Systems"]
    assert [b.section for b in ps[0].bullets] == ["Background", "Overview of the Method"]


@pytest.mark.parametrize("field, venue, year", [
    ("venue: ACL 2022", "ACL", 2022),  # the year in the venue field
    ("conference: NeurIPS'21", "NeurIPS", 2021),
    ("venue: ICML\nyear: 2020", "ICML", 2020),
    ("venue: Some Workshop", "Some Workshop", None),  # a venue the table lacks, kept as written
])
def test_front_matter_venue_gives_venue_and_year(tmp_path, field, venue, year):
    ps = papers(tmp_path, f"---\ntitle: Scaling Sparse Experts for Translation\n{field}\n---\n\n"
                          "## Method\n\n- Route each token to two experts.\n")
    assert [(p.title, p.venue, p.year) for p in ps] == [("Scaling Sparse Experts for Translation", venue, year)]


def test_a_link_back_to_the_passage_is_no_part_of_the_note(tmp_path):
    ps = papers(tmp_path, "# Deep Residual Learning for Image Recognition\n\n"
                          "- Deeper nets are harder to train. ([View Highlight](https://read.readwise.io/read/01h))\n"
                          "- \"Shortcuts add no parameters\" ([He et al., 2016, p. 3](zotero://open-pdf/library/items/AB?page=3))\n")
    assert [b.text for b in ps[0].bullets] == ["Deeper nets are harder to train.", '"Shortcuts add no parameters"']
    from notecards.meta import drop_passage_links

    assert drop_passage_links("Code at [GitHub](https://github.com/x/y).") == "Code at [GitHub](https://github.com/x/y)."


def test_a_highlights_place_in_the_book_is_no_note(tmp_path):
    ps = papers(tmp_path, "# Sequence to Sequence Learning with Neural Networks\n\n"
                          "> Reversing the source sentences helped the LSTM markedly.\n> — Page 2 · Highlight (yellow)\n\n"
                          "Note: a simple trick with a big effect.\n\n"
                          "> Long sentences were no harder.\n\n— Location 1043\n")
    assert [b.text for b in ps[0].bullets] == ["Reversing the source sentences helped the LSTM markedly.",
                                               "Note: a simple trick with a big effect.", "Long sentences were no harder."]


def test_explain_names_the_shape_that_won(tmp_path):
    (tmp_path / "n.md").write_text("## First Paper About Sparse Codes\n\n- note\n\n"
                                   "## Second Paper About Dense Codes\n\n- note\n", encoding="utf-8")
    doc = extract_paths([tmp_path / "n.md"], Config()).documents[0]
    assert doc.shape.startswith("heading level 2 (")
    assert "shape" in to_contract([doc], explain=True)["documents"][0]
    assert "# papers open at: heading level 2" in to_table([doc], explain=True)


def test_bold_italic_and_dashed_pseudo_headings_name_their_section(tmp_path):
    ps = papers(tmp_path, "## Sparse Mixture Routing for Long Inputs\n\n__*What problem does it address?*__\n\n"
                          "Routing collapses onto a few experts.\n\n**Gist** –\n\n* Each token picks two experts.\n")
    assert [(b.text, b.section) for b in ps[0].bullets] == [
        ("Routing collapses onto a few experts.", "What problem does it address?"),
        ("Each token picks two experts.", "Gist")]


def test_an_author_line_is_metadata_with_its_venue_and_year(tmp_path):
    ps = papers(tmp_path, "## Sparse Mixture Routing for Long Inputs\n\nOkafor et al. (Some Lab), ICML 2023\n\n"
                          "- Each token picks two experts.\n\n## Another Routing Paper For Tests\n\nLindqvist et al\n\n"
                          "- Experts are balanced by a loss.\n")
    assert [(p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("ICML", 2023, ["Each token picks two experts."]), (None, None, ["Experts are balanced by a loss."])]


def test_a_pasted_bullet_marker_is_not_part_of_the_text(tmp_path):
    ps = papers(tmp_path, "## Sparse Mixture Routing for Long Inputs\n\n•\tEach token picks two experts.\n\n"
                          "•\tExperts are balanced by a loss.\n")
    assert [b.text for b in ps[0].bullets] == ["Each token picks two experts.", "Experts are balanced by a loss."]


def test_a_bold_sentence_is_a_note_and_a_bold_question_a_header(tmp_path):
    ps = papers(tmp_path, "## Sparse Mixture Routing for Long Inputs (ICML 2023)\n\n"
                          "**Does routing still collapse when the experts are trained from scratch on code?**\n\n"
                          "- **we could try the same balancing loss on our own speech models next quarter**\n\n"
                          "## Another Routing Paper For Tests (NeurIPS 2022)\n\n- Experts are balanced by a loss.\n")
    assert [(b.text, b.section) for b in ps[0].bullets] == [
        ("**we could try the same balancing loss on our own speech models next quarter**",
         "Does routing still collapse when the experts are trained from scratch on code?")]


def test_a_long_bold_question_is_a_note_the_reader_stressed(tmp_path):
    ps = papers(tmp_path, "## Sparse Mixture Routing for Long Inputs (ICML 2023)\n\n"
                          "- Each token picks two experts.\n"
                          "  - **an entry point for our work: route by language instead of by token, then ask how "
                          "the experts would split if the languages overlapped?**\n")
    assert [b.text for b in ps[0].bullets] == [
        "Each token picks two experts.",
        "**an entry point for our work: route by language instead of by token, then ask how the experts would "
        "split if the languages overlapped?**"]


def test_a_list_indented_one_step_too_far_after_a_paragraph_is_a_list_and_real_code_stays_code(tmp_path):
    from notecards.parse import parse_markdown

    text = ("# [A Paper About Translation](https://x.org/4)\n\n**Limits**:\n\n"
            "    - it keeps small lesions, but not large ones\n        - the authors leave it to future work\n\n"
            "Code:\n\n    x = model(y)\n    - 1\n")
    blocks = [(b.kind, b.text, b.line, b.level) for b in parse_markdown(text).blocks]
    assert ("item", "it keeps small lesions, but not large ones", 5, 1) in blocks
    assert ("item", "the authors leave it to future work", 6, 2) in blocks
    assert blocks[-1] == ("code", "x = model(y)\n- 1\n", 10, 0)  # not every line is a list item
    (p,) = papers(tmp_path, text)
    assert [(b.text, b.parent) for b in p.bullets] == [
        ("it keeps small lesions, but not large ones", "Limits"), ("the authors leave it to future work", "it keeps small lesions, but not large ones")]


def test_what_follows_a_table_of_papers_is_not_the_last_rows_note(tmp_path):
    rows = "".join(f"| **A Paper About Topic Number {n}** | proposes a new method for topic {n} |\n" for n in range(1, 4))
    ps = papers(tmp_path, "| Paper | Summary |\n| --- | --- |\n" + rows +
                "\n---\n\nWe pick these papers by hand every week.\n\nJoin our [Forum](https://forum.example.org).\n")
    assert [[b.text for b in p.bullets] for p in ps] == [[f"proposes a new method for topic {n}"] for n in range(1, 4)]


def test_a_pointer_to_where_to_read_more_is_metadata_not_a_note(tmp_path):
    ps = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/3)\n\n- Trains a small reranker on click logs.\n"
                          "- Paper link - https://arxiv.org/abs/3\n- 详细的分析见：https://blog.example.org/post/1\n"
                          "- 论文见 [A Heading Paper Title](https://arxiv.org/abs/3)\n"
                          "- The proof is in [the appendix](https://arxiv.org/abs/3)\n")
    (p,) = ps
    assert [b.text for b in p.bullets] == ["Trains a small reranker on click logs.",
                                           "The proof is in [the appendix](https://arxiv.org/abs/3)"]


def test_a_name_over_an_image_is_a_caption_not_a_note(tmp_path):
    ps = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/3)\n\n- Trains a small reranker on click logs.\n"
                          "- Results:\n  - joint training:\n    ![](assets/joint.png)\n"
                          "  - The decoder is shown here ![](assets/dec.png)\n")
    (p,) = ps
    assert [b.text for b in p.bullets] == ["Trains a small reranker on click logs.",
                                           "The decoder is shown here ![](assets/dec.png)"]


def test_a_year_and_a_venue_with_a_comma_are_metadata(tmp_path):
    ps = papers(tmp_path, "- [A Listed Paper On Power Converters](https://x.org/1)\n  - 2018, ISSCC\n"
                          "  - Brief design paper\n")
    assert [(p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [("ISSCC", 2018, ["Brief design paper"])]


def test_an_image_in_a_note_is_no_link_to_a_paper(tmp_path):
    ps = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/3)\n\n- Trains a small reranker on click logs.\n"
                          "- joint training:\n  ![](assets/joint.png)\n- The decoder is shown here ![](assets/dec.png)\n")
    assert [(p.title, [b.text for b in p.bullets]) for p in ps] == [
        ("A Heading Paper Title", ["Trains a small reranker on click logs.", "The decoder is shown here ![](assets/dec.png)"])]


def test_a_paper_heading_under_a_non_paper_title_keeps_its_notes(tmp_path):
    ps = papers(tmp_path, "# Reading list 2024\n\n"
                          "### [LoRA: Low-Rank Adaptation of Large Language Models](https://arxiv.org/abs/2106.09685) (ICLR 2022)\n"
                          "- Adds trainable low-rank matrices beside frozen weights.\n\n"
                          "### [QLoRA: Efficient Finetuning of Quantized LLMs](https://arxiv.org/abs/2305.14314) (NeurIPS 2023)\n"
                          "- 4-bit NormalFloat quantization plus paged optimizers.\n\n## Datasets\n\n- SQuAD, a reading set\n")
    assert [(p.title, p.venue, [b.text for b in p.bullets]) for p in ps] == [
        ("LoRA: Low-Rank Adaptation of Large Language Models", "ICLR", ["Adds trainable low-rank matrices beside frozen weights."]),
        ("QLoRA: Efficient Finetuning of Quantized LLMs", "NeurIPS", ["4-bit NormalFloat quantization plus paged optimizers."])]


def test_a_title_field_names_the_paper_of_a_page_whose_front_matter_names_the_page(tmp_path):
    ps = papers(tmp_path, '---\ntitle: "Notes on Chain-of-Thought Prompting"\n---\n\n'
                          "Paper: [Chain-of-Thought Prompting Elicits Reasoning in Large Language Models](https://arxiv.org/abs/2201.11903)\n"
                          "Venue: NeurIPS 2022\n\n## Summary\n\nThe authors prompt with worked examples.\n")
    assert [(p.title, p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("Chain-of-Thought Prompting Elicits Reasoning in Large Language Models", "NeurIPS", 2022,
         ["The authors prompt with worked examples."])]


def test_a_tab_indented_list_after_a_paragraph_is_read_once():
    from notecards.parse import parse_markdown

    blocks = parse_markdown("Some text\n\n\t- first point\n\t- second point\n").blocks
    assert [b.text for b in blocks if b.kind == "item"] == ["first point", "second point"]


def test_a_paragraph_of_pasted_bullets_is_one_note_per_line(tmp_path):
    (p,) = papers(tmp_path, "# [A Heading Paper Title](https://arxiv.org/abs/3)\n\n## Gist\n"
                            "•\tThis paper studies how noise in the prompt hurts accuracy\n"
                            "•\tdataset used - a math set with distractors\n•\tShares prompts that resist the noise\n")
    assert [(b.text, b.line) for b in p.bullets] == [
        ("This paper studies how noise in the prompt hurts accuracy", 4),
        ("dataset used - a math set with distractors", 5), ("Shares prompts that resist the noise", 6)]


def test_bold_items_that_read_as_titles_are_papers_and_short_bold_items_are_headers(tmp_path):
    ps = papers(tmp_path, "# 2023 论文阅读\n\n"
                          "- **[ICLR 2023] Self-Consistency Improves Chain of Thought Reasoning**\n  - 方法：采样多条推理路径，对答案投票。\n"
                          "- **Large Language Models are Zero-Shot Reasoners**\n  - 只加一句提示就能提升推理。\n"
                          "  - **Key Ideas**\n    - 提示词放在答案之前。\n")
    assert [(p.title, p.venue, [(b.text, b.parent) for b in p.bullets]) for p in ps] == [
        ("Self-Consistency Improves Chain of Thought Reasoning", "ICLR", [("方法：采样多条推理路径，对答案投票。", "")]),
        ("Large Language Models are Zero-Shot Reasoners", None,
         [("只加一句提示就能提升推理。", ""), ("提示词放在答案之前。", "Key Ideas")])]


def test_a_column_headed_title_names_the_papers_of_a_table_even_unmarked(tmp_path):
    ps = papers(tmp_path, "| Year | Title | Venue | Notes |\n|---|---|---|---|\n"
                          "| 2016 | Deep Residual Learning for Image Recognition | CVPR | identity shortcuts |\n"
                          "| 2017 | Attention Is All You Need | NeurIPS | self-attention only |\n"
                          "| 2019 | Language Models are Unsupervised Multitask Learners | OpenAI | zero-shot transfer |\n")
    assert [(p.title, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("Deep Residual Learning for Image Recognition", 2016, ["identity shortcuts"]),
        ("Attention Is All You Need", 2017, ["self-attention only"]),
        ("Language Models are Unsupervised Multitask Learners", 2019, ["zero-shot transfer"])]
    assert [p.venue for p in ps][:2] == ["CVPR", "NeurIPS"]


def test_a_quote_line_of_venue_year_and_link_names_under_a_paper_heading_is_metadata(tmp_path):
    ps = papers(tmp_path, "## Transformers\n\n#### [Attention Is All You Need](https://arxiv.org/abs/1706.03762)\n"
                          "> NeurIPS 2017 · [code](https://github.com/org/repo)\n\nReplaces recurrence with self-attention.\n\n"
                          "#### [Reformer: The Efficient Transformer](https://arxiv.org/abs/2001.04451)\n> ICLR 2020\n\n"
                          "Hashing attention cuts memory.\n")
    assert [(p.title, p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("Attention Is All You Need", "NeurIPS", 2017, ["Replaces recurrence with self-attention."]),
        ("Reformer: The Efficient Transformer", "ICLR", 2020, ["Hashing attention cuts memory."])]


def test_a_title_field_item_over_its_notes_opens_the_paper(tmp_path):
    ps = papers(tmp_path, "## 论文列表\n\n1. 论文：Denoising Diffusion Probabilistic Models\n   - 会议：NeurIPS 2020\n"
                          "   - 简介：逐步加噪再学习去噪。\n2. 论文：Score-Based Generative Modeling through SDEs\n"
                          "   - 会议：ICLR 2021\n   - 简介：用随机微分方程统一扩散模型。\n")
    assert [(p.title, p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("Denoising Diffusion Probabilistic Models", "NeurIPS", 2020, ["简介：逐步加噪再学习去噪。"]),
        ("Score-Based Generative Modeling through SDEs", "ICLR", 2021, ["简介：用随机微分方程统一扩散模型。"])]


@pytest.mark.parametrize("opener", ["**{t}** (arXiv {y})", "<details>\n<summary><b>{t}</b> (arXiv {y})</summary>"])
def test_a_bold_title_paragraph_with_its_venue_opens_a_paper(tmp_path, opener):
    text = "".join(opener.format(t=t, y=y) + f"\n\n- {note}\n\n" + ("</details>\n\n" if "details" in opener else "")
                   for t, y, note in (("Mixtral of Experts", 2024, "Eight experts, two active per token."),
                                      ("Mistral 7B", 2023, "Sliding-window attention.")))
    ps = papers(tmp_path, text)
    assert [(p.title, p.venue, p.year, [b.text for b in p.bullets]) for p in ps] == [
        ("Mixtral of Experts", "arXiv", 2024, ["Eight experts, two active per token."]),
        ("Mistral 7B", "arXiv", 2023, ["Sliding-window attention."])]


def test_a_reading_list_section_holds_papers_and_a_to_read_section_does_not(tmp_path):
    ps = papers(tmp_path, "# Papers\n\n## Reading list\n\n"
                          "- [LoRA: Low-Rank Adaptation of Large Language Models](https://arxiv.org/abs/2106.09685)\n"
                          "  - Adds low-rank matrices beside frozen weights.\n\n## To read\n\n"
                          "- [QLoRA: Efficient Finetuning of Quantized LLMs](https://arxiv.org/abs/2305.14314)\n")
    assert [(p.title, [b.text for b in p.bullets]) for p in ps] == [
        ("LoRA: Low-Rank Adaptation of Large Language Models", ["Adds low-rank matrices beside frozen weights."])]


def test_a_paper_heading_with_a_code_link_is_no_code_section(tmp_path):
    ps = papers(tmp_path, "# Notes\n\n### 3. Deformable DETR: Deformable Transformers | ICLR 2021 | [code](https://x.org/c)\n"
                          "- 只在参考点附近采样少量位置做注意力。\n\n### 4. Conditional DETR for Fast Training | ICCV 2021\n"
                          "- 条件空间查询让交叉注意力更快收敛。\n\n## Code / Links\n\n- [A Toolkit For Detection](https://x.org/t)\n")
    assert [(p.title, p.venue, [b.text for b in p.bullets]) for p in ps] == [
        ("Deformable DETR: Deformable Transformers", "ICLR", ["只在参考点附近采样少量位置做注意力。"]),
        ("Conditional DETR for Fast Training", "ICCV", ["条件空间查询让交叉注意力更快收敛。"])]


def test_a_front_matter_paper_key_names_the_paper(tmp_path):
    ps = papers(tmp_path, '---\npaper: "Direct Preference Optimization: Your Language Model is Secretly a Reward Model"\n'
                          "venue: NeurIPS\nyear: 2023\n---\n\n## Method\nA classification loss on preference pairs.\n")
    assert [(p.title, p.venue, p.year) for p in ps] == [
        ("Direct Preference Optimization: Your Language Model is Secretly a Reward Model", "NeurIPS", 2023)]


def test_an_item_of_key_lines_opens_its_paper_with_its_fields_and_notes(tmp_path):
    ps = papers(tmp_path, "# Notes\n\n1. **Title:** Toolformer: Language Models Can Teach Themselves to Use Tools\n"
                          "   **Venue:** NeurIPS 2023\n   **Summary:** The model learns when to call APIs.\n"
                          "2. **Title:** Gorilla: Large Language Model Connected with Massive APIs\n"
                          "   **Venue:** arXiv 2023\n   **Summary:** A fine-tuned model that writes API calls.\n")
    assert [(p.title, p.venue, p.year, [(b.text, b.line) for b in p.bullets]) for p in ps] == [
        ("Toolformer: Language Models Can Teach Themselves to Use Tools", "NeurIPS", 2023,
         [("**Summary:** The model learns when to call APIs.", 5)]),
        ("Gorilla: Large Language Model Connected with Massive APIs", "arXiv", 2023,
         [("**Summary:** A fine-tuned model that writes API calls.", 8)])]
