"""config.py: config.yaml is validated on load; every error names the file, the line, the key and what is allowed."""
from __future__ import annotations

from pathlib import Path

import pytest

from notecards.config import Config, load_config
from notecards.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return str(err.value)


def test_shipped_config_loads():
    cfg = load_config(ROOT / "config.yaml")
    assert cfg.notes == (ROOT / "examples" / "notes",) and cfg.deck_by == "file"


def test_empty_config_means_defaults(tmp_path):
    (tmp_path / "config.yaml").write_text("# nothing set\n", encoding="utf-8")
    assert load_config(tmp_path / "config.yaml") == Config()


def test_unknown_key_names_its_line_a_close_match_and_the_allowed_keys(tmp_path):
    message = config_error(tmp_path, "out: decks\ndeckby: topic\n")
    assert message.startswith(f"{tmp_path / 'config.yaml'}:2: error: deckby: unknown key; did you mean 'deck_by'? ")
    assert "allowed keys: notes, out, root_deck, deck_by," in message


@pytest.mark.parametrize("text,line,message", [
    ("deck_by: files\n", 1, "deck_by: 'files' is not allowed; use one of: file, topic, year"),
    ("card_language: fr\n", 1, "card_language: 'fr' is not allowed; use one of: auto, zh, en"),
    ("max_answer_chars: '280'\n", 1, "max_answer_chars: expected a whole number from 60 to 5000, got text '280'"),
    ("max_answer_chars: true\n", 1, "max_answer_chars: expected a whole number from 60 to 5000, got true"),
    ("max_answer_chars: 10\n", 1, "max_answer_chars: expected a whole number from 60 to 5000, got 10"),
    ("reverse_cards: 'no'\n", 1, "reverse_cards: expected true or false, got text 'no'"),
    ("abstract_cards: 1\n", 1, "abstract_cards: expected true or false, got a number 1"),
    ("out:\n", 1, "out: expected a folder path, got null"),
    ("notes: []\n", 1, "notes: expected a path or a non-empty list of paths, got an empty list"),
    ("notes:\n  - a\n  - 3\n", 3, "notes[1]: expected a path, got a number 3"),
    ("root_deck: 'A::B'\n", 1, "root_deck: expected a non-empty deck name without '::' inside"),
    ("tag_prefixes:\n  year: y\n  colour: c\n", 3, "tag_prefixes.colour: unknown key; allowed keys: year, venue, topic, source"),
    ("tag_prefixes:\n  venue: 'my venue'\n", 2, "tag_prefixes.venue: a tag prefix cannot contain spaces: 'my venue'"),
    ("topics:\n  alignment: RLHF\n", 2, "topics.alignment: expected a list of non-empty words, got text 'RLHF'"),
    ("venues:\n  neurips: [NeurIPS]\n", 2, "venues.neurips: expected non-empty text, got a list ['NeurIPS']"),
    ("cues: my-cues.yaml\n", 1, "cues: no such file: "),
])
def test_wrong_value_names_the_key_path_its_line_and_what_is_allowed(tmp_path, text, line, message):
    assert config_error(tmp_path, text).startswith(f"{tmp_path / 'config.yaml'}:{line}: error: {message}")


def test_out_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "decks").write_text("not a folder", encoding="utf-8")
    assert config_error(tmp_path, "out: decks\n").endswith(f"out: {tmp_path / 'decks'} is a file; expected a folder for the decks")


def test_missing_notes_path_is_not_a_config_error(tmp_path):
    # A missing notes folder is skipped and reported at build time (exit 1), like any unreadable input.
    (tmp_path / "config.yaml").write_text("notes: [gone, notes]\n", encoding="utf-8")
    assert load_config(tmp_path / "config.yaml").notes == (tmp_path / "gone", tmp_path / "notes")


def test_python_tag_in_config_is_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    message = config_error(tmp_path, f"out: !!python/object/apply:os.system ['touch {marker}']\n")
    assert "not valid YAML: could not determine a constructor for the tag" in message
    assert not marker.exists()


def test_broken_yaml_names_its_line(tmp_path):
    assert config_error(tmp_path, "out: decks\nnotes: [a,\n").startswith(f"{tmp_path / 'config.yaml'}:3: error: not valid YAML")


def test_config_that_is_not_a_mapping_is_an_error(tmp_path):
    assert "the file must hold a mapping of keys" in config_error(tmp_path, "- notes\n- out\n")


def test_config_not_in_utf8_names_the_byte_and_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes("out: decks\nroot_deck: 论文\n".encode("gb18030"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:2: error: not UTF-8 text (byte 0xc2); save it as UTF-8"


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_abstract_cards_is_off_unless_set(tmp_path):
    (tmp_path / "config.yaml").write_text("abstract_cards: true\n", encoding="utf-8")
    assert load_config(tmp_path / "config.yaml").abstract_cards is True and Config().abstract_cards is False
