"""Search tokens: the words of a transcript reduced so that spellings and scripts of one word meet.

Each word (letters and digits; Uzbek o'/g' apostrophes kept inside it) becomes its
`crypto.blind_index.normalise` skeleton, so "Фарход", "Farhod" and "Farkhod" give one token. A hyphenated
word gives the joined token and each part ("Abdul-Aziz" -> abdulaziz, abdul, aziz), which is also how a
bracketed pseudonym "[Cobalt-Heron-42]" is found by "Cobalt-Heron-42" or by "Cobalt". Tokens shorter than
2 characters are skipped. `keyed` turns tokens into HMAC search tokens (`search_token`) under the search
key; only those are stored, never the tokens themselves.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from crypto.blind_index import normalise, search_token

__all__ = ["MIN_TOKEN_LENGTH", "keyed", "query_tokens", "tokenise"]

MIN_TOKEN_LENGTH = 2
_MARKS = "\u0300-\u036f\u0483-\u0489"
_APOSTROPHES = "'`´ʹʻʼʽ‘’′"
_HYPHENS = "\\-‐‑"
_PIECE = rf"[^\W_](?:[^\W_]|[{_MARKS}])*(?:[{_APOSTROPHES}][^\W_](?:[^\W_]|[{_MARKS}])*)*"
_WORD = re.compile(rf"{_PIECE}(?:[{_HYPHENS}]{_PIECE})*")
_SPLIT = re.compile(rf"[{_HYPHENS}]")


@functools.lru_cache(maxsize=65536)
def _skeletons(word: str) -> tuple[str, ...]:
    return tuple(token for token in normalise(word).split(" ") if len(token) >= MIN_TOKEN_LENGTH)


def tokenise(text: str) -> list[str]:
    """The normalised word tokens of `text`, in order (repeats kept)."""
    tokens: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        tokens.extend(_skeletons(word))
        parts = _SPLIT.split(word)
        if len(parts) > 1:
            for part in parts:
                tokens.extend(_skeletons(part))
    return tokens


def query_tokens(query: str) -> list[str]:
    """The distinct tokens of a search query, normalised as the text was."""
    return list(dict.fromkeys(tokenise(query)))


def keyed(key: bytes, tokens: Iterable[str]) -> set[bytes]:
    """The HMAC search tokens of `tokens` under the search key."""
    return {search_token(key, token) for token in tokens}
