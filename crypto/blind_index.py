"""Blind indexes: find a person by name without storing the name in clear.

Threat: names are the most dangerous data Harbour holds. They are stored encrypted, so the database cannot
search them; instead it stores HMAC-SHA256(index key, normalised name). Without the index key (zone INDEX,
never in the database) the digests cannot be tested against a list of candidate names. With it, equality
is all that leaks: two rows with the same skeleton share an index value. The HMAC input is prefixed with a
domain label, so a whole-name index and a per-token search token never coincide even under one key.

Normalisation is the useful part. The same exile's name reaches researchers in Cyrillic, in Uzbek or
Kazakh Latin, in passport (ICAO) transliteration and in ad-hoc English spellings: "Фарход Исмоилов",
"Farhod Ismoilov", "Farkhod Ismoilov", "Farxod Ismoilov". `normalise` maps all of these to one Latin
skeleton:

1. NFKC and casefold (full-width letters, ligatures, case).
2. Cyrillic letters of Russian, Uzbek, Tajik, Kazakh and Kyrgyz to Latin (х -> h, ж -> j, ч -> ch,
   ш/щ -> sh, ц -> ts, ё -> yo, ю -> yu, я -> ya, ў -> o, ӯ/ү/ұ -> u, ғ -> g, қ -> k, ҳ/һ -> h, ҷ -> j,
   ә -> a, ө -> o, і/ӣ/ы -> i, ң -> ng; ъ and ь dropped); Turkic Latin ş -> sh, ç -> ch, ı -> i.
3. Strip diacritics (NFKD, drop combining marks): é -> e, ö -> o, ğ -> g.
4. Drop apostrophes and hyphens (o'/oʻ/g' of Uzbek Latin, Ma'ruf, Abdul-Aziz); other punctuation
   separates words; whitespace collapses.
5. Fold romanisation variants inside Latin words: dzh/dj/zh -> j, kh/x -> h, gh -> g, q -> k, w -> v,
   ye -> e, y -> i, then collapse doubled letters (Muhammad = Muhamad).

Deliberately NOT folded, because doing so would merge different names or different people:
- vowels other than y/i: Uzbek o for Russian a ("Ismoilov" vs "Ismailov", "Farhod" vs "Farhad") stays
  distinct; those are recorded as aliases and each alias is indexed;
- gender endings: "Ismoilov" and "Ismoilova" are different skeletons;
- word order: "Ismoilov Farhod" differs from "Farhod Ismoilov" as a whole name; `name_tokens` gives the
  per-word tokens for order-free search.
Letters of other scripts (Arabic, Georgian, ...) pass through casefolded, so they are indexed as written
rather than all collapsing to the empty string.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

__all__ = ["MIN_KEY_SIZE", "blind_index", "name_tokens", "normalise", "search_token"]

MIN_KEY_SIZE = 32
_INDEX_DOMAIN = b"harbour-blind-index-v1\x00"
_TOKEN_DOMAIN = b"harbour-search-token-v1\x00"

# Applied per character after NFKC + casefold, before diacritics are stripped (so й, ё, ў are mapped as
# letters of their own, not decomposed into и/е/у plus a mark).
_LETTERS: dict[str, str] = {
    # Russian
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Uzbek, Tajik, Kazakh, Kyrgyz (and Ukrainian/Belarusian letters seen in the same records)
    "ғ": "g", "қ": "k", "ҳ": "h", "ў": "o", "ӯ": "u", "ӣ": "i", "ҷ": "j", "ә": "a", "ө": "o",
    "ү": "u", "ұ": "u", "і": "i", "ң": "ng", "һ": "h", "ї": "i", "є": "e", "ґ": "g",
    # Turkic and other Latin letters that diacritic stripping would get wrong or leave alone
    "ş": "sh", "ș": "sh", "ç": "ch", "ı": "i", "ə": "a", "ø": "o", "æ": "ae", "œ": "oe",
    "ł": "l", "đ": "d", "ð": "d", "þ": "th",
}  # fmt: skip

# Apostrophe-like marks (Uzbek oʻ gʻ, Tajik glottal stop) and hyphens join the letters around them.
_JOINERS = frozenset("'`´ʹʻʼʽʾʿ‘’‛′-‐‑‒–—")

# Order matters: dzh before zh, shch before sh-less rules, ye before y -> i.
_LATIN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        ("shch", "sh"),
        ("dzh", "j"),
        ("dj", "j"),
        ("zh", "j"),
        ("kh", "h"),
        ("x", "h"),
        ("gh", "g"),
        ("q", "k"),
        ("w", "v"),
        ("ye", "e"),
        ("y", "i"),
        (r"([a-z])\1+", r"\1"),
    )
)


def normalise(value: str) -> str:
    """Reduce a name to its Latin skeleton so common spellings and scripts of one name compare equal."""
    text = unicodedata.normalize("NFKC", value).casefold()
    text = "".join(_LETTERS.get(char, char) for char in text)
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    cleaned: list[str] = []
    for char in text:
        if char in _JOINERS:
            continue
        cleaned.append(char if char.isalnum() else " ")
    return " ".join(_fold(word) for word in "".join(cleaned).split())


def _fold(word: str) -> str:
    # Repeat until stable: one pass can create a new match ("kkhh" -> "khh" -> "kh"), and a skeleton
    # must normalise to itself so a stored skeleton and a re-normalised query agree.
    previous = None
    while word != previous:
        previous = word
        for pattern, replacement in _LATIN_RULES:
            word = pattern.sub(replacement, word)
    return word


def name_tokens(value: str) -> list[str]:
    """The distinct normalised words of a name, in order, for per-token indexes."""
    seen: dict[str, None] = {}
    for token in normalise(value).split(" "):
        if token:
            seen.setdefault(token, None)
    return list(seen)


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_SIZE:
        raise ValueError("index key must be at least 32 bytes")


def blind_index(key: bytes, value: str) -> bytes:
    """HMAC-SHA256 of the normalised whole value under the index key (ValueError if nothing to index)."""
    _check_key(key)
    skeleton = normalise(value)
    if not skeleton:
        raise ValueError("value has nothing to index")
    return hmac.new(key, _INDEX_DOMAIN + skeleton.encode("utf-8"), hashlib.sha256).digest()


def search_token(key: bytes, token: str) -> bytes:
    """HMAC-SHA256 of one normalised word, for per-token search (ValueError unless exactly one word)."""
    _check_key(key)
    skeleton = normalise(token)
    if not skeleton or " " in skeleton:
        raise ValueError("search_token takes exactly one word")
    return hmac.new(key, _TOKEN_DOMAIN + skeleton.encode("utf-8"), hashlib.sha256).digest()
