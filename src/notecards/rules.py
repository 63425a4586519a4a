"""Cue and structure tables (YAML) -> a validated, frozen Rules object; LineMemo, one document's answers under them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, Callable

import yaml

from notecards.errors import ConfigError, yaml_problem
from notecards.fsutil import resource_text
from notecards.gates import cue_gate
from notecards.model import LABELS
from notecards.segment import CJK, PICTOGRAPHS

LANGS = ("zh", "en", "any")


FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")
"""The only characters that a case-blind `re` matches with an ASCII letter, or that lower-case to
one (İ ı ſ and the Kelvin sign): in a text that has one, a case-blind pattern is not the same as
its lower-cased form searched in the lower-cased text."""


@dataclass(frozen=True, slots=True)
class Cue:
    label: str
    lang: str
    weight: float
    words: tuple[str, ...] = ()
    regex: re.Pattern | None = None
    note: str = ""
    zh_pattern: re.Pattern | None = field(init=False, compare=False)
    """The Chinese words as one alternation, searched in tokens joined by a separator."""
    latin_pattern: re.Pattern | None = field(init=False, compare=False)
    """The other words as one alternation of whole words, searched in the lower-cased bullet."""
    latin_runs: frozenset[str] | None = field(init=False, compare=False)
    """With `latin_pattern`: one run of word characters of each word (its longest). Every run of a
    word the pattern finds is a whole run of the bullet (nothing word-like touches the word, and
    its runs are apart), so a bullet none of whose runs is one of these holds none of the words."""
    latin_words: frozenset[str] | None = field(init=False, compare=False)
    """The other words, when each is one run of word characters: then a word is in the bullet when it
    is one of the bullet's runs, a set lookup instead of a regex search (same answer, see _word_hits)."""
    lower_regex: re.Pattern | None = field(init=False, compare=False)
    """A `(?i)` regex with no capital letter, without the flag: searched in the lower-cased bullet,
    it finds the same and runs about twice as fast (re can't skip ahead on a case-blind pattern)."""
    gate: tuple[str, ...] | None = field(init=False, compare=False)
    """Strings one of which every match of `regex` contains, where testing them is cheaper than
    searching (gates.cue_gate): a bullet with none of them is not searched."""
    lower_gate: tuple[str, ...] | None = field(init=False, compare=False)
    """The same for `lower_regex`, tested in the lower-cased bullet."""
    name: str = field(init=False, compare=False)
    """How `extract --explain` names the cue, and its feature name in the `weights` table (named
    once: every bullet the cue holds in asks for it)."""

    def __post_init__(self) -> None:  # compiled once per table, not once per bullet
        zh = sorted((w for w in self.words if CJK.search(w)), key=len, reverse=True)
        latin = sorted((w for w in self.words if not CJK.search(w)), key=len, reverse=True)
        object.__setattr__(self, "zh_pattern", re.compile("|".join(map(re.escape, zh))) if zh else None)
        blind = self.regex is not None and self.regex.pattern.startswith("(?i)") \
            and not re.search(r"[A-Z]", self.regex.pattern[4:])
        object.__setattr__(self, "lower_regex", re.compile(self.regex.pattern[4:]) if blind else None)
        object.__setattr__(self, "gate", cue_gate(self.regex.pattern) if self.regex is not None else None)
        object.__setattr__(self, "lower_gate", cue_gate(self.lower_regex.pattern) if blind else None)
        runs = bool(latin) and all(WORD_RUN.fullmatch(w) for w in latin)
        object.__setattr__(self, "latin_words", frozenset(latin) if runs else None)
        object.__setattr__(self, "latin_pattern", re.compile(
            r"(?<![\w'’])(?:" + "|".join(map(re.escape, latin)) + r")(?![\w'’])") if latin and not runs else None)
        keys = [max(WORD_RUN.findall(w), key=len, default="") for w in latin]
        object.__setattr__(self, "latin_runs", frozenset(keys) if latin and not runs and all(keys) else None)
        object.__setattr__(self, "name", f"{self.lang}: {self.note}" if self.note else
                           f"{self.lang} words: " + ", ".join(self.words[:4]) + (" …" if len(self.words) > 4 else ""))

    @property
    def reads_key(self) -> bool:
        """A pattern with a colon in it ('^Abstract\\s*[:：]', 'term: explanation') is about a line's
        lead key, so it is read on the whole line, not only on what follows the key."""
        syntax = re.sub(r"\(\?(?:[:!=]|<[=!]|[a-zA-Z]+\)|P<\w+>)", "", self.regex.pattern) if self.regex else ""
        return ":" in syntax or "：" in syntax

    @property
    def own_weights(self) -> tuple[tuple[str, float], ...]:
        """What the cue adds when the `weights` table has no record for it (a user's own cue)."""
        return ((self.label, self.weight),)



WORD_RUN = re.compile(r"[\w'’]+")
"""What a cue word may not touch on either side (see Cue.latin_pattern)."""


@dataclass(frozen=True, slots=True)
class Prefix:
    label: str
    children: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prior:
    label: str
    position: str
    """first | any"""
    weight: float
    min_bullets: int = 0

    @property
    def name(self) -> str:
        return f"{self.position} bullet prior: {self.label}"

    @property
    def own_weights(self) -> tuple[tuple[str, float], ...]:
        return ((self.label, self.weight),)


@dataclass(frozen=True, slots=True)
class TitleCue:
    """What a paper's title says about every bullet under it ('How do X work?': an analysis paper,
    whose notes are mostly findings): a context feature of each of its bullets."""

    label: str
    weight: float
    regex: re.Pattern
    note: str

    @property
    def name(self) -> str:
        return f"title: {self.note}"

    @property
    def own_weights(self) -> tuple[tuple[str, float], ...]:
        return ((self.label, self.weight),)


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose clause that opens a bullet ('To cut memory, …', '为了…，'): cues count after it."""

    lang: str
    regex: re.Pattern


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity, so functions can cache per table
class Rules:
    prefixes: tuple[Prefix, ...]
    sections: dict[str, str]
    """Normalised section name -> label."""
    cues: tuple[Cue, ...]
    priors: tuple[Prior, ...]
    venues: dict[str, str]
    """Lower-case spelling -> canonical venue."""
    venue_status_words: frozenset[str]
    venue_suffix_words: frozenset[str]
    generic_link_texts: frozenset[str]
    fields: dict[str, str]
    """Normalised field key -> title | venue | year | drop."""
    non_paper_sections: frozenset[str]
    structural_sections: frozenset[str]
    non_paper_title_words: frozenset[str]
    prefix_keys: dict[str, Prefix]
    """Normalised key -> its Prefix record."""
    source: str = ""

    section_names: frozenset[str] = frozenset()
    """Every name that heads a section of one paper's notes (labelled or not)."""
    zh_words: frozenset[str] = frozenset()
    """Chinese cue words, given to jieba so that they stay whole tokens."""
    cues_by_script: dict[tuple[bool, bool], tuple[Cue, ...]] = field(default_factory=dict)
    """(has Chinese, has Latin letters) -> the cues that apply to such a bullet, in table order."""
    citation_noise: frozenset[str] = frozenset()
    """Words before the venue in a citation line ('In Proceedings of the IEEE …')."""
    shapes: dict[str, float] = field(default_factory=dict)
    """Weights of the evidence that picks a file's paper unit (structure.yaml `shapes`)."""
    quote_callouts: frozenset[str] = frozenset()
    """Callout kinds (`> [!quote]`) whose body is a comment, read as a quote line."""
    title_labels: frozenset[str] = frozenset()
    """What a note calls itself before the paper's title ('Notes on …', '论文笔记：…')."""
    purposes: tuple[Purpose, ...] = ()
    title_cues: tuple[TitleCue, ...] = ()
    weights: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    """Feature name -> what it adds to each label (fitted by scripts/calibrate.py), zeros left out."""


class LineMemo:
    """One document's answers about its lines, under one table of rules: made for each notes file
    and passed down. Finding a file's papers and then reading them asks the same questions of a
    line several times (its title parts, its venue, is it a field?); across files lines rarely
    repeat, so nothing outlives the document: memory stays flat, and a benchmark made of repeated
    files can't look faster for it."""

    __slots__ = ("rules", "answers")

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.answers: dict[tuple, Any] = {}
        """(helper name, text, its other arguments) -> its answer"""


_UNKNOWN = object()


def per_line(helper: Callable) -> Any:
    """helper(text, memo, *args), worked out once per document: its answers are kept in `memo`.
    Without a memo (a line outside any document) it is worked out each time."""
    name = helper.__qualname__

    @wraps(helper)
    def once(text: str, memo: LineMemo | None = None, *args: Any) -> Any:
        if memo is None:
            return helper(text, None, *args)
        key = (name, text, *args)
        got = memo.answers.get(key, _UNKNOWN)
        if got is _UNKNOWN:
            got = memo.answers[key] = helper(text, memo, *args)
        return got
    return once


_KEY_MARKUP = re.compile(r"[*_`#>\[\]]+")
_KEY_ENDS = re.compile(f"^(?:[\\s\\d.、．)）(（:：\\-–—{PICTOGRAPHS}]|[一二三四五六七八九十]{{1,3}}[、.．])+"
                       f"|[\\s:：.。,，;；!！?？\\-–—{PICTOGRAPHS}]+$")
"""What a key's ends carry besides its name: numbering ('3.', '五、'), punctuation, emoji ('💡 Key idea')."""
_SPACES = re.compile(r"\s+")


@per_line
def norm_key(text: str, memo: LineMemo | None = None) -> str:
    """A heading or key as compared with the tables: no markup, case or end punctuation."""
    text = _KEY_ENDS.sub("", _KEY_MARKUP.sub("", text))
    return _SPACES.sub(" ", text).casefold()


def _err(where: str, message: str) -> ConfigError:
    return ConfigError(message, path=where)


def _strings(where: str, ctx: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and str(v).strip() for v in value):
        raise _err(where, f"{ctx}: expected a list of non-empty strings")
    return tuple(str(v).strip() for v in value)


def _label(where: str, ctx: str, value: Any) -> str:
    if value not in LABELS:
        raise _err(where, f"{ctx}: label {value!r} is not one of {', '.join(LABELS)}")
    return value


def _records(where: str, data: dict, key: str) -> list[dict]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise _err(where, f"{key}: expected a list of records (mappings)")
    return value


def _known_keys(where: str, ctx: str, record: dict, allowed: set[str]) -> None:
    extra = set(record) - allowed
    if extra:
        raise _err(where, f"{ctx}: unknown field {sorted(extra)[0]!r}; allowed: {', '.join(sorted(allowed))}")


def _weight(where: str, ctx: str, record: dict) -> float:
    weight = record.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 100:
        raise _err(where, f"{ctx}.weight: expected a number in (0, 100]")
    return float(weight)


def _parse_cues(where: str, data: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"prefixes": [], "sections": {}, "cues": [], "priors": [], "purposes": [], "titles": [],
                           "weights": {}}
    for i, r in enumerate(_records(where, data, "prefixes")):
        ctx = f"prefixes[{i}]"
        _known_keys(where, ctx, r, {"label", "children", "keys", "note"})
        label = _label(where, ctx, r.get("label"))
        children = _label(where, ctx + ".children", r.get("children", label))
        out["prefixes"].append(Prefix(label, children, _strings(where, ctx + ".keys", r.get("keys"))))
    for i, r in enumerate(_records(where, data, "sections")):
        ctx = f"sections[{i}]"
        _known_keys(where, ctx, r, {"label", "names", "note"})
        label = _label(where, ctx, r.get("label"))
        for name in _strings(where, ctx + ".names", r.get("names")):
            out["sections"].setdefault(norm_key(name), label)
    for i, r in enumerate(_records(where, data, "cues")):
        ctx = f"cues[{i}]"
        _known_keys(where, ctx, r, {"label", "lang", "weight", "words", "regex", "note"})
        label = _label(where, ctx, r.get("label"))
        lang = r.get("lang", "any")
        if lang not in LANGS:
            raise _err(where, f"{ctx}.lang: {lang!r} is not one of {', '.join(LANGS)}")
        weight = _weight(where, ctx, r)
        if ("words" in r) == ("regex" in r):
            raise _err(where, f"{ctx}: give exactly one of 'words' or 'regex'")
        words: tuple[str, ...] = ()
        pattern = None
        if "words" in r:
            words = tuple(w.casefold() for w in _strings(where, ctx + ".words", r["words"]))
        else:
            pattern = _regex(where, ctx, r["regex"])
        out["cues"].append(Cue(label, lang, weight, words, pattern, str(r.get("note", ""))))
    for i, r in enumerate(_records(where, data, "priors")):
        ctx = f"priors[{i}]"
        _known_keys(where, ctx, r, {"label", "position", "weight", "min_bullets", "note"})
        if r.get("position") not in ("first", "any"):
            raise _err(where, f"{ctx}.position: expected 'first' or 'any'")
        out["priors"].append(Prior(_label(where, ctx, r.get("label")), r["position"],
                                   float(r.get("weight", 1.0)), int(r.get("min_bullets", 0))))
    for i, r in enumerate(_records(where, data, "purposes")):
        ctx = f"purposes[{i}]"
        _known_keys(where, ctx, r, {"lang", "regex", "note"})
        lang = r.get("lang", "any")
        if lang not in LANGS:
            raise _err(where, f"{ctx}.lang: {lang!r} is not one of {', '.join(LANGS)}")
        out["purposes"].append(Purpose(lang, _regex(where, ctx, r.get("regex"))))
    for i, r in enumerate(_records(where, data, "titles")):
        ctx = f"titles[{i}]"
        _known_keys(where, ctx, r, {"label", "weight", "regex", "note"})
        weight = _weight(where, ctx, r)
        if not isinstance(r.get("note"), str) or not r["note"].strip():
            raise _err(where, f"{ctx}.note: expected a name for the feature")
        out["titles"].append(TitleCue(_label(where, ctx, r.get("label")), weight,
                                      _regex(where, ctx, r.get("regex")), r["note"].strip()))
    for i, r in enumerate(_records(where, data, "weights")):
        ctx = f"weights[{i}]"
        _known_keys(where, ctx, r, {"feature", *LABELS})
        name = r.get("feature")
        if not isinstance(name, str) or not name.strip():
            raise _err(where, f"{ctx}.feature: expected a feature name")
        if name in out["weights"]:
            raise _err(where, f"{ctx}.feature: {name!r} is given twice")
        for label in LABELS:
            value = r.get(label, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > 100:
                raise _err(where, f"{ctx}.{label}: expected a number from -100 to 100")
        out["weights"][name] = tuple((label, float(r[label])) for label in LABELS if r.get(label))
    return out


def _regex(where: str, ctx: str, value: Any) -> re.Pattern:
    if not isinstance(value, str):
        raise _err(where, f"{ctx}.regex: expected a string")
    try:
        return re.compile(value)
    except re.error as exc:
        raise _err(where, f"{ctx}.regex: invalid regular expression: {exc}") from None


_WORD_SETS = ("venue_status_words", "venue_suffix_words", "generic_link_texts", "non_paper_sections",
              "structural_sections", "non_paper_title_words", "quote_callouts", "title_labels")
"""The word lists of structure.yaml (a user cue file adds to each)."""
SHAPE_KEYS = ("title_words", "short_title", "venue_year", "link", "notes_below", "label_heading",
              "min_repeat", "min_share", "sibling_title_words")
"""The evidence weights of structure.yaml `shapes` (the shipped file gives every one)."""


def _parse_structure(where: str, data: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"venues": {}, "fields": {}}
    venues = data.get("venues", {})
    if not isinstance(venues, dict):
        raise _err(where, "venues: expected a map {canonical: [spellings]}")
    for canon, spellings in venues.items():
        out["venues"][str(canon).casefold()] = str(canon)
        for s in _strings(where, f"venues.{canon}", spellings or []):
            out["venues"][s.casefold()] = str(canon)
    fields = data.get("fields", {})
    if not isinstance(fields, dict) or set(fields) - {"title", "venue", "year", "drop"}:
        raise _err(where, "fields: expected a map with keys title, venue, year, drop")
    for kind, keys in fields.items():
        for k in _strings(where, f"fields.{kind}", keys):
            out["fields"].setdefault(norm_key(k), kind)
    for key in _WORD_SETS:
        out[key] = {norm_key(s) for s in _strings(where, key, data.get(key, []))}
    shapes = data.get("shapes", {})
    if not isinstance(shapes, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in shapes.values()):
        raise _err(where, "shapes: expected a map {evidence: number}")
    if unknown := set(shapes) - set(SHAPE_KEYS):
        raise _err(where, f"shapes.{sorted(unknown)[0]}: unknown key; allowed keys: " + ", ".join(SHAPE_KEYS))
    out["shapes"] = {str(k): float(v) for k, v in shapes.items()}
    out["citation_noise"] = {w.casefold() for w in _strings(where, "citation_noise", data.get("citation_noise", []))}
    return out


SHIPPED_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""For the tables notecards ships: PyYAML's safe loader in C where it is built with libyaml (the
same objects, eight times faster: cues.yaml took 0.11 s of every build's start). A user's file
goes through yaml.safe_load, whose error messages are the ones documented."""


def _read_yaml(path: Path | None, text: str | None, where: str) -> dict:
    """A user's file (`path`), or a shipped table's `text`."""
    try:
        data = (yaml.load(text, Loader=SHIPPED_LOADER) if text is not None
                else yaml.safe_load(path.read_text(encoding="utf-8-sig")))
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        raise ConfigError(f"not valid YAML: {problem}", path=where,
                          line=line + 1 if line is not None else None) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=where) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of sections", path=where)
    return data


_SECTIONS = {"prefixes", "sections", "cues", "priors", "purposes", "titles", "weights", "venues", "fields", "shapes",
             "citation_noise", *_WORD_SETS}


@lru_cache(maxsize=8)
def load_rules(user_file: Path | None = None, venues: tuple[tuple[str, str], ...] = ()) -> Rules:
    """The shipped tables, with a user's cue file tried first and extra venue spellings."""
    cues = _parse_cues("notecards/resources/cues.yaml", _read_yaml(None, resource_text("cues.yaml"), "cues.yaml"))
    _check_features("notecards/resources/cues.yaml", cues["weights"], cues)
    struct = _parse_structure("notecards/resources/structure.yaml",
                              _read_yaml(None, resource_text("structure.yaml"), "structure.yaml"))
    source = "shipped"
    if user_file is not None:
        where = str(user_file)
        data = _read_yaml(user_file, None, where)
        unknown = set(data) - _SECTIONS
        if unknown:
            raise _err(where, f"unknown section {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(_SECTIONS))}")
        user = _parse_cues(where, data)
        cues["prefixes"] = user["prefixes"] + cues["prefixes"]
        cues["sections"] = {**cues["sections"], **user["sections"]}
        cues["cues"] = user["cues"] + cues["cues"]
        cues["priors"] = user["priors"] or cues["priors"]
        cues["purposes"] = user["purposes"] + cues["purposes"]
        cues["titles"] = user["titles"] + cues["titles"]
        cues["weights"] = {**cues["weights"], **user["weights"]}
        _check_features(where, user["weights"], cues)
        ustruct = _parse_structure(where, data)
        struct["venues"].update(ustruct["venues"])
        struct["fields"].update(ustruct["fields"])
        struct["shapes"].update(ustruct["shapes"])
        struct["citation_noise"] |= ustruct["citation_noise"]
        for key in _WORD_SETS:
            struct[key] |= ustruct[key]
        source = where
    for spelling, canon in venues:
        struct["venues"][spelling.casefold()] = canon
        struct["venues"].setdefault(canon.casefold(), canon)
    prefix_keys: dict[str, Prefix] = {}
    for p in cues["prefixes"]:
        for k in p.keys:
            prefix_keys.setdefault(norm_key(k), p)
    return Rules(
        prefixes=tuple(cues["prefixes"]), sections=cues["sections"], cues=tuple(cues["cues"]),
        priors=tuple(cues["priors"]), venues=struct["venues"],
        venue_status_words=frozenset(struct["venue_status_words"]),
        venue_suffix_words=frozenset(struct["venue_suffix_words"]),
        generic_link_texts=frozenset(struct["generic_link_texts"]), fields=struct["fields"],
        non_paper_sections=frozenset(struct["non_paper_sections"]),
        structural_sections=frozenset(struct["structural_sections"]),
        non_paper_title_words=frozenset(struct["non_paper_title_words"]), prefix_keys=prefix_keys,
        source=source, shapes=struct["shapes"], quote_callouts=frozenset(struct["quote_callouts"]),
        title_labels=frozenset(struct["title_labels"]), citation_noise=frozenset(struct["citation_noise"]),
        section_names=frozenset(cues["sections"]) | frozenset(struct["structural_sections"]) | frozenset(prefix_keys),
        zh_words=frozenset(w for c in cues["cues"] if c.lang != "en" for w in c.words
                                          if CJK.search(w)),
        cues_by_script={(zh, en): tuple(c for c in cues["cues"] if (c.lang != "zh" or zh) and (c.lang != "en" or en))
                         for zh in (False, True) for en in (False, True)},
        purposes=tuple(cues["purposes"]), title_cues=tuple(cues["titles"]), weights=cues["weights"])


CONTEXT_FEATURES = ("nested", "under a heading", "short", "phrase", "purpose clause",
                    "about the method the paper builds on", "opens the paper with a question", "the paper's only bullet", "one of several questions",
                    *(f"{kind}: {label}" for kind in ("section", "parent line", "siblings", "opens as") for label in LABELS),
                    *(f"opens as: {a}, then: {b}" for a in LABELS for b in LABELS if a != b))
"""The features classify.py reads from where a bullet sits (its text gives the cue features)."""


def _check_features(where: str, weights: dict[str, Any], cues: dict[str, Any]) -> None:
    """Every record of a `weights` table names a feature the classifier has."""
    known = {*CONTEXT_FEATURES, *(c.name for c in (*cues["cues"], *cues["priors"], *cues["titles"]))}
    for i, name in enumerate(weights):
        if name not in known:
            raise _err(where, f"weights[{i}].feature: no cue, prior or context feature is named {name!r}")
