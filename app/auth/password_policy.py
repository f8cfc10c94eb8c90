"""Password rules after NIST SP 800-63B: length, a blocklist, no composition rules.

15 to 128 characters (counted after NFC normalisation, so NFC and NFD spellings are the same password);
refused if it is on the shipped list of common passwords, if it is one character repeated or a run of a
keyboard or digit sequence, or if it contains the username or "harbour".
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from app.errors import InvalidInputError

MIN_CHARS = 15
MAX_CHARS = 128
_BLOCKLIST = Path(__file__).with_name("common-passwords.txt")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv")


@cache
def _blocklist() -> frozenset[str]:
    lines = _BLOCKLIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def _is_sequence(folded: str) -> bool:
    squeezed = folded.replace(" ", "")
    if len(set(squeezed)) <= 2:
        return True
    for sequence in _SEQUENCES:
        doubled = sequence * 4
        if squeezed in doubled or squeezed in doubled[::-1]:
            return True
    return False


def check(password: str, *, username: str) -> str:
    """Return the NFC form of an acceptable password, or raise InvalidInputError saying why not."""
    normalised = unicodedata.normalize("NFC", password)
    if len(normalised) < MIN_CHARS:
        raise InvalidInputError(
            f"The password must be at least {MIN_CHARS} characters; a passphrase is easiest."
        )
    if len(normalised) > MAX_CHARS:
        raise InvalidInputError(f"The password must be at most {MAX_CHARS} characters.")
    folded = normalised.casefold()
    if folded in _blocklist() or _is_sequence(folded):
        raise InvalidInputError("That password is too common; choose another.")
    if username.casefold() in folded or "harbour" in folded:
        raise InvalidInputError("The password must not contain your username or the name of this tool.")
    return normalised
