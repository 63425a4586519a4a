"""The only module that knows the order of the stages: read -> parse -> extract -> classify -> cards -> write."""
from __future__ import annotations

import html
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from notecards import workers
from notecards.cache import Cache, Entry, Tail, media_stats, read_entry, write_entry
from notecards.classify import classify_paper
from notecards.config import Config
from notecards.errors import InputError, NotecardsError, OutputError
from notecards.extract import extract_structure
from notecards.fsutil import TEMP_PREFIX
from notecards.model import Card, Document, Paper, SourceFile, waits_for_files
from notecards.parse import parse_markdown
from notecards.read import NoteRef, find_notes, read_note
from notecards.rules import Rules, load_rules
from notecards.segment import language

if TYPE_CHECKING:
    from notecards.cards import CardBatch
    from notecards.ledger import Ledger
    from notecards.write import Early, EarlyDecks


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


def extract_document(src: SourceFile, rules: Rules, build: bool = False) -> Document:
    """One decoded notes file -> its Document with labelled bullets. For a `build`, which keeps only
    cards, what only `extract` shows is left out: the rule that decided each label, the file's language."""
    doc = _unlabelled(src, rules, build)
    return replace(doc, papers=tuple(classify_paper(p, rules, explain=not build) for p in doc.papers))


def _unlabelled(src: SourceFile, rules: Rules, build: bool = False) -> Document:
    """One decoded notes file -> its Document, the bullets not labelled yet (the blocks are dropped
    on return: a big file's are never held with its cards)."""
    parsed = parse_markdown(src.text)
    papers, shape = extract_structure(parsed.blocks, parsed.front, src.path, rules)
    title = parsed.front.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else Path(src.path).stem
    lang = "" if build else language([b.text for p in papers for b in p.bullets] or [src.text[:2000]])
    warnings = src.warnings + tuple(f"{src.path}:{line}: warning: {msg}" for line, msg in parsed.warnings)
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
    key: str = ""
    """Cache key of the text these cards were made from (a file saved during the build is keyed
    on what was read, never on an earlier reading)."""
    stat: tuple[int, ...] = ()
    """_stat() of the file just before it was read."""
    stream: str = ""
    """A big file's cards are not in `batch` but in this file, where a worker wrote them as they
    were made (its cache entry, or a temp file when the cache is off): see _stream_one."""
    decks: tuple[tuple[str, str, str], ...] = ()
    """The decks of these cards the worker wrote, in a cold build (write.write_early)."""


def _built(batch: CardBatch, papers: int, warnings: tuple[str, ...], key: str) -> _Outcome:
    from notecards.write import note_hash  # genanki is imported by then: build_decks imports write

    return _Outcome(batch=batch, papers=papers, warnings=warnings, hashes=tuple(map(note_hash, batch.cards)), key=key)


Source = NoteRef | SourceFile
"""A file to extract: found on disk, or already read (to key it) and not to be read again."""


STREAM_BYTES = 1_000_000
"""A build makes the cards of a bigger notes file a paper at a time, in a worker of its own, and
writes them out as they are made (_stream_one): its text, blocks, Document and cards are never
held together, so one big file costs about what the same papers cost in many small files."""


def _big(item: Source) -> bool:
    if isinstance(item, SourceFile):
        return len(item.text) > STREAM_BYTES
    try:
        return os.stat(item.path).st_size > STREAM_BYTES
    except OSError:
        return False  # read_note says why


def _unreadable(item: Source, exc: InputError | RecursionError) -> _Outcome:
    if isinstance(exc, RecursionError):
        exc = InputError("nesting too deep to read", path=item.display if isinstance(item, NoteRef) else item.path)
    return _Outcome(problem=exc)


def _extract_one(item: Source, config: Config, keyer: Cache | None, store: bool, early: Early | None = None) -> _Outcome:
    """Read (unless read already) and extract one file; with `keyer`, make its cards, keyed on the
    text read, and (`store`) keep them in the cache; with `early`, write their decks."""
    if keyer is not None and _big(item):
        return _stream_one(item, config, keyer, store)
    stat = () if isinstance(item, SourceFile) else _stat(item.path)
    try:
        src = item if isinstance(item, SourceFile) else read_note(item)
        doc = extract_document(src, rules_for(config), build=keyer is not None)
    except (InputError, RecursionError) as exc:
        return _unreadable(item, exc)
    if keyer is None:
        return _Outcome(doc)
    from notecards.cards import CardBatch, make_cards
    from notecards.identity import fresh_keys

    batch = make_cards(doc, config)
    batch = CardBatch(tuple(fresh_keys(batch.cards)), batch.warnings)  # here, on both cores: see carry_identity
    key = keyer.key(src)
    if store:
        keyer.put(src, doc, batch, key)
    built = _built(batch, len(doc.papers), doc.warnings, key)
    if early is not None:
        from notecards.write import write_early

        built = replace(built, decks=write_early(early, batch.cards, built.hashes))
    return replace(built, stat=stat)


def _stream_one(item: Source, config: Config, keyer: Cache, store: bool) -> _Outcome:
    """A big file's cards, made a paper at a time and written to its cache entry (`store`), else
    to a temp file, as they are made; the outcome names the file (read back by _read_back).

    The same cards as _extract_one's: each paper's listings are labelled, merged and carded in
    the order make_cards takes them, and cards.end_cards finishes the file from a tally."""
    from notecards.cards import end_cards, merge_listings, paper_cards, repeat_groups
    from notecards.identity import fresh_keys

    stat = () if isinstance(item, SourceFile) else _stat(item.path)
    rules = rules_for(config)
    try:
        src = item if isinstance(item, SourceFile) else read_note(item)
        key = keyer.key(src)
        doc = _unlabelled(src, rules, build=True)
    except (InputError, RecursionError) as exc:
        return _unreadable(item, exc)
    del src  # the text goes (unless the caller read it to key it), as the blocks went
    papers, warnings = len(doc.papers), doc.warnings
    groups = deque(repeat_groups(doc.papers))
    doc = replace(doc, papers=())  # each paper goes once its cards are written

    def listed() -> Iterator[Paper]:
        while groups:  # in the order make_cards takes them: merge_repeats of the labelled papers
            yield merge_listings([classify_paper(p, rules, explain=False) for p in groups.popleft()])

    def pieces() -> Iterator[tuple[Card, ...] | Tail]:
        tallies = []
        for made, tally in paper_cards(doc, listed(), config):
            tallies.append(tally)
            yield tuple(fresh_keys(made))
        left_out, batch_warnings = end_cards(doc.path, tallies)
        yield Tail(batch_warnings, left_out)

    head = Entry(key, papers, warnings, keyer.cards_key)
    todo = len(groups)
    try:
        if store:
            path = keyer.path(doc.path, doc.folder)
            try:
                write_entry(path, head, pieces())
                return _Outcome(papers=papers, warnings=warnings, key=key, stat=stat, stream=str(path))
            except OSError:  # a cache that can't be written costs speed, never the build: a temp file then
                if len(groups) < todo:
                    raise  # it failed part way: the disk, not the cache folder
        fd, name = tempfile.mkstemp(dir=keyer.folder.parent, prefix=TEMP_PREFIX, suffix=".cards")
        os.close(fd)
        write_entry(Path(name), head, pieces())
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=exc.filename or str(keyer.folder.parent)) from None
    return _Outcome(papers=papers, warnings=warnings, key=key, stat=stat, stream=name)


def _read_back(o: _Outcome) -> _Outcome:
    """A streamed outcome with its cards, read from the file the worker wrote (a temp file is removed)."""
    path = Path(o.stream)
    entry = read_entry(path)
    if path.name.startswith(TEMP_PREFIX):
        path.unlink(missing_ok=True)
    if entry is None:
        raise OutputError("cannot read back the cards just written", path=str(path))
    return replace(_built(entry.cards, o.papers, o.warnings, o.key), stat=o.stat)


_WORKER: tuple[Config, Cache | None, bool, Early | None] | None = None


def _worker_init(config: Config, keyer: Cache | None, store: bool, early: Early | None = None) -> None:
    global _WORKER
    _WORKER = (config, keyer, store, early)


def _worker_task(item: Source) -> _Outcome:
    assert _WORKER is not None
    return _extract_one(item, *_WORKER)


def _run_parallel(items: list[Source], config: Config, keyer: Cache | None, store: bool,
                  early: Early | None = None) -> Iterator[_Outcome]:
    """Outcomes in the order of `items`, from worker processes (jieba and the rules load once in each)."""
    n = max(1, min(workers.cpus(), 8, len(items) // 10))  # 10 files or more for each worker
    window = n * 4  # in flight at once: results are consumed in order, memory stays bounded
    with workers.pool(n, _worker_init, (config, keyer, store, early)) as pool:
        pending = deque(pool.submit(_worker_task, r) for r in items[:window])
        for r in items[window:]:
            yield pending.popleft().result()
            pending.append(pool.submit(_worker_task, r))
        while pending:
            yield pending.popleft().result()


def _in_own_worker(item: Source, config: Config, keyer: Cache, store: bool) -> _Outcome:
    """One file extracted in a worker forked for it, which has exited when this returns: what the
    extraction left in its heap (jieba, a big file's blocks and Document) goes with it."""
    with workers.pool(1, _worker_init, (config, keyer, store)) as pool:
        return pool.submit(_worker_task, item).result()


def _extract_all(items: list[Source], config: Config, keyer: Cache | None, store: bool,
                 progress: Progress | None, done: int = 0, total: int | None = None,
                 early: EarlyDecks | None = None) -> list[_Outcome]:
    """Every file's outcome, in the order of `items`, extracted in workers when there are enough
    (which, given `early`, write the decks of each file's cards as they go)."""
    total = len(items) if total is None else total
    if len(items) >= PARALLEL_MIN and workers.cpus() > 1:
        results: Iterable[_Outcome] = _run_parallel(items, config, keyer, store, early.early if early else None)
    else:
        results = (_in_own_worker(r, config, keyer, store) if keyer is not None and _big(r)
                   else _extract_one(r, config, keyer, store) for r in items)
    outcomes = []
    for outcome in results:
        if outcome.stream:
            outcome = _read_back(outcome)
        if early is not None:
            early.add(outcome.decks)
        outcomes.append(outcome)
        done += 1
        if progress:
            progress("extract", done, total)
    return outcomes


def _cached(ref: NoteRef, key: str, cache: Cache) -> _Outcome | None:
    """The cards stored for a file whose text and rules are unchanged; None means extract it."""
    entry = cache.get(ref.display, str(ref.folder), key)
    batch = cache.usable_cards(entry) if entry is not None else None
    return _built(batch, entry.papers, entry.warnings, key) if batch is not None else None


def _collect(outcomes: list[_Outcome], report: Report) -> None:
    for o in outcomes:
        if o.problem is not None:
            report.problems.append(o.problem)
            continue
        report.warnings.extend(o.doc.warnings)
        report.documents.append(o.doc)
        report.files += 1
        report.papers += len(o.doc.papers)


def extract_paths(paths: Iterable[Path], config: Config, progress: Progress | None = None) -> Report:
    """`notecards extract`: find, read and extract every notes file; problems are collected, not raised."""
    report = Report()
    refs, problems = find_notes(paths)
    report.problems.extend(problems)
    rules_for(config)  # a bad cue table is a ConfigError before any file is read
    with workers.collector_off():
        if progress:
            progress("extract", 0, len(refs))
        _collect(_extract_all(list(refs), config, None, False, progress), report)
    return report


def build_decks(config: Config, paths: Iterable[Path] | None = None, out: Path | None = None,
                progress: Progress | None = None) -> Report:
    """`notecards build`: extract the notes files and write one .apkg per deck.

    A rebuild reads again only what changed. A file whose text, rules, card settings and images are
    as in the last build into `out` (its ledger record says) is carried over unread, unless it
    shares a deck or a paper with a file that changed: that deck is written anew from all its
    files, from the cache where they are unchanged. When nothing changed the decks on disk stand.
    """
    from notecards.fsutil import output_lock

    with workers.collector_off(), output_lock(Path(out or config.out)):  # one build per output folder
        return _build_decks(config, paths, out, progress)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a build does with each notes file (indices into the files found)."""

    read: tuple[int, ...]
    """Files whose cards are made (from the cache where it is current, else extracted): those that
    changed, and those sharing a deck or a paper with one of them, then or now."""
    carried: tuple[int, ...]
    """Files carried over unread: their ledger records stand as they are."""
    gone: tuple[str, ...]
    """Ledger records of files no longer among the notes (deleted, renamed)."""
    decks: frozenset[str]
    """Decks that hold a file read or gone: written again (unless what they hold is unchanged)."""


def plan_build(ledger: Ledger, ids: list[str], keys: list[str | InputError | None], *, cards_key: str,
               reuse: bool, broken: Collection[str] = (),
               made: Mapping[int, tuple[Collection[str], Collection[str]]] | None = None) -> Plan:
    """The plan from the last build's ledger and each file's cache key (None: not read yet).

    A file is carried over when its record holds: same key (or the file can't be read now: its
    last cards stand until it can), same card settings, images and deck files as written. `made`:
    (paper keys, decks) of the files whose cards this build made so far; a file sharing either
    with them is read too. Call again with more `made` until `read` holds no new file.
    """
    made = made or {}
    present = set(ids)
    gone = tuple(f for f in ledger.files if f not in present)

    def current(i: int) -> bool:
        r = ledger.files.get(ids[i])
        return (reuse and r is not None and r.reusable and (r.key == keys[i] or isinstance(keys[i], InputError))
                and r.cards_key == cards_key and not any(d in broken for d in r.decks)
                and (not r.media or media_stats([m for m, _, _ in r.media]) == r.media))

    same = {i for i in range(len(ids)) if current(i)}
    read = set(range(len(ids))) - same
    hit_keys = {k for f in gone for k in ledger.files[f].keys}
    hit_decks = {d for f in gone for d in ledger.files[f].decks}
    todo = sorted(read)
    while todo:
        for i in todo:
            if (prior := ledger.files.get(ids[i])) is not None:
                hit_keys.update(prior.keys)
                hit_decks.update(prior.decks)
            papers, decks = made.get(i, ((), ()))
            hit_keys.update(papers)
            hit_decks.update(decks)
        todo = sorted(i for i in same - read if not (hit_decks.isdisjoint(ledger.files[ids[i]].decks)
                                                     and hit_keys.isdisjoint(ledger.files[ids[i]].keys)))
        read.update(todo)
    return Plan(tuple(sorted(read)), tuple(sorted(same - read)), gone, frozenset(hit_decks))


RACY_NS = 2_000_000_000
"""A file modified this recently (ns) may be modified again within its mtime's tick, unseen: it is
read again on the next build rather than trusted by its stat (git's "racy" entries)."""


def _stat(path: Path) -> tuple[int, ...]:
    """What tells a file changed without reading it: size, mtime and ctime (a chmod moves ctime),
    inode; () when it can't be trusted (missing, or modified just now)."""
    try:
        st = os.stat(path)
    except OSError:
        return ()
    if time.time_ns() - st.st_mtime_ns < RACY_NS:
        return ()
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


@dataclass(slots=True)
class _Keys:
    """Each file's cache key, as far as the build knows it before extracting."""

    keys: list[str | InputError | None]
    """The key, or the problem reading the file, or None: not read yet (see _key_files)."""
    stats: dict[int, tuple[int, ...]]
    """_stat() of the files read to key them, taken before reading."""
    held: dict[int, SourceFile]
    """Files read to key them whose key changed: extracted from this reading, never read twice."""
    reseen: dict[str, str]
    """Files read to key them whose key is as recorded but not their stat (saved again unchanged, or
    saved just before the last build): their records take the new Cache.seen, so the next build
    need not read them."""


def _key_files(refs: list[NoteRef], ledger: Ledger, cache: Cache) -> _Keys:
    """Key each file. A file whose size and mtime are as its record says has the record's key, unread;
    one the last build did not have (and the cache holds nothing for) is read once, when extracted."""
    found = _Keys([], {}, {}, {})
    for i, ref in enumerate(refs):
        record = ledger.files.get(ref.display)
        if record is None and not cache.has(ref.display, str(ref.folder)):
            found.keys.append(None)
            continue
        stat = _stat(ref.path)
        if record is not None and record.seen and cache.seen(ref.display, str(ref.folder), stat) == record.seen:
            found.keys.append(record.key)
            found.stats[i] = stat
            continue
        try:
            src = read_note(ref)
        except InputError as exc:
            found.keys.append(exc)
            continue
        found.keys.append(cache.key(src))
        found.stats[i] = stat
        if record is None or record.key != found.keys[-1]:
            found.held[i] = src
        elif (seen := cache.seen(ref.display, str(ref.folder), stat)) and seen != record.seen:
            found.reseen[ref.display] = seen
    return found


def _cards_of(todo: list[int], refs: list[NoteRef], known: _Keys, config: Config, keyer: Cache,
                progress: Progress | None, done: int, total: int, early: EarlyDecks | None = None) -> dict[int, _Outcome]:
    """The cards of these files: from the cache where it is current, else extracted (and cached;
    `early`: their decks written as they go)."""
    out: dict[int, _Outcome] = {}
    for i in todo:
        key = known.keys[i]
        if isinstance(key, InputError):
            out[i] = _Outcome(problem=key)
        elif key is not None and config.cache and (o := _cached(refs[i], key, keyer)) is not None:
            out[i] = o
    rest = [i for i in todo if i not in out]
    done += len(out)
    if progress:
        progress("extract", done, total)
    out.update(zip(rest, _extract_all([known.held.get(i, refs[i]) for i in rest], config, keyer, config.cache,
                                      progress, done, total, early)))
    return {i: replace(o, stat=known.stats[i]) if i in known.stats else o for i, o in out.items()}


def _owners(files: Iterable[tuple[int, Iterable[Card]]]) -> dict[str, int]:
    """Paper key -> the file its cards come from: the first, in file order, that has the paper.

    A paper in two notes files gets one set of cards (one question per collection). The plan reads
    every file that shares a paper with a file read, so all of a paper's files are here."""
    owner: dict[str, int] = {}
    for i, cards in sorted(files, key=lambda f: f[0]):
        for c in cards:
            owner.setdefault(c.paper_key, i)
    return owner


def _owned(cards: Iterable[Card], i: int, owners: Mapping[str, int], ids: list[str]) -> tuple[list[int], tuple[str, ...]]:
    """Which of a file's cards it owns (their positions), and a warning for each paper whose cards
    come from another file."""
    keep, warned = [], {}
    for n, c in enumerate(cards):
        if owners[c.paper_key] == i:
            keep.append(n)
        elif c.paper_key not in warned or c.kind in ("reverse", "summary"):  # their Source is the paper's line
            warned[c.paper_key] = (f"{html.unescape(c.source)}: warning: '{html.unescape(c.title)}' is also in "
                                   f"{ids[owners[c.paper_key]]}; its cards are made from there")
    return keep, tuple(warned.values())


def preview_cards(config: Config, paths: Iterable[Path] | None = None,
                  progress: Progress | None = None) -> tuple[list[Card], Report]:
    """`notecards preview`: the cards a build would write, with their guids (as a build into a new
    folder gives them), and the report of reading the notes."""
    from notecards.cards import make_cards
    from notecards.identity import carry_identity

    report = extract_paths(list(paths or config.notes), config, progress)
    batches = [make_cards(doc, config) for doc in report.documents]
    owners = _owners(enumerate(b.cards for b in batches))
    ids = [doc.path for doc in report.documents]
    cards = []
    for i, batch in enumerate(batches):
        keep, elsewhere = _owned(batch.cards, i, owners, ids)
        cards += [batch.cards[n] for n in keep]
        report.warnings.extend(batch.warnings + elsewhere)  # images left out, papers without cards
    return list(carry_identity(cards, {}).cards), report


def _build_decks(config: Config, paths: Iterable[Path] | None, out: Path | None, progress: Progress | None) -> Report:
    from notecards.ledger import file_stat, load_ledger, save_ledger
    from notecards.write import EarlyDecks, FileCards, model_hash, write_decks

    out = Path(out or config.out)
    report = Report()
    refs, problems = find_notes(list(paths or config.notes))
    report.problems.extend(problems)
    keyer = Cache(out, config)  # keys files even when config.cache is off
    ledger = load_ledger(out)
    known = _key_files(refs, ledger, keyer)
    keys = known.keys
    ids = [r.display for r in refs]
    broken = {d for d, rec in ledger.decks.items() if file_stat(out / rec.file) != (rec.size, rec.mtime_ns)}
    reuse = config.cache and ledger.model[0] == model_hash()

    def plan(made: dict[int, _Outcome]) -> Plan:
        return plan_build(ledger, ids, keys, cards_key=keyer.cards_key, reuse=reuse, broken=broken, made={
            i: ({c.paper_key for c in o.batch.cards}, {c.deck for c in o.batch.cards})
            for i, o in made.items() if o.batch is not None})

    first = plan({})
    if first.read:  # a bad cue table is a ConfigError before any file is extracted; when none is, the
        rules_for(config)  # table is the last build's (it is in every file's key) and need not load
    # Nothing carried over (a cold build) and decks by file: the extraction workers write each
    # file's decks as they go (write.EarlyDecks), and guids and mtimes are known by then.
    early = EarlyDecks(out, ledger) if not ledger.files and not ledger.gone and config.deck_by == "file" else None
    try:
        # forked now, while this process is small: they write the decks at the end (write._writing)
        with workers.early_pool(min(workers.cpus(), 8) if len(first.read) >= PARALLEL_MIN else 1) as writers:
            made: dict[int, _Outcome] = {}
            current = first
            while todo := [i for i in current.read if i not in made]:
                made.update(_cards_of(todo, refs, known, config, keyer, progress, len(made), len(refs), early))
                current = plan(made)
            known.held.clear()
            owners = _owners((i, o.batch.cards) for i, o in made.items() if o.batch is not None)
            files: dict[str, FileCards] = {}
            for i in range(len(refs)):
                if i in made:
                    o = made[i]
                    if o.problem is not None:
                        report.problems.append(o.problem)
                        continue
                    keep, elsewhere = _owned(o.batch.cards, i, owners, ids)
                    cards, hashes = tuple(o.batch.cards[n] for n in keep), tuple(o.hashes[n] for n in keep)
                    warnings = o.warnings + o.batch.warnings + elsewhere  # images left out, papers without cards
                    files[ids[i]] = FileCards(cards, hashes, key=o.key, cards_key=keyer.cards_key,
                                              keys=tuple(dict.fromkeys(c.paper_key for c in o.batch.cards)),
                                              media=media_stats([m for c in cards for m in c.media]) or (),
                                              papers=o.papers, warnings=warnings, reusable=not waits_for_files(o.batch.warnings),
                                              seen=keyer.seen(ids[i], str(refs[i].folder), o.stat))
                    report.warnings.extend(warnings)
                    report.papers += o.papers
                elif isinstance(keys[i], InputError):
                    report.problems.append(keys[i])  # skipped; its last cards stand (plan_build)
                    continue
                else:
                    record = ledger.files[ids[i]]
                    report.warnings.extend(record.warnings)
                    report.papers += record.papers
                report.files += 1
            del made  # the cards live on in `files` only
            if known.reseen:
                ledger = replace(ledger, files={f: replace(r, seen=known.reseen[f]) if f in known.reseen else r
                                                for f, r in ledger.files.items()})
            if files or current.gone:
                written = write_decks(files, out, [ids[i] for i in current.carried], previous=ledger, pool=writers, early=early,
                                      progress=(lambda done, total: progress("write", done, total)) if progress else None)
                ledger = written.ledger
                report.removed = written.removed
            elif known.reseen:
                save_ledger(out, ledger)
    except BaseException:  # every worker has stopped: no temp deck is made after this
        if early is not None:
            early.discard()
        raise
    report.decks = [out / rec.file for _, rec in sorted(ledger.decks.items())]
    report.cards = sum(r.cards for r in ledger.files.values())
    if config.cache and (files or current.gone):
        keyer.prune([(r.display, str(r.folder)) for r in refs])
    return report
