"""Documents -> the extract contract (JSON/YAML) or a readable table."""
from __future__ import annotations

from notecards.model import Document


def to_contract(docs: list[Document], explain: bool = False) -> dict:
    """The `extract --format json` contract of LABELS.md; `rule` added with --explain."""
    out = []
    for d in docs:
        papers = []
        for p in d.papers:
            bullets = []
            for b in p.bullets:
                row = {"text": b.text, "label": b.label, "line": b.line}
                if explain:
                    row["rule"] = b.rule
                bullets.append(row)
            papers.append({"title": p.title, "venue": p.venue, "year": p.year, "topics": list(p.topics),
                           "line": p.line, "bullets": bullets})
        doc = {"path": d.path, "title": d.title, "lang": d.lang, "papers": papers}
        if explain:
            doc["shape"] = d.shape
        out.append(doc)
    return {"documents": out}


def to_table(docs: list[Document], explain: bool = False) -> str:
    lines = []
    for d in docs:
        lines.append(f"# {d.path}  ({d.title}, {len(d.papers)} papers)")
        if explain:
            lines.append(f"# papers open at: {d.shape}")
        for p in d.papers:
            meta = ", ".join(str(x) for x in (p.venue, p.year) if x)
            lines.append(f"\n{p.line:>5}  {p.title}" + (f"  [{meta}]" if meta else ""))
            for b in p.bullets:
                text = b.text.replace("\n", " ")
                text = text if len(text) <= 70 else text[:69] + "…"
                lines.append(f"{b.line:>5}    {b.label:<10} {text}")
                if explain:
                    lines.append(f"{'':>5}    {'':<10} ↳ {b.rule}")
        lines.append("")
    return "\n".join(lines) + "\n"
