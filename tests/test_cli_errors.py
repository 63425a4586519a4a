"""cli.py exit codes: 0 all good, 1 some files skipped (the rest built), 2 usage or config error (nothing written); never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notecards import pipeline
from notecards.cli import app

FORMATS = Path(__file__).parent / "fixtures" / "formats"
ZH_NOTE = FORMATS / "numbered_venue_zh.md"


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """A notes folder with one good note and a config that points at it."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.md").write_bytes(ZH_NOTE.read_bytes())
    (tmp_path / "config.yaml").write_text("notes: [notes]\nout: decks\n", encoding="utf-8")
    return folder


def decks(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.apkg")) if folder.is_dir() else []


def test_build_exits_0_when_every_file_is_read(notes, tmp_path):
    result = run("build", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 0, result.stderr
    assert decks(tmp_path / "decks") and "0 skipped" in result.stdout


def test_build_exits_1_when_a_file_is_skipped_and_writes_the_rest(notes, tmp_path):
    (notes / "renamed.md").write_bytes(b"%PDF-1.4\n")
    result = run("build", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 1
    assert result.stderr == f"{notes / 'renamed.md'}: error: binary file (a PDF), not Markdown text\n"
    assert decks(tmp_path / "decks") and "1 skipped" in result.stdout


def test_build_exits_1_when_a_configured_notes_path_is_missing(notes, tmp_path):
    (tmp_path / "config.yaml").write_text("notes: [gone, notes]\nout: decks\n", encoding="utf-8")
    result = run("build", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 1
    assert result.stderr == f"{tmp_path / 'gone'}: error: no such file or folder\n"
    assert decks(tmp_path / "decks")


def test_extract_follows_the_same_exit_codes(notes, tmp_path):
    ok = run("extract", "-f", "json", notes)
    assert ok.exit_code == 0 and ok.stderr == ""
    (notes / "bad.md").write_bytes(b"\x00\x01binary")
    skipped = run("extract", "-f", "json", notes)
    assert skipped.exit_code == 1
    assert json.loads(skipped.stdout) == json.loads(ok.stdout)  # the good file is still printed
    assert skipped.stderr == f"{notes / 'bad.md'}: error: binary file (NUL bytes), not Markdown text\n"


def test_config_error_exits_2_and_writes_nothing(notes, tmp_path):
    (tmp_path / "config.yaml").write_text("notes: [notes]\nout: decks\ndeck_by: paper\n", encoding="utf-8")
    result = run("build", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 2
    assert result.stderr == (f"{tmp_path / 'config.yaml'}:3: error: deck_by: 'paper' is not allowed; "
                             "use one of: file, topic, year\n")
    assert not (tmp_path / "decks").exists()


def test_unwritable_output_folder_exits_2(notes, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    result = run("build", notes, "--out", tmp_path / "taken" / "decks", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{tmp_path / 'taken' / 'decks'}: error: ")


@pytest.mark.parametrize("args", [["build", "--no-such-option"], ["extract", "-f", "xml", "x.md"], ["extract"],
                                  ["no-such-command"]])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_broken_front_matter_is_a_warning_and_exit_0(notes):
    (notes / "good.md").write_text("---\ntitle: A: B\n---\n" + ZH_NOTE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run("extract", notes)
    assert result.exit_code == 0
    assert result.stderr.startswith(f"{notes / 'good.md'}:2: warning: broken front matter ignored")


def test_internal_error_is_one_line_not_a_traceback(notes, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(pipeline, "extract_paths", broken)
    result = run("extract", notes)
    assert result.exit_code == 2
    assert result.stderr == ("error: internal error: ZeroDivisionError: division by zero "
                             "(run with --debug for details)\n")


def test_debug_lets_the_traceback_through(notes, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(pipeline, "extract_paths", broken)
    result = run("extract", notes, "--debug")
    assert isinstance(result.exception, ZeroDivisionError)


@pytest.mark.slow  # starts a subprocess
def test_error_outside_a_command_body_is_one_line_too(notes):
    # Printing Chinese to an ASCII-only stdout fails after the pipeline ran: the app's last guard catches it.
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run([sys.executable, "-m", "notecards", "extract", "-f", "json", str(notes)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr == ("error: this terminal's encoding (ascii) cannot show the output; "
                             "set PYTHONIOENCODING=utf-8\n")


def test_version_prints_the_version():
    from notecards import __version__

    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"notecards {__version__}"


def test_build_summary_names_the_output_folder(notes, tmp_path):
    result = run("build", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 0 and f"decks in {tmp_path / 'decks'}/" in result.stdout


def test_a_file_that_gives_no_card_gets_a_line(notes, tmp_path):
    (notes / "list.md").write_text("# Reading list\n\n- [A Paper](https://arxiv.org/abs/1)\n", encoding="utf-8")
    result = run("build", "--config", tmp_path / "config.yaml")
    assert result.exit_code == 0 and "list.md: warning: no cards made from this file" in result.stderr


def test_build_and_preview_agree_on_the_counts(notes, tmp_path):
    built = run("build", "--config", tmp_path / "config.yaml").stdout.split(" in ")[0]
    shown = run("preview", "--config", tmp_path / "config.yaml").stdout
    files, papers, cards = built.split(", ")[:3]
    assert shown.startswith(f"{files}, {papers}, {cards}, ")
