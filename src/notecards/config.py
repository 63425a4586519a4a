"""config.yaml -> frozen Config: yaml.safe_load, validated once, errors name the key."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from notecards.errors import ConfigError

DECK_BY = ("file", "topic", "year")
LANGUAGES = ("auto", "zh", "en")


@dataclass(frozen=True, slots=True)
class Config:
    notes: tuple[Path, ...] = (Path("examples/notes"),)
    """Files or folders (searched recursively for *.md)."""
    out: Path = Path("decks")
    root_deck: str = "Papers"
    deck_by: str = "file"
    """file | topic | year: how decks are split below the root deck."""
    tag_prefixes: dict[str, str] = field(default_factory=lambda: {
        "year": "year", "venue": "venue", "topic": "topic"})
    card_language: str = "auto"
    reverse_cards: bool = True
    max_answer_chars: int = 280
    """A method answer longer than this is split into several cards."""
    cues: Path | None = None
    """A user cue table merged over the shipped one (see README)."""
    venues: dict[str, str] = field(default_factory=dict)
    """Extra venue spellings: {written form: canonical name}."""
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Topic lexicon: {topic: [words that mark it]}."""
    cache: bool = True
    base: Path = Path(".")
    """The folder config paths are relative to."""


# key -> (python type(s), checker description)
_SCHEMA: dict[str, tuple[type | tuple[type, ...], str]] = {
    "notes": ((list, str), "a path or a list of paths"),
    "out": (str, "a folder path"),
    "root_deck": (str, "a deck name"),
    "deck_by": (str, "one of: " + ", ".join(DECK_BY)),
    "tag_prefixes": (dict, "a map with keys year, venue, topic"),
    "card_language": (str, "one of: " + ", ".join(LANGUAGES)),
    "reverse_cards": (bool, "true or false"),
    "max_answer_chars": (int, "a whole number from 60 to 5000"),
    "cues": ((str, type(None)), "a path to a YAML cue table, or null"),
    "venues": (dict, "a map {written form: canonical venue}"),
    "topics": (dict, "a map {topic: [words]}"),
    "cache": (bool, "true or false"),
}


def _fail(where: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}", path=where)


def _check_map(where: str, key: str, value: dict, list_values: bool) -> None:
    for k, v in value.items():
        if not isinstance(k, (str, int)) or (isinstance(k, str) and not k.strip()):
            raise _fail(where, f"{key}.{k}", "keys must be non-empty strings")
        if list_values:
            if not isinstance(v, list) or not all(isinstance(w, str) and w.strip() for w in v):
                raise _fail(where, f"{key}.{k}", "must be a list of non-empty words")
        elif not isinstance(v, str) or not v.strip():
            raise _fail(where, f"{key}.{k}", "must be a non-empty string")


def config_from_mapping(data: Any, where: str = "config.yaml", base: Path = Path(".")) -> Config:
    """Validate a parsed config mapping and build a Config; paths resolve against `base`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a mapping of keys (see README: Configuration)", path=where)
    for key, value in data.items():
        if key not in _SCHEMA:
            raise _fail(where, str(key), "unknown key; allowed keys: " + ", ".join(_SCHEMA))
        types, allowed = _SCHEMA[key]
        if isinstance(value, bool) and types is int or not isinstance(value, types):
            raise _fail(where, key, f"expected {allowed}, got {type(value).__name__} {value!r}")
    kw: dict[str, Any] = {"base": base}
    if "notes" in data:
        notes = data["notes"] if isinstance(data["notes"], list) else [data["notes"]]
        if not notes or not all(isinstance(n, str) and n.strip() for n in notes):
            raise _fail(where, "notes", "expected a path or a non-empty list of paths")
        kw["notes"] = tuple(base / n for n in notes)
    if "out" in data:
        kw["out"] = base / data["out"]
    if "root_deck" in data:
        if not data["root_deck"].strip() or "::" in data["root_deck"].strip(":"):
            raise _fail(where, "root_deck", "expected a non-empty deck name without '::' inside")
        kw["root_deck"] = data["root_deck"].strip()
    for key, choices in (("deck_by", DECK_BY), ("card_language", LANGUAGES)):
        if key in data:
            if data[key] not in choices:
                raise _fail(where, key, f"{data[key]!r} is not allowed; use one of: " + ", ".join(choices))
            kw[key] = data[key]
    if "tag_prefixes" in data:
        tp = data["tag_prefixes"]
        _check_map(where, "tag_prefixes", tp, list_values=False)
        extra = set(tp) - {"year", "venue", "topic"}
        if extra:
            raise _fail(where, f"tag_prefixes.{sorted(extra)[0]}", "unknown key; allowed keys: year, venue, topic")
        bad = [v for v in tp.values() if any(c.isspace() for c in v)]
        if bad:
            raise _fail(where, "tag_prefixes", f"a tag prefix cannot contain spaces: {bad[0]!r}")
        kw["tag_prefixes"] = {**Config().tag_prefixes, **tp}
    if "max_answer_chars" in data:
        if not 60 <= data["max_answer_chars"] <= 5000:
            raise _fail(where, "max_answer_chars", "expected a whole number from 60 to 5000")
        kw["max_answer_chars"] = data["max_answer_chars"]
    for key in ("reverse_cards", "cache"):
        if key in data:
            kw[key] = data[key]
    if data.get("cues"):
        cues = base / data["cues"]
        if not cues.is_file():
            raise _fail(where, "cues", f"no such file: {cues}")
        kw["cues"] = cues
    if "venues" in data:
        _check_map(where, "venues", data["venues"], list_values=False)
        kw["venues"] = {str(k): v for k, v in data["venues"].items()}
    if "topics" in data:
        _check_map(where, "topics", data["topics"], list_values=True)
        kw["topics"] = {str(k): tuple(v) for k, v in data["topics"].items()}
    return Config(**kw)


def load_config(path: Path | None) -> Config:
    """Read config.yaml (or defaults when `path` is None or absent)."""
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError("no such config file", path=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=str(path),
                          line=mark.line + 1 if mark else None) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from None
    return config_from_mapping(data, where=str(path), base=path.parent)
