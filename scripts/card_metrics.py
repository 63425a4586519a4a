#!/usr/bin/env python3
"""Card metrics of built decks (.apkg), read back through Anki's own engine.

    python scripts/card_metrics.py decks/*.apkg [--json]

Prints, over every note of the decks: questions that carry a part number ("(2/3)"), question
texts that occur more than once (in one deck, and across the decks), the share of forward cards
whose answer only restates the paper's title, the share of forward cards asked in one language
and answered in another, the share of answers over 300 characters, and the count of each kind.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

FORWARD = ("problem", "method", "finding", "summary", "abstract")
LONG_ANSWER = 300
_NUMBERED = re.compile(r"[(（]\s*\d+\s*/\s*\d+\s*[)）]")
_TAG = re.compile(r"<[^>]+>")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff\uf900-\ufaff]")


def plain(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def lang(text: str) -> str | None:
    """'zh' or 'en' as a reader sees it, None for too few letters to tell.

    Chinese when it has two Chinese characters or more and they are not swamped by Latin letters
    (a Chinese sentence with English terms, "用domain label训练", reads as Chinese).
    """
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk >= 2:
        return "zh" if cjk * 12 >= latin else "en"
    return "en" if latin and not cjk else None


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def echoes_title(answer: str, title: str) -> bool:
    """An answer that says little beyond the title: most of its words are the title's."""
    words, have = _words(answer), set(_words(title))
    return bool(words) and sum(w in have for w in words) >= 0.6 * len(words)


def read_notes(decks: list[Path]) -> list[dict[str, str]]:
    """Every note of the decks as {field: value} plus 'deck', each deck imported into a fresh collection."""
    from anki.collection import Collection, ImportAnkiPackageRequest  # Anki's engine; first import matters
    from anki.utils import split_fields

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, deck in enumerate(decks):
            col = Collection(str(Path(tmp) / f"c{n}.anki2"))
            try:
                opts = col._backend.get_import_anki_package_presets()
                col.import_anki_package(ImportAnkiPackageRequest(package_path=str(deck), options=opts))
                for mid, flds in col.db.all("select mid, flds from notes"):
                    names = [f["name"] for f in col.models.get(mid)["flds"]]
                    rows.append({**dict(zip(names, split_fields(flds))), "deck": deck.name})
            finally:
                col.close()
    return rows


def metrics(rows: list[dict[str, str]]) -> dict:
    kinds = Counter(r.get("Kind", "") for r in rows)
    questions = [plain(r["Question"]) for r in rows]
    numbered = [q for q in questions if _NUMBERED.search(q)]
    in_deck = Counter((r["deck"], q) for r, q in zip(rows, questions))
    anywhere = Counter(questions)
    forward = [r for r in rows if r.get("Kind") in FORWARD]
    echo = [r for r in forward if echoes_title(plain(r["Answer"]), plain(r["Title"]))]
    mixed = []
    for r in forward:
        title = plain(r["Title"])
        q_lang = lang(plain(r["Question"]).replace(title, " "))
        a_lang = lang(plain(r["Answer"]))
        if q_lang and a_lang and q_lang != a_lang:
            mixed.append(r)
    long = [r for r in rows if len(plain(r["Answer"])) > LONG_ANSWER]

    def share(part: list, whole: list) -> float:
        return round(100 * len(part) / len(whole), 1) if whole else 0.0

    return {
        "notes": len(rows), "forward": len(forward), "kinds": dict(sorted(kinds.items())),
        "numbered_questions": len(numbered),
        "repeated_in_deck": sum(n - 1 for n in in_deck.values() if n > 1),
        "repeated_anywhere": sum(n - 1 for n in anywhere.values() if n > 1),
        "title_echo_pct": share(echo, forward),
        "mixed_language_pct": share(mixed, forward),
        "long_answer_pct": share(long, rows),
        "examples": {
            "numbered": numbered[:3],
            "repeated": [q for q, n in anywhere.most_common(3) if n > 1],
            "title_echo": [plain(r["Question"]) + " -> " + plain(r["Answer"])[:80] for r in echo[:3]],
            "mixed_language": [plain(r["Question"])[:80] + " -> " + plain(r["Answer"])[:80] for r in mixed[:3]],
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("decks", nargs="+", type=Path, help=".apkg files")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    m = metrics(read_notes(args.decks))
    if args.json:
        print(json.dumps(m, ensure_ascii=False, indent=1))
        return 0
    print(f"notes {m['notes']} (forward {m['forward']}); by kind: "
          + ", ".join(f"{k} {n}" for k, n in m["kinds"].items()))
    print(f"numbered questions: {m['numbered_questions']}")
    print(f"repeated question texts: {m['repeated_in_deck']} within a deck, {m['repeated_anywhere']} across decks")
    print(f"forward cards whose answer echoes the title: {m['title_echo_pct']} %")
    print(f"forward cards with question and answer in different languages: {m['mixed_language_pct']} %")
    print(f"answers over {LONG_ANSWER} characters: {m['long_answer_pct']} %")
    for name, items in m["examples"].items():
        for item in items:
            print(f"  e.g. {name}: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
