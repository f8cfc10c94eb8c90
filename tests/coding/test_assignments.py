"""Assignments for blind double coding: who may be assigned, progress, done, and what blind mode hides."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from tests.coding.conftest import Bench, apply, codings_of
from tests.interviews.conftest import get, post

PASSPORT = "they took my passport at the border"
BROTHER = "My brother was questioned twice"


def assign(client: TestClient, bench: Bench, *, blind: bool = True) -> list[dict[str, Any]]:
    """Assign both coders to the bench interview (as the interviewer, who plans the coding)."""
    response = post(
        client,
        bench.interviewer,
        f"/api/v1/interviews/{bench.interview_id}/assignments",
        json={"coder_ids": [str(bench.coder.user.id), str(bench.second.user.id)], "blind": blind},
    )
    assert response.status_code == 201, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def done(client: TestClient, bench: Bench, who: Any) -> None:
    """Mark the interview done as this coder."""
    response = post(client, who, f"/api/v1/interviews/{bench.interview_id}/done")
    assert response.status_code == 200, response.text


def test_only_active_coders_of_the_project_can_be_assigned(client: TestClient, bench: Bench) -> None:
    url = f"/api/v1/interviews/{bench.interview_id}/assignments"
    interviewer = post(client, bench.interviewer, url, json={"coder_ids": [str(bench.interviewer.user.id)]})
    assert interviewer.status_code == 422
    alone = post(
        client, bench.interviewer, url, json={"coder_ids": [str(bench.coder.user.id)], "blind": True}
    )
    assert alone.status_code == 422  # blind double coding needs two coders
    found = assign(client, bench)
    assert {row["coder"] for row in found} == {bench.coder.user.username, bench.second.user.username}
    assert all(row["blind"] and row["done_at"] is None for row in found)


def test_progress_is_listed_per_coder(client: TestClient, bench: Bench, ctx: Context) -> None:
    assign(client, bench)
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"], bench.codes["H1"]])
    response = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/assignments")
    assert response.status_code == 200
    progress = {row["coder"]: row["codings"] for row in response.json()}
    assert progress == {bench.coder.user.username: 2, bench.second.user.username: 0}
    mine = get(
        client,
        bench.coder,
        f"/api/v1/projects/{bench.world.project.id}/assignments",
        params={"coder_id": str(bench.coder.user.id)},
    )
    assert [row["coder"] for row in mine.json()] == [bench.coder.user.username]
    actions = list(ctx.session.scalars(select(AuditEvent.action)))
    assert actions.count("coding.assign") == 2


def test_blind_coders_see_each_others_codings_only_when_all_are_done(
    client: TestClient, bench: Bench
) -> None:
    assign(client, bench)
    first = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    second = apply(client, bench.second, bench.interview_id, BROTHER, [bench.codes["E1"]])
    assert [row["id"] for row in codings_of(client, bench.coder, bench.interview_id)] == [first[0]["id"]]
    assert [row["id"] for row in codings_of(client, bench.second, bench.interview_id)] == [second[0]["id"]]
    hidden = get(client, bench.coder, f"/api/v1/codings/{second[0]['id']}/provenance")
    assert hidden.status_code == 404
    # Not even the planner sees them while the blind round is open.
    assert len(codings_of(client, bench.interviewer, bench.interview_id)) == 0
    done(client, bench, bench.coder)
    assert len(codings_of(client, bench.coder, bench.interview_id)) == 1
    done(client, bench, bench.second)
    for who in (bench.coder, bench.second, bench.interviewer):
        assert len(codings_of(client, who, bench.interview_id)) == 2


def test_open_assignments_hide_nothing(client: TestClient, bench: Bench) -> None:
    assign(client, bench, blind=False)
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    assert len(codings_of(client, bench.second, bench.interview_id)) == 1


def test_done_hands_in_the_codings(client: TestClient, bench: Bench) -> None:
    assign(client, bench)
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    done(client, bench, bench.coder)
    done(client, bench, bench.coder)  # marking twice is harmless
    url = f"/api/v1/interviews/{bench.interview_id}/codings"
    body = {"start": 0, "end": 4, "code_ids": [str(bench.codes["B1"])]}
    assert post(client, bench.coder, url, json=body).status_code == 409
    response = client.delete(f"/api/v1/codings/{made[0]['id']}", headers={"x-csrf-token": bench.coder.csrf})
    assert response.status_code == 409


def test_only_assignees_mark_done_and_interviewers_may_not(client: TestClient, bench: Bench) -> None:
    url = f"/api/v1/interviews/{bench.interview_id}/done"
    assert post(client, bench.coder, url).status_code == 404
    assign(client, bench)
    assert post(client, bench.interviewer, url).status_code == 404
