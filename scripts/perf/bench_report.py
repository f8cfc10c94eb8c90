"""Rows of the benchmark table: a figure, its same-run baseline, the ratio and the verdict."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the table. `ratio` is the figure over its baseline (see `meaning`)."""

    item: str
    name: str
    figure: str
    baseline: str
    ratio: float
    budget: str
    status: str  # PASS, MISS or INFO (no budget)
    note: str = ""


def at_least(ratio: float, floor: float) -> str:
    """PASS when the ratio reaches the floor."""
    return "PASS" if ratio >= floor else "MISS"


def at_most(ratio: float, ceiling: float) -> str:
    """PASS when the ratio stays under the ceiling."""
    return "PASS" if ratio <= ceiling else "MISS"


def median(values: Sequence[float]) -> float:
    """The median (one value: itself)."""
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width text table (Markdown-compatible)."""
    header = ("#", "measure", "Harbour", "baseline", "ratio", "budget", "result")
    body = [(r.item, r.name, r.figure, r.baseline, f"{r.ratio:.2f}", r.budget, r.status) for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    out = [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    out += [line(cells) for cells in body]
    notes = [f"- {r.item} {r.name}: {r.note}" for r in rows if r.note]
    return "\n".join(out + ([""] + notes if notes else []))
