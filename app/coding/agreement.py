"""Inter-coder agreement: percent agreement, Cohen's kappa and Krippendorff's alpha (nominal), in pure Python.

The statistics take *reliability data*: units (rows) by coders (columns), each cell a nominal value or None
when that coder did not judge that unit (missing: for instance a coder not assigned to that interview). To
stay fast on long texts, data is held as a table of distinct rows and their weights (`Tally`): character
level agreement on a 50 KB transcript is a few hundred runs of identical rows, not 50 000 rows. Arithmetic is
exact (integers and fractions) and converted to float at the end.

Definitions (n = the number of *pairable* units: units with values from at least two coders):
- percent agreement: over all pairable units, the share of agreeing coder pairs among all coder pairs
  (for two coders, the share of units on which they agree);
- Cohen's kappa (exactly two coders; units missing either value are left out):
  (p_o - p_e) / (1 - p_e) with p_e from each coder's own marginals. None when undefined: no unit, or
  p_e = 1 (both coders gave one and the same value throughout, so no agreement beyond chance can be shown);
  also None for any number of coders other than two;
- Krippendorff's alpha (nominal, any number of coders, missing values allowed):
  1 - (n - 1) * D_o / D_e from the coincidence matrix, as Krippendorff (2011) "Computing Krippendorff's
  alpha-reliability". None when undefined: fewer than two pairable values (a single coder), or no variation
  at all among the pairable values (every coder gave the same value everywhere: D_e = 0).

Units built from codings (`segment_units`, `character_units`), per code, as presence (1) / absence (0):
- segment level: each non-suppressed segment (speaker turn) is a unit; a coder's value is 1 when one of
  their codings of the code overlaps the segment by at least one code point;
- character level: each code point inside a non-suppressed segment is a unit (the blank lines between turns
  and withdrawn turns are not units); a coder's value is 1 when one of their codings of the code covers it.
A coder given as None for an interview (not assigned to it) is missing for all its units.

Overall figures pool the codes: the per-code tables are stacked, so each (unit, code) pair is one binary
unit. Pooling over many codes that are mostly absent inflates percent agreement (agreeing absences); kappa
and alpha correct for that by chance agreement, which is why all three are reported together.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeAlias

Value: TypeAlias = Hashable
Row: TypeAlias = tuple[Value | None, ...]
Tally: TypeAlias = Counter[Row]
"""Distinct rows of reliability data (one value or None per coder) and how many units have each."""

SEGMENT = "segment"
CHARACTER = "character"


@dataclass(frozen=True, slots=True)
class Agreement:
    """The agreement of some coders on one code (or all codes pooled: `code` None) in one kind of unit."""

    unit: str
    code: str | None
    n: int
    coders: int
    percent: float | None
    kappa: float | None
    alpha: float | None


@dataclass(frozen=True, slots=True)
class Span:
    """One coding as the statistics see it: a code over code points [start, end)."""

    code: str
    start: int
    end: int


def tally(units: Iterable[Sequence[Value | None]] | Mapping[Row, int]) -> Tally:
    """The reliability data as a table of distinct rows and their weights."""
    if isinstance(units, Mapping):
        return Counter({tuple(row): int(weight) for row, weight in units.items() if weight})
    return Counter(tuple(row) for row in units)


def _present(row: Row) -> list[Value]:
    return [value for value in row if value is not None]


def pairable(units: Iterable[Sequence[Value | None]] | Mapping[Row, int]) -> int:
    """How many units hold values from at least two coders."""
    return sum(weight for row, weight in tally(units).items() if len(_present(row)) >= 2)


def percent_agreement(units: Iterable[Sequence[Value | None]] | Mapping[Row, int]) -> float | None:
    """The share of agreeing coder pairs over all pairable units; None when no unit is pairable."""
    pairs = 0
    agreeing = 0
    for row, weight in tally(units).items():
        values = _present(row)
        m = len(values)
        if m < 2:
            continue
        pairs += weight * m * (m - 1) // 2
        agreeing += weight * sum(k * (k - 1) // 2 for k in Counter(values).values())
    return agreeing / pairs if pairs else None


def cohen_kappa(units: Iterable[Sequence[Value | None]] | Mapping[Row, int]) -> float | None:
    """Cohen's kappa of exactly two coders (units missing a value skipped); None when undefined."""
    rows = tally(units)
    if any(len(row) != 2 for row in rows):
        return None
    n = 0
    agree = 0
    first: Counter[Value] = Counter()
    second: Counter[Value] = Counter()
    for (a, b), weight in rows.items():
        if a is None or b is None:
            continue
        n += weight
        agree += weight if a == b else 0
        first[a] += weight
        second[b] += weight
    chance = sum(count * second[value] for value, count in first.items())  # n^2 * p_e
    denominator = n * n - chance
    if n == 0 or denominator == 0:
        return None
    return float(Fraction(n * agree - chance, denominator))


def krippendorff_alpha(units: Iterable[Sequence[Value | None]] | Mapping[Row, int]) -> float | None:
    """Krippendorff's alpha for nominal data with any coders and missing values; None when undefined."""
    coincidences: dict[tuple[Value, Value], Fraction] = {}
    for row, weight in tally(units).items():
        values = _present(row)
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        share = Fraction(weight, m - 1)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    coincidences[(c, k)] = coincidences.get((c, k), Fraction(0)) + share * pairs
    marginals: dict[Value, Fraction] = {}
    for (c, _k), o in coincidences.items():
        marginals[c] = marginals.get(c, Fraction(0)) + o
    n = sum(marginals.values(), Fraction(0))
    if n < 2:
        return None
    observed = n - sum((o for (c, k), o in coincidences.items() if c == k), Fraction(0))
    expected = n * n - sum((m * m for m in marginals.values()), Fraction(0))
    if expected == 0:
        return None
    return float(1 - (n - 1) * observed / expected)


def measure(
    units: Iterable[Sequence[Value | None]] | Mapping[Row, int], *, unit: str, code: str | None
) -> Agreement:
    """All three statistics of one table of reliability data, labelled with its unit and n."""
    rows = tally(units)
    coders = max((len(row) for row in rows), default=0)
    return Agreement(
        unit=unit,
        code=code,
        n=pairable(rows),
        coders=coders,
        percent=percent_agreement(rows),
        kappa=cohen_kappa(rows) if coders == 2 else None,
        alpha=krippendorff_alpha(rows),
    )


def summarise(per_code: Mapping[str, Tally], *, unit: str) -> list[Agreement]:
    """One result per code (in the order given), then the overall result pooled over the codes."""
    results = [measure(rows, unit=unit, code=code) for code, rows in per_code.items()]
    pooled: Tally = Counter()
    for rows in per_code.values():
        pooled.update(rows)
    results.append(measure(pooled, unit=unit, code=None))
    return results


# ---- units from codings ------------------------------------------------------------------------------------


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint, non-empty intervals covering the same code points."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(interval for interval in intervals if interval[1] > interval[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covers(merged: list[tuple[int, int]], starts: list[int], point: int) -> bool:
    index = bisect.bisect_right(starts, point) - 1
    return index >= 0 and merged[index][1] > point


def segment_units(
    segments: Sequence[tuple[int, int]], codings: Sequence[Sequence[Span] | None], codes: Iterable[str]
) -> dict[str, Tally]:
    """Per code, the segment-level table: one row per segment, one column per coder (None: not assigned)."""
    ordered = sorted(segments)
    starts = [start for start, _end in ordered]
    marked: list[dict[str, set[int]] | None] = []
    for spans in codings:
        if spans is None:
            marked.append(None)
            continue
        found: dict[str, set[int]] = {}
        for span in spans:
            if span.end <= span.start:
                continue
            # Segments are disjoint and sorted: walk from the last one starting before the span's end.
            index = bisect.bisect_left(starts, span.end) - 1
            while index >= 0 and ordered[index][1] > span.start:
                if ordered[index][0] < span.end:
                    found.setdefault(span.code, set()).add(index)
                index -= 1
        marked.append(found)
    result: dict[str, Tally] = {}
    for code in codes:
        rows: Tally = Counter()
        for index in range(len(ordered)):
            rows[tuple(None if m is None else int(index in m.get(code, ())) for m in marked)] += 1
        result[code] = rows
    return result


def character_units(
    segments: Sequence[tuple[int, int]], codings: Sequence[Sequence[Span] | None], codes: Iterable[str]
) -> dict[str, Tally]:
    """Per code, the character-level table: one row per code point of the segments, weighted by runs."""
    allowed = _merge(segments)
    allowed_starts = [start for start, _end in allowed]
    result: dict[str, Tally] = {}
    for code in codes:
        covered: list[tuple[list[tuple[int, int]], list[int]] | None] = []
        cuts = {point for interval in allowed for point in interval}
        for spans in codings:
            if spans is None:
                covered.append(None)
                continue
            merged = _merge((span.start, span.end) for span in spans if span.code == code)
            covered.append((merged, [start for start, _end in merged]))
            cuts.update(point for interval in merged for point in interval)
        points = sorted(cuts)
        rows: Tally = Counter()
        for left, right in zip(points, points[1:], strict=False):
            if not _covers(allowed, allowed_starts, left):
                continue
            row = tuple(None if c is None else int(_covers(c[0], c[1], left)) for c in covered)
            rows[row] += right - left
        result[code] = rows
    return result
