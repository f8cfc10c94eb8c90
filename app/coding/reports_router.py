"""The coding-report API: agreement of coders, code frequencies, co-occurrence and coded segments."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from app.auth.deps import require
from app.auth.policy import Action
from app.coding import agreement, reports
from app.context import Context
from app.deps import reads_only
from app.exports import codings as coding_exports
from app.exports.router import download
from app.exports.tabular import Sheet

router = APIRouter(prefix="/api/v1", tags=["coding reports"])

CodingWriter = Annotated[Context, Depends(require(Action.CODING_WRITE))]
Exporter = Annotated[Context, Depends(require(Action.EXPORT_DEIDENTIFIED))]
CoderIds = Annotated[list[uuid.UUID] | None, Query(alias="coder_id", max_length=reports.MAX_CODERS)]
Format = Annotated[Literal["csv", "xlsx"], Query(alias="format")]


class AgreementOut(BaseModel):
    """Agreement on one code (`code` null: all codes pooled) in one kind of unit; null: undefined."""

    unit: str
    code: str | None
    n: int
    coders: int
    percent: float | None
    kappa: float | None
    alpha: float | None


class CodeOut(BaseModel):
    """A code as reports show it."""

    id: uuid.UUID
    mnemonic: str
    name: str


class AgreementReportOut(BaseModel):
    """Agreement of the assigned coders, per code and overall, at segment and at character level."""

    project_id: uuid.UUID
    interview_ids: list[uuid.UUID]
    coder_ids: list[uuid.UUID]
    codes: list[CodeOut]
    results: list[AgreementOut]


class CountOut(BaseModel):
    """How many codings of a code, overall or within one interview or by one author."""

    code_id: uuid.UUID
    of: str
    codings: int


class FrequencyOut(BaseModel):
    """Code frequencies: totals, per interview (`of`: its id), per author (`of`: username/adjudicated)."""

    project_id: uuid.UUID
    codes: list[CodeOut]
    totals: list[CountOut]
    by_interview: list[CountOut]
    by_coder: list[CountOut]


class PairOut(BaseModel):
    """Overlapping codings of two codes by the same author."""

    code_id: uuid.UUID
    other_code_id: uuid.UUID
    count: int


class CooccurrenceOut(BaseModel):
    """The non-zero cells of the co-occurrence matrix (diagonal: codings of the code)."""

    project_id: uuid.UUID
    codes: list[CodeOut]
    pairs: list[PairOut]


class CodedSegmentOut(BaseModel):
    """One coding of the code with pseudonymised context."""

    coding_id: uuid.UUID
    interview_id: uuid.UUID
    interviewee_pseudonym: str
    version: int
    author: str
    origin: str
    start: int
    end: int
    before: str
    quote: str
    after: str


class CodedSegmentsOut(BaseModel):
    """Every readable coding of one code."""

    project_id: uuid.UUID
    code: CodeOut
    segments: list[CodedSegmentOut]


def _code(info: reports.CodeInfo) -> CodeOut:
    return CodeOut(id=info.id, mnemonic=info.mnemonic, name=info.name)


def _result(result: agreement.Agreement) -> AgreementOut:
    return AgreementOut(
        unit=result.unit,
        code=result.code,
        n=result.n,
        coders=result.coders,
        percent=result.percent,
        kappa=result.kappa,
        alpha=result.alpha,
    )


def agreement_out(report: reports.AgreementReport) -> AgreementReportOut:
    """Serialise an agreement report."""
    return AgreementReportOut(
        project_id=report.project_id,
        interview_ids=report.interview_ids,
        coder_ids=report.coder_ids,
        codes=[_code(code) for code in report.codes],
        results=[_result(result) for result in report.rows],
    )


@router.get("/interviews/{interview_id}/agreement")
@reads_only
def interview_agreement(
    ctx: CodingWriter, interview_id: uuid.UUID, coder_ids: CoderIds = None
) -> AgreementReportOut:
    """Agreement of the coders assigned to one approved interview (optionally only some of them)."""
    return agreement_out(reports.agreement_report(ctx, interview_id=interview_id, coder_ids=coder_ids))


@router.get("/projects/{project_id}/agreement")
@reads_only
def project_agreement(
    ctx: CodingWriter, project_id: uuid.UUID, coder_ids: CoderIds = None
) -> AgreementReportOut:
    """Agreement of the assigned coders over every approved interview of a project."""
    return agreement_out(reports.agreement_report(ctx, project_id=project_id, coder_ids=coder_ids))


@router.get("/projects/{project_id}/reports/frequencies")
@reads_only
def code_frequencies(ctx: CodingWriter, project_id: uuid.UUID) -> FrequencyOut:
    """How often each code was applied: in total, per interview and per coder."""
    report = reports.frequencies(ctx, project_id=project_id)
    labels = dict(report.authors)
    return FrequencyOut(
        project_id=project_id,
        codes=[_code(code) for code in report.codes],
        totals=[CountOut(code_id=code, of="total", codings=n) for code, n in report.totals.items()],
        by_interview=[
            CountOut(code_id=code, of=str(interview), codings=n)
            for (code, interview), n in report.by_interview.items()
        ],
        by_coder=[
            CountOut(code_id=code, of=labels[key], codings=n) for (code, key), n in report.by_author.items()
        ],
    )


@router.get("/projects/{project_id}/reports/cooccurrence")
@reads_only
def code_cooccurrence(ctx: CodingWriter, project_id: uuid.UUID) -> CooccurrenceOut:
    """Pairs of codes whose codings overlap (same author), with counts."""
    report = reports.cooccurrence(ctx, project_id=project_id)
    return CooccurrenceOut(
        project_id=project_id,
        codes=[_code(code) for code in report.codes],
        pairs=[PairOut(code_id=a, other_code_id=b, count=n) for (a, b), n in sorted(report.counts.items())],
    )


@router.get("/projects/{project_id}/reports/codes/{code_id}/segments")
@reads_only
def coded_segments(ctx: CodingWriter, project_id: uuid.UUID, code_id: uuid.UUID) -> CodedSegmentsOut:
    """Every coded segment of a code, with pseudonymised context (never withdrawn turns)."""
    report = reports.coded_segments(ctx, project_id=project_id, code_id=code_id)
    return CodedSegmentsOut(
        project_id=project_id,
        code=_code(report.code),
        segments=[CodedSegmentOut.model_validate(s, from_attributes=True) for s in report.segments],
    )


@router.get(
    "/projects/{project_id}/reports/codes/{code_id}/segments/download",
    response_class=Response,
    responses={
        200: {
            "description": "The coded segments as CSV or XLSX.",
            "content": {"text/csv": {}, coding_exports.XLSX: {}},
        }
    },
)
@reads_only
def coded_segments_download(
    ctx: Exporter, project_id: uuid.UUID, code_id: uuid.UUID, fmt: Format = "csv"
) -> Response:
    """The coded segments of a code as CSV or XLSX (coders by per-export label; audited)."""
    report = reports.coded_segments(
        ctx,
        project_id=project_id,
        code_id=code_id,
        anonymous_coders=True,
        action=Action.EXPORT_DEIDENTIFIED,
        audit=False,
    )
    rows = coding_exports.coded_segment_rows(report)
    data = coding_exports.tables_as(fmt, [Sheet("coded_segments", coding_exports.SEGMENT_COLUMNS, rows)])
    ctx.audit(
        "export.coded_segments", object_type="code", object_id=code_id, project_id=project_id, reason=fmt
    )
    media = coding_exports.XLSX if fmt == "xlsx" else coding_exports.CSV
    return download(data, media_type=media, filename=f"coded-segments-{report.code.mnemonic}.{fmt}")
