"""Canary strings and the scanner that looks for them in stored artefacts (SECURITY-TESTS.md test 1).

A canary is a high-entropy marker in one script (Latin, Cyrillic, Arabic, CJK) and normalisation form,
planted in a sensitive field. `hits` searches artefacts for every canary in every encoding an attacker
could meet it in (UTF-8, UTF-16LE/BE, Latin-1, lower/upper case, NFC/NFD, hex, base64 at each alignment),
inside the raw bytes and inside every zlib, gzip or zip-deflate stream found in them.
"""

from __future__ import annotations

import base64
import secrets
import unicodedata
import zlib
from pathlib import Path
from typing import Literal

ALPHABETS = {
    "latin": "abcdefghijklmnopqrstuvwxyzéèüöñçåøăș",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщыэюяўқғҳӣ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإ",
    "cjk": "的一是不了人我在有他这中大来上个国到说们为子和你地出会也時間",
}
Form = Literal["NFC", "NFD"]
FORMS: tuple[Form, ...] = ("NFC", "NFD")

INFLATE_LIMIT = 64 * 1024 * 1024  # bytes inflated per stream at most (a bomb must not stall the scan)
INFLATE_DEPTH = 2  # streams inside inflated streams, this deep
_ZLIB_SECOND = frozenset({0x01, 0x5E, 0x9C, 0xDA})


def canary(script: str, field: str, form: Form) -> str:
    """A fresh canary: the field name and 18 random letters of the script, in the given normal form."""
    letters = "".join(secrets.choice(ALPHABETS[script]) for _ in range(18))
    return unicodedata.normalize(form, f"{field}{letters}")


def needles(canary: str) -> set[bytes]:
    """Every byte form of a canary the scan looks for."""
    found: set[bytes] = set()
    for form in FORMS:
        for variant in {canary, canary.lower(), canary.upper()}:
            text = unicodedata.normalize(form, variant)
            for encoding in ("utf-8", "utf-16-le", "utf-16-be", "latin-1"):
                try:
                    found.add(text.encode(encoding))
                except UnicodeEncodeError:  # Latin-1 only where the script fits in it
                    continue
            raw = text.encode("utf-8")
            found.add(raw.hex().encode())
            found.add(raw.hex().upper().encode())
            for shift in range(3):  # base64 of the canary at each alignment within a longer blob
                encoded = base64.b64encode(b"\x00" * shift + raw)
                found.add(encoded[4:-4])
    return found


def _inflate(data: bytes, wbits: int) -> bytes:
    """What a deflate stream starting at the beginning of data inflates to (empty if it is none)."""
    inflater = zlib.decompressobj(wbits)
    try:
        return inflater.decompress(data, INFLATE_LIMIT)
    except zlib.error:
        return b""


def _starts(content: bytes, marker: bytes) -> list[int]:
    """Every offset at which marker occurs in content."""
    offsets: list[int] = []
    at = content.find(marker)
    while at != -1:
        offsets.append(at)
        at = content.find(marker, at + 1)
    return offsets


def _streams(content: bytes) -> list[bytes]:
    """The inflated bytes of every gzip, zlib and zip-deflate stream found inside content."""
    inflated: list[bytes] = []
    for at in _starts(content, b"\x1f\x8b\x08"):  # gzip member
        inflated.append(_inflate(content[at:], 16 + zlib.MAX_WBITS))
    for at in _starts(content, b"\x78"):  # zlib header: CM=8, 32K window, FCHECK valid
        if at + 1 < len(content) and content[at + 1] in _ZLIB_SECOND:
            inflated.append(_inflate(content[at:], zlib.MAX_WBITS))
    for at in _starts(content, b"PK\x03\x04"):  # zip local file header; method 8 = raw deflate
        header = content[at : at + 30]
        if len(header) == 30 and int.from_bytes(header[8:10], "little") == 8:
            name_length = int.from_bytes(header[26:28], "little")
            extra_length = int.from_bytes(header[28:30], "little")
            inflated.append(_inflate(content[at + 30 + name_length + extra_length :], -zlib.MAX_WBITS))
    return [stream for stream in inflated if stream]


def _layers(content: bytes, depth: int = INFLATE_DEPTH) -> list[bytes]:
    """The content itself and every stream inflated from it, recursively up to depth."""
    layers = [content]
    if depth > 0:
        for stream in _streams(content):
            layers += _layers(stream, depth - 1)
    return layers


def hits(artefacts: dict[str, bytes], canaries: list[str]) -> list[tuple[str, str]]:
    """(artefact, canary) for every canary found in an artefact or in a stream inflated from it."""
    expanded = {name: _layers(content) for name, content in artefacts.items()}
    found: list[tuple[str, str]] = []
    for marker in canaries:
        forms = needles(marker)
        for name, layers in expanded.items():
            if any(needle in layer for layer in layers for needle in forms):
                found.append((name, marker))
    return found


def files(directory: Path) -> dict[str, bytes]:
    """Every file under directory, by its relative path."""
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }
