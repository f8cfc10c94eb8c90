"""Replace the names of the people linked to an interview with their pseudonyms; flag contact details.

Threat: coders read pseudonymised text. A missed name form of a linked person (a transliteration, a case
ending, a nickname) tells a coder, or whoever steals a coder's session, who spoke; so recall on the linked
people's names comes first, and over-replacing a similar name is the accepted cost. Other identifying
details (phones, e-mails, links, document numbers, street addresses) are only flagged: the interviewer
decides, with `apply_decisions`, to redact, replace or keep each.

How names are found. The text is split into words (letters and digits; Uzbek apostrophes o' g' and
English 's stay inside a word; hyphens, spaces and punctuation separate). Each word and each name part is
reduced to a matching key: `crypto.blind_index.normalise` (script, case, diacritics and romanisation
variants: Фарход = Farhod = Farkhod = Farxod) with two looser folds for matching only: o -> a (Uzbek o
for Russian a: Ismoilov = Исмаилов, Farhod = Фархад) and doubled letters collapsed again. A part also
matches its inflected forms: Russian case and plural endings (Исмоилова, Исмоилову, Исмоиловым,
Исмоиловых; Дилнозы, Дилнозой for names in -a), Uzbek case suffixes (Farhodning, Farhodga, Farhoddan)
and English 's, for parts of 4+ letters.
1. Full names: every name (legal name, alias, transliteration) of 2+ parts is matched as a word sequence
   in any order (Ismoilov Farhod), case-insensitively, with only spaces, hyphens, commas or dots between
   the words (never a line break), each word exact or inflected.
2. Single parts: each part of 3+ letters (given name, surname, patronymic; not "o'g'li", "qizi", "bin",
   ...) is matched alone when the word starts with a capital letter, so "he said" survives a person
   named Said while "Said" does not. A one-word name (a nickname) is treated as a part.
Overlapping matches: the longest wins; on a tie an exact form beats an inflected one, then the person
listed first. Each match becomes "[" + pseudonym + "]"; `Replacement` offsets refer to the original text.

Known limits (the interviewer reviews the result): lowercase single parts ("farhod" in a chat log) and
names glued to digits or underscores ("ismoilov88", "farhod_i") are missed unless a full name; initials
are kept ("F. [Cobalt-Heron-42]"); vowel variants other than o/a, y/i and e/ye (Ўктам vs Uktam,
Gulnora vs Gulnara) must be registered as aliases; other languages' inflection (Tajik -ро, Turkish -'ın)
is not modelled; a different person with the same or a similar name is replaced too.

Flags (offsets in the pseudonymised text) are heuristics tuned for precision on numbers: phones
(international +/00 with 8-15 digits, 10-12 digit local numbers, 7-9 digits ending NN-NN), e-mails,
links (http(s)://, www., t.me/ and similar, bare domains of common TLDs), document numbers (two letters +
7 digits, Russian passport series+number, any number labelled passport/паспорт/pasport/ID/hujjat) and
street addresses (a house number with a street word: Street/Road/Ave, ул./улица/проспект/переулок/мкр.,
ko'chasi/mahallasi/massivi, Caddesi/Sokak). Flags never cross a line break.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from app.errors import InvalidInputError
from app.ingest.formats import normalise_text
from crypto.blind_index import normalise

__all__ = [
    "Action",
    "Decision",
    "Edit",
    "Flag",
    "FlagKind",
    "NameIndex",
    "PersonNames",
    "PseudonymisedText",
    "Replacement",
    "ReviewedText",
    "apply_decisions",
    "find_flags",
    "pseudonymise",
]

FlagKind = Literal["phone", "email", "document_number", "address", "url"]


@dataclass(frozen=True)
class PersonNames:
    """A linked person's pseudonym and every name form we know (legal name, aliases, transliterations)."""

    pseudonym: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Replacement:
    """A name occurrence [start, end) in the ORIGINAL text, replaced by "[pseudonym]"."""

    start: int
    end: int
    pseudonym: str


@dataclass(frozen=True)
class Flag:
    """A possible identifier [start, end) in the text it was found in, for the interviewer to decide."""

    kind: FlagKind
    start: int
    end: int


@dataclass(frozen=True)
class Edit:
    """One change: [start, end) of the text before it, replaced by `length` code points."""

    start: int
    end: int
    length: int


def _shift(edits: Sequence[Edit], offset: int) -> int:
    """Map an offset of the text before `edits` (sorted, disjoint) into the text after them."""
    index = bisect.bisect_right([edit.start for edit in edits], offset)
    delta = 0
    for edit in edits[:index]:
        if offset < edit.end:  # inside an edit: clamp to its start
            return edit.start + delta
        delta += edit.length - (edit.end - edit.start)
    return offset + delta


@dataclass(frozen=True)
class PseudonymisedText:
    """The text with names replaced, what was replaced (original offsets) and the flags (new offsets)."""

    text: str
    replacements: tuple[Replacement, ...]
    flags: tuple[Flag, ...]

    def shift(self, offset: int) -> int:
        """Map an offset of the original text (e.g. a turn boundary) into the pseudonymised text."""
        edits = [Edit(r.start, r.end, len(r.pseudonym) + 2) for r in self.replacements]
        return _shift(edits, offset)


# -------------------------------------------------------------------------------------------- keys

_MARKS = "\u0300-\u036f\u0483-\u0489"
_APOSTROPHES = "'`´ʹʻʼʽ‘’′"
_WORD = re.compile(rf"[^\W_](?:[^\W_]|[{_MARKS}])*(?:[{_APOSTROPHES}][^\W_](?:[^\W_]|[{_MARKS}])*)*")
_DOUBLES = re.compile(r"([a-z])\1+")
_GAP = re.compile(r"[ \t\u00a0\-‐‑–—,.]{1,3}")
_NAME_SPLIT = re.compile(r"[\s\-‐‑–—,.]+")

# Particles that are part of many names and identify nobody on their own.
_PARTICLES = frozenset(
    [
        "ogli",
        "ugli",
        "oglu",
        "kizi",
        "kiz",
        "uli",
        "ulu",
        "kizi",
        "kyzy",
        "uulu",
        "ibn",
        "bin",
        "bint",
        "binti",
        "van",
        "von",
        "der",
        "den",
        "del",
        "della",
        "abu",
        "umm",
        "aka",
        "opa",
        "bobo",
        "ota",
        "ona",
        "hoji",
        "haji",
        "mulla",
    ]
)

_RU_ENDINGS = [
    "а",
    "у",
    "ом",
    "ым",
    "ем",
    "е",
    "ы",
    "ых",
    "ыми",
    "ой",
    "ою",
    "ей",
    "ю",
    "я",
    "ого",
    "ому",
    "ую",
    "ая",
    "ам",
    "ами",
    "ах",
    "им",
]
_RU_FEMININE = ["ы", "и", "е", "у", "ой", "ою", "ей", "ам", "ами", "ах", "ину"]  # replace the final -a
_UZ_ENDINGS = [
    "ning",
    "ni",
    "ga",
    "ka",
    "qa",
    "da",
    "dan",
    "ta",
    "tan",
    "lar",
    "larning",
    "larga",
    "lardan",
    "larni",
    "larda",
    "im",
    "ing",
    "i",
    "si",
    "imiz",
    "niki",
    "dagi",
    "day",
    "dek",
    "нинг",
    "ни",
    "га",
    "ка",
    "қа",
    "да",
    "дан",
    "та",
    "тан",
    "лар",
    "ларнинг",
    "им",
    "инг",
    "и",
    "си",
]
_EN_ENDINGS = ["s"]
_MIN_INFLECTED = 4


def _key(word: str) -> str:
    """The matching key of a word: its blind-index skeleton with o -> a, doubled letters collapsed.

    Not cached process-wide: the words are testimony and the name parts identities. `NameIndex` memoises
    the keys of the words it has seen for as long as one upload keeps it.
    """
    return _DOUBLES.sub(r"\1", normalise(word).replace(" ", "").replace("o", "a"))


@functools.cache
def _endings() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The normalised case endings (all languages) and feminine endings, computed once per process."""
    endings = tuple(dict.fromkeys(normalise(ending) for ending in (*_RU_ENDINGS, *_UZ_ENDINGS, *_EN_ENDINGS)))
    return endings, tuple(dict.fromkeys(normalise(ending) for ending in _RU_FEMININE))


def _forms(part: str) -> frozenset[str]:
    """The keys a name part matches: itself and, for 4+ letters, its inflected forms."""
    skeleton = normalise(part).replace(" ", "")
    keys = {_key(part)}
    if len(skeleton) >= _MIN_INFLECTED:
        endings, feminine = _endings()
        keys.update(_key(skeleton + ending) for ending in endings)
        if skeleton.endswith("a"):
            keys.update(_key(skeleton[:-1] + ending) for ending in feminine)
    keys.discard("")
    return frozenset(keys)


@dataclass(frozen=True)
class _Part:
    person: int
    exact: str
    forms: frozenset[str]


@dataclass
class _Index:
    singles: dict[str, list[_Part]]
    sequences: dict[str, list[tuple[tuple[_Part, ...], int]]]
    starts: frozenset[str] = frozenset()  # every key a match can start with (singles and sequences)


def _orders(parts: tuple[_Part, ...]) -> set[tuple[_Part, ...]]:
    """Word sequences to match for one name: any 2+ of its parts in any order (runs of them if 5+ parts)."""
    if len(parts) <= 4:
        return {order for size in range(2, len(parts) + 1) for order in itertools.permutations(parts, size)}
    runs = {parts[i:j] for i in range(len(parts)) for j in range(i + 2, len(parts) + 1)}
    return runs | {run[::-1] for run in runs}


def _build_index(people: Sequence[PersonNames]) -> _Index:
    singles: dict[str, list[_Part]] = {}
    sequences: dict[str, list[tuple[tuple[_Part, ...], int]]] = {}
    for person, entry in enumerate(people):
        for name in entry.names:
            name = normalise_text(name)
            variants = {tuple(p for p in _NAME_SPLIT.split(name) if _key(p))}
            variants.add(tuple(p for p in re.split(r"[\s,.]+", name) if _key(p)))  # Abdul-Aziz as one
            for raw_parts in variants:
                parts = tuple(_Part(person, _key(raw), _forms(raw)) for raw in raw_parts)
                for raw, part in zip(raw_parts, parts, strict=True):
                    letters = sum(char.isalpha() for char in raw)
                    if letters >= 3 and normalise(raw).replace(" ", "") not in _PARTICLES:
                        for form in part.forms:
                            singles.setdefault(form, []).append(part)
                for order in _orders(parts):
                    for form in order[0].forms:
                        sequences.setdefault(form, []).append((order, person))
    return _Index(singles, sequences, frozenset(singles) | frozenset(sequences))


# ------------------------------------------------------------------------------------------ matching


@dataclass(frozen=True, order=True)
class _Match:
    rank: tuple[int, int, int, int]  # (-length, inexact, person, start): smaller wins
    start: int
    end: int
    person: int


def _keys_of(words: Sequence[str], memo: dict[str, str]) -> list[str]:
    """The matching key of each word, computing each distinct word's key once per memo."""
    keys: list[str] = []
    for word in words:
        key = memo.get(word)
        if key is None:
            key = memo[word] = _key(word)
        keys.append(key)
    return keys


def _find_names(text: str, index: _Index, memo: dict[str, str]) -> list[_Match]:
    keys = _keys_of(_WORD.findall(text), memo)
    if index.starts.isdisjoint(keys):  # the common case: no word of the turn can start a name
        return []
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    found: list[_Match] = []
    for i, (start, end, word) in enumerate(words):
        key = keys[i]
        for part in index.singles.get(key, ()):
            if word[0].isupper():
                inexact = int(key != part.exact)
                found.append(_Match((start - end, inexact, part.person, start), start, end, part.person))
        for order, person in index.sequences.get(key, ()):
            last = i + len(order) - 1
            if last >= len(words):
                continue
            if not all(keys[i + k] in order[k].forms for k in range(len(order))):
                continue
            if not all(_GAP.fullmatch(text[words[j][1] : words[j + 1][0]]) for j in range(i, last)):
                continue
            inexact = int(any(keys[i + k] != order[k].exact for k in range(len(order))))
            stop = words[last][1]
            found.append(_Match((start - stop, inexact, person, start), start, stop, person))
    chosen: list[_Match] = []  # disjoint, sorted by start
    starts: list[int] = []
    for match in sorted(found):
        low = bisect.bisect_left(starts, match.start)
        if low and chosen[low - 1].end > match.start:
            low -= 1
        high = bisect.bisect_left(starts, match.end)
        overlapping = chosen[low:high]
        if any(other.person != match.person for other in overlapping):
            continue
        if overlapping:  # same person: take the union, so no part of an overlapping form stays in clear
            match = _Match(
                match.rank,
                min(match.start, overlapping[0].start),
                max(match.end, overlapping[-1].end),
                match.person,
            )
        chosen[low:high] = [match]
        starts[low:high] = [match.start]
    return chosen


class NameIndex:
    """The name forms of `people`, prepared once and reused for every turn of one upload.

    Building it normalises and inflects every name part (the costly step), so an upload builds one and
    passes it to `pseudonymise` for each turn instead of rebuilding it per turn. It lives only as long as
    the caller keeps it: no process-wide cache holds names.
    """

    __slots__ = ("_index", "_keys", "people")

    def __init__(self, people: Sequence[PersonNames]) -> None:
        self.people = tuple(people)
        self._index = _build_index(self.people)
        self._keys: dict[str, str] = {}  # word -> matching key, for this upload only


def pseudonymise(text: str, people: Sequence[PersonNames] | NameIndex) -> PseudonymisedText:
    """Replace every known name form of `people` with "[pseudonym]", then flag other identifiers."""
    prepared = people if isinstance(people, NameIndex) else NameIndex(people)
    index = prepared._index
    people = prepared.people
    pieces: list[str] = []
    replacements: list[Replacement] = []
    position = 0
    for match in _find_names(text, index, prepared._keys):
        pseudonym = people[match.person].pseudonym
        pieces.append(text[position : match.start])
        pieces.append(f"[{pseudonym}]")
        replacements.append(Replacement(match.start, match.end, pseudonym))
        position = match.end
    pieces.append(text[position:])
    result = "".join(pieces)
    return PseudonymisedText(result, tuple(replacements), find_flags(result))


# --------------------------------------------------------------------------------------------- flags

_SP = r"[ \t\u00a0]"
_EMAIL = re.compile(r"(?<![\w.+\[\]-])[\w.+\[\]-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?i)(?<![\w@/.])(?:(?:https?://|www\.)[^\s<>\"'«»]+"
    r"|(?:t\.me|wa\.me|vk\.com|ok\.ru|facebook\.com|fb\.com|instagram\.com|x\.com|twitter\.com|youtube\.com"
    r"|youtu\.be|tiktok\.com|telegram\.me)/[^\s<>\"'«»]+"
    r"|[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|ru|uz|tj|kz|kg|tm|az|tr|de|io|me|info|su|ua)"
    r"(?:/[^\s<>\"'«»]*)?(?![\w@]))"
)
_PHONE = re.compile(rf"(?<![\w+])(?:(?:\+|00){_SP}?)?\(?\d[\d \t\u00a0().\-–]{{5,22}}\d(?!\w)")
_DATE_LIKE = re.compile(
    r"\d{1,2}([./-])\d{1,2}\1(?:\d{2}|\d{4})|\d{4}([./-])\d{1,2}\2\d{1,2}"
    r"|\d{4} ?[-–] ?\d{4}|\d{1,2}[./]\d{1,2}"
)
_DOC_PLAIN = re.compile(
    r"(?<!\w)(?:[A-ZА-ЯЁ]{2}[ \u00a0]?№?[ \u00a0]?\d{7}|\d{2}[ \u00a0]?\d{2}[ \u00a0]\d{6})(?!\w)"
)
_DOC_LABELLED = re.compile(
    r"(?i)(?<!\w)(?:passport|паспорт\w*|pasport\w*|id(?:[ -]card)?|id-karta|удостоверени\w*|"
    r"hujjat\w*|ҳужжат\w*|document|документ\w*)"
    rf"{_SP}*(?:(?:№|no\.?|n|#|number|номер|raqami){_SP}*)?[:\-]?{_SP}*"
    r"(?P<number>[A-ZА-ЯЁ]{0,2}[ \u00a0]?\d[\d \u00a0]{4,12}\d)(?!\w)"
)
_STREET_EN = r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Square|Sq|Way|Place|Pl)"
_KOCHA = r"ko[`'ʻ’‘]?chasi"
_ADDRESS = [
    re.compile(rf"(?<!\w)\d{{1,5}}[A-Za-z]?,?{_SP}+(?:[A-Z\[][\w'’\[\]-]*\.?{_SP}+){{1,4}}{_STREET_EN}\b\.?"),
    re.compile(
        r"(?i)(?<!\w)(?:ул\.|улица|ул|пр\.|пр-т|проспект|пер\.|переулок|бульвар|б-р|шоссе|площадь|пл\.|"
        r"мкр\.?|микрорайон|массив|квартал|кв-л|тупик|проезд)"
        rf"{_SP}*[\w'ʻ’\[\]\-. ]{{1,40}}?,?{_SP}*(?:(?:д\.|дом){_SP}*)?\d+[\w/-]*"
        rf"(?:{_SP}*,?{_SP}*(?:кв\.|квартира){_SP}*\d+)?"
    ),
    re.compile(
        r"(?i)(?<!\w)[\w'ʻ’`\[\]-]+"
        rf"(?:{_SP}+(?:shoh|berk|tor))?{_SP}+(?:{_KOCHA}|кўчаси|mahallasi|маҳалласи|massivi|массиви|"
        r"mavzesi|мавзеси|dahasi|даҳаси)"
        rf"{_SP}*,?{_SP}*\d+[\w/-]*(?:{_SP}*-?{_SP}*(?:uy|уй|xonadon|хонадон))?"
    ),
    re.compile(
        rf"(?<!\w)[\w'’\[\]-]+{_SP}+(?:Caddesi|Cad\.|Sokak|Sokağı|Sk\.|Mahallesi|Mah\.|Bulvarı)"
        rf"{_SP}*,?{_SP}*(?:No{_SP}*[:.]?{_SP}*)?\d+[\w/-]*"
    ),
]
_PRIORITY: dict[str, int] = {"email": 0, "url": 1, "document_number": 2, "phone": 3, "address": 4}


def _phone_like(candidate: str) -> bool:
    digits = sum(char.isdigit() for char in candidate)
    if candidate.startswith(("+", "00")):
        return 8 <= digits <= 15
    if _DATE_LIKE.fullmatch(candidate.strip()):
        return False
    if 10 <= digits <= 12:
        return True
    return 7 <= digits <= 9 and re.search(r"\d{2,3}[- \u00a0]\d{2}[- \u00a0]\d{2}$", candidate) is not None


_DIGIT = re.compile(r"\d")
# Every link pattern needs "://" or a dot followed by a non-space ("www.x", "t.me", "site.uz").
_URL_HINT = re.compile(r"://|\.\S")


def find_flags(text: str) -> tuple[Flag, ...]:
    """Find possible phones, e-mails, links, document numbers and addresses; non-overlapping, in order."""
    found: list[tuple[int, int, int, FlagKind]] = []
    # Cheap necessary conditions first, so a turn of plain speech is scanned once, not ten times: e-mails
    # need an @, links a dot before a non-space or "://", every other pattern a digit.
    emails = "@" in text
    links = _URL_HINT.search(text) is not None
    digits = _DIGIT.search(text) is not None
    if not (emails or links or digits):
        return ()

    def add(kind: FlagKind, start: int, end: int) -> None:
        while end > start and text[end - 1] in ".,;:!?)]}»\"'":
            end -= 1
        if end > start:
            found.append((start - end, _PRIORITY[kind], start, kind))
            spans[(start, kind)] = end

    spans: dict[tuple[int, str], int] = {}
    for match in _EMAIL.finditer(text) if emails else ():
        add("email", match.start(), match.end())
    for match in _URL.finditer(text) if links else ():
        add("url", match.start(), match.end())
    if digits:
        for match in _DOC_PLAIN.finditer(text):
            add("document_number", match.start(), match.end())
        for match in _DOC_LABELLED.finditer(text):
            add("document_number", match.start("number"), match.end("number"))
        for match in _PHONE.finditer(text):
            if _phone_like(match.group()):
                add("phone", match.start(), match.end())
        for pattern in _ADDRESS:
            for match in pattern.finditer(text):
                add("address", match.start(), match.end())
    chosen: list[Flag] = []
    taken: list[tuple[int, int]] = []
    for _, _, start, kind in sorted(found):
        end = spans[(start, kind)]
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            continue
        taken.append((start, end))
        chosen.append(Flag(kind, start, end))
    return tuple(sorted(chosen, key=lambda flag: flag.start))


# ----------------------------------------------------------------------------------------- decisions


class Action(enum.StrEnum):
    """What the interviewer decided for one flag."""

    ACCEPT = "accept"  # redact as "[redacted <kind>]"
    REPLACE = "replace"  # replace with the given text
    IGNORE = "ignore"  # keep as written


@dataclass(frozen=True)
class Decision:
    """An interviewer's decision on one flag; `text` is the replacement for REPLACE."""

    action: Action
    text: str = ""

    @classmethod
    def accept(cls) -> Decision:
        """Redact the flagged text."""
        return cls(Action.ACCEPT)

    @classmethod
    def replace(cls, text: str) -> Decision:
        """Replace the flagged text with `text`."""
        return cls(Action.REPLACE, text)

    @classmethod
    def ignore(cls) -> Decision:
        """Keep the flagged text."""
        return cls(Action.IGNORE)


_REDACTED: dict[str, str] = {
    "phone": "[redacted phone]",
    "email": "[redacted e-mail]",
    "url": "[redacted link]",
    "document_number": "[redacted document number]",
    "address": "[redacted address]",
}


@dataclass(frozen=True)
class ReviewedText:
    """The text after the decisions, the edits made, and the flags left (ignored or undecided) in it."""

    text: str
    edits: tuple[Edit, ...]
    flags: tuple[Flag, ...]

    def shift(self, offset: int) -> int:
        """Map an offset of the text before the decisions into this text."""
        return _shift(self.edits, offset)


def apply_decisions(text: str, flags: Sequence[Flag], decisions: Mapping[int, Decision]) -> ReviewedText:
    """Apply decisions keyed by flag index; offsets of what is left are recomputed for the new text.

    A flag with no decision is left as written (and stays in `flags`). Replacement text is normalised like
    a transcript and kept on one line, so turn boundaries never move into or out of an edit.
    """
    ordered = sorted(range(len(flags)), key=lambda i: flags[i].start)
    previous_end = 0
    for i in ordered:
        flag = flags[i]
        if not 0 <= flag.start < flag.end <= len(text) or flag.start < previous_end:
            raise InvalidInputError("The flags do not fit this text.")
        previous_end = flag.end
    for i, decision in decisions.items():
        if not 0 <= i < len(flags):
            raise InvalidInputError("A decision refers to a flag that does not exist.")
        if decision.action is Action.REPLACE and not " ".join(normalise_text(decision.text).split()):
            raise InvalidInputError("A replacement must not be empty; accept the flag to redact it.")
    pieces: list[str] = []
    edits: list[Edit] = []
    kept: list[Flag] = []
    position = 0
    delta = 0
    for i in ordered:
        flag = flags[i]
        decision = decisions.get(i, Decision.ignore())
        if decision.action is Action.IGNORE:
            kept.append(Flag(flag.kind, flag.start + delta, flag.end + delta))
            continue
        new = (
            _REDACTED[flag.kind]
            if decision.action is Action.ACCEPT
            else " ".join(normalise_text(decision.text).split())
        )
        pieces.append(text[position : flag.start])
        pieces.append(new)
        edits.append(Edit(flag.start, flag.end, len(new)))
        position = flag.end
        delta += len(new) - (flag.end - flag.start)
    pieces.append(text[position:])
    return ReviewedText("".join(pieces), tuple(edits), tuple(kept))
