"""Small validators shared by the CLI, the API and the pages."""

from __future__ import annotations

import re
import unicodedata

from app.errors import InvalidInputError

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")


def handle(value: str, *, what: str) -> str:
    """Check a username or project name: 3-64 lower-case letters, digits, dot, dash, underscore."""
    cleaned = value.strip()
    if not _HANDLE.fullmatch(cleaned):
        raise InvalidInputError(
            f"{what} must be 3-64 characters of a-z, 0-9, '.', '_' or '-', starting and ending with a "
            "letter or digit"
        )
    return cleaned


# Bidirectional embeddings, overrides and isolates: they reorder what a reader sees ("spoofed" labels).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown_text(value: str, *, what: str) -> str:
    """Refuse a label that would display differently from what it is: bidi controls or nothing visible."""
    if any(char in _BIDI_CONTROLS for char in value):
        raise InvalidInputError(f"{what} must not contain bidirectional control characters")
    if value and not any(unicodedata.category(char)[0] in "LNPS" for char in value):
        raise InvalidInputError(f"{what} must contain at least one visible character")
    return value
