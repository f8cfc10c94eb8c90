"""The audit log for auditors: filtered, paged events; verification; the access report of one person."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, or_, select

from app.audit import service as audit_log
from app.audit.models import AuditEvent
from app.auth.deps import AuditReader, AuditVerifier
from app.auth.models import Membership
from app.auth.policy import Action
from app.context import Context
from app.errors import InvalidInputError, NotFoundError
from app.identities import service as identities

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

MAX_PAGE = 500


class AuditEventRead(BaseModel):
    """One audit entry: opaque ids only."""

    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    project_id: uuid.UUID | None
    outcome: str
    reason: str | None

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventRead:
        """Serialise an entry."""
        return cls.model_validate(event, from_attributes=True)


class AuditPage(BaseModel):
    """A page of entries, newest first; pass `next_before_seq` as `before_seq` for the next page."""

    events: list[AuditEventRead]
    next_before_seq: int | None


class VerifyRead(BaseModel):
    """Whether the chain and its checkpoints hold, and where they first fail."""

    ok: bool
    entries: int
    head_seq: int | None
    first_bad_seq: int | None
    problem: str | None


class EventFilters(BaseModel):
    """Filters shared by the API and the auditor page."""

    actor_id: uuid.UUID | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    outcome: audit_log.Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None
    limit: int = 50


def visible_to(ctx: Context) -> ColumnElement[bool]:
    """What an auditor may see: entries of the projects they audit, and entries outside any project (logins,
    refusals, command-line work) by the members of those projects or by no one (anonymous, the system)."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    projects = ctx.actor.project_ids(Action.AUDIT_READ)
    members = select(Membership.user_id).where(Membership.project_id.in_(projects))
    return or_(
        AuditEvent.project_id.in_(projects),
        and_(
            AuditEvent.project_id.is_(None),
            or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id.in_(members)),
        ),
    )


def search(ctx: Context, filters: EventFilters) -> AuditPage:
    """Run a filtered query of the log (itself audited as a read of the log)."""
    if not 1 <= filters.limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}")
    events = audit_log.list_events(
        ctx.session,
        project_ids=None,
        actor_id=filters.actor_id,
        action=filters.action or None,
        object_type=filters.object_type or None,
        object_id=filters.object_id or None,
        outcome=filters.outcome,
        since=filters.since,
        until=filters.until,
        limit=filters.limit,
        before_seq=filters.before_seq,
        visible=visible_to(ctx),
    )
    ctx.audit("audit.read")
    next_before = events[-1].seq if len(events) == filters.limit else None
    return AuditPage(events=[AuditEventRead.of(event) for event in events], next_before_seq=next_before)


def run_verify(ctx: Context) -> VerifyRead:
    """Verify the whole chain against the stored checkpoints (audited)."""
    report = audit_log.verify(ctx.session, keys=ctx.runtime.keys)
    ctx.audit("audit.verify", outcome=audit_log.Outcome.OK if report.ok else audit_log.Outcome.FAILED)
    return VerifyRead.model_validate(report, from_attributes=True)


@router.get("/events")
def list_events(ctx: AuditReader, filters: Annotated[EventFilters, Query()]) -> AuditPage:
    """Audit entries, newest first, filtered by actor, action, object, outcome and time; keyset-paged."""
    return search(ctx, filters)


@router.get("/verify")
def verify(ctx: AuditVerifier) -> VerifyRead:
    """Recompute the hash chain and check the signed checkpoints."""
    return run_verify(ctx)


@router.get("/access-report")
def access_report(
    ctx: AuditReader,
    pseudonym: Annotated[str, Query(max_length=64)],
    before_seq: int | None = None,
) -> AuditPage:
    """Who read or changed what about one person (by pseudonym, in the auditor's projects), and when."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    people = [
        person
        for person in identities.list_by_pseudonym(ctx.session, pseudonym)
        if ctx.actor.may_in(Action.AUDIT_READ, person.project_id)
    ]
    if not people:
        raise NotFoundError()
    events: list[AuditEvent] = []
    for person in people:
        events += audit_log.list_events(
            ctx.session,
            project_ids=None,
            object_type="person",
            object_id=person.id,
            limit=MAX_PAGE,
            before_seq=before_seq,
        )
        ctx.audit(
            "audit.access_report", object_type="person", object_id=person.id, project_id=person.project_id
        )
    events.sort(key=lambda event: event.seq, reverse=True)
    return AuditPage(events=[AuditEventRead.of(event) for event in events[:MAX_PAGE]], next_before_seq=None)
