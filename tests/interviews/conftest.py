"""A project with an interviewer, a coder, fictional persons and helpers to drive the testimony API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.context import Context
from app.identities import service as identities
from app.projects.models import Project
from tests.auth_support import Clock, LoggedIn, use

# Fictional people; every name form must vanish from pseudonymised text.
INTERVIEWEE_NAMES = ("Farhod Ismoilov", "Фарход Исмоилов", "Farkhod Ismoilov")
RELATIVE_NAMES = ("Dilnoza Ismoilova", "Дилноза Исмоилова")


@dataclass
class World:
    """One project seen by its interviewer and coder, with an interviewee and a relative registered."""

    project: Project
    interviewer: LoggedIn
    coder: LoggedIn
    interviewee: uuid.UUID
    interviewee_pseudonym: str
    relative: uuid.UUID
    relative_pseudonym: str


@pytest.fixture
def world(login_as: Callable[..., LoggedIn], ctx: Context, clock: Clock) -> World:
    """The project, its people and its users."""
    interviewer = login_as(Role.INTERVIEWER)
    assert interviewer.project_id is not None
    project = ctx.session.get(Project, interviewer.project_id)
    assert project is not None
    coder = login_as(Role.CODER, project_name=project.name)
    interviewee = identities.register(
        ctx, project_id=project.id, legal_name=INTERVIEWEE_NAMES[0], aliases=list(INTERVIEWEE_NAMES[1:])
    ).person
    relative = identities.register(
        ctx, project_id=project.id, legal_name=RELATIVE_NAMES[0], aliases=list(RELATIVE_NAMES[1:])
    ).person
    ctx.session.flush()
    return World(
        project, interviewer, coder, interviewee.id, interviewee.pseudonym, relative.id, relative.pseudonym
    )


def as_user(client: TestClient, who: LoggedIn | None) -> TestClient:
    """The client acting as this user."""
    return use(client, who)


def post(client: TestClient, who: LoggedIn, url: str, **kwargs: Any) -> Response:
    """A POST as this user, with their CSRF token."""
    use(client, who)
    return client.post(url, headers={"x-csrf-token": who.csrf}, **kwargs)


def get(client: TestClient, who: LoggedIn, url: str, **kwargs: Any) -> Response:
    """A GET as this user."""
    use(client, who)
    return client.get(url, **kwargs)


def new_interview(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    """Create an interview with the interviewee (the relative linked) through the API."""
    body = {
        "interviewee_person_id": str(world.interviewee),
        "interview_month": "2025-03",
        "mode": "in_person",
        "languages": ["uz", "ru"],
        "interpreter_used": True,
        "linked_person_ids": [str(world.relative)],
    } | overrides
    response = post(client, world.interviewer, f"/api/v1/projects/{world.project.id}/interviews", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def upload(client: TestClient, who: LoggedIn, interview_id: str, filename: str, data: bytes) -> Response:
    """Upload a transcript file through the API."""
    return post(
        client,
        who,
        f"/api/v1/interviews/{interview_id}/transcripts",
        files={"file": (filename, data, "application/octet-stream")},
    )


def row_counts(session: Session) -> dict[str, int]:
    """Rows in every table of the schema."""
    metadata = MetaData()
    metadata.reflect(session.connection())
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in metadata.sorted_tables
    }


TXT = (
    "Interviewer: When did you leave, Farhod?\n\n"
    "Farhod Ismoilov: I left in 2019. My sister Dilnoza Ismoilova stayed in Namangan.\n\n"
    "Interviewer: Did they contact her?\n\n"
    "Farhod Ismoilov: Yes, they called her at +998 90 123 45 67 and wrote to farhod.i@example.org. "
    "Фарход Исмоилов, сказали они, вернись домой.\n"
)

SRT = (
    "1\n00:00:01,000 --> 00:00:04,000\nInterviewer: Tell me about the summons.\n\n"
    "2\n00:00:04,500 --> 00:00:09,000\nFarhod Ismoilov: It came for Farkhod Ismoilov, to my father.\n\n"
    "3\n00:00:09,500 --> 00:00:12,000\nДилноза Исмоилова signed for it.\n"
)

VTT = (
    "WEBVTT\n\n"
    "00:00:01.000 --> 00:00:04.000\n<v Interviewer>What happened at the border?\n\n"
    "00:00:04.500 --> 00:00:09.000\n<v Farhod Ismoilov>They held Dilnoza Ismoilova for six hours.\n"
)

WHISPER = (
    '{"text": "x", "segments": ['
    '{"id": 0, "start": 0.0, "end": 2.5, "speaker": "SPEAKER_00", "text": "Who wrote to you?"},'
    '{"id": 1, "start": 2.7, "end": 7.9, "speaker": "SPEAKER_01", '
    '"text": "A man who called me Фарход Исмоилов and named my sister Dilnoza Ismoilova."}'
    "]}"
)

MARKDOWN = (
    "# Interview\n\n"
    "**Interviewer:** Where are you now?\n\n"
    "**Farhod Ismoilov:** In Warsaw. Farkhod Ismoilov is the name on my old passport.\n"
)

FORMATS = {
    "transcript.txt": TXT,
    "subtitles.srt": SRT,
    "captions.vtt": VTT,
    "whisper.json": WHISPER,
    "notes.md": MARKDOWN,
}
