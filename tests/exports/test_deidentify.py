"""De-identification helpers: keyed ids, small-cell suppression, coarse geography and the column allowlist."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.exports.deidentify import (
    ExportKeys,
    generalise_geo,
    keyed_id,
    strip_free_text,
    suppress_small_cells,
)

PERSON = uuid.UUID("3f2b8c1e-0d4a-4b7e-9a51-6c2d8e0f1a2b")
OTHER = uuid.UUID("9a0e6d2c-51f4-4c3b-8e7a-2b1d0c9f8e7a")


# ---- keyed ids ---------------------------------------------------------------------------------------------


def test_keyed_ids_are_short_stable_within_an_export_and_differ_across_exports() -> None:
    first, second = ExportKeys.fresh(), ExportKeys.fresh()
    one = keyed_id(first, "person", PERSON)
    assert len(one) == 12
    assert one.isalnum()
    assert one == one.lower()
    assert keyed_id(first, "person", PERSON) == one
    assert keyed_id(first, "person", str(PERSON).upper()) == one  # any spelling of the UUID
    assert first.id("person", PERSON) == one
    assert keyed_id(second, "person", PERSON) != one
    assert keyed_id(first, "incident", PERSON) != one  # the kind is part of the MAC
    assert keyed_id(first, "person", OTHER) != one


def test_keyed_ids_are_deterministic_for_a_given_key() -> None:
    key = ExportKeys(bytes(range(32)))
    assert keyed_id(key, "person", PERSON) == keyed_id(ExportKeys(bytes(range(32))), "person", PERSON)


def test_the_key_never_shows_in_repr() -> None:
    key = ExportKeys.fresh()
    assert key.key.hex() not in repr(key)
    assert repr(key.key) not in repr(key)


def test_bad_keys_kinds_and_values_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ExportKeys(b"short")
    key = ExportKeys.fresh()
    with pytest.raises(ValueError, match="kind"):
        keyed_id(key, "Person Name", PERSON)
    with pytest.raises(ValueError, match="UUID|badly formed"):
        keyed_id(key, "person", "not-a-uuid")


def test_keyed_ids_keep_their_published_values() -> None:
    # Pinned from the first implementation (b32encode of the whole MAC): faster code must not change ids.
    key = ExportKeys(bytes(range(32)))
    assert keyed_id(key, "person", PERSON) == "gmyjx62exu76"
    assert keyed_id(key, "incident", OTHER) == "kl6v3hybklma"


@given(st.binary(min_size=16, max_size=64), st.sampled_from(["person", "incident", "reprisal"]), st.uuids())
def test_a_keyed_id_is_the_start_of_the_base32_hmac(key: bytes, kind: str, value: uuid.UUID) -> None:
    mac = hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()
    assert keyed_id(ExportKeys(key), kind, value) == base64.b32encode(mac).decode()[:12].lower()


@given(st.lists(st.uuids(), min_size=2, max_size=50, unique=True))
def test_distinct_uuids_get_distinct_ids(values: list[uuid.UUID]) -> None:
    key = ExportKeys(b"k" * 32)
    ids = [keyed_id(key, "person", value) for value in values]
    assert len(set(ids)) == len(ids)


# ---- small cells -------------------------------------------------------------------------------------------


def _counts(rows: list[dict[str, Any]]) -> list[Any]:
    return [row["n"] for row in rows]


def test_primary_suppression_only() -> None:
    rows = [{"country": c, "n": n} for c, n in [("KZ", 0), ("KG", 1), ("TJ", 4), ("TM", 5), ("UZ", 12)]]
    out = suppress_small_cells(rows, "n", secondary=False)
    assert _counts(out) == [0, "<5", "<5", 5, 12]
    assert [row["country"] for row in out] == ["KZ", "KG", "TJ", "TM", "UZ"]
    assert _counts(rows) == [0, 1, 4, 5, 12]  # the input is untouched
    assert _counts(suppress_small_cells(rows, "n", secondary=False, as_label=False)) == [0, None, None, 5, 12]
    assert _counts(suppress_small_cells(rows, "n", k=2, secondary=False)) == [0, "<2", 4, 5, 12]


def test_a_lone_suppressed_cell_gets_a_complement() -> None:
    # Total 30 published: UZ = 30 - 5 - 12 - 10 would reveal 3, so the smallest other cell (5) goes too.
    rows = [{"c": c, "n": n} for c, n in [("KZ", 5), ("KG", 12), ("TJ", 10), ("UZ", 3), ("TM", 0)]]
    assert _counts(suppress_small_cells(rows, "n")) == ["<5", 12, 10, "<5", 0]


def test_suppressed_cells_must_add_up_to_k() -> None:
    # 1 + 2 = 3 < 5: from the total both would be known to be tiny; the next smallest (7) is added.
    rows = [{"n": n} for n in [1, 2, 7, 9, 20]]
    assert _counts(suppress_small_cells(rows, "n")) == ["<5", "<5", "<5", 9, 20]
    # 2 + 4 = 6 >= 5: two cells, enough together
    assert _counts(suppress_small_cells([{"n": n} for n in [2, 4, 7, 9]], "n")) == ["<5", "<5", 7, 9]


def test_secondary_suppression_works_within_each_group() -> None:
    rows = [
        {"year": 2018, "tactic": "threat", "n": 3},
        {"year": 2018, "tactic": "detention", "n": 8},
        {"year": 2018, "tactic": "assault", "n": 6},
        {"year": 2019, "tactic": "threat", "n": 9},
        {"year": 2019, "tactic": "detention", "n": 11},
    ]
    out = suppress_small_cells(rows, "n", group_by=["year"])
    assert _counts(out) == ["<5", 8, "<5", 9, 11]
    # without groups the whole table is one group: 3 is alone, so 6 (the smallest other) goes
    assert _counts(suppress_small_cells(rows, "n")) == ["<5", 8, "<5", 9, 11]


def test_ties_are_broken_by_row_order() -> None:
    assert _counts(suppress_small_cells([{"n": n} for n in [7, 3, 7]], "n")) == ["<5", "<5", 7]


def test_a_group_with_nothing_to_hide_behind_is_left_as_primary() -> None:
    rows = [{"g": "a", "n": 2}, {"g": "a", "n": 0}, {"g": "b", "n": 9}]
    assert _counts(suppress_small_cells(rows, "n", group_by=["g"])) == ["<5", 0, 9]


def test_none_counts_pass_and_bad_counts_are_refused() -> None:
    assert _counts(suppress_small_cells([{"n": None}, {"n": 9}], "n")) == [None, 9]
    with pytest.raises(TypeError, match="non-negative int"):
        suppress_small_cells([{"n": -1}], "n")
    with pytest.raises(TypeError, match="non-negative int"):
        suppress_small_cells([{"n": "3"}], "n")
    with pytest.raises(TypeError, match="non-negative int"):
        suppress_small_cells([{"n": True}], "n")
    with pytest.raises(ValueError, match="k"):
        suppress_small_cells([{"n": 1}], "n", k=1)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(min_value=0, max_value=30)),
        min_size=0,
        max_size=20,
    ),
    st.integers(min_value=2, max_value=10),
)
def test_suppression_properties(cells: list[tuple[str, int]], k: int) -> None:
    rows: list[dict[str, Any]] = [{"g": g, "n": n} for g, n in cells]
    out: list[dict[str, Any]] = suppress_small_cells(rows, "n", k, group_by=["g"])
    marker = f"<{k}"
    for before, after in zip(rows, out, strict=True):
        if 1 <= before["n"] < k:
            assert after["n"] == marker  # every small cell is hidden
        elif after["n"] != marker:
            assert after["n"] == before["n"]  # others are kept as they were
        assert before["n"] != 0 or after["n"] == 0  # zeros are never hidden
    for group in {g for g, _ in cells}:
        members = [(row["n"], o["n"]) for row, o in zip(rows, out, strict=True) if row["g"] == group]
        hidden = [n for n, shown in members if shown == marker]
        open_nonzero = [n for n, shown in members if shown != marker and n > 0]
        if hidden and open_nonzero:
            # protected: never a single hidden cell, and the hidden cells together hold at least k
            assert len(hidden) >= 2
            assert sum(hidden) >= k


# ---- geography and free text -------------------------------------------------------------------------------


def test_country_level_keeps_iso2_only() -> None:
    assert generalise_geo("UZ", "country") == "UZ"
    assert generalise_geo("kz", "country") == "KZ"
    assert generalise_geo("UZ-TK", "country") == "UZ"  # ISO 3166-2 cut to its country
    assert generalise_geo("XX", "country") == "XX"
    assert generalise_geo(None, "country") is None


@pytest.mark.parametrize("level", ["admin1", "region", "none"])
def test_finer_or_no_levels_publish_nothing(level: Any) -> None:
    assert generalise_geo("UZ-TK", level) is None
    assert generalise_geo("UZ", level) is None


def test_bad_geography_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO 3166"):
        generalise_geo("Uzbekistan", "country")
    with pytest.raises(ValueError, match="ISO 3166"):
        generalise_geo("UZ-TK; DROP", "country")
    with pytest.raises(ValueError, match="level"):
        generalise_geo("UZ", "city")  # type: ignore[arg-type]


def test_strip_free_text_keeps_only_allowed_columns_in_order() -> None:
    row = {
        "id": "abc",
        "summary_internal": "met at the café on Rue X",
        "tactic": "S3_ASSAULT",
        "date_text": "after Navruz",
        "year": 2016,
    }
    assert strip_free_text(row, {"year", "tactic", "id", "not_there"}) == {
        "id": "abc",
        "tactic": "S3_ASSAULT",
        "year": 2016,
    }
    assert strip_free_text(row, set()) == {}
    assert "summary_internal" in row  # the input is untouched
