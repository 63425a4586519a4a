"""Shared fixtures: the bundled example notes, copied where a test may edit them."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests: 200 examples each (a test whose examples are whole builds asks for fewer itself), no
# deadline (a loaded machine is slow, not wrong). NOTECARDS_HYPOTHESIS=thorough for ten times as many.
settings.register_profile("notecards", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", settings.get_profile("notecards"), max_examples=2000)
settings.load_profile(os.environ.get("NOTECARDS_HYPOTHESIS", "notecards"))

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "notes" / "ai-alignment-notes.md"


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    """A private copy of the example notes folder."""
    folder = tmp_path / "notes"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture
def extracted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every file the pipeline extracts (not carried over, not taken from the cache), in order."""
    from notecards import pipeline

    calls: list[str] = []
    real = pipeline.extract_document

    def counting(src, rules, **kwargs):
        calls.append(Path(src.path).name)
        return real(src, rules, **kwargs)

    monkeypatch.setattr(pipeline, "extract_document", counting)
    return calls


@pytest.fixture(scope="session", autouse=True)
def _own_cache_home(tmp_path_factory: pytest.TempPathFactory):
    """The copy of jieba's dictionary (segment.py) goes to a folder of the test run, not the user's:
    one folder for all of the run's pytest-xdist workers (each in a `popen-gwN` folder of the run's),
    so that jieba's own dictionary is read once a run, not once a worker. segment.py saves it
    under a temporary name and renames it, so two workers saving it at once each leave a whole file."""
    base = tmp_path_factory.getbasetemp()
    home = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "cache-home"
    home.mkdir(exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(home))
    yield
    mp.undo()


def _uses_anki(module) -> bool:
    return any(getattr(v, "__module__", "") == "anki_helpers" for v in vars(module).values())


def pytest_collection_modifyitems(items):
    """Tests that run Anki's engine or hypothesis are `slow` (`pytest -m "not slow"` skips them);
    tests that start Chromium, subprocesses or worker processes, or build thousands of cards, say so
    with `pytest.mark.slow` (on the test or as the module's `pytestmark`)."""
    for item in items:
        obj = getattr(item, "obj", None)
        if getattr(obj, "is_hypothesis_test", False) or _uses_anki(item.module):
            item.add_marker(pytest.mark.slow)
