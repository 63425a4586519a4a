"""`notecards --help` starts without the heavy libraries; `build` ends with the one-line summary."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notecards.cli import app
from notecards.progress import ProgressBar

pytestmark = pytest.mark.slow  # starts fresh interpreters

FORMATS = Path(__file__).parent / "fixtures" / "formats"
HEAVY = ("jieba", "genanki", "markdown_it", "anki", "charset_normalizer", "nh3")
SUMMARY = re.compile(r"^\d+ files, \d+ papers, \d+ cards, \d+ decks in .+/, \d+ skipped in \d+\.\d s$")

_HELP_AND_LIST_MODULES = """
import sys
sys.argv = ["notecards", *sys.argv[1:]]
from notecards.cli import app
try:
    app()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(*args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", _HELP_AND_LIST_MODULES, *args], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent)
    return {m.split(".")[0] for m in run.stderr.split()}


def test_help_imports_none_of_the_heavy_libraries():
    assert not _modules_after("--help") & set(HEAVY)


def test_build_help_imports_none_of_the_heavy_libraries():
    assert not _modules_after("build", "--help") & set(HEAVY)


def test_build_ends_with_the_summary_line(tmp_path):
    result = CliRunner().invoke(app, ["build", str(FORMATS / "reading_log.md"), "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert SUMMARY.match(result.stdout.strip().splitlines()[-1]), result.stdout


def test_build_draws_no_progress_when_not_on_a_terminal(tmp_path):
    result = CliRunner().invoke(app, ["build", str(FORMATS), "--out", str(tmp_path / "d")])
    assert "\r" not in result.output and "\x1b[" not in result.output
    assert "Reading notes" not in result.output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_each_stage_on_a_terminal(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    with ProgressBar(delay=0) as bar:
        for done in range(3):
            bar("extract", done, 2)
        bar("write", 0, 4)
        bar("write", 4, 4)
    drawn = terminal.getvalue()
    assert "Reading notes" in drawn and "Writing decks" in drawn and "4/4" in drawn
