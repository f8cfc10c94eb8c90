"""Agreement statistics equal the reference implementations, and their edge cases are defined.

scikit-learn's `cohen_kappa_score` and the `krippendorff` package are test oracles only (krippendorff is GPL:
never imported by app code).
"""

from __future__ import annotations

import math
import random
import warnings
from collections import Counter
from collections.abc import Hashable, Sequence

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from app.coding import agreement
from app.coding.agreement import Span

TOLERANCE = 1e-9


def _oracle_alpha(units: Sequence[Sequence[Hashable | None]]) -> float | None:
    data = np.array([[np.nan if v is None else v for v in unit] for unit in units], dtype=float).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        except ValueError:  # "more than one value in the domain": no variation at all
            return None
    return None if math.isnan(value) else value


def _oracle_kappa(first: list[int], second: list[int]) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(first, second))
    return None if math.isnan(value) else value


def _close(mine: float | None, reference: float | None) -> bool:
    if mine is None or reference is None:
        return mine is None and reference is None
    return abs(mine - reference) <= TOLERANCE


reliability = st.integers(min_value=2, max_value=5).flatmap(
    lambda coders: st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=coders, max_size=coders),
        min_size=1,
        max_size=40,
    )
)
pairs = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(reliability)
def test_alpha_equals_the_krippendorff_package(units: list[list[int | None]]) -> None:
    mine = agreement.krippendorff_alpha(units)
    reference = _oracle_alpha(units) if agreement.pairable(units) else None
    assert _close(mine, reference), (mine, reference)


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_kappa_equals_scikit_learn(units: list[tuple[int, int]]) -> None:
    mine = agreement.cohen_kappa(units)
    reference = _oracle_kappa([a for a, _b in units], [b for _a, b in units])
    assert _close(mine, reference), (mine, reference)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_a_tally_gives_the_same_results_as_the_rows_it_counts(units: list[tuple[int, int]]) -> None:
    counted = Counter(units)
    assert agreement.cohen_kappa(counted) == agreement.cohen_kappa(units)
    assert agreement.krippendorff_alpha(counted) == agreement.krippendorff_alpha(units)
    assert agreement.percent_agreement(counted) == agreement.percent_agreement(units)


def test_percent_agreement_of_two_coders_is_the_share_of_agreeing_units() -> None:
    assert agreement.percent_agreement([(1, 1), (0, 1), (0, 0), (1, None)]) == pytest.approx(2 / 3)


def test_percent_agreement_of_three_coders_averages_the_pairs() -> None:
    # Unit 1: all agree (3 of 3 pairs); unit 2: one pair of 3 agrees.
    assert agreement.percent_agreement([(1, 1, 1), (1, 1, 0)]) == pytest.approx(4 / 6)


def test_perfect_agreement_with_variation_is_one() -> None:
    units = [(1, 1), (0, 0), (1, 1), (0, 0)]
    assert agreement.cohen_kappa(units) == 1.0
    assert agreement.krippendorff_alpha(units) == 1.0
    assert agreement.percent_agreement(units) == 1.0


def test_no_variation_leaves_kappa_and_alpha_undefined() -> None:
    units = [(0, 0)] * 10
    assert agreement.percent_agreement(units) == 1.0
    assert agreement.cohen_kappa(units) is None
    assert agreement.krippendorff_alpha(units) is None


def test_a_single_coder_gives_no_alpha_and_no_percent() -> None:
    units = [(1, None), (0, None), (1, None)]
    assert agreement.krippendorff_alpha(units) is None
    assert agreement.percent_agreement(units) is None
    assert agreement.cohen_kappa(units) is None
    assert agreement.pairable(units) == 0


def test_kappa_is_only_for_two_coders() -> None:
    result = agreement.measure([(1, 1, 0), (0, 0, 0)], unit=agreement.SEGMENT, code="A")
    assert result.kappa is None
    assert result.alpha is not None
    assert (result.n, result.coders) == (2, 3)


def test_systematic_disagreement_gives_negative_statistics() -> None:
    units = [(1, 0), (0, 1)] * 5
    kappa = agreement.cohen_kappa(units)
    alpha = agreement.krippendorff_alpha(units)
    assert kappa is not None
    assert alpha is not None
    assert kappa < 0
    assert alpha < 0


# ---- units -------------------------------------------------------------------------------------------------


def _brute_characters(
    segments: list[tuple[int, int]], codings: list[list[Span] | None], code: str
) -> Counter[tuple[int | None, ...]]:
    rows: Counter[tuple[int | None, ...]] = Counter()
    for start, end in segments:
        for point in range(start, end):
            rows[
                tuple(
                    None
                    if spans is None
                    else int(any(s.code == code and s.start <= point < s.end for s in spans))
                    for spans in codings
                )
            ] += 1
    return rows


def _brute_segments(
    segments: list[tuple[int, int]], codings: list[list[Span] | None], code: str
) -> Counter[tuple[int | None, ...]]:
    rows: Counter[tuple[int | None, ...]] = Counter()
    for start, end in segments:
        rows[
            tuple(
                None
                if spans is None
                else int(any(s.code == code and s.start < min(s.end, end) and s.end > start for s in spans))
                for spans in codings
            )
        ] += 1
    return rows


@st.composite
def coded_text(draw: st.DrawFn) -> tuple[list[tuple[int, int]], list[list[Span] | None]]:
    lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=8))
    segments: list[tuple[int, int]] = []
    position = 0
    for length in lengths:
        if draw(st.booleans()) or not segments:
            segments.append((position, position + length))
        position += length + 2
    spans = st.builds(
        lambda code, a, b: Span(code, min(a, b), max(a, b)),
        st.sampled_from(["A", "B"]),
        st.integers(0, position),
        st.integers(0, position),
    )
    coders = draw(st.lists(st.one_of(st.none(), st.lists(spans, max_size=6)), min_size=1, max_size=4))
    return segments, coders


@settings(max_examples=300, deadline=None)
@given(coded_text())
def test_character_units_equal_one_row_per_code_point(
    case: tuple[list[tuple[int, int]], list[list[Span] | None]],
) -> None:
    segments, codings = case
    built = agreement.character_units(segments, codings, ["A", "B"])
    for code in ("A", "B"):
        assert +built[code] == +_brute_characters(segments, codings, code)


@settings(max_examples=300, deadline=None)
@given(coded_text())
def test_segment_units_equal_one_row_per_segment(
    case: tuple[list[tuple[int, int]], list[list[Span] | None]],
) -> None:
    segments, codings = case
    built = agreement.segment_units(segments, codings, ["A", "B"])
    for code in ("A", "B"):
        assert +built[code] == +_brute_segments(segments, codings, code)


def test_overall_pools_the_codes_as_unit_code_pairs() -> None:
    per_code: dict[str, agreement.Tally] = {"A": Counter({(1, 1): 3, (0, 1): 1}), "B": Counter({(0, 0): 4})}
    results = agreement.summarise(per_code, unit=agreement.CHARACTER)
    assert [r.code for r in results] == ["A", "B", None]
    overall = results[-1]
    assert overall.n == 8
    assert overall.percent == pytest.approx(7 / 8)
    assert _close(overall.alpha, _oracle_alpha([[1, 1]] * 3 + [[0, 1]] + [[0, 0]] * 4))
    assert results[1].kappa is None  # B: no variation


def test_pooled_character_alpha_equals_the_oracle_on_expanded_rows() -> None:
    rng = random.Random(7)
    segments = [(0, 40), (42, 90), (92, 130)]
    codings: list[list[Span] | None] = []
    for _ in range(3):
        spans = []
        for _ in range(6):
            a, b = sorted(rng.sample(range(131), 2))
            spans.append(Span(rng.choice("AB"), a, b))
        codings.append(spans)
    per_code = agreement.character_units(segments, codings, ["A", "B"])
    pooled = agreement.summarise(per_code, unit=agreement.CHARACTER)[-1]
    expanded = [list(row) for code in ("A", "B") for row, w in per_code[code].items() for _ in range(w)]
    assert _close(pooled.alpha, _oracle_alpha(expanded))


def test_agreement_on_a_50_kb_text_with_three_coders_covers_every_code() -> None:
    rng = random.Random(50)
    segments: list[tuple[int, int]] = []
    position = 0
    while position < 50_000:
        length = rng.randint(80, 600)
        segments.append((position, position + length))
        position += length + 2
    codes = [f"C{i}" for i in range(30)]
    codings: list[list[Span] | None] = []
    for _ in range(3):
        spans = []
        for _ in range(600):
            start = rng.randrange(position)
            spans.append(Span(rng.choice(codes), start, start + rng.randint(20, 400)))
        codings.append(spans)
    characters = agreement.summarise(
        agreement.character_units(segments, codings, codes), unit=agreement.CHARACTER
    )
    turns = agreement.summarise(agreement.segment_units(segments, codings, codes), unit=agreement.SEGMENT)
    # Speed is measured by scripts/bench, not asserted here.
    assert len(characters) == len(turns) == len(codes) + 1
    assert all(summary.n > 0 for summary in characters)
