"""The only module that knows the order of the stages: read -> parse -> extract -> classify -> cards -> write."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from notecards import workers
from notecards.cache import Cache, media_stats
from notecards.classify import (Context, base_names, children_label, classify_bullet, prefix_label,
                                 section_label)
from notecards.config import Config
from notecards.errors import InputError, NotecardsError
from notecards.extract import extract_structure
from notecards.model import Document, Paper, SourceFile
from notecards.parse import parse_markdown
from notecards.read import NoteRef, find_notes, read_note
from notecards.rules import Rules, load_rules
from notecards.segment import language

if TYPE_CHECKING:
    from notecards.cards import CardBatch
    from notecards.ledger import FileRecord, Ledger


@dataclass(slots=True)
class Report:
    """What a run did, for the summary line and the exit code."""

    documents: list[Document] = field(default_factory=list)
    """What `extract` read (a build keeps only counts: it carries unchanged files over unread)."""
    files: int = 0
    papers: int = 0
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
    parents: dict[str, str | None] = {}  # siblings share their parent line and section: label each once
    sections: dict[str, str | None] = {}
    for b in paper.bullets:
        if b.parent and b.parent not in parents:
            decided = prefix_label(b.parent, rules)
            parents[b.parent] = children_label(b.parent, rules) if decided else section_label(b.parent, rules)
        if b.section and b.section not in sections:
            sections[b.section] = section_label(b.section, rules)
        ctx = Context(section=sections.get(b.section), parent=parents.get(b.parent),
                      index=b.index, count=count, in_section=bool(b.section), base_names=bases)
        label, rule = classify_bullet(b.text, ctx, rules)
        labelled.append(b.labelled(label, rule))
    return replace(paper, bullets=tuple(labelled))


def extract_document(src: SourceFile, rules: Rules) -> Document:
    """One decoded notes file -> its Document with labelled bullets."""
    parsed = parse_markdown(src.text)
    papers, shape = extract_structure(parsed.blocks, parsed.front, src.path, rules)
    papers = [classify_paper(p, rules) for p in papers]
    title = parsed.front.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else Path(src.path).stem
    lang = language([b.text for p in papers for b in p.bullets] or [src.text[:2000]])
    warnings = tuple(f"{src.path}:{line}: warning: {msg}" for line, msg in parsed.warnings)
    return Document(path=src.path, title=title, papers=tuple(papers), lang=lang,
                    folder=src.folder, warnings=warnings, shape=shape)


Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called by the pipeline as files are extracted; the CLI draws it."""

PARALLEL_MIN = 20
"""Fewer files than this are extracted in this process: starting workers (each loads jieba) costs more."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One notes file after extraction: its Document, or its cards and what the build reports of
    it (the Document stays in the worker and the cache), or the problem that skipped it."""

    doc: Document | None = None
    batch: CardBatch | None = None
    problem: InputError | None = None
    papers: int = 0
    warnings: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()
    """write.note_hash of each card, made in the worker."""


def _built(batch: CardBatch, papers: int, warnings: tuple[str, ...]) -> _Outcome:
    from notecards.write import note_hash  # genanki is imported by then: build_decks imports write

    return _Outcome(batch=batch, papers=papers, warnings=warnings, hashes=tuple(map(note_hash, batch.cards)))


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
    return _built(batch, len(doc.papers), doc.warnings) if batch is not None else _Outcome(doc)


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
    if not cards:
        return _Outcome(entry.doc) if entry.doc is not None else None
    batch = cache.usable_cards(entry)
    return _built(batch, entry.papers, entry.warnings) if batch is not None else None


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


def _collect(outcomes: list[_Outcome], report: Report) -> None:
    for o in outcomes:
        if o.problem is not None:
            report.problems.append(o.problem)
            continue
        report.warnings.extend(o.doc.warnings)
        report.documents.append(o.doc)
        report.files += 1
        report.papers += len(o.doc.papers)


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
    with workers.collector_off():
        _collect(_extract_all(refs, config, False, cache, None, progress), report)
    return report


def build_decks(config: Config, paths: Iterable[Path] | None = None, out: Path | None = None,
                progress: Progress | None = None) -> Report:
    """`notecards build`: extract the notes files and write one .apkg per deck.

    A rebuild reads again only what changed. A file whose text, rules, card settings and images are
    as in the last build into `out` (its ledger record says) is carried over unread, unless it
    shares a deck or a paper with a file that changed: that deck is written anew from all its
    files, from the cache where they are unchanged. When nothing changed the decks on disk stand.
    """
    with workers.collector_off():
        return _build_decks(config, paths, out, progress)


def _build_decks(config: Config, paths: Iterable[Path] | None, out: Path | None, progress: Progress | None) -> Report:
    from notecards.ledger import file_stat, load_ledger
    from notecards.write import FileCards, model_hash, write_decks

    out = Path(out or config.out)
    report = Report()
    refs, problems = find_notes(list(paths or config.notes))
    report.problems.extend(problems)
    rules_for(config)
    keyer = Cache(out, config)  # keys files even when config.cache is off
    cache = keyer if config.cache else None
    keys = _read_keys(refs, keyer)
    ledger = load_ledger(out)
    ids = [r.display for r in refs]
    broken = {d for d, rec in ledger.decks.items() if file_stat(out / rec.file) != (rec.size, rec.mtime_ns)}

    def unchanged(i: int) -> bool:
        """Its record holds: same text and settings, or the file can't be read now (its last
        cards stand until it can: a file saved in a broken encoding must not empty its deck)."""
        r = ledger.files.get(ids[i])
        return (cache is not None and r is not None and r.reusable
                and (r.key == keys[i] or isinstance(keys[i], InputError))
                and r.cards_key == keyer.cards_key
                and broken.isdisjoint(r.decks) and (not r.media or media_stats([m for m, _, _ in r.media]) == r.media))

    same = {i for i in range(len(refs)) if unchanged(i)} if ledger.model[0] == model_hash() else set()
    present = set(ids)
    gone = [r for f, r in ledger.files.items() if f not in present]  # deleted, renamed, or the old state
    touched = set(range(len(refs))) - same
    # forked now, while this process is small: they write the decks at the end (write._writing)
    with workers.early_pool(min(workers.cpus(), 8) if len(touched) >= PARALLEL_MIN else 1) as writers:
        built = _build_touched(refs, keys, touched, same, ids, ledger, gone, config, cache, progress)
        files: dict[str, FileCards] = {}
        for i, ref in enumerate(refs):
            if i in built:
                o = built[i]
                if o.problem is not None:
                    report.problems.append(o.problem)
                    continue
                warnings = o.warnings + o.batch.warnings  # images left out, papers without cards
                files[ids[i]] = FileCards(o.batch.cards, o.hashes, key=str(keys[i]), cards_key=keyer.cards_key,
                                          media=media_stats([m for c in o.batch.cards for m in c.media]) or (),
                                          papers=o.papers, warnings=warnings, reusable=not o.batch.warnings)
                report.warnings.extend(warnings)
                report.papers += o.papers
            elif isinstance(keys[i], InputError):
                report.problems.append(keys[i])  # skipped; its last cards stand (see unchanged)
                continue
            else:
                record = ledger.files[ids[i]]
                report.warnings.extend(record.warnings)
                report.papers += record.papers
            report.files += 1
        kept = [ids[i] for i in sorted(same - built.keys())]  # carried over unread
        del built  # the cards live on in `files` only
        if files or gone:
            written = write_decks(files, out, config, kept,
                                  (lambda done, total: progress("write", done, total)) if progress else None,
                                  ledger, writers)
            ledger = written.ledger
            report.removed = written.removed
    report.decks = [out / rec.file for _, rec in sorted(ledger.decks.items())]
    report.cards = sum(r.cards for r in ledger.files.values())
    if cache is not None and (files or gone):
        cache.prune([(r.display, str(r.folder)) for r in refs])
    return report


def _build_touched(refs: list[NoteRef], keys: list[str | InputError], touched: set[int], same: set[int],
                   ids: list[str], ledger: Ledger, gone: list[FileRecord], config: Config, cache: Cache | None,
                   progress: Progress | None) -> dict[int, _Outcome]:
    """Outcomes (cards made) of the files that changed, and of every unchanged file that shares a
    deck or a paper key with one of them, then or now: such a deck is rewritten from all its files."""
    touched = set(touched)
    keys_hit = {k for r in gone for k in r.keys}
    decks_hit = {d for r in gone for d in r.decks}
    built: dict[int, _Outcome] = {}
    while todo := sorted(touched - built.keys()):
        for i in todo:
            if (prior := ledger.files.get(ids[i])) is not None:
                keys_hit.update(prior.keys)
                decks_hit.update(prior.decks)
        outcomes = _extract_all([refs[i] for i in todo], config, True, cache, [keys[i] for i in todo], progress)
        for i, o in zip(todo, outcomes):
            built[i] = o
            if o.batch is not None:
                keys_hit.update(c.paper_key for c in o.batch.cards)
                decks_hit.update(c.deck for c in o.batch.cards)
        touched |= {i for i in same - touched
                    if not (decks_hit.isdisjoint(ledger.files[ids[i]].decks)
                            and keys_hit.isdisjoint(ledger.files[ids[i]].keys))}
    return built
