"""The consent API: record consent, list it, withdraw it in full or in part."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.policy import Action
from app.consent import service as consents
from app.consent.models import Consent, WithdrawalScope
from app.context import Context

router = APIRouter(prefix="/api/v1", tags=["consent"])

ConsentManager = Annotated[Context, Depends(require(Action.CONSENT_MANAGE))]


class ConsentCreate(BaseModel):
    """What a person agreed to."""

    model_config = ConfigDict(extra="forbid")
    info_sheet_version: str = Field(max_length=32)
    recorded_on: date
    scopes: list[str] = Field(max_length=20)
    interview_id: uuid.UUID | None = None
    withdrawal_deadline: date | None = None
    evidence: str | None = Field(default=None, max_length=2000, description="sealed in the identity vault")


class ConsentRead(BaseModel):
    """A consent record (the evidence stays in the vault)."""

    id: uuid.UUID
    person_id: uuid.UUID
    interview_id: uuid.UUID | None
    info_sheet_version: str
    recorded_on: date
    withdrawal_deadline: date | None
    scopes: list[str]
    status: str
    has_evidence: bool

    @classmethod
    def of(cls, consent: Consent) -> ConsentRead:
        """Serialise a consent record."""
        return cls(
            id=consent.id,
            person_id=consent.person_id,
            interview_id=consent.interview_id,
            info_sheet_version=consent.info_sheet_version,
            recorded_on=consent.recorded_on,
            withdrawal_deadline=consent.withdrawal_deadline,
            scopes=consents.granted_scopes(consent),
            status=consent.status,
            has_evidence=consent.evidence is not None,
        )


class WithdrawalCreate(BaseModel):
    """A withdrawal: `all`, or `segments` (segment_ids), `topic` (topic_key) or `person` (person_id)."""

    model_config = ConfigDict(extra="forbid")
    scope: WithdrawalScope
    segment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10000)
    topic_key: uuid.UUID | None = None
    person_id: uuid.UUID | None = None


class WithdrawalRead(BaseModel):
    """What a withdrawal did, in opaque ids and counts."""

    id: uuid.UUID
    scope: str
    interviews_affected: int
    segments_suppressed: int


@router.post("/persons/{person_id}/consents", status_code=201)
def record_consent(
    ctx: ConsentManager, person_id: uuid.UUID, body: Annotated[ConsentCreate, Body()]
) -> ConsentRead:
    """Record a person's consent and its scopes (audited)."""
    consent = consents.record(
        ctx,
        person_id=person_id,
        info_sheet_version=body.info_sheet_version,
        recorded_on=body.recorded_on,
        scopes=body.scopes,
        interview_id=body.interview_id,
        withdrawal_deadline=body.withdrawal_deadline,
        evidence=body.evidence,
    )
    return ConsentRead.of(consent)


@router.get("/persons/{person_id}/consents")
def list_consents(ctx: ConsentManager, person_id: uuid.UUID) -> list[ConsentRead]:
    """A person's consent records, newest first."""
    return [ConsentRead.of(consent) for consent in consents.list_for(ctx, person_id=person_id)]


@router.post("/consents/{consent_id}/withdrawals", status_code=201)
def withdraw(
    ctx: ConsentManager, consent_id: uuid.UUID, body: Annotated[WithdrawalCreate, Body()]
) -> WithdrawalRead:
    """Withdraw consent in full or in part; everything derived from the material is removed (audited)."""
    result = consents.withdraw(
        ctx,
        consent_id=consent_id,
        scope=body.scope,
        segment_ids=body.segment_ids,
        topic_key=body.topic_key,
        person_id=body.person_id,
    )
    return WithdrawalRead(
        id=result.withdrawal.id,
        scope=result.withdrawal.scope,
        interviews_affected=len(result.interview_ids),
        segments_suppressed=len(result.segment_ids),
    )
