"""Text -> word tokens; the only module that imports jieba (loaded once per process, lazily)."""
from __future__ import annotations

import logging
import re
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
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


def tokens(text: str, extra_words: frozenset[str] = frozenset()) -> frozenset[str]:
    """Lower-case tokens: jieba words for Chinese runs, whole words for the rest."""
    low = text.casefold()
    out = set(_WORD.findall(low))
    if has_cjk(low):
        # HMM guesses unknown words; cue words are in the dictionary, so plain lookup is enough and faster
        out.update(t for t in _jieba(extra_words).lcut(low, HMM=False) if _CJK.search(t))
    return frozenset(out)


def language(texts: list[str]) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    sample = "".join(texts)[:20000]
    cjk = len(_CJK.findall(sample))
    latin = len(re.findall(r"[A-Za-z]", sample))
    return "zh" if cjk and cjk * 3 >= latin * 0.5 else "en"
