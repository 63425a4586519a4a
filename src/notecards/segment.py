"""Text -> word tokens; the only module that imports jieba (loaded once per process, lazily)."""
from __future__ import annotations

import logging
import re
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_RUN = re.compile(r"[A-Za-z]+")
_WORD = re.compile(r"[a-z0-9]+(?:['’\-][a-z0-9]+)*")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@lru_cache(maxsize=1)
def _jieba(extra_words: frozenset[str]):
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for word in sorted(extra_words):  # cue words stay whole tokens: '实验结果' is not split
        jieba.add_word(word, freq=2000)
    return jieba


# jieba cuts each run of these characters on its own (its re_han_default), so a run can be
# segmented alone with the same result.
_RUN = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")


def tokens(text: str, extra_words: frozenset[str] = frozenset(), wanted: re.Pattern | None = None) -> frozenset[str]:
    """Lower-case tokens: jieba words for Chinese runs, whole words for the rest.

    With `wanted`, only the Chinese runs where the pattern occurs are segmented: a word that
    is not in a run cannot be one of its tokens.
    """
    low = text.casefold()
    out = set(_WORD.findall(low))
    if has_cjk(low):
        jieba = _jieba(extra_words)
        for run in _RUN.findall(low):
            if _CJK.search(run) and (wanted is None or wanted.search(run)):
                # HMM guesses unknown words; cue words are in the dictionary, so plain lookup is enough
                out.update(t for t in jieba.lcut(run, HMM=False) if _CJK.search(t))
    return frozenset(out)


def language(texts: list[str]) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    sample = "".join(texts)[:20000]
    cjk = sum(map(len, _CJK_RUN.findall(sample)))  # runs, not characters: half the work
    latin = sum(map(len, _LATIN_RUN.findall(sample)))
    return "zh" if cjk and cjk * 3 >= latin * 0.5 else "en"
