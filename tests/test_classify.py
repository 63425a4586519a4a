"""The classifier, one row per behaviour: (bullet, context, expected label), Chinese and English."""
from __future__ import annotations

import re

import pytest

from notecards.classify import Context, classify_bullet
from notecards.model import LABELS
from notecards.rules import load_rules

RULES = load_rules()
FIRST = Context(index=0, count=4)
MIDDLE = Context(index=2, count=4)

ROWS = [
    # key prefixes decide at once
    ("动机：全量微调每个任务都要存一份完整权重", MIDDLE, "problem"),
    ("实验效果：在GLUE上与全量微调持平", FIRST, "finding"),
    ("论文方法：在注意力的投影矩阵旁加低秩分支", FIRST, "method"),
    ("Problem: long documents do not fit into BERT", MIDDLE, "problem"),
    ("Outcome: 3x faster training on GPT-2", FIRST, "finding"),
    ("Unconditional ImageNet 64: FID 2.9 and recall 0.61", MIDDLE, "finding"),  # a metric and its number
    ("将检测器迁移到遥感图像面临两个挑战：目标小，背景复杂", MIDDLE, "problem"),  # faces a challenge
    ("**摘要**：用四亿图文对做对比学习，得到可零样本迁移的视觉模型", MIDDLE, "method"),  # a summary of what it does
    ("摘要：遥感图像中的小目标检测仍然难以做到实时", MIDDLE, "problem"),  # a pasted abstract opens with the gap
    ("(experiment) ablating the gate hurts accuracy by 2 points", FIRST, "finding"),
    ("下游任务：问答、摘要、对话", MIDDLE, "other"),
    ("Open question: would it hold at 100B parameters", MIDDLE, "opinion"),
    ("主要应用于语音识别场景；", MIDDLE, "other"),  # what it is applied to
    # opinions: quotes, questions, first person
    ("> 不知道这种做法会不会导致分布偏移", FIRST, "opinion"),
    ("> The reviewers were not convinced by the baselines", MIDDLE, "opinion"),
    ("这个和MoE有什么关系，能不能看作它的自动化？", MIDDLE, "opinion"),
    ("I would've liked to see results on non-English data.", MIDDLE, "opinion"),
    ("The loss sums log p(y(i)) over tokens i, i.e. a cross-entropy", MIDDLE, "method"),  # a lower-case i is an index
    ("tl;dr: aligns the model with preference training after pretraining", MIDDLE, "method"),  # names a part, no term
    ("覆盖率是本文的重要概念，统计被激活的神经元所占比例", MIDDLE, "method"),  # the paper's own concept
    ("Q: linear classifiers share no parameters across classes", MIDDLE, "method"),  # a question marker, no term
    ("读起来更像一份调参报告，理论贡献比较有限", MIDDLE, "opinion"),
    ("非常好的工作，对做长文本检索很有启发", MIDDLE, "opinion"),
    ("在检索任务中用对比学习去解决负样本太少的问题", MIDDLE, "method"),  # where, then the means, then the problem
    ("作者首先分析了已有流水线方法存在的缺陷", FIRST, "problem"),  # 'first' orders steps; it is no action
    ("在问答，摘要，代码生成上进行实验；", MIDDLE, "method"),  # where it was evaluated, a list of tasks
    ("Column Family 是我认为最难懂的概念", Context(index=2, count=5, section="method"), "opinion"),  # says what they think, even in a method section
    # problems
    ("解决RLHF训练对超参数敏感、显存消耗高的问题", FIRST, "problem"),
    ("针对长文本推理速度慢的问题，设计了新的缓存结构", MIDDLE, "problem"),
    ("Current retrievers struggle with multi-hop questions.", MIDDLE, "problem"),
    ("The paper addresses the problem of reward hacking in RLHF.", MIDDLE, "problem"),
    # methods
    ("提出了一个统一的框架，在生成时对模型进行微调", MIDDLE, "method"),
    ("We propose a sparse attention pattern with global tokens.", MIDDLE, "method"),
    ("Replaces dot-product attention with locality-sensitive hashing.", MIDDLE, "method"),
    # findings
    ("实验结果表明在小数据集上也能达到很好的效果", MIDDLE, "finding"),
    ("在 ImageNet 上 top-1 准确率提升了 2.3 个点", MIDDLE, "finding"),
    ("Results show a 15% end-to-end speedup on BERT-large.", MIDDLE, "finding"),
    ("Outperforms RoBERTa on WikiHop and TriviaQA.", MIDDLE, "finding"),
    # background
    ("已有的方法大多只优化单一目标，需要手动调整权重", MIDDLE, "background"),
    ("特征对齐指对模型隐层表征进行干预以达到对齐目标的方式", MIDDLE, "background"),
    ("Existing methods rely on hand-crafted anchors and NMS.", MIDDLE, "background"),
    ("A diffusion model is a Markov chain that gradually adds noise.", MIDDLE, "background"),
    # other: uses, future directions, scope
    ("这种训练方式是否可以用于提升模型安全性，值得后续工作研究", MIDDLE, "other"),
    ("Future work: extend the benchmark to speech.", MIDDLE, "other"),
    ("A survey of retrieval-augmented generation for code", FIRST, "other"),
    ("一篇关于多模态大模型评测的综述", FIRST, "other"),
    # analysis papers: what they study is their finding
    ("Revisiting the calibration of modern classifiers", FIRST, "finding"),
    ("本文研究了数据顺序如何影响课程学习的收益", FIRST, "finding"),
    # a lead key the tables do not know names the note: the cues are read after it
    ("**Lena's take**: This work addresses label noise in crowd-sourced data.", MIDDLE, "problem"),
    ("Tackles retrieval over corpora of a million documents.", MIDDLE, "problem"),
    ("个人总结：一篇2020年的期刊文章，作者用GAN合成缺陷样本来扩充训练集", MIDDLE, "method"),
    # what other work did is background
    ("相关工作部分回顾了早期依赖人工特征的方法，它们在新领域上泛化很差。", MIDDLE, "background"),
    ("Related work on sparse attention mostly fixes the pattern by hand.", MIDDLE, "background"),
    # what the paper covers and leaves out is other
    ("主要聚焦在文本到图像的生成场景", MIDDLE, "other"),
    ("整个框架并不涉及强化学习，只用了监督微调", MIDDLE, "other"),
    ("The paper does not consider multilingual settings.", MIDDLE, "other"),
    # the means first, then the problem it solves: a method
    ("用对比学习来解决标签稀缺的问题", MIDDLE, "method"),
    ("Uses a learned router to address load imbalance across experts.", MIDDLE, "method"),
    # an abstract's motivation opener; a line naming the task
    ("随着大模型的普及，推理成本成为部署的主要障碍", FIRST, "problem"),
    ("With the rapid growth of video platforms, moderation by hand no longer scales.", MIDDLE, "problem"),
    ("多轮对话状态追踪任务；", MIDDLE, "problem"),
    # gap statements, the setting taken on, asking how
    ("长视频理解的评测协议尚不完善，结论难以复现", MIDDLE, "problem"),
    ("本文考虑更一般的情况：标签只在部分域上可见。", MIDDLE, "problem"),
    ("只有预训练模型、没有源数据时如何做域适应，是本文的出发点", MIDDLE, "problem"),
    ("Reward models are brittle under distribution shift.", MIDDLE, "problem"),
    ("Hallucination remains a major challenge for retrieval systems.", MIDDLE, "problem"),
    ("消融实验的目的是在嵌入空间中找到一个表示风格的方向。", MIDDLE, "method"),  # the experiment's aim is its setup
    # a pasted abstract opens with its problem, unless it opens with what the paper presents
    ("摘要：Manual inspection of welds is slow and misses small cracks.", MIDDLE, "problem"),
    ("Abstract: We present a fast detector for weld cracks built on a tiny CNN.", MIDDLE, "method"),
    # the reader weighing the results
    ("整体效果一般，最好的准确率也只有六成", MIDDLE, "opinion"),
    ("There is no clear comparison with the single-task baselines.", MIDDLE, "opinion"),
    # a third party's view, quoted by the reader
    ("审稿人认为消融实验不够充分", MIDDLE, "opinion"),
    ("Hinton argues that the benchmark rewards memorisation.", MIDDLE, "opinion"),
    # the evaluation setup is method, even under a results heading
    ("Trained the model on two street-scene datasets.", Context(section="finding", index=1, count=4), "method"),
    ("Evaluation is performed across five summarisation benchmarks.", MIDDLE, "method"),
    # a bullet is about its first sentence: a problem, then the fix, is a problem
    ("Current models struggle with long videos, which overflow their context. We propose a memory "
     "bank that outperforms every baseline by 5 points.", MIDDLE, "problem"),
]


def test_cues_are_read_in_the_first_sentence():
    one = "The authors propose a retrieval step before decoding."
    two = one + " Results show it outperforms every baseline on all benchmarks by a wide margin."
    assert classify_bullet(one, MIDDLE, RULES)[0] == classify_bullet(two, MIDDLE, RULES)[0] == "method"


def test_a_question_that_opens_a_paper_is_its_problem():
    text = "没有域标签时如何学习域不变的特征？"
    assert classify_bullet(text, Context(index=0, count=1), RULES)[0] == "problem"
    assert classify_bullet("> " + text, Context(index=3, count=5), RULES)[0] == "opinion"


@pytest.mark.parametrize("text,ctx,label", ROWS, ids=[r[0][:24] for r in ROWS])
def test_label(text, ctx, label):
    got, rule = classify_bullet(text, ctx, RULES)
    assert got == label, rule


@pytest.mark.parametrize("text,label", [
    ("关键结果有哪些？在小数据集上先做有监督预训练，mAP 提升明显", "finding"),
    ("有哪些局限性？如何优化？ 速度比较慢，每个候选框都要过一遍网络", "other"),
    ("What problem does it solve? Long documents do not fit in the context window.", "problem"),
    ("这个方法为什么要两阶段训练？感觉一阶段也可以", "opinion"),   # the question names no role: the reader asks
])
def test_a_template_question_answered_on_its_line_names_the_answers_role(text, label):
    assert classify_bullet(text, MIDDLE, RULES)[0] == label


def test_a_list_of_sibling_questions_is_the_papers_not_the_readers():
    from notecards.classify import classify_paper, paper_contexts
    from notecards.model import Bullet, Paper

    rubric = ("Relevant - Does the reply cover the question?", "Safe - Is the reply free of harm?",
              "Fluent - Is the reply easy to read?")
    paper = Paper("Self-Critique for Chat Models", None, None, 1,
                  tuple(Bullet(t, k + 2, parent="Criteria", index=k) for k, t in enumerate(rubric)))
    assert [c.listed_question for c in paper_contexts(paper, RULES)] == [True, True, True]
    assert [b.label for b in classify_paper(paper, RULES).bullets] == ["problem", "method", "method"]  # none opinion
    alone = Paper("Self-Critique for Chat Models", None, None, 1,
                  (Bullet("Uses a critic model.", 2, index=0), Bullet("Why not a larger critic?", 3, index=1)))
    assert [c.listed_question for c in paper_contexts(alone, RULES)] == [False, False]
    assert classify_paper(alone, RULES).bullets[1].label == "opinion"


def test_the_first_bullet_prior_is_for_an_opening_line_not_a_named_part():
    from notecards.classify import context_features

    prior = "first bullet prior: problem"
    assert prior in dict(context_features("记忆模块太大，推理时显存不够用", FIRST, RULES))
    assert prior not in dict(context_features("working memory：对话状态记录；", FIRST, RULES))
    assert classify_bullet("Actor (LM): produces the next action", FIRST, RULES)[0] == "method"


def test_the_label_of_a_cue_found_at_the_very_start_is_a_feature_of_its_own():
    from notecards.classify import cue_features

    opens = lambda text: {n for n, _ in cue_features(text, RULES) if n.startswith("opens as: ") and ", then: " not in n}
    assert opens("Proposes a sparse router that outperforms dense baselines.") == {"opens as: method"}
    assert opens("The sparse router outperforms dense baselines.") == set()       # the cue is not at the start
    assert opens("Abstract: Manual inspection is slow.") == set()                  # read after the lead key
    assert opens("实验表明新的路由更快") == {"opens as: finding"}


@pytest.mark.parametrize("text,label", [
    ("**Problem.** Attention costs grow with the square of the length.", "problem"),
    ("**Results**. Matches the dense model at a third of the memory.", "finding"),
    ("**My take.** The method feels fragile.", "opinion"),
])
def test_a_bold_key_ended_by_a_full_stop_is_a_key_prefix(text, label):
    from notecards.classify import prefix_label

    assert prefix_label(text, RULES)[0] == label
    assert prefix_label("Problem. The text goes on", RULES) is None  # not bold: a sentence, not a key


@pytest.mark.parametrize("text,label", [
    ("解决问题：图上的半监督节点分类", "problem"), ("个人点评：思路直观", "opinion"), ("实验结论：提升明显", "finding"),
])
def test_a_chinese_key_is_known_by_its_head(text, label):
    from notecards.classify import prefix_label

    assert prefix_label(text, RULES)[0] == label
    assert prefix_label("作者的想法：先聚类再检索", RULES) is None  # '的' names whose idea, not what the line is


def test_what_a_bullet_opens_with_and_what_follows_it_is_a_feature():
    from notecards.classify import cue_features

    names = {n for n, _ in cue_features("使用无标签数据训练有助于避免虚假特征", RULES)}
    assert "opens as: method, then: finding" in names  # an action as the subject of a claim
    assert not any(", then: " in n for n in (x for x, _ in cue_features("模型在 GLUE 上有助于提升", RULES)))


def test_a_lead_key_is_read_with_the_cues_about_keys():
    from notecards.rules import Cue

    assert Cue("problem", "any", 1.0, regex=re.compile(r"^(?:Abstract|摘要)\s*[:：]")).reads_key
    assert not Cue("problem", "en", 1.0, regex=re.compile(r"(?i)^(?:how (?:to|can))")).reads_key
    label, rule = classify_bullet("Abstract: serving large models costs too much memory.", MIDDLE, RULES)
    assert label == "problem" and "abstract" in rule


@pytest.mark.parametrize("header,label", [
    ("What questions are the authors addressing?", "problem"),
    ("What problem is solved?", "problem"),
    ("My questions", "opinion"),
    ("主要建议", "other"), ("Suggestions", "other"),
    ("五、个人思考", "opinion"), ("研究背景", "background"), ("主要结论", "finding"),  # a compound's head names it
    ("作者的想法", None), ("Strengths", "opinion"),
    ("Open questions", "opinion"),
    ("Limitations", "other"), ("Cons", "other"), ("局限", "other"),  # what the paper leaves out
    ("实验部分", None), ("💡 Key idea", "method"), ("📊 Results", "finding"),
])
def test_a_question_header_is_labelled_by_what_it_asks(header, label):
    from notecards.classify import section_label

    assert section_label(header, RULES) == label


def test_a_paper_title_is_context_for_every_bullet_under_it():
    from notecards.classify import classify_paper, paper_contexts
    from notecards.model import Bullet, Paper

    def kinds(title):
        return paper_contexts(Paper(title, None, None, 1, (Bullet("x", 2),)), RULES)[0].title_kinds

    assert kinds("Why Do Deep Ensembles Work?") == ("title: an analysis paper",)
    assert kinds("Understanding Dropout in Transformers") == ("title: an analysis paper",)
    assert kinds("Memorise or Generalise? Rethinking Data Pruning") == ("title: an analysis paper",)  # the subtitle
    assert kinds("Sparse Routers for Vision: Understanding Their Failure Cases") == ("title: an analysis paper",)
    assert kinds("A Survey of Vision-Language Pretraining") == ("title: a survey",)
    assert kinds("Memory Banks for Video Transformers") == ()
    assert kinds("Can Sparse Routers Generalise?") == ("title: an analysis paper",)  # it asks
    assert kinds("Do What I Mean, Not What I Type: Robust Instruction Parsing") == ()  # opens like a question, asks none
    text = "The members of the ensemble disagree mostly on rare classes."
    labels = {title: classify_paper(Paper(title, None, None, 1, (Bullet(text, 2, index=0), Bullet("More.", 3, index=1))),
                                    RULES).bullets[0].label
              for title in ("Why Do Deep Ensembles Work?", "Memory Banks for Video Transformers")}
    assert labels == {"Why Do Deep Ensembles Work?": "finding", "Memory Banks for Video Transformers": "method"}


def test_section_context_decides_a_plain_bullet():
    text = "Memory stays flat as the context grows."
    assert classify_bullet(text, Context(section="finding", index=2, count=4), RULES)[0] == "finding"
    assert classify_bullet(text, Context(section="opinion", index=2, count=4), RULES)[0] == "opinion"


@pytest.mark.parametrize("text", ["先用离散编码器把图像块变成token", "然后将两路特征拼接后送入分类头"])
def test_a_step_then_its_action_opens_with_an_action(text):
    from notecards.classify import cue_features

    assert "zh: opens with an action" in dict(cue_features(text, RULES))


def test_a_y_for_x_names_a_method_not_the_papers_scope():
    from notecards.classify import cue_features

    scope = "zh: what the paper covers and leaves out"
    assert scope in dict(cue_features("主要应用于语音识别场景；", RULES))
    assert scope not in dict(cue_features("用于图神经网络的知识蒸馏", RULES))  # '用于X的Y' is a Y for X


def test_the_parent_line_speaks_over_the_section_it_sits_in():
    from notecards.classify import context_features

    ctx = Context(section="method", parent="finding", index=3, count=8)
    names = dict(context_features("Generalizes to held-out annotators", ctx, RULES))
    assert "parent line: finding" in names and "section: method" not in names
    assert classify_bullet("Generalizes to held-out annotators", ctx, RULES)[0] == "finding"
    assert classify_bullet("Hedges on simple questions", Context(section="method", parent="other", index=5, count=8),
                           RULES)[0] == "other"


def test_children_of_a_motivation_line_are_background():
    ctx = Context(parent="background", index=1, count=4)
    assert classify_bullet("Adapter 会增加推理延迟", ctx, RULES)[0] == "background"


def test_explanation_names_the_rule():
    label, rule = classify_bullet("实验结果表明效果显著提升", MIDDLE, RULES)
    assert label == "finding" and "experiments show" in rule


def test_default_is_method_when_nothing_matches():
    assert classify_bullet("Blocks of sixteen tokens.", MIDDLE, RULES)[0] == "method"


def test_facts_about_the_method_a_paper_extends_are_background():
    from notecards.classify import base_names

    assert base_names("Deformable DETR: Deformable Transformers for Detection") == ("DETR",)
    assert base_names("QLoRA: Efficient Finetuning of Quantized LLMs") == ("LoRA",)
    assert base_names("BERT: Pre-training of Deep Bidirectional Transformers") == ()
    ctx = Context(index=2, count=4, base_names=("DETR",))
    assert classify_bullet("DETR 的注意力权重在初始化时几乎均匀分布", ctx, RULES)[0] == "background"
    assert classify_bullet("DETR 的注意力权重在初始化时几乎均匀分布", MIDDLE, RULES)[0] != "background"


@pytest.mark.parametrize("text", [
    "To cut the memory of long contexts, we quantise the KV cache to 4 bits.",
    "为了降低推理显存，作者把权重量化到4比特",
])
def test_cues_count_in_the_main_clause_not_the_purpose_clause(text):
    label, rule = classify_bullet(text, MIDDLE, RULES)
    assert label == "method", rule


def test_a_purpose_clause_that_names_a_problem_is_not_skipped():
    assert classify_bullet("针对长文本推理速度慢的问题，设计了新的缓存结构", MIDDLE, RULES)[0] == "problem"


def test_siblings_label_is_what_most_of_the_others_under_the_same_parent_got():
    from notecards.classify import sibling_labels
    from notecards.model import Bullet, Paper

    bullets = tuple(Bullet(f"b{i}", i + 1, parent="Results", index=i) for i in range(4)) \
        + (Bullet("alone", 9, index=4),)
    paper = Paper("A Paper", None, None, 1, bullets)
    got = sibling_labels(paper, ["finding", "finding", "method", "finding", "opinion"])
    # each bullet is judged by the others: the third sees three findings, the first two findings of three
    assert got == ["finding", "finding", "finding", "finding", None]
    assert sibling_labels(paper, ["finding", "method", "opinion", "problem", "other"]) == [None] * 5


def test_classify_paper_labels_bullets_from_their_section():
    from notecards.classify import classify_paper
    from notecards.model import Bullet, Paper

    text = "Memory stays flat as the context grows."
    paper = Paper("A Paper", None, None, 1, (Bullet(text, 2, section="Results", index=0),
                                              Bullet(text, 3, section="Thoughts", index=1)))
    assert [b.label for b in classify_paper(paper, RULES).bullets] == ["finding", "opinion"]


def test_every_active_feature_adds_its_fitted_weight_to_each_label():
    from dataclasses import replace

    from notecards.classify import decide, score_features

    rules = replace(RULES, weights={"section: method": (("method", 1.0), ("finding", 2.0))})
    evidence = score_features([("section: method", 1.0), ("nested", 1.0)], rules)
    assert evidence == {"method": [(1.0, "section: method")], "finding": [(2.0, "section: method")]}
    assert decide(evidence)[0] == "finding"
    assert decide(score_features([("section: method", 0.5)], replace(rules, weights={
        "section: method": (("method", 1.0), ("finding", 1.0))})))[0] == "method"  # a tie goes to method


def test_a_feature_with_no_fitted_record_adds_its_own_label_and_weight():
    from dataclasses import replace

    from notecards.classify import score_features

    cue = RULES.cues[0]
    assert score_features([(cue.name, 1.0)], replace(RULES, weights={})) == {cue.label: [(cue.weight, cue.name)]}


def test_fitted_weights_name_only_features_the_classifier_has():
    from notecards.rules import CONTEXT_FEATURES

    fitted = set(RULES.weights)
    # a section or parent line no labelled note happens to have still speaks (with its hand weight)
    assert {f"{kind}: {x}" for kind in ("section", "parent line") for x in LABELS} <= fitted
    assert fitted <= {*CONTEXT_FEATURES, *(c.name for c in (*RULES.cues, *RULES.priors, *RULES.title_cues))}
    assert {c.name for c in RULES.title_cues} <= fitted
