"""Text -> word tokens; the only module that imports jieba (its dictionary loaded once per process, lazily)."""
from __future__ import annotations

import logging
import marshal
import os
import re
from array import array
from functools import lru_cache
from math import inf, log
from pathlib import Path

CJK_CHARS = "\u3400-\u9fff\uf900-\ufaff"
"""The Chinese characters, as the body of a regex class: CJK Extension A, the unified ideographs and
the compatibility ideographs. The one definition every module uses (`[{CJK_CHARS}]`)."""
CJK = re.compile(f"[{CJK_CHARS}]")
PICTOGRAPHS = "\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\u2b00-\u2bff\ufe0f\u200d\U0001f000-\U0001faff"
"""Emoji and pictographic symbols (arrows, shapes, dingbats, the emoji planes, the joiners that build
emoji), as the body of a regex class: '📄 Title', '💡 Key idea' decorate a line; they are not its words."""
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
_LATIN_RUN = re.compile(r"[A-Za-z]+")
_WORD = re.compile(r"[a-z0-9]+(?:['’\-][a-z0-9]+)*")


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


@lru_cache(maxsize=1)
def _dictionary(extra_words: frozenset[str]) -> tuple[dict[str, int], float]:
    """jieba's word frequencies (every prefix of a word is in it, with 0 if not a word itself) and
    the log of their total, with our cue words added so that they stay whole ('实验结果' is not split),
    as `jieba.add_word(word, freq=2000)` adds them."""
    freq, total = _jieba_frequencies()
    for word in sorted(extra_words):
        freq[word] = 2000
        total += 2000
        for end in range(1, len(word)):
            freq.setdefault(word[:end], 0)
    return freq, log(total)


_DICT_FORMAT = 1


def _jieba_frequencies() -> tuple[dict[str, int], int]:
    """jieba's default dictionary as {word: frequency} and their total.

    jieba keeps it in a marshal file that takes each worker 0.7 s to load. The first call on a
    machine saves it in the user's cache folder as one text of words and one array of counts,
    which loads in about a quarter of that time (and, unlike a pickle, can't run code). Keyed on jieba's
    version and its dictionary file: a new jieba makes a new one. Any trouble: jieba's own way.
    """
    import importlib.metadata
    import importlib.util

    try:
        spec = importlib.util.find_spec("jieba")
        source = Path(spec.origin).parent / "dict.txt"  # type: ignore[union-attr, arg-type]
        st = source.stat()
        key = f"{importlib.metadata.version('jieba')}-{st.st_size}-{st.st_mtime_ns}-{_DICT_FORMAT}"
        path = _cache_home() / f"jieba-{key}.dict"
    except (OSError, ValueError, TypeError, importlib.metadata.PackageNotFoundError):
        return _from_jieba()
    try:
        words, counts, total = marshal.loads(path.read_bytes())
        freq = dict(zip(words.split("\n"), array("q", counts), strict=True))
        return freq, int(total)
    except (OSError, ValueError, TypeError, EOFError, AttributeError):  # missing, cut short, not ours
        pass
    freq, total = _from_jieba()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = marshal.dumps(("\n".join(freq), array("q", freq.values()).tobytes(), total))
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache folder we can't write costs the next run 0.5 s, nothing else
    return freq, total


def _from_jieba() -> tuple[dict[str, int], int]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()  # not jieba.dt, which others may have added words to
    tokenizer.check_initialized()
    return tokenizer.FREQ, tokenizer.total


def _cache_home() -> Path:
    """The user's cache folder for notecards: $XDG_CACHE_HOME, else ~/.cache (on every system)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "notecards"


def _words(run: str, freq: dict[str, int], log_total: float) -> list[str]:
    """The Chinese words of `jieba.lcut(run, HMM=False)` for one run of _RUN: its most probable split
    into dictionary words. This is jieba's own get_DAG and calc (same sums in the same order, ties
    to the longer word) folded into one loop from the end, in half the time; tested against jieba."""
    n = len(run)
    score = [0.0] * (n + 1)
    end = list(range(n + 1))  # end[k]: the last character of the best word starting at k
    for k in range(n - 1, -1, -1):
        best, last = -inf, -1  # jieba compares (score, i): i only grows, so a tie goes to this one
        i, frag = k, run[k]
        while i < n and (f := freq.get(frag)) is not None:
            if f and (cand := log(f) - log_total + score[i + 1]) >= best:
                best, last = cand, i
            i += 1
            frag = run[k:i + 1]
        if last < 0:  # no word starts here: the character alone
            best, last = log(freq.get(run[k]) or 1) - log_total + score[k + 1], k
        score[k], end[k] = best, last
    out, x = [], 0
    while x < n:
        word = run[x:end[x] + 1]
        if CJK.search(word):  # jieba glues single Latin letters and digits together: not needed here
            out.append(word)
        x = end[x] + 1
    return out


# jieba cuts each run of these characters on its own (its re_han_default, with every CJK_CHARS
# character: jieba's own class stops at U+9FD5 and leaves out Extension A, so a cue word with such
# a character would never reach the dictionary), so a run can be segmented alone.
_RUN = re.compile(f"[{CJK_CHARS}a-zA-Z0-9+#&._%\\-]+")


def tokens(text: str, extra_words: frozenset[str] = frozenset()) -> frozenset[str]:
    """Lower-case tokens: jieba words for Chinese runs, whole words for the rest."""
    return frozenset(_WORD.findall(text.casefold())) | chinese_words(text, extra_words)


def chinese_words(text: str, extra_words: frozenset[str] = frozenset(), wanted: re.Pattern | None = None) -> set[str]:
    """The jieba words (lower case) of the Chinese runs of `text`.

    With `wanted`, only the runs where the pattern occurs are segmented: a word that is not in
    a run cannot be one of its words.
    """
    low = text.casefold()
    out: set[str] = set()
    if has_cjk(low):
        freq, log_total = _dictionary(extra_words)
        for run in _RUN.findall(low):
            if CJK.search(run) and (wanted is None or wanted.search(run)):
                # HMM guesses unknown words; cue words are in the dictionary, so plain lookup is enough
                out.update(_words(run, freq, log_total))
    return out


def language(texts: list[str]) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    sample = "".join(texts)[:20000]
    cjk = sum(map(len, _CJK_RUN.findall(sample)))  # runs, not characters: half the work
    latin = sum(map(len, _LATIN_RUN.findall(sample)))
    return "zh" if cjk and cjk * 3 >= latin * 0.5 else "en"
