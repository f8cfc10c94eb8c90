"""The coding API: span codings, assignments for blind double coding, disagreements and adjudication.

Plain `def` routes (the thread pool); every route declares its action through a permission alias.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.auth.deps import require
from app.auth.policy import Action
from app.coding import service as coding
from app.coding.models import CodingStatus
from app.coding.schemas import (
    AdjudicationCreate,
    AdjudicationRead,
    AssignmentCreate,
    AssignmentDone,
    AssignmentRead,
    CodingCreate,
    CodingCreated,
    CodingRead,
    CodingUpdate,
    DisagreementRead,
    ProvenanceRead,
)
from app.context import Context
from app.deps import reads_only

router = APIRouter(prefix="/api/v1", tags=["coding"])

CodingReader = Annotated[Context, Depends(require(Action.TRANSCRIPT_READ_PSEUDONYMISED))]
Coder = Annotated[Context, Depends(require(Action.CODING_WRITE))]
CodingPlanner = Annotated[Context, Depends(require(Action.CODING_ASSIGN))]
Adjudicator = Annotated[Context, Depends(require(Action.CODING_ADJUDICATE))]


@router.get("/interviews/{interview_id}/codings")
@reads_only
def list_codings(
    ctx: CodingReader, interview_id: uuid.UUID, coder_id: Annotated[uuid.UUID | None, Query()] = None
) -> list[CodingRead]:
    """The interview's active codings (blind double coding: only your own until every coder is done)."""
    return [
        CodingRead.of(item) for item in coding.list_for(ctx, interview_id=interview_id, coder_id=coder_id)
    ]


@router.post("/interviews/{interview_id}/codings", status_code=201)
def create_codings(ctx: Coder, interview_id: uuid.UUID, body: CodingCreate) -> list[CodingCreated]:
    """Apply codes to a span of the latest approved transcript (one coding per code)."""
    made = coding.apply(
        ctx, interview_id=interview_id, start=body.start, end=body.end, code_ids=body.code_ids, memo=body.memo
    )
    return [
        CodingCreated(
            id=row.id,
            code_id=row.code_id,
            start=row.start,
            end=row.end,
            transcript_version_id=row.transcript_version_id,
            codebook_version=row.codebook_version,
        )
        for row in made
    ]


@router.patch("/codings/{coding_id}")
def update_coding(ctx: Coder, coding_id: uuid.UUID, body: CodingUpdate) -> CodingRead:
    """Replace the memo of one of your codings."""
    coding.update_memo(ctx, coding_id=coding_id, memo=body.memo)
    return CodingRead.of(coding.get(ctx, coding_id=coding_id))


@router.delete("/codings/{coding_id}", status_code=204)
def delete_coding(ctx: Coder, coding_id: uuid.UUID) -> Response:
    """Delete one of your codings (an adjudicator may delete any once every coder is done)."""
    coding.delete(ctx, coding_id=coding_id)
    return Response(status_code=204)


@router.get("/codings/{coding_id}/provenance")
@reads_only
def provenance(ctx: CodingReader, coding_id: uuid.UUID) -> ProvenanceRead:
    """Recompute the coding's span hash against the text it points at."""
    return ProvenanceRead(coding_id=coding_id, verified=coding.verify_provenance(ctx, coding_id=coding_id))


@router.post("/interviews/{interview_id}/assignments", status_code=201)
def assign(ctx: CodingPlanner, interview_id: uuid.UUID, body: AssignmentCreate) -> list[AssignmentRead]:
    """Assign coders of the project to the interview (blind by default); returns all its assignments."""
    rows = coding.assign(ctx, interview_id=interview_id, coder_ids=body.coder_ids, blind=body.blind)
    project_id = rows[0].project_id
    wanted = {row.id for row in rows}
    return [
        AssignmentRead.model_validate(item)
        for item in coding.assignments_for(ctx, project_id=project_id)
        if item.id in wanted
    ]


@router.get("/projects/{project_id}/assignments")
@reads_only
def list_assignments(
    ctx: CodingPlanner, project_id: uuid.UUID, coder_id: Annotated[uuid.UUID | None, Query()] = None
) -> list[AssignmentRead]:
    """The project's assignments with progress (optionally one coder's)."""
    return [
        AssignmentRead.model_validate(item)
        for item in coding.assignments_for(ctx, project_id=project_id, coder_id=coder_id)
    ]


@router.post("/interviews/{interview_id}/done")
def mark_done(ctx: Coder, interview_id: uuid.UUID) -> AssignmentDone:
    """Mark your assignment to the interview done: your codings are handed in."""
    row = coding.mark_done(ctx, interview_id=interview_id)
    return AssignmentDone(id=row.id, interview_id=row.interview_id, done_at=row.done_at)


@router.get("/interviews/{interview_id}/disagreements")
@reads_only
def list_disagreements(ctx: Adjudicator, interview_id: uuid.UUID) -> list[DisagreementRead]:
    """Segments where the assigned coders differ on a code (once every coder is done)."""
    return [DisagreementRead.of(item) for item in coding.disagreements(ctx, interview_id=interview_id)]


@router.post("/interviews/{interview_id}/adjudications", status_code=201)
def adjudicate(ctx: Adjudicator, interview_id: uuid.UUID, body: AdjudicationCreate) -> AdjudicationRead:
    """Decide a code on a segment: apply (an adjudicated coding) or reject."""
    row = coding.adjudicate(
        ctx,
        interview_id=interview_id,
        code_id=body.code_id,
        decision=body.decision,
        segment_id=body.segment_id,
        start=body.start,
        end=body.end,
    )
    return AdjudicationRead(
        id=row.id,
        code_id=row.code_id,
        start=row.start,
        end=row.end,
        decision="apply" if row.status == CodingStatus.ACTIVE else "reject",
        adjudicator_id=row.coder_id,
    )


@router.get("/projects/{project_id}/recode")
@reads_only
def recode(ctx: Coder, project_id: uuid.UUID) -> list[CodingRead]:
    """Obsolete codings of the project (their span changed in a newer transcript version)."""
    return [CodingRead.of(item) for item in coding.recode_list(ctx, project_id=project_id)]
