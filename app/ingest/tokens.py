"""Search tokens: the words of a transcript reduced so that spellings and scripts of one word meet.

Each word (letters and digits; Uzbek o'/g' apostrophes kept inside it) becomes its
`crypto.blind_index.normalise` skeleton, so "Фарход", "Farhod" and "Farkhod" give one token. A hyphenated
word gives the joined token and each part ("Abdul-Aziz" -> abdulaziz, abdul, aziz), which is also how a
bracketed pseudonym "[Cobalt-Heron-42]" is found by "Cobalt-Heron-42" or by "Cobalt". Tokens shorter than
2 characters are skipped. `keyed` turns tokens into HMAC search tokens (`search_token`) under the search
key; only those are stored, never the tokens themselves.

No process-wide cache holds words: they are testimony. `Keyer` memoises the words it has keyed for as long
as one approval keeps it, and no longer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crypto.blind_index import normalise, search_token

__all__ = ["MIN_TOKEN_LENGTH", "Keyer", "keyed", "query_tokens", "tokenise"]

MIN_TOKEN_LENGTH = 2
_MARKS = "\u0300-\u036f\u0483-\u0489"
_APOSTROPHES = "'`´ʹʻʼʽ‘’′"
_HYPHENS = "\\-‐‑"
_PIECE = rf"[^\W_](?:[^\W_]|[{_MARKS}])*(?:[{_APOSTROPHES}][^\W_](?:[^\W_]|[{_MARKS}])*)*"
_WORD = re.compile(rf"{_PIECE}(?:[{_HYPHENS}]{_PIECE})*")
_SPLIT = re.compile(rf"[{_HYPHENS}]")


def _skeletons(word: str) -> tuple[str, ...]:
    return tuple(token for token in normalise(word).split(" ") if len(token) >= MIN_TOKEN_LENGTH)


def _word_tokens(word: str) -> list[str]:
    """The tokens of one word: its skeleton and, if it is hyphenated, each part's."""
    tokens = list(_skeletons(word))
    parts = _SPLIT.split(word)
    if len(parts) > 1:
        for part in parts:
            tokens.extend(_skeletons(part))
    return tokens


def tokenise(text: str) -> list[str]:
    """The normalised word tokens of `text`, in order (repeats kept)."""
    tokens: list[str] = []
    for word in _WORD.findall(text):
        tokens.extend(_word_tokens(word))
    return tokens


def query_tokens(query: str) -> list[str]:
    """The distinct tokens of a search query, normalised as the text was."""
    return list(dict.fromkeys(tokenise(query)))


def keyed(key: bytes, tokens: Iterable[str]) -> set[bytes]:
    """The HMAC search tokens of `tokens` under the search key."""
    return {search_token(key, token) for token in set(tokens)}


class Keyer:
    """Keys the tokens of many segments under one search key, computing each distinct word's HMAC once.

    An approval indexes every turn of a transcript, and most words recur across turns; the memo lives only
    as long as this object (one approval), so no process-wide cache of testimony words is kept.
    """

    __slots__ = ("_key", "_memo", "_words")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._memo: dict[str, bytes] = {}
        self._words: dict[str, tuple[bytes, ...]] = {}

    def keyed(self, tokens: Iterable[str]) -> set[bytes]:
        """The HMAC search tokens of `tokens` (as `keyed`)."""
        memo = self._memo
        found: set[bytes] = set()
        for token in set(tokens):
            value = memo.get(token)
            if value is None:
                value = memo[token] = search_token(self._key, token)
            found.add(value)
        return found

    def text_keyed(self, text: str) -> set[bytes]:
        """The HMAC search tokens of every word of `text` (as `keyed(tokenise(text))`), each word once."""
        words = self._words
        found: set[bytes] = set()
        for word in set(_WORD.findall(text)):
            digests = words.get(word)
            if digests is None:
                digests = words[word] = tuple(self.keyed(_word_tokens(word)))
            found.update(digests)
        return found
