"""The incident API: mentions (drafted from codings, completed by coders), incidents, reprisals, views."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.policy import Action
from app.context import Context
from app.incidents import service as incidents
from app.incidents.models import FamilyReprisalEvent, Incident, IncidentLink, IncidentMention

router = APIRouter(prefix="/api/v1", tags=["incidents"])

IncidentWriter = Annotated[Context, Depends(require(Action.INCIDENT_WRITE))]


class MentionOut(BaseModel):
    """A mention (no free text: the sealed onset phrase is read on its own route)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    project_id: uuid.UUID
    interview_id: uuid.UUID
    coding_id: uuid.UUID
    code_id: uuid.UUID
    kind: str
    tactic: str | None
    reprisal_type: str | None
    stage: int | None
    target_person_id: uuid.UUID | None
    relative_person_id: uuid.UUID | None
    origin_state: str | None
    onset_min: date | None
    onset_max: date | None
    onset_precision: str
    onset_basis: str | None
    onset_hedged: bool
    self_correction: bool
    locus_state: str | None
    residence_state: str | None
    completion_status: str | None
    perpetrator_type: str | None
    host_cooperation: str | None
    legal_instrument: str | None
    outcome: str | None
    occurrence_confidence: str | None
    attribution_confidence: str | None
    evidence_basis: str
    is_repeat_mention: bool
    status: str
    incident_id: uuid.UUID | None
    reprisal_id: uuid.UUID | None
    coder_id: uuid.UUID
    created_at: datetime


class MentionBody(BaseModel):
    """Fields to complete or correct on a mention (vocabulary terms; 422 on anything else)."""

    model_config = ConfigDict(extra="forbid")
    tactic: str | None = Field(default=None, max_length=64)
    reprisal_type: str | None = Field(default=None, max_length=64)
    target_person_id: uuid.UUID | None = None
    relative_person_id: uuid.UUID | None = None
    origin_state: str | None = Field(default=None, max_length=2)
    onset_phrase: str | None = Field(default=None, max_length=500)
    onset_min: date | None = None
    onset_max: date | None = None
    onset_precision: str | None = Field(default=None, max_length=16)
    onset_basis: str | None = Field(default=None, max_length=32)
    onset_hedged: bool | None = None
    self_correction: bool | None = None
    locus_state: str | None = Field(default=None, max_length=2)
    residence_state: str | None = Field(default=None, max_length=2)
    completion_status: str | None = Field(default=None, max_length=32)
    perpetrator_type: str | None = Field(default=None, max_length=32)
    host_cooperation: str | None = Field(default=None, max_length=32)
    legal_instrument: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=32)
    occurrence_confidence: str | None = Field(default=None, max_length=16)
    attribution_confidence: str | None = Field(default=None, max_length=16)
    evidence_basis: str | None = Field(default=None, max_length=16)
    is_repeat_mention: bool | None = None
    status: str | None = Field(default=None, max_length=16)


class PhraseOut(BaseModel):
    """The sealed verbatim onset phrase of a mention."""

    onset_phrase: str | None


class SpanOut(BaseModel):
    """A supporting mention and its coding span."""

    mention_id: uuid.UUID
    coding_id: uuid.UUID
    interview_id: uuid.UUID
    start: int
    end: int


class LinkOut(BaseModel):
    """A chain-of-events link."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    from_id: uuid.UUID
    to_id: uuid.UUID
    kind: str


class IncidentOut(BaseModel):
    """An incident's resolved fields."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    project_id: uuid.UUID
    tactic: str
    stage: int
    target_person_id: uuid.UUID | None
    origin_state: str | None
    locus_state: str | None
    residence_state: str | None
    onset_min: date | None
    onset_max: date | None
    onset_precision: str
    onset_basis: str | None
    completion_status: str | None
    perpetrator_type: str | None
    host_cooperation: str | None
    legal_instrument: str | None
    outcome: str | None
    occurrence_confidence: str | None
    attribution_confidence: str | None
    evidence_basis: str | None
    conflict_flags: list[str]
    overrides: dict[str, Any]
    fh_comparable: bool
    n_mentions: int
    status: str
    locked_at: datetime | None
    created_at: datetime


class TargetOut(BaseModel):
    """A person the incident targets: opaque id, pseudonym (never an identity) and role (A.2)."""

    person_id: uuid.UUID
    pseudonym: str
    role: str


class TargetBody(BaseModel):
    """A further target: a person of the incident's project (role co_target; the primary is resolved)."""

    model_config = ConfigDict(extra="forbid")
    person_id: uuid.UUID
    role: str = Field(default="co_target", max_length=16)


class IncidentDetail(IncidentOut):
    """An incident with its targets, mentions, links, summary and per-field provenance."""

    summary: str | None
    targets: list[TargetOut]
    mentions: list[MentionOut]
    links: list[LinkOut]
    provenance: dict[str, list[SpanOut]]


class ClusterBody(BaseModel):
    """Put a mention into an incident: the one named, or a likely duplicate (H3), or a new one."""

    model_config = ConfigDict(extra="forbid")
    incident_id: uuid.UUID | None = None


class ReprisalBody(BaseModel):
    """Put a family reprisal mention into a reprisal event (the one named, or a new one)."""

    model_config = ConfigDict(extra="forbid")
    reprisal_id: uuid.UUID | None = None


class IncidentBody(BaseModel):
    """Adjudicated field values (null removes one) and the summary."""

    model_config = ConfigDict(extra="forbid")
    overrides: dict[str, str | None] | None = Field(default=None, max_length=20)
    summary: str | None = Field(default=None, max_length=300)


class StatusBody(BaseModel):
    """The next workflow status."""

    model_config = ConfigDict(extra="forbid")
    status: str = Field(max_length=16)


class LinkBody(BaseModel):
    """A link to another incident."""

    model_config = ConfigDict(extra="forbid")
    to_id: uuid.UUID
    kind: str = Field(max_length=16)


class ReprisalOut(BaseModel):
    """A family reprisal event."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    project_id: uuid.UUID
    linked_exile_person_id: uuid.UUID | None
    relative_person_id: uuid.UUID | None
    origin_state: str | None
    reprisal_type: str
    onset_min: date | None
    onset_max: date | None
    onset_precision: str
    outcome: str | None
    evidence_basis: str | None
    conflict_flags: list[str]
    status: str


class StageSummaryOut(BaseModel):
    """A person's highest stage reached and attempted."""

    person_id: uuid.UUID
    pseudonym: str
    max_stage_reached: int | None
    max_stage_attempted: int | None
    incidents: int


class DyadYearOut(BaseModel):
    """One dyad-year cell."""

    origin_state: str
    residence_state: str
    year: int | None
    tactic: str
    incidents: int
    person_incidents: int


def mention_out(mention: IncidentMention) -> MentionOut:
    """Serialise a mention."""
    return MentionOut.model_validate(mention)


def incident_out(incident: Incident) -> IncidentOut:
    """Serialise an incident."""
    return IncidentOut.model_validate(incident)


def detail_out(found: incidents.IncidentRead) -> IncidentDetail:
    """Serialise an incident with provenance."""
    base = IncidentOut.model_validate(found.incident).model_dump()
    return IncidentDetail(
        **base,
        summary=found.summary,
        targets=[TargetOut(**vars(t)) for t in found.targets],
        mentions=[mention_out(m) for m in found.mentions],
        links=[LinkOut.model_validate(link) for link in found.links],
        provenance={
            name: [SpanOut.model_validate(ref, from_attributes=True) for ref in refs]
            for name, refs in found.provenance.items()
        },
    )


@router.get("/projects/{project_id}/incident-mentions")
def list_mentions(
    ctx: IncidentWriter, project_id: uuid.UUID, interview_id: uuid.UUID | None = None
) -> list[MentionOut]:
    """A project's mentions (optionally one interview's)."""
    return [mention_out(m) for m in incidents.mentions(ctx, project_id=project_id, interview_id=interview_id)]


@router.get("/incident-mentions/{mention_id}")
def get_mention(ctx: IncidentWriter, mention_id: uuid.UUID) -> MentionOut:
    """One mention."""
    return mention_out(incidents.get_mention(ctx, mention_id))


@router.get("/incident-mentions/{mention_id}/phrase")
def get_phrase(ctx: IncidentWriter, mention_id: uuid.UUID) -> PhraseOut:
    """The sealed onset phrase of a mention; audited."""
    mention = incidents.get_mention(ctx, mention_id)
    ctx.audit(
        "incident.mention_read",
        object_type="incident_mention",
        object_id=mention.id,
        project_id=mention.project_id,
    )
    return PhraseOut(onset_phrase=incidents.mention_phrase(ctx, mention))


@router.patch("/incident-mentions/{mention_id}")
def update_mention(
    ctx: IncidentWriter, mention_id: uuid.UUID, body: Annotated[MentionBody, Body()]
) -> MentionOut:
    """Complete or correct a mention."""
    values = body.model_dump(exclude_unset=True)
    return mention_out(incidents.update_mention(ctx, mention_id=mention_id, values=values))


@router.get("/incident-mentions/{mention_id}/likely-duplicates")
def likely_duplicates(ctx: IncidentWriter, mention_id: uuid.UUID) -> list[IncidentOut]:
    """Incidents of the same target and tactic family with an overlapping onset window."""
    return [incident_out(i) for i in incidents.likely_duplicates(ctx, mention_id)]


@router.post("/incident-mentions/{mention_id}/incident", status_code=201)
def cluster(ctx: IncidentWriter, mention_id: uuid.UUID, body: Annotated[ClusterBody, Body()]) -> IncidentOut:
    """Put the mention into an incident (named, H3 duplicate, or new)."""
    return incident_out(incidents.cluster(ctx, mention_id=mention_id, incident_id=body.incident_id))


@router.delete("/incident-mentions/{mention_id}/incident", status_code=204)
def detach(ctx: IncidentWriter, mention_id: uuid.UUID) -> Response:
    """Take the mention out of its incident."""
    incidents.detach(ctx, mention_id=mention_id)
    return Response(status_code=204)


@router.post("/incident-mentions/{mention_id}/reprisal", status_code=201)
def reprisal(
    ctx: IncidentWriter, mention_id: uuid.UUID, body: Annotated[ReprisalBody, Body()]
) -> ReprisalOut:
    """Put a family reprisal mention into a reprisal event."""
    made = incidents.create_reprisal(ctx, mention_id=mention_id, reprisal_id=body.reprisal_id)
    return ReprisalOut.model_validate(made)


@router.get("/projects/{project_id}/incidents")
def list_incidents(
    ctx: IncidentWriter,
    project_id: uuid.UUID,
    stage: Annotated[int | None, Query(ge=1, le=3)] = None,
    tactic: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    residence_state: Annotated[str | None, Query(max_length=2)] = None,
) -> list[IncidentOut]:
    """A project's incidents, filtered."""
    found = incidents.list_incidents(
        ctx, project_id=project_id, stage=stage, tactic=tactic, status=status, residence_state=residence_state
    )
    return [incident_out(i) for i in found]


@router.get("/incidents/{incident_id}")
def get_incident(ctx: IncidentWriter, incident_id: uuid.UUID) -> IncidentDetail:
    """An incident with its mentions, links and per-field provenance (coding spans)."""
    return detail_out(incidents.read_incident(ctx, incident_id=incident_id))


@router.patch("/incidents/{incident_id}")
def update_incident(
    ctx: IncidentWriter, incident_id: uuid.UUID, body: Annotated[IncidentBody, Body()]
) -> IncidentOut:
    """Adjudicate field values and the summary (409 when final)."""
    return incident_out(
        incidents.update_incident(
            ctx, incident_id=incident_id, overrides=body.overrides, summary=body.summary
        )
    )


@router.post("/incidents/{incident_id}/status")
def set_status(
    ctx: IncidentWriter, incident_id: uuid.UUID, body: Annotated[StatusBody, Body()]
) -> IncidentOut:
    """Move the incident one workflow step forward (final locks it)."""
    return incident_out(incidents.set_status(ctx, incident_id=incident_id, status=body.status))


@router.post("/incidents/{incident_id}/reopen")
def reopen(ctx: IncidentWriter, incident_id: uuid.UUID) -> IncidentOut:
    """Reopen a final incident (audited)."""
    return incident_out(incidents.reopen(ctx, incident_id=incident_id))


@router.post("/incidents/{incident_id}/links", status_code=201)
def add_link(ctx: IncidentWriter, incident_id: uuid.UUID, body: Annotated[LinkBody, Body()]) -> LinkOut:
    """Link this incident to another."""
    link: IncidentLink = incidents.add_link(ctx, from_id=incident_id, to_id=body.to_id, kind=body.kind)
    return LinkOut.model_validate(link)


@router.post("/incidents/{incident_id}/targets", status_code=201)
def add_target(ctx: IncidentWriter, incident_id: uuid.UUID, body: Annotated[TargetBody, Body()]) -> TargetOut:
    """Add a further target (a person of the same project; 422 otherwise; 409 when final)."""
    made = incidents.add_target(ctx, incident_id=incident_id, person_id=body.person_id, role=body.role)
    return TargetOut(**vars(made))


@router.delete("/incidents/{incident_id}/targets/{person_id}", status_code=204)
def remove_target(ctx: IncidentWriter, incident_id: uuid.UUID, person_id: uuid.UUID) -> Response:
    """Remove a co-target (the primary target is changed on the mentions; 409 when final)."""
    incidents.remove_target(ctx, incident_id=incident_id, person_id=person_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/reprisals")
def list_reprisals(ctx: IncidentWriter, project_id: uuid.UUID) -> list[ReprisalOut]:
    """A project's family reprisal events."""
    found: list[FamilyReprisalEvent] = incidents.list_reprisals(ctx, project_id=project_id)
    return [ReprisalOut.model_validate(r) for r in found]


@router.get("/projects/{project_id}/incident-views/stage-summary")
def stage_summary(ctx: IncidentWriter, project_id: uuid.UUID) -> list[StageSummaryOut]:
    """Per person: the highest stage reached (completed) and attempted."""
    return [StageSummaryOut(**vars(s)) for s in incidents.stage_summary(ctx, project_id=project_id)]


@router.get("/projects/{project_id}/incident-views/dyad-years")
def dyad_years(ctx: IncidentWriter, project_id: uuid.UUID, fh_only: bool = True) -> list[DyadYearOut]:
    """Origin x residence state x year x tactic counts."""
    return [DyadYearOut(**vars(d)) for d in incidents.dyad_years(ctx, project_id=project_id, fh_only=fh_only)]


class DetectionOut(BaseModel):
    """How far coder B finds coder A's incidents."""

    matched: int
    only_a: int
    only_b: int
    precision: float | None
    recall: float | None
    f1: float | None


class FieldAgreementOut(BaseModel):
    """Agreement on one field over the matched incidents."""

    field: str
    n: int
    percent: float | None
    alpha: float | None


class IncidentAgreementOut(BaseModel):
    """Incident-level agreement between two coders (unit: incident mention, matched one to one)."""

    unit: str = "incident"
    pairs: int
    detection: DetectionOut
    fields: list[FieldAgreementOut]


@router.get("/projects/{project_id}/incident-agreement")
def incident_agreement(
    ctx: IncidentWriter,
    project_id: uuid.UUID,
    coder_a: uuid.UUID,
    coder_b: uuid.UUID,
    interview_id: uuid.UUID | None = None,
) -> IncidentAgreementOut:
    """Match two coders' incidents (target, tactic family, overlapping window): P, R, F1, alpha per field."""
    result = incidents.coder_agreement(
        ctx, project_id=project_id, coder_a=coder_a, coder_b=coder_b, interview_id=interview_id
    )
    return IncidentAgreementOut(
        pairs=len(result.pairs),
        detection=DetectionOut.model_validate(result.detection, from_attributes=True),
        fields=[FieldAgreementOut.model_validate(item, from_attributes=True) for item in result.fields],
    )
