"""The only module that knows the order of the stages: read -> parse -> extract -> classify -> cards -> write."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from notecards.classify import Context, classify_bullet, prefix_label, section_label
from notecards.config import Config
from notecards.errors import InputError, NotecardsError
from notecards.extract import extract_papers
from notecards.model import Bullet, Document, Paper, SourceFile
from notecards.parse import parse_markdown
from notecards.read import NoteRef, find_notes, read_note
from notecards.rules import Rules, load_rules
from notecards.segment import language


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
    labelled = []
    for b in paper.bullets:
        parent = None
        if b.parent:
            decided = prefix_label(b.parent, rules)
            parent = _children_label(b.parent, rules) if decided else section_label(b.parent, rules)
        ctx = Context(section=section_label(b.section, rules) if b.section else None, parent=parent,
                      index=b.index, count=count, in_section=bool(b.section))
        label, rule = classify_bullet(b.text, ctx, rules)
        labelled.append(replace(b, label=label, rule=rule))
    return replace(paper, bullets=tuple(labelled))


def _children_label(parent_text: str, rules: Rules) -> str | None:
    from notecards.classify import _PREFIX  # the key of a `动机：…` line names its children's label
    from notecards.rules import norm_key

    m = _PREFIX.match(parent_text.lstrip("> "))
    p = rules.prefix_keys.get(norm_key(m.group(1))) if m else None
    return p.children if p else None


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


def extract_refs(refs: Iterable[NoteRef], rules: Rules, report: Report) -> list[Document]:
    docs = []
    for ref in refs:
        try:
            doc = extract_document(read_note(ref), rules)
        except InputError as exc:
            report.problems.append(exc)
            continue
        except RecursionError:
            report.problems.append(InputError("nesting too deep to read", path=ref.display))
            continue
        report.warnings.extend(doc.warnings)
        docs.append(doc)
    return docs


def extract_paths(paths: Iterable[Path], config: Config) -> Report:
    """`notecards extract`: find, read and extract every notes file; problems are collected, not raised."""
    report = Report()
    refs, problems = find_notes(paths)
    report.problems.extend(problems)
    report.documents = extract_refs(refs, rules_for(config), report)
    return report


def build_decks(config: Config, paths: Iterable[Path] | None = None, out: Path | None = None) -> Report:
    """`notecards build`: extract every notes file and write one .apkg per deck."""
    from notecards.cards import build_cards
    from notecards.write import write_decks

    report = extract_paths(paths or config.notes, config)
    batches = [build_cards(doc, config) for doc in report.documents]  # cards + warnings (images left out)
    cards = [c for b in batches for c in b.cards]
    report.warnings.extend(w for b in batches for w in b.warnings)
    report.cards = len(cards)
    written, removed = write_decks(cards, out or config.out, config)
    report.decks = written
    report.removed = removed
    return report
