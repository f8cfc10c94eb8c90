"""Security tests 3 and 25 (app/integrity.py): tampering is recorded, an unwritable database is 503.

3.  A ciphertext swapped in the database (between two people's rows, between two columns of one row, from
    another interview) fails authentication when a request reads it: the request answers the one opaque
    500 `integrity_failed` with no plaintext, its own transaction (and its read entry) rolls back, and an
    `integrity.tamper_detected` entry naming only the table, the row id and the actor is committed on its own.
25. A database that refuses writes (SQLite `query_only`, a PostgreSQL read-only transaction, a failing
    commit, a dropped connection) answers 503 `unavailable` with Retry-After, as JSON for the API and the
    error page for browsers, and nothing is half-written; other database errors stay the bland 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from app import integrity
from app.audit import service as audit_service
from app.audit.models import AuditEvent
from app.context import Context
from app.identities.models import Person
from app.interviews.models import Segment, TranscriptVersion
from app.runtime import Runtime
from tests.coding.conftest import TRANSCRIPT, approved_interview
from tests.interviews.conftest import INTERVIEWEE_NAMES, RELATIVE_NAMES, World, get, post, world  # noqa: F401

# Words of the testimony and the names: none may appear in an error.
PLAINTEXT = (*INTERVIEWEE_NAMES, *RELATIVE_NAMES, "Farhod", "summons", "passport", "brother")


@pytest.fixture
def server(app: FastAPI) -> Iterator[TestClient]:
    """A client that shows the 500s instead of raising them."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def _seq(ctx: Context) -> int:
    ctx.session.expire_all()
    return ctx.session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0


def _since(ctx: Context, seq: int) -> list[AuditEvent]:
    ctx.session.expire_all()
    return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)))


def _swap(session: Session, table: Any, row_id: uuid.UUID, column: str, value: Any) -> None:
    """What an attacker with the database does: write another ciphertext's bytes into a row."""
    core = cast(Table, table)
    session.execute(update(core).where(core.c.id == row_id).values({column: value}))
    session.expire_all()


def _assert_opaque_500(response: Response) -> None:
    assert response.status_code == 500, response.text
    for word in PLAINTEXT:
        assert word not in response.text


def _assert_tamper_entry(
    entries: list[AuditEvent], *, table: str, row_id: uuid.UUID, actor: uuid.UUID
) -> None:
    assert [(entry.action, entry.outcome) for entry in entries] == [("integrity.tamper_detected", "failed")]
    entry = entries[0]
    assert (entry.object_type, entry.object_id, entry.actor_id) == (table, str(row_id), actor)
    assert entry.reason == "integrity_failed"


def test_identity_swapped_between_two_people_is_refused_and_recorded(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    relative = ctx.session.get(Person, world.relative)
    assert relative is not None
    assert relative.legal_name is not None
    _swap(ctx.session, Person.__table__, world.interviewee, "legal_name", relative.legal_name)
    before = _seq(ctx)
    response = get(
        server,
        world.interviewer,
        f"/api/v1/persons/{world.interviewee}/identity",
        params={"purpose": "verification"},
    )
    _assert_opaque_500(response)
    assert response.json() == {
        "error": {"code": "integrity_failed", "message": "Stored data failed its integrity check."}
    }
    # The read entry (person.read_identity) rolled back with the request; the detection did not.
    _assert_tamper_entry(
        _since(ctx, before), table="person", row_id=world.interviewee, actor=world.interviewer.user.id
    )


def test_a_ciphertext_moved_to_another_column_of_its_row_is_refused_and_recorded(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    interview_id = approved_interview(server, world)
    segment = ctx.session.scalars(
        select(Segment)
        .join(TranscriptVersion, TranscriptVersion.id == Segment.transcript_version_id)
        .where(TranscriptVersion.interview_id == uuid.UUID(interview_id), Segment.seq == 1)
    ).one()
    assert segment.identified_text is not None
    # The identified turn (with the interviewee's name) put where coders read the pseudonymised one.
    _swap(ctx.session, Segment.__table__, segment.id, "pseudonymised_text", segment.identified_text)
    for url in (
        f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised",
        f"/interviews/{interview_id}/read",
    ):
        before = _seq(ctx)
        response = get(server, world.coder, url)
        _assert_opaque_500(response)
        if url.startswith("/api/"):
            assert response.json()["error"]["code"] == "integrity_failed"
        else:
            assert response.headers["content-type"].startswith("text/html")
        _assert_tamper_entry(
            _since(ctx, before), table="segment", row_id=segment.id, actor=world.coder.user.id
        )


def test_a_transcript_from_another_interview_is_refused_and_recorded(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    first = uuid.UUID(approved_interview(server, world))
    second = uuid.UUID(approved_interview(server, world, text=TRANSCRIPT.replace("March", "April")))
    versions = {
        row.interview_id: row
        for row in ctx.session.scalars(
            select(TranscriptVersion).where(TranscriptVersion.interview_id.in_([first, second]))
        )
    }
    stolen = versions[first].identified_text
    assert stolen is not None
    _swap(ctx.session, TranscriptVersion.__table__, versions[second].id, "identified_text", stolen)
    before = _seq(ctx)
    response = get(server, world.interviewer, f"/api/v1/interviews/{second}/transcripts/latest/identified")
    _assert_opaque_500(response)
    _assert_tamper_entry(
        _since(ctx, before),
        table="transcript_version",
        row_id=versions[second].id,
        actor=world.interviewer.user.id,
    )


def test_tampering_still_fails_closed_when_the_detection_cannot_be_written(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relative = ctx.session.get(Person, world.relative)
    assert relative is not None
    assert relative.legal_name is not None
    _swap(ctx.session, Person.__table__, world.interviewee, "legal_name", relative.legal_name)

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT INTO audit_event", {}, Exception("disk full"))

    monkeypatch.setattr(audit_service, "record", failing)
    before = _seq(ctx)
    response = get(
        server,
        world.interviewer,
        f"/api/v1/persons/{world.interviewee}/identity",
        params={"purpose": "verification"},
    )
    _assert_opaque_500(response)
    assert response.json()["error"]["code"] == "integrity_failed"
    assert _since(ctx, before) == []


# ---- a database that refuses writes ---------------------------------------------------------------


@contextmanager
def _read_only_database(runtime: Runtime) -> Iterator[None]:
    """Make the test's database connection refuse every write, as a read-only file or standby would."""
    connection = cast(Connection, runtime.sessions.kw["bind"])
    savepoint = connection.begin_nested()
    sqlite = connection.dialect.name == "sqlite"
    # SQLite: "attempt to write a readonly database"; PostgreSQL: SQLSTATE 25006 read_only_sql_transaction.
    connection.exec_driver_sql("PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY")
    try:
        yield
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA query_only = OFF")
        savepoint.rollback()  # on PostgreSQL this also ends the read-only mode


def _people(ctx: Context) -> int:
    ctx.session.expire_all()
    return ctx.session.scalar(select(func.count()).select_from(Person)) or 0


def _assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == integrity.RETRY_AFTER_SECONDS
    for word in ("readonly", "read-only", "INSERT", "UPDATE", "DELETE", "Nodira", "sqlite", "psycopg"):
        assert word not in response.text


def test_a_read_only_database_gives_503_unavailable_and_writes_nothing(
    server: TestClient,
    ctx: Context,
    runtime: Runtime,
    world: World,  # noqa: F811 - fixture
) -> None:
    people, before = _people(ctx), _seq(ctx)
    with _read_only_database(runtime):
        response = post(
            server,
            world.interviewer,
            f"/api/v1/projects/{world.project.id}/persons",
            json={"legal_name": "Nodira Sohta"},
        )
        _assert_unavailable(response)
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) == {"error"}
        assert response.json()["error"]["code"] == "unavailable"
        # A browser form gets the error page, not JSON.
        page = post(server, world.interviewer, "/logout")
        _assert_unavailable(page)
        assert page.headers["content-type"].startswith("text/html")
        assert server.get("/healthz").status_code == 200  # the database still answers reads
    assert (_people(ctx), _seq(ctx)) == (people, before)


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("COMMIT", {}, Exception("database or disk is full")),
        OperationalError("COMMIT", {}, Exception("database is locked")),
        InterfaceError("COMMIT", {}, Exception("connection already closed")),
    ],
    ids=["disk-full", "locked", "connection-closed"],
)
def test_a_commit_the_database_refuses_gives_503_and_nothing_half_written(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    people, before = _people(ctx), _seq(ctx)
    real_commit = Session.commit
    seen: list[int] = []

    def refusing(self: Session) -> None:
        if self is ctx.session:
            real_commit(self)
            return
        self.flush()
        seen.append(self.scalar(select(func.count()).select_from(Person)) or 0)  # written, not yet committed
        raise failure

    monkeypatch.setattr(Session, "commit", refusing)
    response = post(
        server,
        world.interviewer,
        f"/api/v1/projects/{world.project.id}/persons",
        json={"legal_name": "Nodira Sohta"},
    )
    monkeypatch.undo()
    _assert_unavailable(response)
    assert response.json()["error"]["code"] == "unavailable"
    assert seen == [people + 1]  # the person had reached the database when the commit was refused
    assert (_people(ctx), _seq(ctx)) == (people, before)


class _PgError(Exception):
    """A driver error carrying a SQLSTATE, as psycopg's do."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("server said something that quotes the statement")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("x", {}, Exception("attempt to write a readonly database")), True),
        (OperationalError("x", {}, _PgError("53100")), True),  # disk_full
        (OperationalError("x", {}, _PgError("08006")), True),  # connection_failure
        (OperationalError("x", {}, _PgError("57P01")), True),  # admin_shutdown
        (ProgrammingError("x", {}, _PgError("25006")), True),  # read_only_sql_transaction
        (OperationalError("x", {}, _PgError("40P01")), False),  # deadlock: a bug or a retry, not an outage
        (IntegrityError("x", {}, _PgError("23505")), False),
        (IntegrityError("x", {}, Exception("UNIQUE constraint failed")), False),
        (ProgrammingError("x", {}, _PgError("42601")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_only_errors_that_mean_the_database_is_unavailable_are_503(
    error: Exception, unavailable: bool
) -> None:
    assert integrity.is_unavailable(error) is unavailable


def test_other_database_errors_stay_a_bland_500(app: FastAPI, server: TestClient) -> None:
    @app.get("/api/v1/test-constraint")
    def constraint() -> None:
        raise IntegrityError("INSERT INTO person", {"legal_name": "Nodira Sohta"}, Exception("UNIQUE failed"))

    response = server.get("/api/v1/test-constraint")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal", "message": "Internal error."}}
    assert "Nodira" not in response.text


def test_a_value_the_database_cannot_store_is_a_422_without_echo(app: FastAPI, server: TestClient) -> None:
    @app.get("/api/v1/test-nul")
    def nul() -> None:
        raise DataError("SELECT 1", {"username": "Nodira\x00"}, Exception("text fields cannot contain NUL"))

    response = server.get("/api/v1/test-nul")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert "Nodira" not in response.text
    assert "NUL" in response.json()["error"]["message"]  # says what kind of value, never the value
