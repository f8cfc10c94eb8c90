"""Incident targets (CODEBOOK.md A.2 incident_target), the incident page's forms (summary and adjudicated
values, links, targets) and the incident views page (stage summary, dyad-years)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from app.identities import service as identities
from app.incidents.exports import INCIDENT_DICTIONARY
from app.incidents.models import IncidentTarget
from tests import factories
from tests.auth_support import LoggedIn, use
from tests.coding.conftest import Bench, apply
from tests.interviews.conftest import INTERVIEWEE_NAMES, RELATIVE_NAMES, get, post

PASSPORT = "they took my passport at the border"
SUMMONS = "The summons arrived in March"


def _incident(client: TestClient, bench: Bench, text: str = PASSPORT, code: str = "C3") -> dict[str, Any]:
    """Code a span, cluster its mention into a new incident and read the incident back."""
    made = apply(client, bench.coder, bench.interview_id, text, [bench.codes[code]])
    mentions = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/incident-mentions").json()
    mention = next(m for m in mentions if m["coding_id"] == made[0]["id"])
    created = post(client, bench.coder, f"/api/v1/incident-mentions/{mention['id']}/incident", json={})
    assert created.status_code == 201, created.text
    detail: dict[str, Any] = get(client, bench.coder, f"/api/v1/incidents/{created.json()['id']}").json()
    return detail


def _form(client: TestClient, who: LoggedIn, url: str, **data: str) -> Any:
    """A page form POST carrying the CSRF token as the `csrf_token` field."""
    use(client, who)
    return client.post(url, data={**data, "csrf_token": who.csrf}, follow_redirects=False)


def _final(client: TestClient, bench: Bench, incident_id: str) -> None:
    for status in ("double_coded", "adjudicated", "final"):
        url = f"/api/v1/incidents/{incident_id}/status"
        response = post(client, bench.coder, url, json={"status": status})
        assert response.status_code == 200, response.text


def test_the_main_target_becomes_the_primary_target(client: TestClient, bench: Bench, ctx: Context) -> None:
    incident = _incident(client, bench)
    assert incident["targets"] == [
        {
            "person_id": str(bench.world.interviewee),
            "pseudonym": bench.world.interviewee_pseudonym,
            "role": "primary",
        }
    ]
    # Recomputed from the mentions: a new main target replaces the primary row.
    mention_id = incident["mentions"][0]["id"]
    use(client, bench.coder)
    response = client.patch(
        f"/api/v1/incident-mentions/{mention_id}",
        json={"target_person_id": str(bench.world.relative)},
        headers={"x-csrf-token": bench.coder.csrf},
    )
    assert response.status_code == 200, response.text
    again = get(client, bench.coder, f"/api/v1/incidents/{incident['id']}").json()
    assert [(t["person_id"], t["role"]) for t in again["targets"]] == [(str(bench.world.relative), "primary")]
    rows = ctx.session.scalars(select(IncidentTarget)).all()
    assert [(r.person_id, r.role) for r in rows] == [(bench.world.relative, "primary")]


def test_adding_and_removing_a_co_target(client: TestClient, bench: Bench, ctx: Context) -> None:
    incident = _incident(client, bench)
    url = f"/api/v1/incidents/{incident['id']}/targets"
    added = post(client, bench.coder, url, json={"person_id": str(bench.world.relative)})
    assert added.status_code == 201, added.text
    assert added.json() == {
        "person_id": str(bench.world.relative),
        "pseudonym": bench.world.relative_pseudonym,
        "role": "co_target",
    }
    # Idempotent; the primary cannot be added or removed by hand.
    assert post(client, bench.coder, url, json={"person_id": str(bench.world.relative)}).status_code == 201
    role = post(client, bench.coder, url, json={"person_id": str(bench.world.relative), "role": "primary"})
    assert role.status_code == 422
    detail = get(client, bench.coder, f"/api/v1/incidents/{incident['id']}")
    assert [t["role"] for t in detail.json()["targets"]] == ["primary", "co_target"]
    for name in (*INTERVIEWEE_NAMES, *RELATIVE_NAMES):
        assert name not in detail.text  # pseudonyms only, never identities
    use(client, bench.coder)
    headers = {"x-csrf-token": bench.coder.csrf}
    assert client.delete(f"{url}/{bench.world.interviewee}", headers=headers).status_code == 409
    assert client.delete(f"{url}/{bench.world.relative}", headers=headers).status_code == 204
    assert client.delete(f"{url}/{bench.world.relative}", headers=headers).status_code == 404
    rows = ctx.session.scalars(select(IncidentTarget.role)).all()
    assert rows == ["primary"]
    actions = ctx.session.scalars(select(AuditEvent.action)).all()
    assert "incident.target_add" in actions
    assert "incident.target_remove" in actions


def test_a_person_of_another_project_is_refused(client: TestClient, bench: Bench, ctx: Context) -> None:
    incident = _incident(client, bench)
    other = factories.project(ctx)
    stranger = identities.register(ctx, project_id=other.id, legal_name="Nodira Karimova", aliases=[]).person
    ctx.session.flush()
    url = f"/api/v1/incidents/{incident['id']}/targets"
    response = post(client, bench.coder, url, json={"person_id": str(stranger.id)})
    assert response.status_code == 422
    unknown = post(client, bench.coder, url, json={"person_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 422


def test_a_final_incident_locks_its_targets(client: TestClient, bench: Bench) -> None:
    incident = _incident(client, bench)
    url = f"/api/v1/incidents/{incident['id']}/targets"
    assert post(client, bench.coder, url, json={"person_id": str(bench.world.relative)}).status_code == 201
    _final(client, bench, incident["id"])
    use(client, bench.coder)
    headers = {"x-csrf-token": bench.coder.csrf}
    assert client.delete(f"{url}/{bench.world.relative}", headers=headers).status_code == 409
    other = post(client, bench.coder, url, json={"person_id": str(bench.world.interviewee)})
    assert other.status_code == 409
    page = get(client, bench.coder, f"/incidents/{incident['id']}")
    assert page.status_code == 200
    assert "Add target" not in page.text
    assert f"/incidents/{incident['id']}/targets/{bench.world.relative}/delete" not in page.text


def test_targets_are_exported_as_a_count_and_keyed_ids(client: TestClient, bench: Bench) -> None:
    incident = _incident(client, bench)
    url = f"/api/v1/incidents/{incident['id']}/targets"
    assert post(client, bench.coder, url, json={"person_id": str(bench.world.relative)}).status_code == 201
    response = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/exports/incidents")
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["target_count"] == "2"
    co_target = rows[0]["co_target_ids"]
    assert len(co_target) == 12
    assert co_target != rows[0]["target_id"]
    for secret in (str(bench.world.relative), bench.world.relative_pseudonym, *RELATIVE_NAMES):
        assert secret not in text
    documented = dict(INCIDENT_DICTIONARY)
    assert "target_count" in documented
    assert "co_target_ids" in documented


def test_the_incident_page_adds_and_removes_targets(client: TestClient, bench: Bench) -> None:
    incident = _incident(client, bench)
    page = get(client, bench.coder, f"/incidents/{incident['id']}")
    assert page.status_code == 200
    assert bench.world.interviewee_pseudonym in page.text
    assert 'name="csrf_token"' in page.text
    assert "<script>" not in page.text
    assert "style=" not in page.text
    response = _form(
        client, bench.coder, f"/incidents/{incident['id']}/targets", person_id=str(bench.world.relative)
    )
    assert response.status_code == 303, response.text
    page = get(client, bench.coder, f"/incidents/{incident['id']}")
    assert bench.world.relative_pseudonym in page.text
    assert "co_target" in page.text
    removed = _form(client, bench.coder, f"/incidents/{incident['id']}/targets/{bench.world.relative}/delete")
    assert removed.status_code == 303
    detail = get(client, bench.coder, f"/api/v1/incidents/{incident['id']}").json()
    assert [t["role"] for t in detail["targets"]] == ["primary"]
    refused = _form(
        client,
        bench.coder,
        f"/incidents/{incident['id']}/targets/{bench.world.interviewee}/delete",
    )
    assert refused.status_code == 409
    assert "primary target is resolved from the mentions" in refused.text
    bad = _form(client, bench.coder, f"/incidents/{incident['id']}/targets", person_id="not-a-uuid")
    assert bad.status_code == 422


def test_the_incident_page_links_incidents(client: TestClient, bench: Bench) -> None:
    first = _incident(client, bench)
    second = _incident(client, bench, SUMMONS, "B7")
    page = get(client, bench.coder, f"/incidents/{second['id']}")
    assert f'value="{first["id"]}"' in page.text
    response = _form(
        client, bench.coder, f"/incidents/{second['id']}/links", to_id=first["id"], kind="precedes"
    )
    assert response.status_code == 303, response.text
    detail = get(client, bench.coder, f"/api/v1/incidents/{first['id']}").json()
    assert [(link["from_id"], link["kind"]) for link in detail["links"]] == [(second["id"], "precedes")]
    bad = _form(client, bench.coder, f"/incidents/{second['id']}/links", to_id=first["id"], kind="x")
    assert bad.status_code == 422
    assert "kind must be" in bad.text
    itself = _form(client, bench.coder, f"/incidents/{second['id']}/links", to_id=second["id"], kind="causes")
    assert itself.status_code == 422


def test_the_incident_page_edits_summary_and_overrides(client: TestClient, bench: Bench) -> None:
    incident = _incident(client, bench)
    url = f"/incidents/{incident['id']}"
    response = _form(
        client,
        bench.coder,
        url,
        summary="A border detention after the summons.",
        completion_status="completed",
        locus_state="tr",
        outcome="",
    )
    assert response.status_code == 303, response.text
    detail = get(client, bench.coder, f"/api/v1/incidents/{incident['id']}").json()
    assert detail["summary"] == "A border detention after the summons."
    assert detail["overrides"] == {"completion_status": "completed", "locus_state": "TR"}
    assert detail["completion_status"] == "completed"
    page = get(client, bench.coder, url)
    assert "<option selected>completed</option>" in page.text
    # Back to the mentions' value; bad terms re-show the form with 422.
    assert _form(client, bench.coder, url, completion_status="").status_code == 303
    detail = get(client, bench.coder, f"/api/v1/incidents/{incident['id']}").json()
    assert "completion_status" not in detail["overrides"]
    bad = _form(client, bench.coder, url, completion_status="nonsense")
    assert bad.status_code == 422
    assert "not a term of its vocabulary" in bad.text
    long = _form(client, bench.coder, url, summary="x" * 301)
    assert long.status_code == 422
    _final(client, bench, incident["id"])
    locked = _form(client, bench.coder, url, summary="changed")
    assert locked.status_code == 409
    assert "final (locked)" in locked.text


def test_the_views_page_shows_stage_summary_and_dyad_years(client: TestClient, bench: Bench) -> None:
    project = bench.world.project.id
    listing = get(client, bench.coder, f"/projects/{project}/incidents")
    assert f'href="/projects/{project}/incident-views"' in listing.text
    empty = get(client, bench.coder, f"/projects/{project}/incident-views")
    assert empty.status_code == 200
    assert "No incident has a target yet" in empty.text
    assert "No Freedom House comparable incident yet" in empty.text
    incident = _incident(client, bench)
    page = get(client, bench.coder, f"/projects/{project}/incident-views", params={"fh_only": "false"})
    assert page.status_code == 200
    assert page.text.count("<caption>") == 2
    assert bench.world.interviewee_pseudonym in page.text
    assert incident["tactic"] in page.text
    for name in INTERVIEWEE_NAMES:
        assert name not in page.text
    assert get(client, bench.interviewer, f"/projects/{project}/incident-views").status_code == 404
