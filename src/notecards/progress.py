"""Pipeline progress -> a bar on the terminal, once a build has taken a second; nothing when not a terminal."""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

DELAY = 1.0
"""Seconds before anything is drawn: a fast build prints only its summary."""
_LABELS = {"extract": "Reading notes", "write": "Writing decks"}


class ProgressBar:
    """A `progress(stage, done, total)` callback for the pipeline that draws with rich.

    While files are extracted the bar is redrawn only from these calls, with no refresh thread:
    the pipeline may fork its worker processes then, and forking while another thread holds a
    lock can hang the child. Writing decks gives no calls, so that stage gets a spinner that
    refreshes itself (no process starts after that).
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
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            if stage != self._stage:
                self._switch(stage)
            if self._progress is None:
                if stage == "write" or time.monotonic() - self._start < self._delay:
                    return
                self._show(auto_refresh=False)
            self._progress.update(self._task, completed=done, total=total)
            now = time.monotonic()
            if now - self._drawn > 0.1 or done == total:
                self._progress.refresh()
                self._drawn = now

    def _switch(self, stage: str) -> None:
        self._stage = stage
        if stage != "write":
            return
        shown = self._progress is not None
        self._stop()
        wait = 0.0 if shown else self._delay - (time.monotonic() - self._start)
        if wait <= 0:
            self._show(auto_refresh=True)
        else:
            self._timer = threading.Timer(wait, self._show_later)
            self._timer.daemon = True
            self._timer.start()

    def _show_later(self) -> None:
        with self._lock:
            if self._timer is not None and self._progress is None:
                self._show(auto_refresh=True)

    def _show(self, auto_refresh: bool) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        columns = [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()] if auto_refresh else \
            [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        self._progress = Progress(*columns, console=Console(stderr=True), transient=True,
                                  auto_refresh=auto_refresh)
        self._progress.start()
        self._task = self._progress.add_task(_LABELS.get(self._stage, self._stage), total=None)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
