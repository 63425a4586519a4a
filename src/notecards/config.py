"""config.yaml -> frozen Config: yaml.safe_load, validated once, errors name the key."""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from notecards.errors import ConfigError, yaml_problem

TAG_PREFIXES = {"year": "year", "venue": "venue", "topic": "topic", "source": "source"}
"""The default tag prefixes (`year::2023`, `source::reading-2023`: the notes file a card came from), and
the keys `tag_prefixes` allows."""

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
    tag_prefixes: dict[str, str] = field(default_factory=lambda: dict(TAG_PREFIXES))
    card_language: str = "auto"
    reverse_cards: bool = True
    abstract_cards: bool = False
    """A quoted abstract is context on the back; true also makes one "abstract" card per paper."""
    max_answer_chars: int = 280
    """An answer longer than this shows its key sentences; the whole bullet is on the back."""
    cues: Path | None = None
    """A user cue table merged over the shipped one (see README)."""
    venues: dict[str, str] = field(default_factory=dict)
    """Extra venue spellings: {written form: canonical name}."""
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Topic lexicon: {topic: [words that mark it]}."""
    cache: bool = True


# key -> (python type(s), what is allowed, in the words of the error message)
_SCHEMA: dict[str, tuple[type | tuple[type, ...], str]] = {
    "notes": ((list, str), "a path or a list of paths"),
    "out": (str, "a folder path"),
    "root_deck": (str, "a deck name"),
    "deck_by": (str, "one of: " + ", ".join(DECK_BY)),
    "tag_prefixes": (dict, "a map with keys " + ", ".join(TAG_PREFIXES)),
    "card_language": (str, "one of: " + ", ".join(LANGUAGES)),
    "reverse_cards": (bool, "true or false"),
    "abstract_cards": (bool, "true or false"),
    "max_answer_chars": (int, "a whole number from 60 to 5000"),
    "cues": ((str, type(None)), "a path to a YAML cue table, or null"),
    "venues": (dict, "a map {written form: canonical venue}"),
    "topics": (dict, "a map {topic: [words]}"),
    "cache": (bool, "true or false"),
}
_YAML_TYPES = {int: "a number", float: "a number", str: "text", list: "a list", dict: "a map"}

Fail = Callable[[str, str], ConfigError]


def _shown(value: Any) -> str:
    """A YAML value as the user wrote it, for messages: `text 'x'`, `a list [1, 2]`, `null`."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return f"{_YAML_TYPES.get(type(value), type(value).__name__)} {value!r}"


def _check_map(fail: Fail, key: str, value: dict, list_values: bool) -> None:
    for k, v in value.items():
        if not isinstance(k, (str, int)) or (isinstance(k, str) and not k.strip()):
            raise fail(f"{key}.{k}", "keys must be non-empty strings")
        if list_values:
            if not isinstance(v, list) or not all(isinstance(w, str) and w.strip() for w in v):
                raise fail(f"{key}.{k}", f"expected a list of non-empty words, got {_shown(v)}")
        elif not isinstance(v, str) or not v.strip():
            raise fail(f"{key}.{k}", f"expected non-empty text, got {_shown(v)}")


def config_from_mapping(data: Any, where: str = "config.yaml", base: Path = Path("."),
                        lines: dict[str, int] | None = None) -> Config:
    """Validate a parsed config mapping and build a Config; paths resolve against `base`.

    `lines` maps dotted key paths to their line in the file, so an error can point at it.
    """
    lines = lines or {}

    def fail(key: str, message: str) -> ConfigError:
        line = lines.get(key) or lines.get(key.split(".")[0].split("[")[0])
        return ConfigError(f"{key}: {message}", path=where, line=line)

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a mapping of keys (see README: Configuration)", path=where)
    for key, value in data.items():
        if key not in _SCHEMA:
            close = difflib.get_close_matches(str(key), _SCHEMA, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise fail(str(key), f"unknown key; {hint}allowed keys: " + ", ".join(_SCHEMA))
        types, allowed = _SCHEMA[key]
        if isinstance(value, bool) and types is int or not isinstance(value, types):
            raise fail(key, f"expected {allowed}, got {_shown(value)}")
    kw: dict[str, Any] = {}
    if "notes" in data:
        # A notes path that does not exist is not checked here: like any unreadable input it is
        # reported when building and skipped (exit 1), so one missing folder never stops the rest.
        notes = data["notes"] if isinstance(data["notes"], list) else [data["notes"]]
        if not notes:
            raise fail("notes", "expected a path or a non-empty list of paths, got an empty list")
        for k, n in enumerate(notes):
            if not isinstance(n, str) or not n.strip():
                raise fail(f"notes[{k}]", f"expected a path, got {_shown(n)}")
        kw["notes"] = tuple(base / n for n in notes)
    if "out" in data:
        if not data["out"].strip():
            raise fail("out", "expected a folder path, got empty text")
        out = base / data["out"]
        if out.exists() and not out.is_dir():
            raise fail("out", f"{out} is a file; expected a folder for the decks")
        kw["out"] = out
    if "root_deck" in data:
        if not data["root_deck"].strip() or "::" in data["root_deck"].strip(":"):
            raise fail("root_deck", "expected a non-empty deck name without '::' inside")
        kw["root_deck"] = data["root_deck"].strip()
    for key, choices in (("deck_by", DECK_BY), ("card_language", LANGUAGES)):
        if key in data:
            if data[key] not in choices:
                raise fail(key, f"{data[key]!r} is not allowed; use one of: " + ", ".join(choices))
            kw[key] = data[key]
    if "tag_prefixes" in data:
        tp = data["tag_prefixes"]
        _check_map(fail, "tag_prefixes", tp, list_values=False)
        extra = set(tp) - TAG_PREFIXES.keys()
        if extra:
            raise fail(f"tag_prefixes.{sorted(map(str, extra))[0]}", "unknown key; allowed keys: " + ", ".join(TAG_PREFIXES))
        bad = [k for k, v in tp.items() if any(c.isspace() for c in v)]
        if bad:
            raise fail(f"tag_prefixes.{bad[0]}", f"a tag prefix cannot contain spaces: {tp[bad[0]]!r}")
        kw["tag_prefixes"] = {**TAG_PREFIXES, **tp}
    if "max_answer_chars" in data:
        if not 60 <= data["max_answer_chars"] <= 5000:
            raise fail("max_answer_chars", f"expected a whole number from 60 to 5000, got {data['max_answer_chars']}")
        kw["max_answer_chars"] = data["max_answer_chars"]
    for key in ("reverse_cards", "abstract_cards", "cache"):
        if key in data:
            kw[key] = data[key]
    if data.get("cues") is not None:
        cues = base / data["cues"]
        if not data["cues"].strip() or not cues.is_file():
            raise fail("cues", f"no such file: {cues} (give a path to a YAML cue table, or null)")
        kw["cues"] = cues
    if "venues" in data:
        _check_map(fail, "venues", data["venues"], list_values=False)
        kw["venues"] = {str(k): v for k, v in data["venues"].items()}
    if "topics" in data:
        _check_map(fail, "topics", data["topics"], list_values=True)
        kw["topics"] = {str(k): tuple(v) for k, v in data["topics"].items()}
    return Config(**kw)


def _key_lines(node: Any, path: str = "") -> dict[str, int]:
    """Key path (`tag_prefixes.year`, `notes[1]`) -> 1-based line, from a composed YAML node tree."""
    found: dict[str, int] = {}
    children = []
    if isinstance(node, yaml.MappingNode):
        children = [(f"{path}.{k.value}" if path else k.value, k, v) for k, v in node.value
                    if isinstance(k, yaml.ScalarNode)]
    elif isinstance(node, yaml.SequenceNode):
        children = [(f"{path}[{i}]", v, v) for i, v in enumerate(node.value)]
    for child, key, value in children:
        found[child] = key.start_mark.line + 1
        found.update(_key_lines(value, child))
    return found


def load_config(path: Path | None) -> Config:
    """Read config.yaml (or defaults when `path` is None or absent)."""
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError("no such config file" if not path.exists() else "not a file", path=str(path))
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        data = yaml.safe_load(text)  # safe_load: a YAML tag in a config must never run code
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8", path=str(path),
                          line=raw.count(b"\n", 0, exc.start) + 1) from None
    except yaml.YAMLError as exc:
        line, why = yaml_problem(exc)
        raise ConfigError(f"not valid YAML: {why}", path=str(path), line=None if line is None else line + 1) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deep", path=str(path)) from None
    return config_from_mapping(data, where=str(path), base=path.parent, lines=lines)
