"""Each fast path of the classifier gives exactly what the plain way gives."""
from __future__ import annotations

import itertools
import marshal
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notecards.classify import _word_hits
from notecards.rules import WORD_RUN, Cue, load_rules
from notecards.segment import (
    _RUN,
    _dictionary,
    _from_jieba,
    _jieba_frequencies,
    _words,
    has_cjk,
)

RULES = load_rules()
SENTENCES = [
    "实验结果表明该方法在所有数据集上都有效", "我们提出了一种新的注意力机制来解决长序列问题",
    "结婚的和尚未结婚的", "他说的确实在理", "研究生命起源", "使用transformer模型在ImageNet上提升3.5个点",
    "南京市长江大桥", "不足以解决计算成本太高的问题吧", "B超和T恤", "2024年的工作",
]


def _chars(*texts: str) -> str:
    return "".join(sorted(set("".join(texts))))


@pytest.fixture(scope="module")
def dictionary():
    import jieba

    for word in sorted(RULES.zh_words):  # what _dictionary does to its copy of jieba's
        jieba.add_word(word, freq=2000)
    return _dictionary(RULES.zh_words)


@pytest.mark.slow  # loads jieba's dictionary
def test_the_saved_dictionary_is_jiebas(tmp_path, monkeypatch):
    from notecards import segment

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    jiebas = _from_jieba()  # loaded from jieba once (1 s), given again each time jieba's own way is taken
    ways: list[str] = []

    def from_jieba():
        ways.append("jieba")
        return jiebas

    monkeypatch.setattr(segment, "_from_jieba", from_jieba)
    made = _jieba_frequencies()  # from jieba, then saved
    (saved,) = (tmp_path / "notecards").glob("jieba-*.dict")
    loaded = _jieba_frequencies()
    assert ways == ["jieba"]  # the second time from the saved file
    assert loaded == made == jiebas and len(made[0]) > 300_000
    for damaged in (saved.read_bytes()[:1000], marshal.dumps(5), marshal.dumps((5, b"", 1))):
        saved.write_bytes(damaged)  # cut short, or not ours: jieba's own way again, and saved anew
        ways.clear()
        assert _jieba_frequencies() == made and ways == ["jieba"]
        assert _jieba_frequencies() == made and ways == ["jieba"]


@given(st.text(alphabet=_chars(*SENTENCES, *RULES.zh_words, "ab1"), max_size=40))
def test_words_split_a_run_as_jieba_does(dictionary, text):
    import jieba

    for run in [*_RUN.findall(text), *SENTENCES]:
        assert _words(run, *dictionary) == [w for w in jieba.lcut(run, HMM=False) if has_cjk(w)]


@pytest.mark.parametrize("cue", [c for c in RULES.cues if c.latin_words is not None], ids=lambda c: c.name[:30])
def test_word_runs_count_what_the_pattern_counts(cue):
    latin = sorted(cue.latin_words, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w'’])(?:" + "|".join(map(re.escape, latin)) + r")(?![\w'’])")
    words = st.sampled_from(latin + ["x", "'", "’", " ", "-", "的", "ed", "s", "2"])

    @given(st.lists(words, max_size=12).map("".join))
    def check(low):
        assert _word_hits(cue, low, "", frozenset(WORD_RUN.findall(low))) == len(set(pattern.findall(low)))

    check()


@pytest.mark.parametrize("cue", [c for c in RULES.cues if c.latin_runs is not None], ids=lambda c: c.name[:30])
def test_a_cue_none_of_whose_runs_the_bullet_has_finds_no_word(cue):
    from dataclasses import replace

    plain = replace(cue)
    object.__setattr__(plain, "latin_runs", None)  # the pattern searched every time
    pieces = [w for word in cue.words for w in (word, *word.split())]
    words = st.sampled_from(pieces + ["x", "'", "’", " ", "-", "的", "ed", "s", "2", ",", "to", "i"])

    @given(st.lists(words, max_size=12).map("".join))
    def check(low):
        runs = frozenset(WORD_RUN.findall(low))
        assert _word_hits(cue, low, "", runs) == _word_hits(plain, low, "", runs)

    check()


def test_a_word_of_several_runs_keeps_the_pattern():
    cue = Cue("method", "en", 1.0, ("instead of", "of"))
    assert cue.latin_words is None and cue.latin_pattern is not None
    text = "instead of that"
    assert _word_hits(cue, text, "", frozenset(WORD_RUN.findall(text))) == 1  # 'of' is part of 'instead of'


MARKDOWN = st.text(alphabet=_chars("ab 中文$*_`[]()!<>&#\\|~^-+=.:\n", "&amp;"), max_size=60)


@given(MARKDOWN, st.integers(min_value=0, max_value=40))
def test_a_text_that_fits_unparsed_fits_parsed(text, limit):
    from notecards.cards import _fits
    from notecards.render import plain_text

    assert _fits(text, limit, None) == (len(plain_text(text)) <= limit)


@given(st.lists(MARKDOWN, min_size=1, max_size=6))
def test_a_memo_renders_what_a_fresh_render_gives(texts):
    from notecards.render import Memo, render_markdown

    memo = Memo()
    for text in texts + texts:
        assert render_markdown(text, "n.md", "", 3, memo) == render_markdown(text, "n.md", "", 3)


def test_norm_key_keeps_every_character_outside_the_noise_set():
    """meta.could_be_key counts the characters norm_key can't remove: its noise set must hold all it can."""
    from notecards.meta import _KEY_NOISE
    from notecards.rules import norm_key

    noise = re.compile(f"[{_KEY_NOISE}]")
    for c in map(chr, range(0x10000)):
        if not noise.match(c) and not 0xD800 <= ord(c) < 0xE000:
            assert norm_key(f"{c}x{c}") == f"{c}x{c}".casefold(), hex(ord(c))


@given(st.text(alphabet=_chars("Related work 相关工作 参考文献 :：.-# 1234*_", *RULES.sections), max_size=40))
def test_a_text_turned_away_could_not_be_a_key(text):
    from notecards.meta import could_be_key, section_keys
    from notecards.rules import norm_key

    keys = section_keys(RULES)
    if not could_be_key(text, keys):
        assert norm_key(text) not in keys


NOTE_ORDER_TEXT = st.text(alphabet=_chars("as above then after that ditto 同上如上然后 ,.:-'\t\n",
                                          "ASBOVETHNDI", "\u0130\u0131\u017f\u212a\xdf\u03a3\u03c2"), max_size=40)


@given(NOTE_ORDER_TEXT)
def test_note_order_on_lower_cased_text_finds_what_the_case_blind_search_finds(text):
    from notecards.cards import leans_on_neighbours, wording

    w = wording()
    assert w.note_order_lower is not None
    assert leans_on_neighbours(text, w) == (w.note_order.search(text) is not None)


def test_a_build_labels_each_bullet_as_extract_does_without_saying_why():
    from pathlib import Path

    from notecards.config import Config
    from notecards.pipeline import extract_document, rules_for
    from notecards.read import find_notes, read_note

    rules = rules_for(Config())
    refs, _ = find_notes([Path(__file__).parent / "fixtures", Path(__file__).parent.parent / "examples" / "notes"])
    for ref in refs:
        src = read_note(ref)
        explained, built = extract_document(src, rules), extract_document(src, rules, build=True)
        assert [b.label for p in built.papers for b in p.bullets] == [b.label for p in explained.papers for b in p.bullets]
        assert any(b.rule for p in explained.papers for b in p.bullets)


_CUE_WORDS = ["results", "show", "outperforms", "is", "crucial", "struggles", "with", "we", "propose", "the", "paper",
              "addresses", "future", "work", ",", ".", "\n"]
CUE_TEXT = st.lists(st.sampled_from([*_CUE_WORDS, *(w.replace("s", "\u017f").replace("i", "\u0131") for w in _CUE_WORDS),
                                     *(w.upper().replace("I", "\u0130").replace("K", "\u212a") for w in _CUE_WORDS)]),
                    max_size=12).map(" ".join)
"""Cue words, and the same words spelt with the characters that fold onto ASCII letters (ſ ı K İ)."""


def _rules_without(*fast_paths: str):
    """RULES with these fields of every cue set to None: the cues taken the plain way."""
    from dataclasses import replace

    plain = replace(RULES, cues_by_script={k: tuple(replace(c) for c in v) for k, v in RULES.cues_by_script.items()})
    for cues in plain.cues_by_script.values():
        for c in cues:
            for name in fast_paths:
                object.__setattr__(c, name, None)
    return plain


@pytest.fixture(scope="module")
def plain_rules():
    """RULES with every cue searched the plain case-blind way (no lower-cased fast path)."""
    return _rules_without("lower_regex")


@given(CUE_TEXT)
def test_case_blind_cues_on_lower_cased_text_hit_what_the_case_blind_search_hits(plain_rules, text):
    from notecards.classify import _cue_hits

    assert _cue_hits(text, RULES, False, True) == _cue_hits(text, plain_rules, False, True)


_TITLES = ["Attention Is All You Need", "attention is all you need!", "Attention Is All You Really Need",
           "Deep Residual Learning", "Other Paper Entirely"]
_BULLETS = ["RNNs are slow to train.", "Self-attention only, no recurrence.", "Residual connections help.",
            "New state of the art on WMT14.", "Deeper nets train well.", "> I wonder how it scales."]
PAPERS = st.lists(st.tuples(st.sampled_from(_TITLES),
                            st.lists(st.tuples(st.sampled_from(["problem", "method", "finding", "opinion"]),
                                               st.sampled_from(_BULLETS)), max_size=5)), max_size=4)
"""Papers whose titles are alike or the same and whose bullets recur: renamed, repeated, moved."""


def _drafts(papers):
    from notecards.cards import make_cards
    from notecards.config import Config
    from notecards.model import Bullet, Document, Paper

    made = tuple(Paper(title=t, venue="ICLR", year=2017, line=1 + 10 * n,
                       bullets=tuple(Bullet(text, 2 + 10 * n + i, label) for i, (label, text) in enumerate(bs)))
                 for n, (t, bs) in enumerate(papers))
    return make_cards(Document(path="notes/a.md", title="notes", papers=made, folder="notes"), Config()).cards


@pytest.mark.parametrize("clash", [False, True])
@given(before=PAPERS, now=PAPERS, reserve=st.integers(0, 3))
def test_cards_keyed_in_the_workers_carry_the_identity_the_build_would_give(clash, before, now, reserve):
    """carry_identity(fresh=True) of cards fresh_keys keyed (what a build gets from its workers)
    gives what carry_identity gives the drafts; `clash`: every text's text_slot clashes with others',
    so that slots are numbered."""
    from unittest import mock

    from notecards import identity

    slot = (lambda text: "t" + str(len(text) % 2)) if clash else identity.text_slot
    with mock.patch.object(identity, "text_slot", slot):
        first = identity.carry_identity(_drafts(before), {})
        previous = {p.ident: p for p in first.papers[reserve:]}
        reserved = {p.ident for p in first.papers[:reserve]}
        drafts = _drafts(now)
        plain = identity.carry_identity(drafts, previous, reserved)
        assert identity.carry_identity(identity.fresh_keys(drafts), previous, reserved, fresh=True) == plain
        assert identity.carry_identity(identity.fresh_keys(drafts), {}, fresh=True) == identity.carry_identity(drafts, {})


@pytest.mark.parametrize("name", ["cues.yaml", "structure.yaml", "cards.yaml"])
def test_the_shipped_tables_load_in_c_as_safe_load_reads_them(name):
    import yaml

    from notecards.fsutil import resource_text
    from notecards.rules import SHIPPED_LOADER

    text = resource_text(name)
    assert yaml.load(text, Loader=SHIPPED_LOADER) == yaml.safe_load(text)


def _gated() -> list[tuple[str, re.Pattern, tuple[str, ...]]]:
    """(name, pattern, gate) of every shipped cue regex with a gate, as _cue_hits searches it."""
    out = []
    for c in RULES.cues:
        for regex, gate in ((c.regex, c.gate), (c.lower_regex, c.lower_gate)):
            if gate is not None:
                out.append((c.name, regex, gate))
    return out


def _pieces(pattern: str) -> list[str]:
    """The pattern's own words, cut short and run together: text that comes near its matches."""
    words = [w for w in re.split(r"[\\()\[\]{}|?*+^$.:!<=]+", pattern) if w.strip()]
    return words + [w[:-1] for w in words if len(w) > 1] + [w[1:] for w in words if len(w) > 1]


@pytest.mark.parametrize(("name", "regex", "gate"), _gated(), ids=lambda x: x[:30] if isinstance(x, str) else "")
def test_a_cue_gate_holds_wherever_its_regex_matches(name, regex, gate):
    fragments = st.sampled_from([*_pieces(regex.pattern), *gate, " ", ",", "，", "。", "3", "%", "x", "I", "i", "我们",
                                 "?", "！", "!", "(", ")", "-"])

    @given(st.lists(fragments, max_size=10).map("".join))
    def check(text):
        if regex.search(text):
            assert any(g in text for g in gate)

    check()


def test_every_gate_holds_in_the_fixtures_bullets():
    from pathlib import Path

    gated = _gated()
    texts = [line.lstrip("-*> ").strip() for p in (Path(__file__).parent / "fixtures").rglob("*.md")
             for line in p.read_text(encoding="utf-8").splitlines()]
    for text in texts + [t.lower() for t in texts]:
        for name, regex, gate in gated:
            if regex.search(text):
                assert any(g in text for g in gate), (name, text)


@pytest.mark.parametrize(("pattern", "needs"), [
    ("foo|bar", {"foo", "bar"}), ("a(?=b)cde", {"cde"}), ("x?yz", {"yz"}), ("(?:ab)+c", {"ab"}),
    ("[？?]\\s*$", {"？", "?"}), ("\\d+(?:%|pp)", {"%", "pp"}), ("(?<!不)(?:解决|处理)了", {"解决", "处理"}),
    ("et al\\.", {"et al."}), ("(?P<n>abc)d", {"abc"}), ("a{2,}bc", {"bc"}), ("(?i:abc)de", {"de"}),
    ("a|", None), ("(?i)abc", None), ("(a)\\1", None), ("a{,2}", None), ("\\x41bc", None), ("[a-z]+", None),
    ("(?:ab)?", None), ("[^ab]", None), ("a{", None), ("ab(?#c)", None),
])
def test_the_strings_a_pattern_needs(pattern, needs):
    from notecards.gates import needed

    assert needed(pattern) == (frozenset(needs) if needs is not None else None)


@pytest.fixture(scope="module")
def ungated_rules():
    """RULES with no cue gated: every regex searched, and every pattern of words."""
    return _rules_without("gate", "lower_gate", "latin_runs")


@given(st.lists(st.sampled_from([*_CUE_WORDS, "I", "et al.", "3.5%", "related work", "does not", "解决了", "问题",
                                 "如何", "我", "我们", "！！", "?", "BLEU 30", "in recent years", "i think", "instead of",
                                 "to me"]), max_size=12).map(" ".join))
def test_gated_cues_hit_what_every_search_hits(ungated_rules, text):
    from notecards.classify import _cue_hits

    for zh in (False, True):
        for en in (False, True):
            assert _cue_hits(text, RULES, zh, en) == _cue_hits(text, ungated_rules, zh, en)


_ATOMS = ["a", "b", "ab", "中", "文", "\\.", ".", "\\d", "\\s", "\\b", "[ab]", "[^a]", "[？?]", "^", "$"]


def _patterns(depth: int = 2):
    """Random patterns in the syntax the cue tables use: atoms, groups of every kind, alternations, repeats."""
    atom = st.sampled_from(_ATOMS)
    if depth:
        inner = st.deferred(lambda: _patterns(depth - 1))
        atom = atom | st.builds(lambda kind, p: kind + p + ")", st.sampled_from(
            ["(", "(?:", "(?=", "(?!", "(?<=a", "(?<!b", "(?P<n>", "(?i:"]), inner)
    repeated = st.builds(lambda a, q: a + q, atom, st.sampled_from(["", "", "?", "*", "+", "{2}", "{0,2}", "{1,}", "+?"]))
    return st.lists(st.lists(repeated, min_size=1, max_size=4).map("".join), min_size=1, max_size=3).map("|".join)


_SHORT_TEXTS = ["".join(t) for n in range(4) for t in itertools.product("ab中.? 3", repeat=n)]
"""Every text of up to three characters the patterns speak of."""


@given(_patterns(), st.text(alphabet="ab中文.? ？3", max_size=12))
def test_a_pattern_matches_only_where_a_string_it_needs_is(pattern, text):
    from notecards.gates import needed

    try:
        regex = re.compile(pattern)
    except re.error:  # a lookbehind of no fixed width, a group name used twice
        return
    needs = needed(pattern)
    if needs is not None:
        for t in [text, *_SHORT_TEXTS]:
            if regex.search(t):
                assert any(s in t for s in needs), (pattern, t, needs)
