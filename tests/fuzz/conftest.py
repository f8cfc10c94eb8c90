"""One populated project seen by every role, built once per module; each fuzz test runs in a savepoint.

Building the world (users, a person, an approved transcript, a coding, an incident) costs far more than
fuzzing one operation, so it is made once inside an outer transaction, and every test runs in a nested
transaction (SAVEPOINT) rolled back after it: a test sees the world as built, never another test's writes,
and nothing reaches the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from app.auth import sessions
from app.auth.models import Role, RoleRequest, SessionStage, User
from app.coding import codebook
from app.coding.models import Code
from app.context import Context
from app.identities import service as identities
from app.interviews.models import Segment, TranscriptFlag, TranscriptVersion
from app.main import create_app
from app.projects.models import Project
from app.runtime import Runtime
from app.settings import Settings
from crypto.keyring import KeyStore
from tests import factories
from tests.auth_support import Clock, LoggedIn
from tests.coding.conftest import TRANSCRIPT, apply, approved_interview
from tests.interviews.conftest import INTERVIEWEE_NAMES, RELATIVE_NAMES, World, get, post

ANONYMOUS = "anonymous"
ROLES = ("interviewer", "coder", "auditor", "admin", ANONYMOUS)


@dataclass
class FuzzWorld:
    """The app over the module's transaction, bearer headers per role and the ids of real objects."""

    app: FastAPI
    connection: Connection
    headers: dict[str, dict[str, str]]
    known: dict[str, str]
    examples: int = field(default=0)


def _user(ctx: Context, runtime: Runtime, role: Role, project_name: str | None) -> LoggedIn:
    """A user at a role with a full session (as tests.auth_support.login_as, at module scope)."""
    user, password = factories.user(ctx, role=role, project_name=project_name)
    user.must_change_password = False
    new = sessions.start(ctx.session, runtime, user=user, stage=SessionStage.FULL)
    actor = sessions.actor_for(ctx.session, user_id=user.id)
    project_id = next(iter(actor.project_roles), None) if actor else None
    return LoggedIn(user, password, new.sid, sessions.csrf_token(runtime, new.sid), project_id)


def _token(ctx: Context, runtime: Runtime, user: User) -> dict[str, str]:
    """A real API token for a user, checked by the same code as any bearer request."""
    _row, clear = sessions.issue_token(ctx.session, runtime, user=user, lifetime=timedelta(hours=12))
    return {"Authorization": f"Bearer {clear}"}


def _created_id(client: TestClient, who: LoggedIn, url: str, body: object) -> str:
    response = post(client, who, url, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    return str(created[0]["id"] if isinstance(created, list) else created["id"])


def _populate(
    client: TestClient, ctx: Context, runtime: Runtime
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Users of every role, a person with consent, residence and relation, an approved coded interview."""
    interviewer = _user(ctx, runtime, Role.INTERVIEWER, None)
    assert interviewer.project_id is not None
    project = ctx.session.get(Project, interviewer.project_id)
    assert project is not None
    coder = _user(ctx, runtime, Role.CODER, project.name)
    auditor = _user(ctx, runtime, Role.AUDITOR, None)
    admin = _user(ctx, runtime, Role.ADMIN, None)
    person = identities.register(
        ctx, project_id=project.id, legal_name=INTERVIEWEE_NAMES[0], aliases=list(INTERVIEWEE_NAMES[1:])
    ).person
    relative = identities.register(
        ctx, project_id=project.id, legal_name=RELATIVE_NAMES[0], aliases=list(RELATIVE_NAMES[1:])
    ).person
    codebook.seed_default(ctx, project_id=project.id)
    ctx.session.flush()
    world = World(project, interviewer, coder, person.id, person.pseudonym, relative.id, relative.pseudonym)
    codes = {c.mnemonic: c.id for c in ctx.session.scalars(select(Code).where(Code.project_id == project.id))}
    interview_id = approved_interview(client, world, TRANSCRIPT)
    coding = apply(client, coder, interview_id, "they took my passport at the border", [codes["C3"]])[0]
    listed = get(client, coder, f"/api/v1/projects/{project.id}/incident-mentions")
    assert listed.status_code == 200, listed.text
    mention_id = str(listed.json()[0]["id"])
    known = {
        "project_id": str(project.id),
        "person_id": str(person.id),
        "interview_id": interview_id,
        "coding_id": str(coding["id"]),
        "code_id": str(codes["C3"]),
        "user_id": str(coder.user.id),
        "mention_id": mention_id,
        "incident_id": _created_id(
            client, coder, f"/api/v1/incident-mentions/{mention_id}/incident", {"incident_id": None}
        ),
        "consent_id": _created_id(
            client,
            interviewer,
            f"/api/v1/persons/{person.id}/consents",
            {"info_sheet_version": "v1", "recorded_on": "2025-03-02", "scopes": ["participate"]},
        ),
        "residence_id": _created_id(
            client, interviewer, f"/api/v1/persons/{person.id}/residences", {"country": "DE"}
        ),
        "relation_id": _created_id(
            client,
            interviewer,
            f"/api/v1/persons/{person.id}/relations",
            {"relation": "sibling", "other_person_id": str(relative.id)},
        ),
    }
    session = ctx.session
    version = session.scalars(
        select(TranscriptVersion).where(TranscriptVersion.interview_id == uuid.UUID(interview_id))
    ).one()
    segment = session.scalars(select(Segment).where(Segment.transcript_version_id == version.id)).first()
    assert segment is not None
    known["segment_id"] = str(segment.id)
    flag = session.scalars(
        select(TranscriptFlag).where(TranscriptFlag.transcript_version_id == version.id)
    ).first()
    if flag is not None:
        known["flag_id"] = str(flag.id)
    request = RoleRequest(requested_by=admin.user.id, user_id=coder.user.id, project_id=None, role="admin")
    session.add(request)
    session.flush()
    known["request_id"] = str(request.id)
    headers = {
        "interviewer": _token(ctx, runtime, interviewer.user),
        "coder": _token(ctx, runtime, coder.user),
        "auditor": _token(ctx, runtime, auditor.user),
        "admin": _token(ctx, runtime, admin.user),
        ANONYMOUS: {},
    }
    session.flush()
    return headers, known


@pytest.fixture(scope="module")
def fuzz_module(settings: Settings, engine: Engine, keystore: KeyStore) -> Iterator[FuzzWorld]:
    """The world, built once in an outer transaction that is rolled back when the module ends."""
    connection = engine.connect()
    outer = connection.begin()
    runtime = Runtime.open(settings, unlock=False, engine=engine)
    runtime.keystore = keystore
    runtime.clock = Clock()
    runtime.sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
    app = create_app(settings, runtime=runtime)
    with runtime.sessions() as session, TestClient(app, base_url="https://testserver") as client:
        headers, known = _populate(client, Context(session, runtime, None), runtime)
        session.commit()  # releases its savepoint into the outer transaction, which is rolled back at the end
    yield FuzzWorld(app=app, connection=connection, headers=headers, known=known)
    outer.rollback()
    connection.close()


@pytest.fixture
def fuzz_world(fuzz_module: FuzzWorld) -> Iterator[FuzzWorld]:
    """The module's world for one test, whose writes a savepoint rolls back."""
    savepoint = fuzz_module.connection.begin_nested()
    fuzz_module.examples = 0
    yield fuzz_module
    savepoint.rollback()
