"""Consent pages: a person's consent records, recording one, and withdrawing in full or in part."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from app.consent import service as consents
from app.consent.models import SCOPES, WithdrawalScope
from app.consent.router import ConsentManager
from app.errors import InvalidInputError, NotFoundError
from app.guides import service as guides
from app.identities.models import Person
from app.web.render import page

router = APIRouter(include_in_schema=False)

SCOPE_LABELS = {
    "participate": "Take part in the interview",
    "audio": "Audio recording",
    "retain_transcript": "Keep the transcript",
    "quote_anonymised": "Anonymised quotes in publications",
    "incident_db": "Inclusion in the incident tables",
    "family_information": "Information about family members",
    "archive_deposit": "Deposit in an archive",
    "share_partners": "Sharing with named partners",
    "recontact": "Being contacted again",
}


def _consent_page(
    request: Request, ctx: ConsentManager, person_id: uuid.UUID, *, error: str | None = None
) -> HTMLResponse:
    records = consents.list_for(ctx, person_id=person_id)
    person = ctx.session.get(Person, person_id)
    if person is None:
        raise NotFoundError()
    guide = guides.current(ctx, project_id=person.project_id)
    others = ctx.session.scalars(
        select(Person)
        .where(Person.project_id == person.project_id, Person.id != person.id)
        .order_by(Person.pseudonym)
    ).all()
    return page(
        request,
        "consent/person.html",
        ctx,
        {
            "person": person,
            "records": [(record, consents.granted_scopes(record)) for record in records],
            "scope_labels": SCOPE_LABELS,
            "topics": guide.topics if guide else [],
            "others": others,
            "error": error,
            "today": ctx.runtime.clock().date().isoformat(),
        },
        status=422 if error else 200,
    )


@router.get("/persons/{person_id}/consent", response_class=HTMLResponse)
def consent_page(request: Request, ctx: ConsentManager, person_id: uuid.UUID) -> HTMLResponse:
    """A person's consent: what they agreed to, and the forms to record or withdraw it."""
    return _consent_page(request, ctx, person_id)


@router.post("/persons/{person_id}/consent", response_class=HTMLResponse)
async def consent_record(request: Request, ctx: ConsentManager, person_id: uuid.UUID) -> Response:
    """Record consent from the form (each scope is a checkbox)."""
    form = await request.form()
    scopes = [scope for scope in SCOPES if form.get(scope) == "on"]
    try:
        recorded_on = date.fromisoformat(str(form.get("recorded_on", "")))
        deadline_text = str(form.get("withdrawal_deadline", "") or "")
        deadline = date.fromisoformat(deadline_text) if deadline_text else None
    except ValueError:
        return _consent_page(request, ctx, person_id, error="Dates must be given as YYYY-MM-DD.")
    evidence = str(form.get("evidence", "") or "")[:2000]
    try:
        consents.record(
            ctx,
            person_id=person_id,
            info_sheet_version=str(form.get("info_sheet_version", ""))[:64],
            recorded_on=recorded_on,
            scopes=scopes,
            withdrawal_deadline=deadline,
            evidence=evidence or None,
        )
    except InvalidInputError as exc:
        return _consent_page(request, ctx, person_id, error=exc.message)
    return RedirectResponse(f"/persons/{person_id}/consent?done=consent", status_code=303)


@router.post("/consents/{consent_id}/withdraw", response_class=HTMLResponse)
def consent_withdraw(
    request: Request,
    ctx: ConsentManager,
    consent_id: uuid.UUID,
    scope: Annotated[WithdrawalScope, Form()],
    confirm: Annotated[str, Form(max_length=8)] = "",
    topic_key: Annotated[str, Form(max_length=64)] = "",
    person_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Withdraw consent from the form; the cascade removes what derives from the withdrawn material."""
    consent = consents.get_or_raise(ctx, consent_id=consent_id)
    if confirm != "yes":
        return _consent_page(request, ctx, consent.person_id, error="Tick the box to confirm the withdrawal.")
    try:
        consents.withdraw(
            ctx,
            consent_id=consent_id,
            scope=scope,
            topic_key=uuid.UUID(topic_key) if topic_key else None,
            person_id=uuid.UUID(person_id) if person_id else None,
        )
    except ValueError:
        return _consent_page(
            request, ctx, consent.person_id, error="Choose a topic or a person from the list."
        )
    except InvalidInputError as exc:
        return _consent_page(request, ctx, consent.person_id, error=exc.message)
    return RedirectResponse(f"/persons/{consent.person_id}/consent?done=withdrawn", status_code=303)
