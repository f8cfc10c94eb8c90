"""Interviews: validated metadata, project scope, and what coders may see of them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.context import Context
from app.interviews.models import Interview, InterviewPerson
from tests.auth_support import LoggedIn
from tests.interviews.conftest import INTERVIEWEE_NAMES, World, get, new_interview, post


def test_an_interview_is_created_with_validated_metadata(
    client: TestClient, world: World, ctx: Context
) -> None:
    created = new_interview(client, world, languages=["UZ", "ru", "uz"])
    assert created["interviewee_pseudonym"] == world.interviewee_pseudonym
    assert created["interview_month"] == "2025-03"
    assert created["languages"] == ["uz", "ru"]
    assert created["status"] == "draft"
    assert created["linked_pseudonyms"] == [world.relative_pseudonym]
    row = ctx.session.get(Interview, uuid.UUID(created["id"]))
    assert row is not None
    assert row.interviewer_id == world.interviewer.user.id
    assert row.created_at.hour == 0  # day precision
    links = ctx.session.scalars(select(InterviewPerson).where(InterviewPerson.interview_id == row.id)).all()
    assert [link.person_id for link in links] == [world.relative]
    assert not any(name in str(created) for name in INTERVIEWEE_NAMES)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interview_month", "2025-3"),
        ("interview_month", "2025-13"),
        ("interview_month", "2025-03-14"),
        ("interview_month", "1970-01"),
        ("interview_month", "2099-01"),  # in the future (the test clock is March 2026)
        ("mode", "telepathy"),
        ("languages", []),
        ("languages", ["russian"]),
        ("languages", ["xx"]),
        ("languages", "ru"),
        ("interviewee_person_id", str(uuid.uuid4())),
        ("linked_person_ids", [str(uuid.uuid4())]),
    ],
)
def test_invalid_interview_metadata_is_refused(
    client: TestClient, world: World, ctx: Context, field: str, value: Any
) -> None:
    body = {
        "interviewee_person_id": str(world.interviewee),
        "interview_month": "2025-03",
        "mode": "in_person",
        "languages": ["ru"],
    } | {field: value}
    response = post(client, world.interviewer, f"/api/v1/projects/{world.project.id}/interviews", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert ctx.session.scalars(select(Interview)).all() == []


def test_a_person_of_another_project_cannot_be_the_interviewee(
    client: TestClient, world: World, login_as: Callable[..., LoggedIn]
) -> None:
    other = login_as(Role.INTERVIEWER)
    body = {
        "interviewee_person_id": str(world.interviewee),
        "interview_month": "2025-03",
        "mode": "written",
        "languages": ["ru"],
    }
    response = post(client, other, f"/api/v1/projects/{other.project_id}/interviews", json=body)
    assert response.status_code == 422


def test_creating_in_another_project_is_not_found(
    client: TestClient, world: World, login_as: Callable[..., LoggedIn]
) -> None:
    other = login_as(Role.INTERVIEWER)
    body = {
        "interviewee_person_id": str(world.interviewee),
        "interview_month": "2025-03",
        "mode": "written",
        "languages": ["ru"],
    }
    response = post(client, other, f"/api/v1/projects/{world.project.id}/interviews", json=body)
    assert response.status_code == 404


def test_coders_do_not_see_interviews_without_an_approved_transcript(
    client: TestClient, world: World
) -> None:
    created = new_interview(client, world)
    listed = get(client, world.interviewer, f"/api/v1/projects/{world.project.id}/interviews")
    assert [item["id"] for item in listed.json()] == [created["id"]]
    assert get(client, world.coder, f"/api/v1/projects/{world.project.id}/interviews").json() == []
    assert get(client, world.coder, f"/api/v1/interviews/{created['id']}").status_code == 404


def test_an_interviewer_of_another_project_gets_not_found(
    client: TestClient, world: World, login_as: Callable[..., LoggedIn]
) -> None:
    created = new_interview(client, world)
    other = login_as(Role.INTERVIEWER)
    assert get(client, other, f"/api/v1/interviews/{created['id']}").status_code == 404
    assert get(client, other, f"/api/v1/projects/{world.project.id}/interviews").status_code == 404
    for path in ("transcripts/latest/identified", "transcripts/latest/pseudonymised", "flags"):
        assert get(client, other, f"/api/v1/interviews/{created['id']}/{path}").status_code == 404


def test_creating_an_interview_is_audited_with_opaque_ids(
    client: TestClient, world: World, ctx: Context
) -> None:
    created = new_interview(client, world)
    event = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "interview.create")).one()
    assert event.object_id == created["id"]
    assert event.actor_id == world.interviewer.user.id
