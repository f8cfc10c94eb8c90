"""Which parts of a transcript changed between two versions, so codings on them can be marked obsolete.

Codings point at code-point spans of a version's pseudonymised text. When a corrected transcript replaces a
version, a coding whose span overlaps a changed region no longer means what it meant; one outside every
changed region can be carried over by shifting it. `changed_spans` gives those regions; `is_affected` and
`shift` are the two questions a coding module asks of them.

Large texts: a character-level `difflib` over a whole transcript is quadratic, so the texts are first
compared line by line and only the differing blocks of lines are compared character by character (or
reported whole, when a block is itself large).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["ChangedSpan", "changed_spans", "is_affected", "shift"]

_CHAR_DIFF_LIMIT = 20_000  # code points per side of one changed block, beyond which it is reported whole


@dataclass(frozen=True, slots=True)
class ChangedSpan:
    """`old[old_start:old_end]` became `new[new_start:new_end]` (either side may be empty)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int


def _line_starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def _char_spans(old: str, new: str, old_base: int, new_base: int) -> list[ChangedSpan]:
    if len(old) > _CHAR_DIFF_LIMIT or len(new) > _CHAR_DIFF_LIMIT:
        return [ChangedSpan(old_base, old_base + len(old), new_base, new_base + len(new))]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        ChangedSpan(old_base + i1, old_base + i2, new_base + j1, new_base + j2)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def changed_spans(old: str, new: str) -> list[ChangedSpan]:
    """The regions that differ between two texts, in order, as code-point spans of both."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    old_starts = _line_starts(old_lines)
    new_starts = _line_starts(new_lines)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    spans: list[ChangedSpan] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        o1, o2, n1, n2 = old_starts[i1], old_starts[i2], new_starts[j1], new_starts[j2]
        spans += _char_spans(old[o1:o2], new[n1:n2], o1, n1)
    return spans


def is_affected(spans: list[ChangedSpan], start: int, end: int) -> bool:
    """Whether the old-text span [start, end) overlaps a change (an insertion strictly inside counts)."""
    for span in spans:
        if span.old_start == span.old_end:  # a pure insertion
            if start < span.old_start < end:
                return True
        elif span.old_start < end and start < span.old_end:
            return True
    return False


def shift(spans: list[ChangedSpan], position: int) -> int:
    """Where an old-text position outside every change lies in the new text."""
    delta = 0
    for span in spans:
        if span.old_end <= position:
            delta += (span.new_end - span.new_start) - (span.old_end - span.old_start)
    return position + delta
