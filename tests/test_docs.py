"""The README is the user's manual: every command, option and config key is in it, and it stays short."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from notecards import config
from notecards.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMAND = typer.main.get_command(app)


def _long_options(command) -> list[str]:
    return [o for p in command.params for o in p.opts if o.startswith("--")]


@pytest.mark.parametrize("name", sorted(COMMAND.commands))
def test_every_command_is_in_the_readme(name):
    assert f"notecards {name}" in README


@pytest.mark.parametrize("option", sorted({o for c in [COMMAND, *COMMAND.commands.values()]
                                           for o in _long_options(c)}))
def test_every_option_is_in_the_readme(option):
    assert re.search(re.escape(option) + r"(?![\w-])", README), f"{option} is not documented in README.md"


@pytest.mark.parametrize("key", sorted(config._SCHEMA))
def test_every_config_key_is_in_the_readme_table(key):
    assert re.search(rf"^\| `{re.escape(key)}` \|", README, re.M), f"config key {key} has no row in README.md"


def test_every_config_key_is_in_the_shipped_config():
    shipped = (ROOT / "config.yaml").read_text(encoding="utf-8")
    missing = [k for k in config._SCHEMA if not re.search(rf"^{re.escape(k)}:", shipped, re.M)]
    assert not missing, f"config.yaml does not show: {missing}"


def test_readme_is_a_manual_not_a_log():
    assert len(README.encode("utf-8")) < 8 * 1024


def test_readme_links_point_at_files():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README links to a missing file: {target}"
