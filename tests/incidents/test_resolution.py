"""CODEBOOK.md 5.4 date rules on mention windows, and the tactic -> stage lookup."""

from __future__ import annotations

import uuid
from datetime import date

from app.incidents import vocab
from app.incidents.models import IncidentMention
from app.incidents.service import resolve_window


def _m(
    lo: str, hi: str, *, hedged: bool = False, corrected: bool = False, precision: str = "month"
) -> IncidentMention:
    return IncidentMention(
        id=uuid.uuid4(),
        onset_min=date.fromisoformat(lo),
        onset_max=date.fromisoformat(hi),
        onset_precision=precision,
        onset_hedged=hedged,
        self_correction=corrected,
    )


def test_overlapping_windows_take_the_tightest_unhedged_one() -> None:
    year = _m("2016-01-01", "2016-12-31", precision="year")
    month = _m("2016-03-01", "2016-03-31")
    window = resolve_window([year, month])
    assert (window.onset_min, window.onset_max, window.precision, window.conflict) == (
        date(2016, 3, 1),
        date(2016, 3, 31),
        "month",
        False,
    )


def test_hedged_mentions_never_narrow() -> None:
    year = _m("2016-01-01", "2016-12-31", precision="year")
    hedged = _m("2016-03-01", "2016-03-31", hedged=True)
    window = resolve_window([year, hedged])
    assert (window.onset_min, window.onset_max) == (date(2016, 1, 1), date(2016, 12, 31))


def test_disjoint_windows_union_unless_self_corrected() -> None:
    march, october = _m("2016-03-01", "2016-03-31"), _m("2016-10-01", "2016-10-31")
    union = resolve_window([march, october])
    assert (union.onset_min, union.onset_max, union.conflict) == (date(2016, 3, 1), date(2016, 10, 31), True)
    october.self_correction = True
    fixed = resolve_window([march, october])
    assert (fixed.onset_min, fixed.onset_max, fixed.conflict) == (date(2016, 10, 1), date(2016, 10, 31), True)


def test_no_dates_is_unknown_and_stages_follow_v1() -> None:
    assert resolve_window([]).precision == "unknown"
    assert vocab.TACTIC_STAGE["S1_INTERPOL"] == 1
    assert vocab.TACTIC_STAGE["S2_DETENTION_ON_REQUEST"] == 2
    assert vocab.TACTIC_STAGE["S3_RENDITION"] == 3
