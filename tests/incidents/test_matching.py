"""Incident matching between two coders, detection scores and per-field alpha, against hand computations."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.coding.agreement import krippendorff_alpha
from app.incidents.matching import (
    DEFAULT_FIELDS,
    IncidentFacts,
    IncidentPair,
    compare,
    field_agreement,
    field_alpha,
    is_candidate,
    match_incidents,
    overlap_score,
    precision_recall_f1,
    windows_overlap,
)


def _inc(
    id: str,
    target: str = "p1",
    family: str = "DETENTION",
    lo: str | None = "2016-01-01",
    hi: str | None = "2016-12-31",
    *,
    tactic: str = "S2_DETENTION_ON_REQUEST",
    **fields: str | None,
) -> IncidentFacts:
    return IncidentFacts(
        id=id,
        target=target,
        tactic=tactic,
        family=family,
        onset_min=None if lo is None else date.fromisoformat(lo),
        onset_max=None if hi is None else date.fromisoformat(hi),
        fields=fields,
    )


def _ids(pairs: list[IncidentPair]) -> list[tuple[str, str]]:
    return [(pair.a.id, pair.b.id) for pair in pairs]


def test_windows_overlap_on_a_shared_day_and_open_bounds_overlap_everything() -> None:
    a = _inc("a", lo="2016-01-01", hi="2016-03-01")
    assert windows_overlap(a, _inc("b", lo="2016-03-01", hi="2016-05-01"))
    assert not windows_overlap(a, _inc("b", lo="2016-03-02", hi="2016-05-01"))
    assert windows_overlap(a, _inc("b", lo=None, hi=None))
    assert windows_overlap(a, _inc("b", lo=None, hi="2016-01-01"))
    assert not windows_overlap(a, _inc("b", lo="2017-01-01", hi=None))


def test_overlap_score_is_intersection_over_union_in_days() -> None:
    a = _inc("a", lo="2016-03-01", hi="2016-03-31")  # 31 days
    b = _inc("b", lo="2016-03-17", hi="2016-04-15")  # 30 days, 15 shared, union 46
    assert overlap_score(a, b) == Fraction(15, 46)
    assert overlap_score(a, a) == 1
    assert overlap_score(a, _inc("c", lo=None, hi=None)) == 0
    assert overlap_score(a, _inc("d", lo="2017-01-01", hi="2017-01-02")) == 0


def test_candidates_need_same_target_family_and_overlap() -> None:
    a = _inc("a")
    assert is_candidate(a, _inc("b", tactic="S2_DETENTION_IMMIGRATION"))  # same family, other tactic
    assert not is_candidate(a, _inc("b", target="p2"))
    assert not is_candidate(a, _inc("b", family="THREAT"))
    assert not is_candidate(a, _inc("b", lo="2017-01-01", hi="2017-12-31"))


def test_greedy_matching_takes_the_best_overlap_first_and_is_one_to_one() -> None:
    # A1 overlaps B1 a little and B2 exactly; A2 overlaps only B1.
    a = [_inc("A1", lo="2016-03-01", hi="2016-03-31"), _inc("A2", lo="2016-01-01", hi="2016-02-29")]
    b = [_inc("B1", lo="2016-02-01", hi="2016-03-05"), _inc("B2", lo="2016-03-01", hi="2016-03-31")]
    pairs = match_incidents(a, b)
    assert _ids(pairs) == [("A1", "B2"), ("A2", "B1")]
    assert pairs[0].score == 1.0
    assert pairs[1].score == pytest.approx(29 / 65)  # Feb 1-29 shared; Jan 1-Mar 5 in all


def test_matching_keeps_targets_and_families_apart() -> None:
    a = [_inc("A1", target="p1"), _inc("A2", target="p2"), _inc("A3", family="THREAT")]
    b = [_inc("B1", target="p2"), _inc("B2", family="THREAT"), _inc("B3", target="p3")]
    assert sorted(_ids(match_incidents(a, b))) == [("A2", "B1"), ("A3", "B2")]


def test_hand_computed_precision_recall_f1() -> None:
    # A: 4 incidents, B: 3, 2 matched -> precision 2/3, recall 2/4, F1 4/7
    a = [_inc("A1"), _inc("A2", target="p2"), _inc("A3", target="p3"), _inc("A4", target="p4")]
    b = [_inc("B1"), _inc("B2", target="p2"), _inc("B3", target="p9")]
    pairs = match_incidents(a, b)
    scores = precision_recall_f1(a, b, pairs)
    assert (scores.matched, scores.only_a, scores.only_b) == (2, 2, 1)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(4 / 7)


def test_empty_lists() -> None:
    assert precision_recall_f1([], [], []).f1 is None
    one_sided = precision_recall_f1([_inc("A1")], [], [])
    assert (one_sided.precision, one_sided.recall, one_sided.f1) == (None, 0.0, 0.0)


def test_matches_that_cannot_be_pairs_of_the_lists_are_refused() -> None:
    a = [_inc("A1")]
    with pytest.raises(ValueError, match="one-to-one"):
        precision_recall_f1(a, [], [IncidentPair(a[0], a[0], 1.0)])


def test_field_alpha_hand_computed() -> None:
    # Four matched pairs on completion_status: values (c,c), (c,c), (a,c), (a,a).
    # Coincidences: c-c 4, a-a 2, a-c 1, c-a 1; n = 8, n_c = 5, n_a = 3.
    # alpha = 1 - (n-1) * D_o / D_e = 1 - 7 * 2 / (64 - 25 - 9) = 1 - 14/30 = 8/15.
    pairs = [
        IncidentPair(_inc("A1", completion_status="c"), _inc("B1", completion_status="c"), 1.0),
        IncidentPair(_inc("A2", completion_status="c"), _inc("B2", completion_status="c"), 1.0),
        IncidentPair(_inc("A3", completion_status="a"), _inc("B3", completion_status="c"), 1.0),
        IncidentPair(_inc("A4", completion_status="a"), _inc("B4", completion_status="a"), 1.0),
    ]
    assert field_alpha(pairs, "completion_status") == pytest.approx(8 / 15)
    summary = field_agreement(pairs, "completion_status")
    assert (summary.n, summary.percent) == (4, 0.75)


def test_field_alpha_reads_attributes_and_treats_missing_values_as_missing() -> None:
    pairs = [
        IncidentPair(_inc("A1", tactic="X"), _inc("B1", tactic="X"), 1.0),
        IncidentPair(_inc("A2", tactic="Y"), _inc("B2", tactic="Y"), 1.0),
        IncidentPair(_inc("A3", stage=None), _inc("B3", stage="2"), 1.0),
    ]
    assert field_alpha(pairs, "tactic") == pytest.approx(
        krippendorff_alpha([("X", "X"), ("Y", "Y"), ("S2_DETENTION_ON_REQUEST",) * 2])
    )
    assert field_alpha(pairs, "stage") is None  # only one coded value: undefined
    assert field_alpha(pairs, "not_a_field") is None
    assert field_alpha([], "tactic") is None


def test_perfect_agreement_on_one_value_is_undefined_not_one() -> None:
    pairs = [IncidentPair(_inc(f"A{i}", stage="2"), _inc(f"B{i}", stage="2"), 1.0) for i in range(3)]
    assert field_alpha(pairs, "stage") is None
    assert field_agreement(pairs, "stage").percent == 1.0


def test_compare_reports_every_default_field() -> None:
    a = [_inc("A1", stage="2"), _inc("A2", target="p2", stage="1")]
    result = compare(a, a)
    assert result.detection.f1 == 1.0
    assert [f.field for f in result.fields] == list(DEFAULT_FIELDS)
    assert next(f for f in result.fields if f.field == "stage").alpha == 1.0


def test_inverted_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        _inc("A1", lo="2016-02-01", hi="2016-01-01")


# ---- properties --------------------------------------------------------------------------------------------

_BASE = date(2015, 1, 1)


@st.composite
def _incidents(draw: st.DrawFn, prefix: str) -> list[IncidentFacts]:
    items = []
    for index in range(draw(st.integers(min_value=0, max_value=6))):
        start = draw(st.integers(min_value=0, max_value=400))
        length = draw(st.integers(min_value=0, max_value=200))
        dated = draw(st.booleans()) or index % 3
        items.append(
            IncidentFacts(
                id=f"{prefix}{index}",
                target=draw(st.sampled_from(["p1", "p2"])),
                tactic="T",
                family=draw(st.sampled_from(["F1", "F2"])),
                onset_min=_BASE + timedelta(days=start) if dated else None,
                onset_max=_BASE + timedelta(days=start + length) if dated else None,
                fields={"stage": draw(st.sampled_from(["1", "2", "3", None]))},
            )
        )
    return items


@given(a=_incidents("A"), b=_incidents("B"))
def test_f1_is_symmetric_and_matching_mirrors(a: list[IncidentFacts], b: list[IncidentFacts]) -> None:
    forward = match_incidents(a, b)
    backward = match_incidents(b, a)
    assert sorted(_ids(forward)) == sorted((pair.b.id, pair.a.id) for pair in backward)
    assert precision_recall_f1(a, b, forward).f1 == precision_recall_f1(b, a, backward).f1
    ab, ba = precision_recall_f1(a, b, forward), precision_recall_f1(b, a, backward)
    assert (ab.precision, ab.recall) == (ba.recall, ba.precision)


@given(a=_incidents("A"), b=_incidents("B"))
def test_matches_are_one_to_one_candidates(a: list[IncidentFacts], b: list[IncidentFacts]) -> None:
    pairs = match_incidents(a, b)
    assert len({pair.a.id for pair in pairs}) == len(pairs) == len({pair.b.id for pair in pairs})
    assert all(is_candidate(pair.a, pair.b) for pair in pairs)
    scores = precision_recall_f1(a, b, pairs)
    for value in (scores.precision, scores.recall, scores.f1):
        assert value is None or 0.0 <= value <= 1.0


@given(a=_incidents("A"))
def test_perfect_agreement_scores_one(a: list[IncidentFacts]) -> None:
    copy = [
        IncidentFacts(f"B{i.id}", i.target, i.tactic, i.family, i.onset_min, i.onset_max, i.fields) for i in a
    ]
    pairs = match_incidents(a, copy)
    scores = precision_recall_f1(a, copy, pairs)
    if a:
        assert scores.f1 == scores.precision == scores.recall == 1.0
    alpha = field_alpha(pairs, "stage")
    assert alpha is None or alpha == 1.0
    stages = {i.fields["stage"] for i in a if i.fields["stage"] is not None}
    if len(stages) >= 2:
        assert all(pair.a.fields == pair.b.fields for pair in pairs)
        assert alpha == 1.0
