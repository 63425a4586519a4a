"""Shared fixtures: the bundled example notes, copied where a test may edit them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "notes" / "ai-alignment-notes.md"


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    """A private copy of the example notes folder."""
    folder = tmp_path / "notes"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder
