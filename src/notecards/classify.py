"""Bullet + context + Rules -> label and the rule that decided it. Pure functions, no I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from notecards.rules import WORD_RUN, Cue, Rules, SearchPlan, norm_key
from notecards.segment import chinese_words, has_cjk

_PREFIX = re.compile(r"^\s*(?:\*\*|__)?([^:：*\n]{1,20}?)(?:\*\*|__)?\s*[:：]")
_ASPECT = re.compile(r"^\s*[(（【\[]([^)）】\]]{1,16})[)）】\]]")
SECTION_WEIGHT = 3.0
BASE_WEIGHT = 3.0
PARENT_WEIGHT = 3.5


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


def prefix_label(text: str, rules: Rules) -> tuple[str, str] | None:
    """'动机：…' -> ('problem', 'prefix 动机'); '(experiment) …' -> ('finding', 'aspect tag experiment')."""
    body = text.lstrip("> ").strip()
    m = _PREFIX.match(body)
    if m and (p := rules.prefix_keys.get(norm_key(m.group(1)))):
        return p.label, f"key prefix '{m.group(1).strip()}'"
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
    p = rules.prefix_keys.get(norm_key(m.group(1))) if m else None
    return p.children if p else None


def section_label(name: str, rules: Rules) -> str | None:
    """The label a heading or header line gives what sits under it, if it names one."""
    key = norm_key(name)
    if key in rules.sections:
        return rules.sections[key]
    p = rules.prefix_keys.get(key)
    if p:
        return p.children
    # 'InstructGPT achievements vs GPT3', 'RL training': a short header whose words name a section
    words = key.split()
    if 1 < len(words) <= 6:
        for word in reversed(words):
            if len(word) > 3 and word in rules.sections:
                return rules.sections[word]
    return None


_LATIN = re.compile(r"[A-Za-z]{2}")
_ASIDE = re.compile(r"[（(][^()（）]{2,}[)）]")


_NO_PLAN = SearchPlan()


def _regex_hits(regex: re.Pattern, text: str, plan: SearchPlan = _NO_PLAN) -> int:
    """Places the pattern holds, up to three: each is more evidence (capped in _weight)."""
    if plan.gate is not None and plan.gate.search(text) is None:
        return 0  # none of the characters a match starts with
    if plan.anchored:
        return 1 if regex.match(text) else 0
    first = regex.search(text)  # most cues miss most bullets: one search says so
    if first is None:
        return 0
    if first.end() == first.start():
        return sum(1 for _ in zip(range(3), regex.finditer(text)))
    return 1 + sum(1 for _ in zip(range(2), regex.finditer(text, first.end())))


def _word_hits(cue: Cue, low: str, toks: str, runs: frozenset[str]) -> int:
    """Distinct words of the cue in the bullet. A Chinese cue word counts inside a jieba token
    ('提高' in '大幅提高') but never across two: the tokens are joined by a separator no cue word contains.
    Another word counts where nothing word-like touches it: when it is one run of word characters,
    that is when it is one of the bullet's `runs` (a word made of several runs needs the pattern)."""
    zh = len(set(cue.zh_pattern.findall(toks))) if toks and cue.zh_pattern is not None else 0
    if cue.latin_words is not None:
        return zh + len(cue.latin_words & runs)
    return zh + (len(set(cue.latin_pattern.findall(low))) if cue.latin_pattern is not None else 0)


def _weight(cue: Cue, hits: int) -> float:
    """More distinct words of one cue are more evidence, with diminishing returns."""
    return cue.weight * (1 + 0.5 * (min(hits, 3) - 1))


@lru_cache(maxsize=8)
def _any_zh_word(rules: Rules) -> re.Pattern:
    """Any Chinese cue word: runs without one need no segmenting."""
    return re.compile("|".join(re.escape(w) for w in sorted(rules.zh_words, key=len, reverse=True)) or "(?!x)x")


def score_bullet(text: str, ctx: Context, rules: Rules) -> dict[str, list[tuple[float, str]]]:
    """Every label's evidence: (weight, rule name) pairs."""
    evidence: dict[str, list[tuple[float, str]]] = {}
    main = _ASIDE.sub(" ", text).strip() or text  # a reader's aside in parentheses is not the bullet's point
    low = main.casefold()
    lower: str | None = main.lower()
    if len(lower) != len(main):  # 'İ' lowers to two characters: offsets would move, no shortcut
        lower = None
    zh = has_cjk(main)
    en = _LATIN.search(main) is not None
    toks = "\x00".join(chinese_words(main, rules.zh_words, _any_zh_word(rules))) if zh else ""
    runs = frozenset(WORD_RUN.findall(low))
    for cue in rules.cues_by_script[zh, en]:  # the hot loop: 30 cues for each of 100,000s of bullets
        if cue.regex is None:
            hits = _word_hits(cue, low, toks, runs)
        elif cue.lower_regex is None:
            hits = _regex_hits(cue.regex, main, cue.plan)
        elif lower is not None:
            hits = _regex_hits(cue.lower_regex, lower, cue.plan)
        else:  # the plan is for lower_regex
            hits = _regex_hits(cue.regex, main)
        if hits:
            evidence.setdefault(cue.label, []).append((_weight(cue, hits), cue.name))
    if ctx.base_names and _about_base_method(main, ctx.base_names):
        evidence.setdefault("background", []).append((BASE_WEIGHT, "about the method the paper builds on"))
    if ctx.section:
        evidence.setdefault(ctx.section, []).append((SECTION_WEIGHT, "section"))
    if ctx.parent:
        evidence.setdefault(ctx.parent, []).append((PARENT_WEIGHT, "parent line"))
    for prior in rules.priors:
        # a position means little in notes organised by sections: there the section speaks
        first = ctx.index == 0 and not ctx.in_section
        if ctx.count >= prior.min_bullets and (prior.position == "any" or first):
            evidence.setdefault(prior.label, []).append((prior.weight, f"{prior.position} bullet prior"))
    return evidence


def classify_bullet(text: str, ctx: Context, rules: Rules) -> tuple[str, str]:
    """A bullet's label and a short account of why, e.g. ('finding', 'finding 5.0: experiments show; section')."""
    decided = prefix_label(text, rules)
    if decided:
        return decided
    evidence = score_bullet(text, ctx, rules)
    if not evidence:
        return "method", "default"
    scores = {label: sum(w for w, _ in ev) for label, ev in evidence.items()}
    # ties go to method: most of what people note about a paper is what it does
    best = max(scores, key=lambda label: (scores[label], label == "method"))
    why = "; ".join(name for _, name in sorted(evidence[best], reverse=True)[:3])
    return best, f"{best} {scores[best]:.1f}: {why}"
