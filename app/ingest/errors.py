"""The one error family of ingestion: a refused file, with a problem code and a message safe to show.

Messages never quote the file's content or its name (a filename can carry a person's name).
"""

from __future__ import annotations

from typing import Literal

from app.errors import InvalidInputError, PayloadTooLargeError

__all__ = ["FileTooLargeError", "IngestError", "Problem"]

Problem = Literal[
    "too_large", "encrypted", "corrupt", "macros", "zip_bomb", "wrong_type", "empty", "unsupported"
]

_STATUS: dict[str, int] = {"too_large": 413, "unsupported": 415}


class IngestError(InvalidInputError):
    """An uploaded file Harbour refuses to read; `problem` says why (422, or 413/415 where those fit)."""

    code = "invalid_file"

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message, _STATUS.get(problem))
        self.problem: Problem = problem


class FileTooLargeError(IngestError, PayloadTooLargeError):
    """A file beyond the size limit, or one whose content expands beyond it (413)."""

    status_code = 413
    code = "payload_too_large"

    def __init__(self, message: str) -> None:
        super().__init__("too_large", message)
