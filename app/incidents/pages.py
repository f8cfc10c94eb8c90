"""Incident pages: the incidents (filters, charts), an incident with provenance and its forms (summary and
adjudicated values, links, targets), the derived views (stage summary, dyad-years), the mention form."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.identities.models import Person
from app.incidents import service as incidents
from app.incidents import vocab
from app.incidents.models import Incident
from app.incidents.router import IncidentWriter
from app.projects.models import Project
from app.web import charts
from app.web.pagination import PagingDep
from app.web.render import page

router = APIRouter(include_in_schema=False)


def _charts(rows: list[Incident]) -> dict[str, Markup]:
    """Server-side SVG charts of the listed incidents: counts by stage, tactic, residence state and year."""
    counts: dict[str, dict[str, int]] = {"stage": {}, "tactic": {}, "residence state": {}, "year": {}}
    for row in rows:
        for name, value in (
            ("stage", f"Stage {row.stage}"),
            ("tactic", row.tactic),
            ("residence state", row.residence_state or "unknown"),
            ("year", str(row.onset_max.year) if row.onset_max else "unknown"),
        ):
            counts[name][value] = counts[name].get(value, 0) + 1
    return {
        name: charts.bar_chart(f"Incidents by {name}", sorted(values.items()), category_label=name)
        for name, values in counts.items()
        if values
    }


@router.get("/projects/{project_id}/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request,
    ctx: IncidentWriter,
    project_id: uuid.UUID,
    paging: PagingDep,
    stage: Annotated[int | None, Query(ge=1, le=3)] = None,
    tactic: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    residence_state: Annotated[str | None, Query(max_length=2)] = None,
) -> HTMLResponse:
    """The project's incidents (a page at a time) with filters, charts and the mentions still to cluster."""
    project = ctx.session.get(Project, project_id)
    if project is None:
        raise NotFoundError()
    rows = incidents.list_incidents(
        ctx,
        project_id=project_id,
        stage=stage,
        tactic=tactic or None,
        status=status or None,
        residence_state=residence_state or None,
    )
    pending = [
        m
        for m in incidents.mentions(ctx, project_id=project_id)
        if m.incident_id is None and m.reprisal_id is None
    ]
    return page(
        request,
        "incidents/list.html",
        ctx,
        {
            "project": project,
            "incidents": rows[paging.offset : paging.offset + paging.limit],
            "pager": paging.pager(request, len(rows)),
            "pending": pending,
            "reprisals": incidents.list_reprisals(ctx, project_id=project_id),
            "charts": _charts(rows),
            "filters": {
                "stage": stage,
                "tactic": tactic,
                "status": status,
                "residence_state": residence_state,
            },
            "tactics": vocab.TACTICS,
            "statuses": [w.value for w in vocab.WORKFLOW_ORDER],
        },
    )


# Adjudicable fields on the incident form: vocabulary terms (a select) or ISO2 states (a text input).
EDITABLE = tuple(name for name in incidents.OVERRIDABLE if name != "target_person_id")


def _incident_page(
    request: Request,
    ctx: IncidentWriter,
    incident_id: uuid.UUID,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    found = incidents.read_incident(ctx, incident_id=incident_id)
    incident = found.incident
    targeted = {t.person_id for t in found.targets}
    persons = [
        p
        for p in ctx.session.scalars(
            select(Person)
            .where(Person.project_id == incident.project_id, Person.erased_at.is_(None))
            .order_by(Person.pseudonym)
        )
        if p.id not in targeted
    ]
    others = [i for i in incidents.list_incidents(ctx, project_id=incident.project_id) if i.id != incident.id]
    return page(
        request,
        "incidents/incident.html",
        ctx,
        {
            "found": found,
            "incident": incident,
            "fields": [*incidents.OVERRIDABLE, *incidents.ONSET_FIELDS],
            "workflow": [w.value for w in vocab.WORKFLOW_ORDER],
            "editable": [(name, incidents.MENTION_FIELDS[name]) for name in EDITABLE],
            "max_summary": incidents.MAX_SUMMARY,
            "link_kinds": [k.value for k in vocab.LinkKind],
            "others": others,
            "persons": persons,
            "locked": incident.status == vocab.Workflow.FINAL,
            "error": error,
        },
        status=status,
    )


def _failed(request: Request, ctx: IncidentWriter, incident_id: uuid.UUID, exc: Exception) -> HTMLResponse:
    """Re-show the incident with the service's message: 422 for bad input, 409 for a locked incident."""
    status = 409 if isinstance(exc, ConflictError) else 422
    message = exc.message if isinstance(exc, InvalidInputError | ConflictError) else "Invalid input."
    return _incident_page(request, ctx, incident_id, error=message, status=status)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, ctx: IncidentWriter, incident_id: uuid.UUID) -> HTMLResponse:
    """One incident: resolved fields, each linked to the coding spans that support it, and its forms."""
    return _incident_page(request, ctx, incident_id)


@router.post("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_submit(request: Request, ctx: IncidentWriter, incident_id: uuid.UUID) -> Response:
    """Save the summary and the adjudicated values (an empty choice goes back to the mentions' value)."""
    form = await request.form()
    overrides: dict[str, Any] = {}
    for name in EDITABLE:
        raw = form.get(name)
        if isinstance(raw, str):
            overrides[name] = raw.strip() or None
    raw_summary = form.get("summary")
    summary = raw_summary if isinstance(raw_summary, str) else None
    try:
        incidents.update_incident(ctx, incident_id=incident_id, overrides=overrides, summary=summary)
    except (InvalidInputError, ConflictError) as exc:
        return _failed(request, ctx, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}?done=saved", status_code=303)


@router.post("/incidents/{incident_id}/links", response_class=HTMLResponse)
def link_submit(
    request: Request,
    ctx: IncidentWriter,
    incident_id: uuid.UUID,
    to_id: Annotated[uuid.UUID, Form()],
    kind: Annotated[str, Form(max_length=16)],
) -> Response:
    """Link this incident to another of the project (precedes, causes, part_of)."""
    try:
        incidents.add_link(ctx, from_id=incident_id, to_id=to_id, kind=kind)
    except (InvalidInputError, ConflictError) as exc:
        return _failed(request, ctx, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}?done=link", status_code=303)


@router.post("/incidents/{incident_id}/targets", response_class=HTMLResponse)
def target_submit(
    request: Request,
    ctx: IncidentWriter,
    incident_id: uuid.UUID,
    person_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """Add a further target (co_target) from the project's persons."""
    try:
        incidents.add_target(ctx, incident_id=incident_id, person_id=person_id)
    except (InvalidInputError, ConflictError) as exc:
        return _failed(request, ctx, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}?done=target", status_code=303)


@router.post("/incidents/{incident_id}/targets/{person_id}/delete", response_class=HTMLResponse)
def target_remove_submit(
    request: Request, ctx: IncidentWriter, incident_id: uuid.UUID, person_id: uuid.UUID
) -> Response:
    """Remove a co-target."""
    try:
        incidents.remove_target(ctx, incident_id=incident_id, person_id=person_id)
    except ConflictError as exc:
        return _failed(request, ctx, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}?done=target_removed", status_code=303)


@router.get("/projects/{project_id}/incident-views", response_class=HTMLResponse)
def views_page(
    request: Request, ctx: IncidentWriter, project_id: uuid.UUID, fh_only: bool = True
) -> HTMLResponse:
    """The derived views (CODEBOOK.md A.7): the per-person stage summary and the dyad-year table."""
    project = ctx.session.get(Project, project_id)
    if project is None:
        raise NotFoundError()
    return page(
        request,
        "incidents/views.html",
        ctx,
        {
            "project": project,
            "stages": incidents.stage_summary(ctx, project_id=project_id),
            "dyads": incidents.dyad_years(ctx, project_id=project_id, fh_only=fh_only),
            "fh_only": fh_only,
        },
    )


@router.post("/incidents/{incident_id}/status", response_class=HTMLResponse)
def status_submit(
    ctx: IncidentWriter, incident_id: uuid.UUID, status: Annotated[str, Form(max_length=16)]
) -> Response:
    """Move the incident one workflow step."""
    incidents.set_status(ctx, incident_id=incident_id, status=status)
    return RedirectResponse(f"/incidents/{incident_id}?done=status", status_code=303)


@router.post("/incidents/{incident_id}/reopen", response_class=HTMLResponse)
def reopen_submit(ctx: IncidentWriter, incident_id: uuid.UUID) -> Response:
    """Reopen a final incident."""
    incidents.reopen(ctx, incident_id=incident_id)
    return RedirectResponse(f"/incidents/{incident_id}?done=reopen", status_code=303)


def _mention_page(
    request: Request, ctx: IncidentWriter, mention_id: uuid.UUID, *, error: str | None = None
) -> HTMLResponse:
    mention = incidents.get_mention(ctx, mention_id)
    return page(
        request,
        "incidents/mention.html",
        ctx,
        {
            "mention": mention,
            "phrase": incidents.mention_phrase(ctx, mention),
            "vocabularies": {k: v for k, v in incidents.MENTION_FIELDS.items() if v is not None},
            "states": ("origin_state", "locus_state", "residence_state"),
            "duplicates": incidents.likely_duplicates(ctx, mention.id),
            "error": error,
        },
        status=422 if error else 200,
    )


@router.get("/incident-mentions/{mention_id}", response_class=HTMLResponse)
def mention_page(request: Request, ctx: IncidentWriter, mention_id: uuid.UUID) -> HTMLResponse:
    """The mention form: complete the fields the coding could not prefill."""
    return _mention_page(request, ctx, mention_id)


@router.post("/incident-mentions/{mention_id}", response_class=HTMLResponse)
async def mention_submit(request: Request, ctx: IncidentWriter, mention_id: uuid.UUID) -> Response:
    """Save the mention form (unknown fields are ignored; bad terms re-show the form with 422)."""
    form = await request.form()
    values: dict[str, Any] = {}
    for name in (*incidents.MENTION_FIELDS, "onset_phrase"):
        raw = form.get(name)
        if isinstance(raw, str):
            values[name] = raw.strip() or None
    for name in ("onset_min", "onset_max"):
        raw = form.get(name)
        if isinstance(raw, str):
            try:
                values[name] = date.fromisoformat(raw) if raw.strip() else None
            except ValueError:
                return _mention_page(request, ctx, mention_id, error=f"{name} must be a date (YYYY-MM-DD)")
    for name in ("onset_hedged", "self_correction", "is_repeat_mention"):
        values[name] = form.get(name) == "on"
    for name in ("onset_precision", "evidence_basis", "status"):
        if values.get(name) is None:
            values.pop(name, None)
    values = {k: v for k, v in values.items() if not (k in ("tactic", "reprisal_type") and v is None)}
    try:
        incidents.update_mention(ctx, mention_id=mention_id, values=values)
    except InvalidInputError as exc:
        return _mention_page(request, ctx, mention_id, error=exc.message)
    return RedirectResponse(f"/incident-mentions/{mention_id}?done=saved", status_code=303)


@router.post("/incident-mentions/{mention_id}/incident", response_class=HTMLResponse)
def cluster_submit(
    ctx: IncidentWriter, mention_id: uuid.UUID, incident_id: Annotated[str | None, Form(max_length=40)] = None
) -> Response:
    """Put the mention into an incident (the chosen one, or a new one)."""
    target = uuid.UUID(incident_id) if incident_id else None
    made = incidents.cluster(ctx, mention_id=mention_id, incident_id=target)
    return RedirectResponse(f"/incidents/{made.id}", status_code=303)
