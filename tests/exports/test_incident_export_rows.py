"""The incident exports read plain rows instead of ORM objects: the same tables, the same audit entries."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select

from app.audit.models import AuditEvent
from app.context import Context
from app.exports.deidentify import ExportKeys, generalise_geo, strip_free_text, suppress_small_cells
from app.identities import service as identities
from app.incidents import exports
from app.incidents import service as incidents
from app.incidents.models import Incident, IncidentTarget
from tests import factories

KEY = ExportKeys(bytes(range(32)))


def _seed(ctx: Context) -> uuid.UUID:
    project = factories.project(ctx)
    people = [
        identities.register(ctx, project_id=project.id, legal_name=name).person.id
        for name in ("Quilo Vessamar", "Drena Ostavik", "Mirel Tavushenko")
    ]
    rows: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for number in range(23):
        incident_id = uuid.uuid4()
        rows.append(
            {
                "id": incident_id,
                "project_id": project.id,
                "tactic": ["S2_DETENTION_BORDER", "S1_THREAT_FAMILY", "S3_RENDITION"][number % 3],
                "stage": 1 + number % 3,
                "target_person_id": None if number % 7 == 0 else people[number % 3],
                "origin_state": "UZ",
                "locus_state": [None, "TR", "ru", "XX"][number % 4],
                "residence_state": [None, "DE", "SE"][number % 3],
                "onset_min": None if number % 5 == 0 else date(2010 + number % 4, 1 + number % 12, 1),
                "onset_max": None if number % 5 == 0 else date(2010 + number % 4, 1 + number % 12, 28),
                "onset_precision": "month",
                "completion_status": None if number % 2 else "completed",
                "perpetrator_type": "security_service",
                "evidence_basis": "direct",
                "conflict_flags": [] if number % 3 else ["place_conflict", "tactic_conflict"],
                "overrides": {},
                "fh_comparable": bool(number % 2),
                "n_mentions": number % 4,
                "status": "final" if number % 2 else "draft",
                "created_at": datetime(2024, 1, 1 + number % 2, tzinfo=UTC),
                "updated_at": datetime(2024, 1, 1, tzinfo=UTC),
            }
        )
        if rows[-1]["target_person_id"] is not None:
            targets.append({"id": uuid.uuid4(), "incident_id": incident_id, "person_id": people[number % 3]})
            targets[-1]["role"] = "primary"
        if number % 4 == 1:
            other = people[(number + 1) % 3]
            targets.append(
                {"id": uuid.uuid4(), "incident_id": incident_id, "person_id": other, "role": "co_target"}
            )
    ctx.session.execute(insert(Incident), rows)
    ctx.session.execute(insert(IncidentTarget), targets)
    return project.id


def _geo(code: str | None) -> str | None:
    return generalise_geo(code, "country") if code else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _old_incident_rows(ctx: Context, project_id: uuid.UUID, keys: ExportKeys) -> list[list[Any]]:
    """The rows as the export built them before, from `list_incidents`' ORM objects."""
    columns = [name for name, _meaning in exports.INCIDENT_DICTIONARY]
    found = []
    targets = incidents.target_ids(ctx, project_id)
    for item in incidents.list_incidents(ctx, project_id=project_id):
        mine = targets.get(item.id, [])
        values = {
            "incident_id": keys.id("incident", item.id),
            "target_id": keys.id("person", item.target_person_id) if item.target_person_id else None,
            "target_count": len(mine),
            "co_target_ids": ";".join(sorted(keys.id("person", p) for p, role in mine if role != "primary")),
            "tactic": item.tactic,
            "stage": item.stage,
            "origin_state": _geo(item.origin_state),
            "locus_state": _geo(item.locus_state),
            "residence_state": _geo(item.residence_state),
            "onset_min": _day(item.onset_min),
            "onset_max": _day(item.onset_max),
            "onset_precision": item.onset_precision,
            "completion_status": item.completion_status,
            "perpetrator_type": item.perpetrator_type,
            "host_cooperation": item.host_cooperation,
            "legal_instrument": item.legal_instrument,
            "outcome": item.outcome,
            "occurrence_confidence": item.occurrence_confidence,
            "attribution_confidence": item.attribution_confidence,
            "evidence_basis": item.evidence_basis,
            "conflict_flags": ";".join(item.conflict_flags or []),
            "fh_comparable": item.fh_comparable,
            "n_mentions": item.n_mentions,
            "coding_status": item.status,
        }
        kept = strip_free_text(values, set(columns))
        found.append([kept.get(name) for name in columns])
    return found


def _audited(ctx: Context) -> list[str]:
    return list(ctx.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_the_incident_table_is_the_one_the_orm_path_built(ctx: Context) -> None:
    project_id = _seed(ctx)
    before = _audited(ctx)
    old = _old_incident_rows(ctx, project_id, KEY)
    between = _audited(ctx)
    new = exports.incident_rows(ctx, project_id, KEY)
    after = _audited(ctx)
    assert len(new) == 23
    assert new == old
    assert after[len(between) :] == between[len(before) :] == ["incident.list"]


def test_the_summary_is_the_one_the_orm_path_built(ctx: Context) -> None:
    project_id = _seed(ctx)
    counts: dict[tuple[int, str, int | None], int] = {}
    for item in incidents.list_incidents(ctx, project_id=project_id):
        state = generalise_geo(item.residence_state, "country") if item.residence_state else None
        key = (item.stage, state or "XX", item.onset_max.year if item.onset_max else None)
        counts[key] = counts.get(key, 0) + 1
    table = [
        {"stage": stage, "residence_state": state, "year": year, "incidents": n}
        for (stage, state, year), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)
        )
    ]
    safe = suppress_small_cells(table, "incidents", group_by=("stage", "residence_state"))
    old = [[row["stage"], row["residence_state"], row["year"], row["incidents"]] for row in safe]
    assert exports.summary_rows(ctx, project_id) == old
    assert any(row[3] == "<5" for row in old)
