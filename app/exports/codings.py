"""Coding exports: the codings themselves, code frequencies and code co-occurrence, as CSV or XLSX.

`codings` has one row per active coding of the project's approved interviews (the latest approved version
of each), wholly in readable text: codings that touch a withdrawn turn are left out, like the turn itself.
It is de-identified: the interviewee by pseudonym, the quote from the pseudonymised text, coders by a
per-export keyed label (see `app.coding.reports.CoderLabels`) and their role (`coder`, or `adjudicator` for an
adjudicated coding). Memos are free text that may name people and are not exported. Coding and interview ids
are random UUIDs (never derived from content), kept so that rows join with other exports and REFI-QDA files.
The XLSX workbook carries a `dictionary` sheet describing every column; the CSV holds the data table only
(a second table in the same file would break CSV readers): its dictionary is `DICTIONARY` below, shown on the
reports page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.auth.policy import Action
from app.coding import reports
from app.coding.models import CodingOrigin
from app.context import Context
from app.exports import registry
from app.exports.tabular import Cell, Sheet, to_csv, to_xlsx

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

DICTIONARY: list[tuple[str, str]] = [
    ("coding_id", "Random id of the coding (UUID; the same as in REFI-QDA exports)."),
    ("interview_id", "Random id of the interview (UUID)."),
    ("interviewee", "Pseudonym of the interviewee (random, never derived from identity)."),
    ("transcript_version", "Number of the approved transcript version the coding applies to."),
    ("code", "Mnemonic of the code (such as B1)."),
    ("code_name", "Name of the code in the current codebook."),
    ("start", "First code point of the coded span in the version's pseudonymised text (0-based)."),
    ("end", "Code point after the span (exclusive): the span is text[start:end]."),
    ("coder", "Per-export pseudonymous label of the coder (unlinkable to accounts and to other exports)."),
    ("coder_role", "coder (own coding) or adjudicator (result of adjudicating several coders)."),
    ("codebook_version", "Codebook version the coding was made under."),
    ("status", "active: the coding applies to the current approved version."),
    ("quote", "The coded span of the pseudonymised text (text starting with = + - @ is prefixed with ')."),
]
COLUMNS = [name for name, _meaning in DICTIONARY]


def codings_rows(ctx: Context, project_id: uuid.UUID) -> list[list[Cell]]:
    """One row per readable active coding of the project's approved interviews (see the module docstring)."""
    materials = reports.project_materials(ctx, project_id=project_id, action=Action.EXPORT_DEIDENTIFIED)
    codes = {code.id: code for code in reports.code_infos(ctx, project_id=project_id)}
    labels = reports.CoderLabels()
    rows: list[list[Cell]] = []
    for material in materials:
        for coding in material.codings:
            if material.region_of(coding.start, coding.end) is None:
                continue
            code = codes.get(coding.code_id)
            adjudicated = coding.origin == CodingOrigin.ADJUDICATED
            rows.append(
                [
                    str(coding.id),
                    str(material.interview.id),
                    material.pseudonym,
                    material.version.version,
                    code.mnemonic if code else "?",
                    code.name if code else "",
                    coding.start,
                    coding.end,
                    labels(coding.coder_id),
                    "adjudicator" if adjudicated else "coder",
                    coding.codebook_version,
                    coding.status,
                    material.text(ctx)[coding.start : coding.end],
                ]
            )
    return rows


def codings_csv(ctx: Context, project_id: uuid.UUID) -> bytes:
    """The codings table as CSV."""
    return to_csv(codings_rows(ctx, project_id), COLUMNS)


def codings_xlsx(ctx: Context, project_id: uuid.UUID) -> bytes:
    """The codings table and its data dictionary as an XLSX workbook."""
    return to_xlsx(
        [
            Sheet("codings", COLUMNS, codings_rows(ctx, project_id)),
            Sheet("dictionary", ["column", "meaning"], [list(item) for item in DICTIONARY]),
        ]
    )


# ---- reports as tables -------------------------------------------------------------------------------------


def frequency_sheets(report: reports.FrequencyReport) -> list[Sheet]:
    """Three tables: totals per code, per code and interview, per code and author."""
    totals: list[list[Cell]] = [[c.mnemonic, c.name, report.totals.get(c.id, 0)] for c in report.codes]
    by_interview: list[list[Cell]] = [
        [c.mnemonic, str(interview_id), pseudonym, report.by_interview.get((c.id, interview_id), 0)]
        for c in report.codes
        for interview_id, pseudonym in report.interviews
    ]
    by_author: list[list[Cell]] = [
        [c.mnemonic, label, report.by_author.get((c.id, key), 0)]
        for c in report.codes
        for key, label in report.authors
    ]
    return [
        Sheet("totals", ["code", "code_name", "codings"], totals),
        Sheet("by_interview", ["code", "interview_id", "interviewee", "codings"], by_interview),
        Sheet("by_coder", ["code", "coder", "codings"], by_author),
    ]


def frequency_csv_rows(report: reports.FrequencyReport) -> tuple[list[str], list[list[Cell]]]:
    """The frequencies as one long table (CSV): a row per code and breakdown."""
    rows: list[list[Cell]] = []
    for code in report.codes:
        rows.append([code.mnemonic, code.name, "total", "", report.totals.get(code.id, 0)])
        for interview_id, pseudonym in report.interviews:
            count = report.by_interview.get((code.id, interview_id), 0)
            rows.append([code.mnemonic, code.name, "interview", f"{pseudonym} {interview_id}", count])
        for key, label in report.authors:
            rows.append([code.mnemonic, code.name, "coder", label, report.by_author.get((code.id, key), 0)])
    return ["code", "code_name", "breakdown", "of", "codings"], rows


def cooccurrence_table(report: reports.CooccurrenceReport) -> tuple[list[str], list[list[Cell]]]:
    """The co-occurrence matrix: a row per code, a column per code."""
    columns = ["code", *[code.mnemonic for code in report.codes]]
    rows: list[list[Cell]] = [
        [first.mnemonic, *[report.counts.get((first.id, second.id), 0) for second in report.codes]]
        for first in report.codes
    ]
    return columns, rows


SEGMENT_COLUMNS = [
    "coding_id",
    "interview_id",
    "interviewee",
    "transcript_version",
    "coder",
    "origin",
    "start",
    "end",
    "before",
    "quote",
    "after",
]


def coded_segment_rows(report: reports.CodedSegmentsReport) -> list[list[Cell]]:
    """A row per coded segment with its pseudonymised context."""
    return [
        [
            str(s.coding_id),
            str(s.interview_id),
            s.interviewee_pseudonym,
            s.version,
            s.author,
            s.origin,
            s.start,
            s.end,
            s.before,
            s.quote,
            s.after,
        ]
        for s in report.segments
    ]


def tables_as(fmt: str, sheets: Sequence[Sheet]) -> bytes:
    """Sheets as an XLSX workbook, or the first sheet as CSV."""
    if fmt == "xlsx":
        return to_xlsx(sheets)
    return to_csv(sheets[0].rows, sheets[0].columns)


def _frequencies(fmt: str) -> registry.Exporter:
    def export(ctx: Context, project_id: uuid.UUID) -> bytes:
        report = reports.frequencies(
            ctx, project_id=project_id, anonymous_coders=True, action=Action.EXPORT_DEIDENTIFIED, audit=False
        )
        if fmt == "csv":
            columns, rows = frequency_csv_rows(report)
            return to_csv(rows, columns)
        return to_xlsx(frequency_sheets(report))

    return export


def _cooccurrence(fmt: str) -> registry.Exporter:
    def export(ctx: Context, project_id: uuid.UUID) -> bytes:
        report = reports.cooccurrence(
            ctx, project_id=project_id, action=Action.EXPORT_DEIDENTIFIED, audit=False
        )
        columns, rows = cooccurrence_table(report)
        return tables_as(fmt, [Sheet("cooccurrence", columns, rows)])

    return export


registry.register(
    "codings", "csv", codings_csv, media_type=CSV, description="One row per coding (de-identified; no memos)."
)
registry.register(
    "codings", "xlsx", codings_xlsx, media_type=XLSX, description="Codings and a data dictionary sheet."
)
for _fmt, _media in (("csv", CSV), ("xlsx", XLSX)):
    registry.register(
        "code-frequencies",
        _fmt,
        _frequencies(_fmt),
        media_type=_media,
        description="How often each code was applied: total, per interview, per coder.",
    )
    registry.register(
        "code-cooccurrence",
        _fmt,
        _cooccurrence(_fmt),
        media_type=_media,
        description="Overlapping codings of two codes by the same author.",
    )
