"""Pipeline progress -> a bar on the terminal, once a build has taken a second; nothing when not a terminal."""
from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DELAY = 1.0
"""Seconds before anything is drawn: a fast build prints only its summary."""
_LABELS = {"extract": "Reading notes", "write": "Writing decks"}


class ProgressBar:
    """A `progress(stage, done, total)` callback for the pipeline that draws with rich.

    The bar is redrawn only from these calls, with no refresh thread: the pipeline forks worker
    processes while it runs, and forking while another thread holds a lock can hang the child.
    """

    def __init__(self, stream: TextIO | None = None, delay: float = DELAY):
        stream = stream or sys.stderr
        self.enabled = stream.isatty() and os.environ.get("TERM") != "dumb"
        self._delay = delay
        self._start = time.monotonic()
        self._progress = None
        self._task = None
        self._stage = ""
        self._drawn = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is None and time.monotonic() - self._start < self._delay:
            self._stage = stage
            return
        if self._progress is None:
            self._show()
        if stage != self._stage:
            self._stage = stage
            self._progress.reset(self._task, description=_LABELS.get(stage, stage))
        self._progress.update(self._task, completed=done, total=total)
        now = time.monotonic()
        if now - self._drawn > 0.1 or done == total:
            self._progress.refresh()
            self._drawn = now

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                                  auto_refresh=False)
        self._progress.start()
        self._task = self._progress.add_task(_LABELS.get(self._stage, self._stage), total=None)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
