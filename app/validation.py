"""Small validators shared by the CLI, the API and the pages."""

from __future__ import annotations

import re

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
