"""Typed errors; each carries the file and line it is about."""
from __future__ import annotations


class NotecardsError(Exception):
    """An error the user can act on, printed as `path:line: error: message`."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}error: {self.message}"


class ConfigError(NotecardsError):
    """config.yaml or a cue table is wrong: nothing is built."""


class InputError(NotecardsError):
    """One notes file cannot be used: it is skipped, the build goes on."""


class OutputError(NotecardsError):
    """The output folder cannot be written."""


def yaml_problem(exc: Exception) -> tuple[int | None, str]:
    """A PyYAML error -> (0-based line of its mark, or None; its problem on one line)."""
    mark = getattr(exc, "problem_mark", None)
    return (mark.line if mark else None), " ".join(str(getattr(exc, "problem", None) or exc).split())
