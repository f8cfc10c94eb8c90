"""Incident exports: de-identified (keyed ids, no free text, no names), suppressed aggregates, audited, and
empty after the interview is withdrawn."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from tests.auth_support import use
from tests.coding.conftest import Bench, apply
from tests.interviews.conftest import INTERVIEWEE_NAMES, get, post

PASSPORT = "they took my passport at the border"
BROTHER = "My brother was questioned twice"


def _rows(client: TestClient, bench: Bench, kind: str) -> list[dict[str, str]]:
    response = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/exports/{kind}")
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _code_everything(client: TestClient, bench: Bench) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    mentions = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/incident-mentions").json()
    for mention in mentions:
        use(client, bench.coder)
        client.patch(
            f"/api/v1/incident-mentions/{mention['id']}",
            json={"onset_phrase": "in March 2024 after I spoke out", "locus_state": "TR"},
            headers={"x-csrf-token": bench.coder.csrf},
        )
        path = "incident" if mention["kind"] == "incident" else "reprisal"
        made = post(client, bench.coder, f"/api/v1/incident-mentions/{mention['id']}/{path}", json={})
        assert made.status_code == 201, made.text


def test_exports_are_deidentified_and_audited(client: TestClient, bench: Bench, ctx: Context) -> None:
    _code_everything(client, bench)
    incidents = _rows(client, bench, "incidents")
    assert len(incidents) == 1
    row = incidents[0]
    assert row["tactic"] == "S2_DETENTION_BORDER"
    assert row["locus_state"] == "TR"
    assert len(row["incident_id"]) == 12  # a keyed id, not the UUID
    internal = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/incidents").json()[0][
        "id"
    ]
    assert row["incident_id"] != internal
    again = _rows(client, bench, "incidents")[0]
    assert again["incident_id"] != row["incident_id"]  # unlinkable across exports
    persons = _rows(client, bench, "persons")
    assert [p["person_id"] for p in persons] == [row["target_id"]] or len(persons) == 1
    reprisals = _rows(client, bench, "reprisals")
    assert [r["reprisal_type"] for r in reprisals] == ["HOME_VISIT_QUESTIONING"]
    summary = _rows(client, bench, "summary")
    assert summary == [{"stage": "2", "residence_state": "XX", "year": "2024", "incidents": "<5"}]
    for kind in ("incidents", "reprisals", "persons", "summary"):
        for fmt in ("csv", "xlsx"):
            response = get(
                client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/exports/{kind}?format={fmt}"
            )
            assert response.status_code == 200, response.text
            body = response.content
            assert b"after I spoke" not in body
            assert str(bench.world.interviewee).encode() not in body
            assert bench.world.interviewee_pseudonym.encode() not in body
            for name in INTERVIEWEE_NAMES:
                assert name.encode() not in body
    actions = set(ctx.session.scalars(select(AuditEvent.action)))
    assert {"export.incidents", "export.reprisals", "export.persons", "export.summary"} <= actions


def test_withdrawn_interview_leaves_nothing_in_exports(client: TestClient, bench: Bench) -> None:
    _code_everything(client, bench)
    consent = post(
        client,
        bench.interviewer,
        f"/api/v1/persons/{bench.world.interviewee}/consents",
        json={"info_sheet_version": "v1", "recorded_on": "2025-03-02", "scopes": ["participate"]},
    )
    withdrawn = post(
        client,
        bench.interviewer,
        f"/api/v1/consents/{consent.json()['id']}/withdrawals",
        json={"scope": "all"},
    )
    assert withdrawn.status_code == 201, withdrawn.text
    for kind in ("incidents", "reprisals", "persons", "summary"):
        assert _rows(client, bench, kind) == []
