"""Typer commands: read options, load config, call the pipeline, map errors to exit codes."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE = 0, 1, 2


class _App(typer.Typer):
    """The last guard: whatever a command lets through is one line on stderr, not a traceback."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if "--debug" in (kwargs.get("args") or sys.argv[1:]):
                raise
            if isinstance(exc, UnicodeEncodeError):  # stdout cannot show Chinese, say
                typer.echo(f"error: this terminal's encoding ({exc.encoding}) cannot show the output; "
                           "set PYTHONIOENCODING=utf-8", err=True)
            else:
                typer.echo(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
                           err=True)
            sys.exit(EXIT_USAGE)


# Plain click help: typer's rich help imports rich.markdown and with it markdown-it (a third of the start).
app = _App(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
           help="Turn paper-reading notes in Markdown into Anki decks.")


def _version(value: bool) -> None:
    if value:
        from notecards import __version__

        typer.echo(f"notecards {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """Turn paper-reading notes in Markdown into Anki decks."""


class Format(str, Enum):
    json = "json"
    yaml = "yaml"
    table = "table"


def _config(path: Optional[Path]):
    from notecards.config import load_config

    if path is None:
        default = Path("config.yaml")
        return load_config(default if default.is_file() else None)
    return load_config(path)


def _run(fn, debug: bool):
    """Call fn; a NotecardsError becomes one line on stderr and exit code 2, never a traceback."""
    from notecards.errors import NotecardsError

    try:
        return fn()
    except NotecardsError as exc:
        if debug:
            raise
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; nothing half-written was left behind", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, and how to see it
        if debug:
            raise
        typer.echo(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _report_problems(report) -> int:
    for w in report.warnings:
        typer.echo(w, err=True)
    for p in report.problems:
        typer.echo(str(p), err=True)
    return EXIT_SKIPPED if report.problems else EXIT_OK


@app.command()
def build(
    paths: list[Path] = typer.Argument(None, help="Notes files or folders (default: `notes` in the config)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder for the .apkg decks."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Config file (default: ./config.yaml)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
):
    """Build Anki decks (.apkg) from your notes."""
    import time

    from notecards.pipeline import build_decks
    from notecards.progress import ProgressBar

    started = time.perf_counter()
    cfg = _run(lambda: _config(config), debug)
    with ProgressBar() as bar:
        report = _run(lambda: build_decks(cfg, paths or None, out, progress=bar), debug)
    code = _report_problems(report)
    for title in report.removed:
        typer.echo(f"note: '{title}' is no longer in your notes; its cards stay in Anki until you delete them",
                   err=True)
    where = report.decks[0].parent if report.decks else (out or cfg.out)
    typer.echo(f"{report.files} files, {report.papers} papers, {report.cards} cards, "
               f"{len(report.decks)} decks in {where}/, {len(report.problems)} skipped "
               f"in {time.perf_counter() - started:.1f} s")
    raise typer.Exit(code)


@app.command()
def preview(
    paths: list[Path] = typer.Argument(None, help="Notes files or folders (default: `notes` in the config)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="The HTML page to write (default: decks/preview.html, "
                                            "in the config's `out` folder)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Config file (default: ./config.yaml)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
):
    """Write one HTML page showing every card as Anki will, to look at before importing."""
    from notecards.pipeline import preview_cards
    from notecards.preview import write_preview

    cfg = _run(lambda: _config(config), debug)
    cards, report = _run(lambda: preview_cards(cfg, paths or None), debug)
    code = _report_problems(report)
    notes = [*report.warnings, *(str(p) for p in report.problems)]
    page = _run(lambda: write_preview(cards, out or cfg.out / "preview.html", problems=notes,
                                      tag_prefixes=cfg.tag_prefixes), debug)
    typer.echo(f"{report.files} files, {report.papers} papers, {len(cards)} cards, "
               f"{len({c.deck for c in cards})} decks, {len(report.problems)} skipped: {page}")
    raise typer.Exit(code)


@app.command()
def extract(
    paths: list[Path] = typer.Argument(..., help="Notes files or folders."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="json, yaml or table."),
    explain: bool = typer.Option(False, "--explain", help="Show the rule that decided each label."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Config file (default: ./config.yaml)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
):
    """Print the papers and labelled bullets found in notes (what `build` turns into cards)."""
    from notecards.pipeline import extract_paths
    from notecards.show import to_contract, to_table

    cfg = _run(lambda: _config(config), debug)
    report = _run(lambda: extract_paths(paths, cfg), debug)
    data = to_contract(report.documents, explain)
    if format is Format.json:
        import json

        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    elif format is Format.yaml:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    else:
        sys.stdout.write(to_table(report.documents, explain))
    raise typer.Exit(_report_problems(report))
