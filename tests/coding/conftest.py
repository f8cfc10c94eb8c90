"""A project with a seeded codebook, two coders and an approved interview, and helpers for the coding API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role
from app.coding import codebook
from app.coding.models import Code
from app.context import Context
from tests.auth_support import LoggedIn
from tests.interviews.conftest import World, get, new_interview, post, upload, world  # noqa: F401 - fixture

# Fictional testimony. The emoji (an astral character: two UTF-16 units, one code point) checks that every
# offset is counted in code points.
TRANSCRIPT = (
    "Interviewer: When did the summons arrive?\n\n"
    "Farhod Ismoilov: The summons arrived in March \U0001f642 and they took my passport at the border.\n\n"
    "Interviewer: What happened to your family?\n\n"
    "Farhod Ismoilov: My brother was questioned twice by officers from the city.\n"
)

CORRECTED = (
    "Interviewer: Thank you for meeting me. When did the summons arrive?\n\n"
    "Farhod Ismoilov: The letter came in April \U0001f642 and they took my passport at the border.\n\n"
    "Interviewer: What happened to your family?\n\n"
    "Farhod Ismoilov: My brother was questioned twice by officers from the city.\n"
)


@dataclass
class Bench:
    """The world, a second coder, an approved interview and some codes of the project."""

    world: World
    second: LoggedIn
    interview_id: str
    codes: dict[str, uuid.UUID]

    @property
    def coder(self) -> LoggedIn:
        """The first coder."""
        return self.world.coder

    @property
    def interviewer(self) -> LoggedIn:
        """The project's interviewer."""
        return self.world.interviewer


def approve(client: TestClient, world: World, interview_id: str) -> None:  # noqa: F811 - not the fixture
    """Approve the version under review as the interviewer."""
    response = post(
        client, world.interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/approve"
    )
    assert response.status_code == 200, response.text


def approved_interview(client: TestClient, world: World, text: str = TRANSCRIPT) -> str:  # noqa: F811
    """A new interview with the transcript uploaded and approved."""
    interview = new_interview(client, world)
    response = upload(client, world.interviewer, interview["id"], "t.txt", text.encode())
    assert response.status_code == 201, response.text
    approve(client, world, interview["id"])
    return str(interview["id"])


@pytest.fixture
def bench(
    client: TestClient,
    world: World,  # noqa: F811 - fixture
    ctx: Context,
    login_as: Callable[..., LoggedIn],  # noqa: F811 - fixture
) -> Bench:
    """Seed the default codebook, add a second coder and approve an interview."""
    codebook.seed_default(ctx, project_id=world.project.id)
    codes = {
        code.mnemonic: code.id
        for code in ctx.session.scalars(select(Code).where(Code.project_id == world.project.id))
    }
    second = login_as(Role.CODER, project_name=world.project.name)
    ctx.session.flush()
    return Bench(world, second, approved_interview(client, world), codes)


def coder_text(client: TestClient, who: LoggedIn, interview_id: str) -> dict[str, Any]:
    """The pseudonymised transcript as a coder reads it."""
    response = get(client, who, f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def span(client: TestClient, who: LoggedIn, interview_id: str, phrase: str) -> tuple[int, int]:
    """Code-point offsets of a phrase in the pseudonymised full text."""
    text = coder_text(client, who, interview_id)["text"]
    start = text.index(phrase)
    return start, start + len(phrase)


def apply(
    client: TestClient,
    who: LoggedIn,
    interview_id: str,
    phrase: str,
    code_ids: list[uuid.UUID],
    memo: str | None = None,
) -> list[dict[str, Any]]:
    """Code a phrase of the transcript; returns the codings made."""
    start, end = span(client, who, interview_id, phrase)
    response = post(
        client,
        who,
        f"/api/v1/interviews/{interview_id}/codings",
        json={"start": start, "end": end, "code_ids": [str(c) for c in code_ids], "memo": memo},
    )
    assert response.status_code == 201, response.text
    made: list[dict[str, Any]] = response.json()
    return made


def codings_of(client: TestClient, who: LoggedIn, interview_id: str) -> list[dict[str, Any]]:
    """The codings a user sees on an interview."""
    response = get(client, who, f"/api/v1/interviews/{interview_id}/codings")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found
