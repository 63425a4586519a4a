"""The only module that knows the order of the stages: read -> parse -> extract -> classify -> cards -> write."""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from notecards import workers
from notecards.cache import Cache, digest, media_stats
from notecards.classify import (Context, base_names, children_label, classify_bullet, prefix_label,
                                 section_label)
from notecards.config import Config
from notecards.errors import InputError, NotecardsError
from notecards.extract import extract_papers
from notecards.model import Document, Paper, SourceFile
from notecards.parse import parse_markdown
from notecards.read import NoteRef, find_notes, read_note
from notecards.rules import Rules, load_rules
from notecards.segment import language

if TYPE_CHECKING:
    from notecards.cards import CardBatch


@dataclass(slots=True)
class Report:
    """What a run did, for the summary line and the exit code."""

    documents: list[Document] = field(default_factory=list)
    problems: list[NotecardsError] = field(default_factory=list)
    """Files skipped, each with a message naming it."""
    warnings: list[str] = field(default_factory=list)
    decks: list[Path] = field(default_factory=list)
    cards: int = 0
    removed: list[str] = field(default_factory=list)
    """Papers in the last build that are gone from the notes (Anki keeps their notes)."""


def rules_for(config: Config) -> Rules:
    return load_rules(config.cues, tuple(sorted(config.venues.items())))


def classify_paper(paper: Paper, rules: Rules) -> Paper:
    """Label every bullet of a paper from its text, its section and the line it hangs from."""
    count = len(paper.bullets)
    bases = base_names(paper.title)
    labelled = []
    for b in paper.bullets:
        parent = None
        if b.parent:
            decided = prefix_label(b.parent, rules)
            parent = children_label(b.parent, rules) if decided else section_label(b.parent, rules)
        ctx = Context(section=section_label(b.section, rules) if b.section else None, parent=parent,
                      index=b.index, count=count, in_section=bool(b.section), base_names=bases)
        label, rule = classify_bullet(b.text, ctx, rules)
        labelled.append(replace(b, label=label, rule=rule))
    return replace(paper, bullets=tuple(labelled))


def extract_document(src: SourceFile, rules: Rules) -> Document:
    """One decoded notes file -> its Document with labelled bullets."""
    parsed = parse_markdown(src.text)
    papers = extract_papers(parsed.blocks, parsed.front, src.path, rules)
    papers = [classify_paper(p, rules) for p in papers]
    title = parsed.front.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else Path(src.path).stem
    lang = language([b.text for p in papers for b in p.bullets] or [src.text[:2000]])
    warnings = tuple(f"{src.path}:{line}: warning: {msg}" for line, msg in parsed.warnings)
    return Document(path=src.path, title=title, papers=tuple(papers), lang=lang,
                    folder=src.folder, warnings=warnings)


Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called by the pipeline as files are extracted; the CLI draws it."""

PARALLEL_MIN = 20
"""Fewer files than this are extracted in this process: starting workers (each loads jieba) costs more."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One notes file after extraction: its Document (and cards), or the problem that skipped it."""

    doc: Document | None = None
    batch: CardBatch | None = None
    problem: InputError | None = None


def _extract_one(ref: NoteRef, config: Config, cards: bool, cache: Cache | None) -> _Outcome:
    """Read, extract (and make the cards of) one file; store the result in the cache."""
    try:
        src = read_note(ref)
        doc = extract_document(src, rules_for(config))
    except InputError as exc:
        return _Outcome(problem=exc)
    except RecursionError:
        return _Outcome(problem=InputError("nesting too deep to read", path=ref.display))
    batch = None
    if cards:
        from notecards.cards import build_cards

        batch = build_cards(doc, config)
    if cache is not None:
        cache.put(src, doc, batch)
    return _Outcome(doc, batch)


_WORKER: tuple[Config, bool, Cache | None] | None = None


def _worker_init(config: Config, cards: bool, cache: Cache | None) -> None:
    global _WORKER
    _WORKER = (config, cards, cache)


def _worker_task(ref: NoteRef) -> _Outcome:
    assert _WORKER is not None
    return _extract_one(ref, *_WORKER)


def _run_parallel(refs: list[NoteRef], config: Config, cards: bool, cache: Cache | None) -> Iterator[_Outcome]:
    """Outcomes in the order of `refs`, from worker processes (jieba and the rules load once in each)."""
    n = max(1, min(workers.cpus(), 8, len(refs) // 10))  # 10 files or more for each worker
    window = n * 4  # in flight at once: results are consumed in order, memory stays bounded
    with workers.pool(n, _worker_init, (config, cards, cache)) as pool:
        pending = deque(pool.submit(_worker_task, r) for r in refs[:window])
        for r in refs[window:]:
            yield pending.popleft().result()
            pending.append(pool.submit(_worker_task, r))
        while pending:
            yield pending.popleft().result()


def _read_keys(refs: list[NoteRef], cache: Cache) -> list[str | InputError]:
    """Each file's cache key (its text under the rules in effect), or the problem reading it."""
    keys: list[str | InputError] = []
    for ref in refs:
        try:
            keys.append(cache.key(read_note(ref)))
        except InputError as exc:
            keys.append(exc)
    return keys


def _cached(ref: NoteRef, key: str | InputError, cache: Cache, cards: bool) -> _Outcome | None:
    """The outcome stored for a file whose text and rules are unchanged; None means extract it."""
    if isinstance(key, InputError):
        return _Outcome(problem=key)
    entry = cache.get(ref.display, str(ref.folder), key)
    if entry is None:
        return None
    batch = cache.usable_cards(entry) if cards else None
    if cards and batch is None:
        return None
    return _Outcome(entry.doc, batch)


def _extract_all(refs: list[NoteRef], config: Config, cards: bool, cache: Cache | None,
                 keys: list[str | InputError] | None, progress: Progress | None) -> list[_Outcome]:
    """Every file's outcome, in the order of `refs`: from the cache where it is current, else extracted."""
    outcomes: list[_Outcome | None] = [None] * len(refs)
    if cache is not None:
        keys = keys if keys is not None else _read_keys(refs, cache)
        for i, ref in enumerate(refs):
            outcomes[i] = _cached(ref, keys[i], cache, cards)
    todo = [i for i, o in enumerate(outcomes) if o is None]
    done = len(refs) - len(todo)
    if progress:
        progress("extract", done, len(refs))
    todo_refs = [refs[i] for i in todo]
    if len(todo) >= PARALLEL_MIN and workers.cpus() > 1:
        results: Iterable[_Outcome] = _run_parallel(todo_refs, config, cards, cache)
    else:
        results = (_extract_one(r, config, cards, cache) for r in todo_refs)
    for i, outcome in zip(todo, results):
        outcomes[i] = outcome
        done += 1
        if progress:
            progress("extract", done, len(refs))
    return outcomes  # type: ignore[return-value]


def _collect(outcomes: list[_Outcome], report: Report) -> list[CardBatch]:
    batches = []
    for o in outcomes:
        if o.problem is not None:
            report.problems.append(o.problem)
            continue
        report.warnings.extend(o.doc.warnings)
        report.documents.append(o.doc)
        if o.batch is not None:
            batches.append(o.batch)
    return batches


def extract_paths(paths: Iterable[Path], config: Config, cache_in: Path | None = None,
                  progress: Progress | None = None) -> Report:
    """`notecards extract`: find, read and extract every notes file; problems are collected, not raised.

    With `cache_in` (an output folder) and `config.cache`, unchanged files come from the cache there.
    """
    report = Report()
    refs, problems = find_notes(paths)
    report.problems.extend(problems)
    rules_for(config)  # a bad cue table is a ConfigError before any file is read
    cache = Cache(cache_in, config) if cache_in is not None and config.cache else None
    _collect(_extract_all(refs, config, False, cache, None, progress), report)
    return report


def build_decks(config: Config, paths: Iterable[Path] | None = None, out: Path | None = None,
                progress: Progress | None = None) -> Report:
    """`notecards build`: extract every notes file and write one .apkg per deck.

    Files unchanged since the last build into `out` come from its cache, cards and all; when
    nothing at all changed (notes, images, config, notecards, the decks on disk) the decks on disk
    stand and the report is the last build's.
    """
    from notecards.write import write_decks

    out = Path(out or config.out)
    roots = list(paths or config.notes)
    report = Report()
    refs, problems = find_notes(roots)
    report.problems.extend(problems)
    rules_for(config)
    cache = Cache(out, config) if config.cache else None
    keys = _read_keys(refs, cache) if cache else None
    if cache is not None and keys is not None:
        inputs = digest(cache.fingerprint, cache.cards_key, [(r.display, str(r.folder)) for r in refs],
                        [str(k) for k in keys], [str(p) for p in problems], _folders(roots, out))
        last = cache.load_manifest()
        if isinstance(last, _Manifest) and last.stamp == _stamp(inputs, last.media, out):
            replayed = _replay(last, refs, keys, cache, report)
            if replayed is not None:
                return replayed
        cache.drop_manifest()  # the decks are about to change: a killed build must not look current
    batches = _collect(_extract_all(refs, config, True, cache, keys, progress), report)
    cards = [c for b in batches for c in b.cards]
    card_warnings = [w for b in batches for w in b.warnings]  # images left out, papers without cards
    report.warnings.extend(card_warnings)
    report.cards = len(cards)
    written, removed = write_decks(cards, out, config,
                                   (lambda done, total: progress("write", done, total)) if progress else None)
    report.decks = written
    report.removed = removed
    if cache is not None:
        cache.prune([(r.display, str(r.folder)) for r in refs])
        media = sorted({m for c in cards for m in c.media})
        cache.save_manifest(_Manifest(_stamp(inputs, media, out), media, len(cards),
                                      [str(p) for p in written], card_warnings))
    return report


# --- nothing changed: the last build stands -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Manifest:
    """What the last build into an output folder read and wrote."""

    stamp: str
    """Digest of the inputs (see build_decks), the images packed and every file in the output folder."""
    media: list[str]
    cards: int
    decks: list[str]
    warnings: list[str]
    """Warnings made with the cards (documents keep their own)."""


def _folders(roots: list[Path], out: Path) -> list[tuple[str, int]]:
    """Every folder under the notes with its mtime: adding or removing an image changes its folder's."""
    found = []
    skip = os.path.realpath(out)
    for root in roots:
        for folder, dirs, _ in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and os.path.realpath(os.path.join(folder, d)) != skip)
            try:
                found.append((folder, os.stat(folder).st_mtime_ns))
            except OSError:
                found.append((folder, 0))
    return found


def _stamp(inputs: str, media: list[str], out: Path) -> str:
    """The inputs' digest with the packed images and the output folder's files, by size and mtime."""
    try:
        outputs = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(out) if e.is_file())
    except OSError:
        outputs = []
    return digest(inputs, media_stats(media), outputs)


def _replay(last: _Manifest, refs: list[NoteRef], keys: list[str | InputError], cache: Cache,
            report: Report) -> Report | None:
    """The last build's report, its documents from the cache (None if an entry is gone)."""
    outcomes = [_cached(r, k, cache, False) for r, k in zip(refs, keys)]
    if any(o is None for o in outcomes):
        return None
    _collect(outcomes, report)  # type: ignore[arg-type]
    report.warnings.extend(last.warnings)
    report.cards = last.cards
    report.decks = [Path(d) for d in last.decks]
    return report  # and nothing was removed: papers gone are reported by the build they left in
