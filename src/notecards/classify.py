"""Bullet + context + Rules -> label and the rule that decided it. Pure functions, no I/O."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import itemgetter
from typing import Any

from notecards.model import Paper
from notecards.rules import FOLDS_TO_ASCII, WORD_RUN, Cue, Prefix, Rules, norm_key
from notecards.segment import CJK_CHARS, chinese_words, has_cjk

_PREFIX = re.compile(r"^\s*(?P<bold>\*\*|__)?(?P<key>[^:：*\n]{1,20}?)(?:(?:\*\*|__)?\s*[:：]"
                     r"|(?(bold)(?:[.。](?:\*\*|__)|(?:\*\*|__)[.。])(?=\s)|(?!)))")
"""'动机：…', '**Problem:** …', and a bold key ended by a full stop: '**Problem.** …', '**Results**. …'."""
_ASPECT = re.compile(r"^\s*[(（【\[]([^)）】\]]{1,16})[)）】\]]")
SHORT = 16
"""A bullet of at most this many characters is short (a phrase, not a sentence)."""
_PHRASE = re.compile(r"[^，。；！？,.;!?]{17,80}")
"""A bullet with no sentence punctuation: a name or a gloss rather than a statement."""


@dataclass(frozen=True, slots=True)
class Context:
    """Where a bullet sits: what the classifier may use besides its text."""

    section: str | None = None
    """Label of the heading, pseudo-heading or header line above, if it names one."""
    parent: str | None = None
    """Label given to children by the key line this bullet hangs from."""
    index: int = 0
    count: int = 1
    base_names: tuple[str, ...] = ()
    """Methods the paper builds on, named in its title ('DETR' in 'Deformable DETR')."""
    in_section: bool = False
    """Under a heading or header line inside the paper (even one that names no label)."""
    nested: bool = False
    """Hangs from another bullet or a header line."""
    title_kinds: tuple[str, ...] = ()
    """The title cues the paper's title matches (`titles` in cues.yaml)."""
    listed_question: bool = False
    """A question with at least two sibling questions: a list of the paper's questions or criteria."""


def _prefix(key: str, rules: Rules) -> Prefix | None:
    """The prefix table's record for a key: as written, else for a short Chinese key the record of its
    head ('解决问题' -> 问题, '个人点评' -> 点评: a Chinese compound ends with what it names)."""
    key = norm_key(key)
    p = rules.prefix_keys.get(key)
    if p is None and len(key) <= 6 and has_cjk(key) and "的" not in key:  # '作者的想法' is whose, not what
        p = _by_head(key, rules.prefix_keys)
    return p


def _by_head(key: str, table: dict[str, Any]) -> Any:
    """The record of the longest Chinese name of two characters or more that `key` ends with."""
    return next((table[tail] for tail in (key[k:] for k in range(1, len(key) - 1))
                 if tail in table and has_cjk(tail)), None)


def prefix_label(text: str, rules: Rules) -> tuple[str, str] | None:
    """'动机：…' -> ('problem', 'prefix 动机'); '(experiment) …' -> ('finding', 'aspect tag experiment')."""
    body = text.lstrip("> ").strip()
    m = _PREFIX.match(body)
    if m and (p := _prefix(m.group("key"), rules)):
        return p.label, f"key prefix '{m.group('key').strip()}'"
    m = _ASPECT.match(body)
    if m and (p := rules.prefix_keys.get(norm_key(m.group(1)))):
        return p.label, f"aspect tag '{m.group(1).strip()}'"
    return None


def base_names(title: str) -> tuple[str, ...]:
    """'Deformable DETR: …' -> ('DETR',); 'QLoRA: …' -> ('LoRA',): the methods a paper's name extends."""
    own = title.split(":")[0].strip()
    words = own.split()
    if not own or len(words) > 3:
        return ()
    names = set(words[1:])  # 'Deformable DETR' extends DETR
    names.update(w[k:] for w in words[:1] if re.search(r"[a-z]", w)  # camel case: QLoRA extends LoRA
                 for k in (1, 2) if w[k:k + 1].isupper())
    return tuple(sorted(n for n in names if len(n) >= 3 and len(re.findall(r"[A-Z]", n)) >= 2 and n != own))


def _about_base_method(text: str, names: tuple[str, ...]) -> bool:
    """The bullet's subject is the method the paper extends, not the paper itself."""
    return any(re.match(re.escape(n) + r"(?![A-Za-z0-9])", text) for n in names)


def children_label(parent_text: str, rules: Rules) -> str | None:
    """The label a key line gives the bullets nested under it ('动机：…' -> background)."""
    m = _PREFIX.match(parent_text.lstrip("> ").strip())
    p = _prefix(m.group("key"), rules) if m else None
    return p.children if p else None


def section_label(name: str, rules: Rules) -> str | None:
    """The label a heading or header line gives what sits under it, if it names one."""
    key = norm_key(name)
    if key in rules.sections:
        return rules.sections[key]
    p = rules.prefix_keys.get(key)
    if p:
        return p.children
    if len(key) <= 8 and has_cjk(key) and "的" not in key:  # '研究背景', '个人思考': a compound ends with its head
        return _by_head(key, rules.sections)
    # 'InstructGPT achievements vs GPT3', 'RL training': a short header whose words name a section
    words = key.split()
    if 1 < len(words) <= 6:
        for word in reversed(words):
            if len(word) > 3 and word in rules.sections:
                return rules.sections[word]
    return None


_LATIN = re.compile(r"[A-Za-z]{2}")
_ASKED = re.compile(r"((?:[^？?\n>]{2,30}[？?]\s*){1,3})(\S.{7,})", re.S)
_QUESTION = re.compile(r"[^？?]+")


@lru_cache(maxsize=8)
def _zh_section_names(rules: Rules) -> tuple[tuple[str, str], ...]:
    """The Chinese section names, longest first: a template question contains one ('关键结果有哪些')."""
    return tuple(sorted(((k, v) for k, v in rules.sections.items() if has_cjk(k) and len(k) >= 2),
                        key=lambda kv: -len(kv[0])))


def template_question(text: str, rules: Rules) -> tuple[str, str] | None:
    """'关键结果有哪些？mAP 高了 30%' -> ('finding', 'mAP 高了 30%'): a template's question answered on its
    own line is a header written inline; it names the answer's role, and the answer is the note."""
    m = _ASKED.match(text)
    if m is None:
        return None
    for question in _QUESTION.findall(m.group(1)):  # '有哪些局限性？如何优化？ 速度比较慢': the first that names a role
        question = question.strip()
        label = section_label(question, rules)
        if label is None and has_cjk(question):
            label = next((v for k, v in _zh_section_names(rules) if k in question), None)
        if label:
            return label, m.group(2)
    return None
_ASIDE = re.compile(r"[（(][^()（）]{2,}[)）]")


def _regex_hits(regex: re.Pattern, text: str, first: re.Match) -> int:
    """Places the pattern holds, up to three, its `first` found: each is more evidence (capped in _strength)."""
    if first.end() == first.start():
        return sum(1 for _ in zip(range(3), regex.finditer(text)))
    return 1 + sum(1 for _ in zip(range(2), regex.finditer(text, first.end())))


def _word_hits(cue: Cue, low: str, toks: str, runs: frozenset[str]) -> int:
    """Distinct words of the cue in the bullet. A Chinese cue word counts inside a jieba token
    ('提高' in '大幅提高') but never across two: the tokens are joined by a separator no cue word contains.
    Another word counts where nothing word-like touches it: when it is one run of word characters,
    that is when it is one of the bullet's `runs` (a word made of several runs needs the pattern,
    searched only when one of the bullet's runs is a run of one of the words: Cue.latin_runs)."""
    zh = len(set(cue.zh_pattern.findall(toks))) if toks and cue.zh_pattern is not None else 0
    if cue.latin_words is not None:
        return zh + len(cue.latin_words & runs)
    if cue.latin_pattern is None or (cue.latin_runs is not None and cue.latin_runs.isdisjoint(runs)):
        return zh  # no word of the cue, or none whose run the bullet has
    return zh + len(set(cue.latin_pattern.findall(low)))


def _strength(hits: int) -> float:
    """More distinct words of one cue are more evidence, with diminishing returns."""
    return 1 + 0.5 * (min(hits, 3) - 1)


@lru_cache(maxsize=8)
def _any_zh_word(rules: Rules) -> re.Pattern:
    """Any Chinese cue word: runs without one need no segmenting."""
    return re.compile("|".join(re.escape(w) for w in sorted(rules.zh_words, key=len, reverse=True)) or "(?!x)x")


Features = list[tuple[str, float]]
"""(feature name, strength): a cue's strength grows with the distinct words it matched."""


def _main_clause(text: str, rules: Rules, zh: bool, en: bool) -> tuple[str, bool]:
    """The bullet without an opening purpose clause ('To cut memory, we …' -> 'we …')."""
    for purpose in rules.purposes:
        if (purpose.lang != "zh" or zh) and (purpose.lang != "en" or en):
            m = purpose.regex.match(text)
            if m and m.end() < len(text):
                return text[m.end():], True
    return text, False


_SENTENCE_END = re.compile(r"[。！？!?；;]|\.(?=\s+[A-Z(\[\"'])")
"""Where a sentence ends: Chinese or English end punctuation ('e.g. the' goes on)."""


def first_sentence(text: str) -> str:
    """'The gap is X. We fix it by Y.' -> 'The gap is X.': a bullet is about what it opens with (one
    that states a problem and then names the fix is a problem bullet; an abstract opens with its
    problem), so cues are read in its first sentence. Measured on the dev notes, leave-one-file-out:
    cues after it at half weight gave 0.384 F1, at a tenth 0.421, not at all 0.425 (all: 0.395)."""
    m = _SENTENCE_END.search(text, 8)
    return text if m is None or len(text) - m.end() < 8 else text[:m.end()]


def _cue_hits(main: str, rules: Rules, zh: bool, en: bool, cues: tuple[Cue, ...] | None = None,
              opening: set[str] | None = None) -> dict[str, int]:
    """How often each cue (of `cues`, else every cue for the script) holds in the text (up to three
    places or distinct words); the labels of the patterns found at its very start go into `opening`."""
    low = main.casefold()
    lower: str | None = main.lower()
    if len(lower) != len(main) or FOLDS_TO_ASCII.search(main):  # 'İ' lowers to two characters, 'ſ' matches 's'
        lower = None
    toks = "\x00".join(chinese_words(main, rules.zh_words, _any_zh_word(rules))) if zh else ""
    runs = frozenset(WORD_RUN.findall(low))
    out: dict[str, int] = {}
    # the hot loop: 30 cues for each of 100,000s of bullets
    for cue in rules.cues_by_script[zh, en] if cues is None else cues:
        if cue.regex is None:
            hits = _word_hits(cue, low, toks, runs)
            if hits:
                out[cue.name] = hits
            continue
        if cue.lower_regex is not None and lower is not None:
            regex, text, gate = cue.lower_regex, lower, cue.lower_gate
        else:  # case-blind as written, or no lower-cased text to search lower_regex in
            regex, text, gate = cue.regex, main, cue.gate
        if gate is not None and not any(map(text.__contains__, gate)):
            continue  # none of the strings every match holds: no search
        first = regex.search(text)  # most cues miss most bullets: one search says so, no call
        if first is not None:
            out[cue.name] = _regex_hits(regex, text, first)
            if first.start() == 0 and opening is not None:
                opening.add(cue.label)
    return out


_KEY_NAME = re.compile(f"[^\\s{CJK_CHARS}]+(?:\\s[^\\s{CJK_CHARS}]+){{0,2}}|\\S{{1,6}}")


def _lead_key_body(text: str) -> str:
    """'**Mihai's comments**: This paper addresses …' -> 'This paper addresses …': a lead key the
    prefix table does not know (a known one decides the label before cues are read) names the
    note, not what it says: the cues, some anchored at the start, are read in what follows it (those
    about a lead key, `Cue.reads_key`, on the whole line). A key is a name: three words at most, or
    six Chinese characters ('提出了两种改动方法：…' opens with a clause, which is what the bullet says)."""
    m = _PREFIX.match(text)
    if not m or len(text) - m.end() < 8 or not _KEY_NAME.fullmatch(m.group("key").strip()):
        return text
    return text[m.end():].lstrip()


def _opens_with_key(text: str) -> bool:
    """'working memory：对话状态记录', 'tl;dr: …': the bullet opens with a name and a colon."""
    m = _PREFIX.match(text)
    return m is not None and m.end() < len(text.rstrip()) and _KEY_NAME.fullmatch(m.group("key").strip()) is not None


@lru_cache(maxsize=8)
def _cue_labels(rules: Rules) -> dict[str, str]:
    """Cue name -> the label it speaks for."""
    return {c.name: c.label for c in rules.cues}


@lru_cache(maxsize=8)
def _key_cues(rules: Rules) -> dict[tuple[bool, bool], tuple[Cue, ...]]:
    """(has Chinese, has Latin letters) -> the cues about a lead key (`Cue.reads_key`) for that script."""
    return {script: tuple(c for c in cues if c.reads_key) for script, cues in rules.cues_by_script.items()}


def cue_features(text: str, rules: Rules) -> Features:
    """The cues the first sentence of a bullet's main clause matches, each with its strength."""
    main = _ASIDE.sub(" ", text).strip() or text  # a reader's aside in parentheses is not the bullet's point
    asked = template_question(main, rules) if "?" in main or "？" in main else None
    if asked:
        main = asked[1]
    zh = has_cjk(main)
    en = _LATIN.search(main) is not None
    main, purpose = _main_clause(main, rules, zh, en)
    out: Features = [("purpose clause", 1.0)] if purpose else []
    if asked:
        out.append((f"section: {asked[0]}", 1.0))  # the question is the answer's header
    if len(main) <= SHORT:
        out.append(("short", 1.0))
    elif _PHRASE.fullmatch(main):
        out.append(("phrase", 1.0))
    body = _lead_key_body(main)
    opening: set[str] = set()
    hits = _cue_hits(first_sentence(body), rules, zh, en, opening=opening)
    if body is not main:  # the cues about a lead key are read with the key
        hits.update(_cue_hits(first_sentence(main), rules, zh, en, _key_cues(rules)[zh, en]))
    out.extend((name, _strength(n)) for name, n in hits.items())
    out.extend((f"opens as: {label}", 1.0) for label in sorted(opening))  # what it opens with is what it is about
    if opening:  # '使用X训练有助于避免Y': what it does, then what that achieves
        labels = _cue_labels(rules)
        later = {labels[name] for name in hits} - opening
        out.extend((f"opens as: {a}, then: {b}", 1.0) for a in sorted(opening) for b in sorted(later))
    return out


def context_features(text: str, ctx: Context, rules: Rules) -> Features:
    """What a bullet's place in the paper says: its section, parent line and position."""
    out: Features = []
    if ctx.base_names and _about_base_method(text, ctx.base_names):
        out.append(("about the method the paper builds on", 1.0))
    if ctx.section:
        if not ctx.parent:  # else the nearer header speaks: a 'Results:' line in a Method section
            out.append((f"section: {ctx.section}", 1.0))
    elif ctx.in_section:
        out.append(("under a heading", 1.0))
    if ctx.parent:
        out.append((f"parent line: {ctx.parent}", 1.0))
    elif ctx.nested:
        out.append(("nested", 1.0))
    first = ctx.index == 0 and not ctx.in_section  # in notes organised by sections the section speaks
    opening = first and not _opens_with_key(text)  # 'Actor (LM): acts' names a part; it does not open the paper
    if first and not text.lstrip().startswith(">") and first_sentence(text).rstrip().endswith(("?", "？")):
        # the question the paper asks, not yet the reader's
        out.append(("opens the paper with a question", 1.0))
    if ctx.listed_question:  # reader's questions come one at a time; a list of them is the paper's
        out.append(("one of several questions", 1.0))
    if ctx.count == 1:  # a one-line gloss in a list of papers
        out.append(("the paper's only bullet", 1.0))
    out.extend((kind, 1.0) for kind in ctx.title_kinds)
    for prior in rules.priors:
        if ctx.count >= prior.min_bullets and (prior.position == "any" or opening):
            out.append((prior.name, 1.0))
    return out


@lru_cache(maxsize=8)
def _own_weights(rules: Rules) -> dict[str, tuple[tuple[str, float], ...]]:
    """Feature name -> what it adds when the `weights` table has no record for it."""
    return {x.name: x.own_weights for x in (*rules.cues, *rules.priors, *rules.title_cues)}


def score_features(features: Features, rules: Rules,
                   base: dict[str, list[tuple[float, str]]] | None = None) -> dict[str, list[tuple[float, str]]]:
    """Every label's evidence: what each active feature adds to it, by the `weights` table (else the
    cue's own label and weight). `base`: the evidence of features scored before these (not changed)."""
    evidence = {label: list(ev) for label, ev in base.items()} if base else {}
    own = _own_weights(rules)
    for name, strength in features:
        for label, weight in rules.weights.get(name) or own.get(name, ()):
            evidence.setdefault(label, []).append((weight * strength, name))
    return evidence


def score_bullet(text: str, ctx: Context, rules: Rules) -> dict[str, list[tuple[float, str]]]:
    """Every label's evidence: (weight, feature name) pairs."""
    return score_features(cue_features(text, rules) + context_features(text, ctx, rules), rules)


_WEIGHT = itemgetter(0)


def decide(evidence: dict[str, list[tuple[float, str]]], explain: bool = True) -> tuple[str, str]:
    """The label with the highest score, and the features that gave it the most (with `explain`;
    else '': a build never shows why)."""
    if not evidence:
        return "method", "default"
    scores = {label: sum(map(_WEIGHT, ev)) for label, ev in evidence.items()}
    # ties go to method: most of what people note about a paper is what it does
    best = max(scores, key=lambda label: (scores[label], label == "method"))
    if scores[best] <= 0 and "method" not in scores:  # every label pushed down: method is what is left
        return "method", "default"
    if not explain:
        return best, ""
    why = "; ".join(name for w, name in sorted(evidence[best], reverse=True)[:3] if w > 0)
    return best, f"{best} {scores[best]:.1f}: {why or 'default'}"


def classify_bullet(text: str, ctx: Context, rules: Rules) -> tuple[str, str]:
    """A bullet's label and a short account of why, e.g. ('finding', 'finding 5.0: experiments show; section')."""
    return prefix_label(text, rules) or decide(score_bullet(text, ctx, rules))


def _is_question(text: str) -> bool:
    return text.rstrip().endswith(("?", "？")) and not text.lstrip().startswith(">")


def paper_contexts(paper: Paper, rules: Rules) -> list[Context]:
    """Each bullet's context: the labels its section and parent line name, its position."""
    count = len(paper.bullets)
    bases = base_names(paper.title)
    kinds = tuple(c.name for c in rules.title_cues if c.regex.search(paper.title))
    parents: dict[str, str | None] = {}  # siblings share their parent line and section: label each once
    sections: dict[str, str | None] = {}
    questions = Counter((b.section, b.parent) for b in paper.bullets if _is_question(b.text))
    out = []
    for b in paper.bullets:
        if b.parent and b.parent not in parents:
            decided = prefix_label(b.parent, rules)
            parents[b.parent] = children_label(b.parent, rules) if decided else section_label(b.parent, rules)
        if b.section and b.section not in sections:
            sections[b.section] = section_label(b.section, rules)
        out.append(Context(section=sections.get(b.section), parent=parents.get(b.parent), index=b.index,
                           count=count, base_names=bases, in_section=bool(b.section), nested=bool(b.parent),
                           title_kinds=kinds,
                           listed_question=questions[b.section, b.parent] >= 3 and _is_question(b.text)))
    return out


def sibling_labels(paper: Paper, labels: list[str]) -> list[str | None]:
    """For each bullet, the label most of the others under the same parent line have (more than half,
    at least two of them), else None."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, b in enumerate(paper.bullets):
        groups.setdefault((b.section, b.parent), []).append(i)
    out: list[str | None] = [None] * len(labels)
    for members in groups.values():
        if len(members) < 3:
            continue
        tally = Counter(labels[i] for i in members)
        for i in members:
            tally[labels[i]] -= 1
            label, n = tally.most_common(1)[0]
            if n >= 2 and n * 2 > len(members) - 1:
                out[i] = label
            tally[labels[i]] += 1
    return out


def paper_features(paper: Paper, rules: Rules) -> list[tuple[str, str] | tuple[Features, Context]]:
    """Per bullet: the (label, rule) a key prefix decides, else its features and context (no siblings yet)."""
    out: list = []
    for b, ctx in zip(paper.bullets, paper_contexts(paper, rules), strict=True):
        decided = prefix_label(b.text, rules)
        out.append(decided or (cue_features(b.text, rules) + context_features(b.text, ctx, rules), ctx))
    return out


@lru_cache(maxsize=8)
def _weighs_siblings(rules: Rules) -> bool:
    return any(name.startswith("siblings: ") for name in rules.weights)


def label_paper(paper: Paper, rules: Rules, items: list, explain: bool = True) -> list[tuple[str, str]]:
    """Labels in two passes: each bullet alone, then again with what its siblings got (its evidence
    scored once: the second pass adds the siblings' feature to it). `explain`: say why (decide)."""
    evidence = [None if isinstance(it[0], str) else score_features(it[0], rules) for it in items]
    first = [it if ev is None else decide(ev, explain) for it, ev in zip(items, evidence)]  # None: a key prefix decided
    if not _weighs_siblings(rules):
        return first
    siblings = sibling_labels(paper, [label for label, _ in first])
    return [done if ev is None or not sib
            else decide(score_features([(f"siblings: {sib}", 1.0)], rules, base=ev), explain)
            for ev, sib, done in zip(evidence, siblings, first, strict=True)]


def classify_paper(paper: Paper, rules: Rules, explain: bool = True) -> Paper:
    """Label every bullet of a paper from its text, its section, the line it hangs from and its
    siblings; `explain`: keep the rule that decided each (for `extract --explain`; a build shows none)."""
    labels = label_paper(paper, rules, paper_features(paper, rules), explain)
    return replace(paper, bullets=tuple(b.labelled(label, rule) for b, (label, rule) in zip(paper.bullets, labels, strict=True)))
