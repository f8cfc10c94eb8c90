"""De-identification helpers for exports: keyed pseudonymous ids, small-cell suppression, coarse geography and
an allowlist for columns. Pure functions; exporters call them on rows they have already loaded.

Keyed ids (`ExportKeys`, `keyed_id`). Internal UUIDs must never leave the system: anyone holding two exports
(or an export and a leaked database row) could join them. Each export draws a fresh random 256-bit key
(`ExportKeys.fresh()`, from `secrets`) and writes `keyed_id(key, kind, uuid)` instead: the first 60 bits of
HMAC-SHA256(key, kind NUL uuid), as 12 lower-case base-32 characters. Within one export the same record gets
the same id (rows can be joined across that export's sheets); across exports the ids are unlinkable, because
the key is never stored, logged or reused. The `kind` ("person", "incident", ...) is part of the MAC, so one
UUID gives unrelated ids as different kinds. 60 bits make an accidental collision negligible below millions
of ids (about n²/2^61). Ids are not secret per se: they only hide which internal record a row is.

Small cells (`suppress_small_cells`). In a small exile community a count of 1-4 (one Uzbek journalist
detained in Poland in 2019) can identify a person. **Primary suppression**: a count c with 1 <= c < k
(k = 5 by default) is replaced by the marker (`"<5"`, or None with `as_label=False`). Zeros are kept: a true
zero reveals no one (callers worried about "nobody from X" statements should not publish the row at all).
**Secondary (complementary) suppression** is implemented for *one-dimensional groups* only: rows sharing the
values of `group_by` (the whole table when `group_by` is empty) form a group whose total is assumed to be
published or derivable. If a group has exactly one suppressed cell, the total minus the others would reveal
it, so the next smallest non-zero cell of the group is suppressed too; suppression continues while the
suppressed cells of a group add up to less than k (their sum is derivable from the total, and 1 + 2 = 3 would
reveal both). Ties are broken by row order. Limits: a group of one non-zero small cell cannot be protected by
more suppression (its total *is* the cell): do not publish that total. Tables published with totals in two
or more dimensions (rows *and* columns) need a proper solver (e.g. tau-Argus): suppressing along one
dimension can leave a cell derivable along the other. Results are not protected against differencing between
two exports of overlapping populations (this month's table minus last month's).

Geography (`generalise_geo`). Publication is at country level: an ISO 3166-1 alpha-2 code (or `XX`, the
codebook's unknown/online locus) is kept, upper-cased; an ISO 3166-2 code ("UZ-TK") is cut to its country.
Sub-national levels (`admin1`, `region`) and `none` give None: this module never publishes a location finer
than a country; a project that decides otherwise must do so in reviewed code.

Free text (`strip_free_text`). Rows are filtered by an *allowlist* of column names: anything not named
(summaries, notes, verbatim date or place phrases, new columns added later) is dropped. A denylist would leak
every free-text column added after it was written.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from collections.abc import Hashable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar

KEY_BYTES: Final = 32
ID_CHARS: Final = 12
DEFAULT_K: Final = 5

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ExportKeys:
    """The secret of one export: a random key for keyed ids. Never store, log or reuse it."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("an export key needs at least 16 bytes")

    @classmethod
    def fresh(cls) -> ExportKeys:
        """A new random key (256 bits from `secrets`), one per export."""
        return cls(secrets.token_bytes(KEY_BYTES))

    def id(self, kind: str, value: uuid.UUID | str) -> str:
        """`keyed_id(self, kind, value)`."""
        return keyed_id(self, kind, value)


_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base 32, lower case
_BASE32_PAIRS: Final = tuple(first + second for first in _BASE32 for second in _BASE32)


def keyed_id(key: ExportKeys, kind: str, value: uuid.UUID | str) -> str:
    """A short id for `value` as a `kind`: stable under one key, unlinkable across keys (12 base-32 chars)."""
    if not _KIND.match(kind):
        raise ValueError(f"bad id kind {kind!r}")
    canonical = str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    mac = hmac.digest(key.key, f"{kind}\x00{canonical}".encode(), "sha256")
    # The first 12 base-32 characters of the MAC are its first 60 bits, 5 bits a character: read them as one
    # integer and spell it two characters (10 bits) at a time. Same result as `b32encode(mac)[:12].lower()`
    # (tests/exports/test_deidentify.py) at a fraction of the cost: exports key hundreds of thousands of ids.
    bits = int.from_bytes(mac[:8], "big") >> 4
    pairs = _BASE32_PAIRS
    return (
        pairs[bits >> 50]
        + pairs[(bits >> 40) & 1023]
        + pairs[(bits >> 30) & 1023]
        + pairs[(bits >> 20) & 1023]
        + pairs[(bits >> 10) & 1023]
        + pairs[bits & 1023]
    )


def suppress_small_cells(
    rows: Sequence[Mapping[str, V]],
    count_field: str,
    k: int = DEFAULT_K,
    *,
    group_by: Sequence[str] = (),
    secondary: bool = True,
    as_label: bool = True,
) -> list[dict[str, V | str | None]]:
    """Copies of `rows` with counts 1..k-1 (and complementary cells, see the module docstring) suppressed.

    A suppressed count becomes `"<k"` (such as `"<5"`), or None with `as_label=False`. Counts must be ints
    (None counts are left as they are). The input rows are not changed.
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    counts: list[int | None] = []
    for row in rows:
        value = row.get(count_field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise TypeError(f"{count_field} must be a non-negative int, not {value!r}")
        counts.append(value)
    hidden = {i for i, c in enumerate(counts) if c is not None and 1 <= c < k}
    if secondary:
        groups: dict[tuple[Hashable, ...], list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault(tuple(row.get(name) for name in group_by), []).append(i)
        for members in groups.values():
            _complement(members, counts, hidden, k)
    marker: str | None = f"<{k}" if as_label else None
    result: list[dict[str, V | str | None]] = []
    for i, row in enumerate(rows):
        copy: dict[str, V | str | None] = dict(row)
        if i in hidden:
            copy[count_field] = marker
        result.append(copy)
    return result


def _complement(members: list[int], counts: list[int | None], hidden: set[int], k: int) -> None:
    """Suppress more cells of one group until no suppressed cell is alone and their sum is at least k."""
    while True:
        suppressed = [i for i in members if i in hidden]
        if not suppressed:
            return
        total = sum(counts[i] or 0 for i in suppressed)
        if len(suppressed) >= 2 and total >= k:
            return
        open_cells = [i for i in members if i not in hidden and (counts[i] or 0) > 0]
        if not open_cells:
            return  # nothing left to hide behind: see the limits in the module docstring
        hidden.add(min(open_cells, key=lambda i: (counts[i] or 0, i)))


GeoLevel = Literal["country", "admin1", "region", "none"]
_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_ISO3166_2 = re.compile(r"^([A-Za-z]{2})-[A-Za-z0-9]{1,3}$")


def generalise_geo(code: str | None, level: GeoLevel) -> str | None:
    """The publishable form of a location code: its ISO2 country at `country` level, otherwise None."""
    if code is None or level != "country":
        if level not in ("country", "admin1", "region", "none"):
            raise ValueError(f"unknown geography level {level!r}")
        return None
    code = code.strip()
    if _ISO2.match(code):
        return code.upper()
    subdivision = _ISO3166_2.match(code)
    if subdivision is not None:
        return subdivision.group(1).upper()
    raise ValueError(f"not an ISO 3166 country or subdivision code: {code!r}")


def strip_free_text(row: Mapping[str, V], allowed: Set[str]) -> dict[str, V]:
    """Only the columns named in `allowed` (in the row's order); everything else is dropped."""
    return {name: value for name, value in row.items() if name in allowed}
