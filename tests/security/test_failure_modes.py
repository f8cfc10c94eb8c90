"""Security tests 16 and 25: the log is complete and fails closed; a missing dependency fails closed too.

16. Each sensitive read (identity, identified and pseudonymised transcript, search, export) adds exactly one
    audit entry, in the request's transaction. When the audit append fails (a database error, the audit key
    unavailable), the read answers 5xx with a generic body that holds no plaintext, and nothing is committed.
25. With the keys sealed, every sensitive route answers 503 `unavailable` without plaintext and `/healthz`
    says `sealed` (tests/app/test_app.py::test_healthz_is_503_while_keys_are_sealed covers the health body);
    with the database refusing writes, a write answers 503 `unavailable`, nothing half-written remains, and
    reads that need no write still work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.audit import service as audit_service
from app.audit.models import AuditEvent
from app.context import Context
from app.runtime import Runtime
from crypto.errors import KeyUnavailableError
from tests.coding.conftest import approved_interview
from tests.interviews.conftest import INTERVIEWEE_NAMES, World, get, post, world  # noqa: F401 - fixture

PLAINTEXT = ("Farhod", "Ismoilov", "Фарход", "summons", "passport")


def _reads(world: World, interview_id: str) -> list[tuple[Any, str, dict[str, Any]]]:  # noqa: F811
    """(who, url, params) of each sensitive read."""
    project = world.project.id
    return [
        (world.interviewer, f"/api/v1/persons/{world.interviewee}/identity", {"purpose": "verification"}),
        (world.interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/identified", {}),
        (world.coder, f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised", {}),
        (world.coder, "/api/v1/search", {"q": "passport"}),
        (world.coder, f"/api/v1/projects/{project}/exports/codings", {}),
        (world.coder, f"/api/v1/projects/{project}/project.qdpx", {}),
    ]


def _entries(ctx: Context) -> int:
    ctx.session.expire_all()
    return ctx.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_each_sensitive_read_writes_exactly_one_audit_entry(
    client: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    interview_id = approved_interview(client, world)
    seen: list[list[str]] = []
    for who, url, params in _reads(world, interview_id):
        before = _entries(ctx)
        response = get(client, who, url, params=params)
        assert response.status_code == 200, f"{url}: {response.text}"
        added = _entries(ctx) - before
        seen.append(
            sorted(
                ctx.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(added))
            )
        )
    # One entry per operation; a search and a project export add one per interview whose text they decrypted.
    assert seen == [
        ["person.read_identity"],
        ["transcript.read_identified"],
        ["transcript.read_pseudonymised"],
        ["transcript.read_pseudonymised", "transcript.search"],
        ["export.codings"],
        ["export.project", "transcript.read_pseudonymised"],
    ]


@pytest.mark.parametrize(
    "failure",
    [OperationalError("INSERT INTO audit_event", {}, Exception("disk full")), KeyUnavailableError()],
    ids=["database", "audit-key"],
)
def test_a_failing_audit_append_fails_the_read_closed(
    app: FastAPI,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    with TestClient(app, base_url="https://testserver") as setup:
        interview_id = approved_interview(setup, world)
    real = audit_service.append

    def failing(session: Any, *, entries: Any, **kwargs: Any) -> Any:
        if all(entry.action == "request.denied" for entry in entries):
            return real(session, entries=entries, **kwargs)
        raise failure

    monkeypatch.setattr(audit_service, "append", failing)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        for who, url, params in _reads(world, interview_id):
            before = _entries(ctx)
            response = get(client, who, url, params=params)
            assert response.status_code >= 500, f"{url}: {response.status_code}"
            assert response.headers["content-type"].startswith("application/json"), url
            assert set(response.json()) == {"error"}, url
            for word in PLAINTEXT:
                assert word not in response.text, url
            assert _entries(ctx) == before, url


def test_sealed_keys_make_every_sensitive_route_503_without_plaintext(
    client: TestClient,
    ctx: Context,
    runtime: Runtime,
    world: World,  # noqa: F811 - fixture
) -> None:
    interview_id = approved_interview(client, world)
    runtime.keystore = None
    for who, url, params in _reads(world, interview_id):
        response = get(client, who, url, params=params)
        assert response.status_code == 503, f"{url}: {response.status_code}"
        assert response.json()["error"]["code"] == "unavailable"
        for word in PLAINTEXT:
            assert word not in response.text
    health = client.get("/healthz")
    assert (health.status_code, health.json()["keys"]) == (503, "sealed")
    upload = post(
        client,
        world.interviewer,
        f"/api/v1/interviews/{interview_id}/transcripts",
        files={
            "file": ("t.txt", f"Interviewer: hi\n\n{INTERVIEWEE_NAMES[0]}: hello\n".encode(), "text/plain")
        },
    )
    assert upload.status_code == 503


def test_a_database_refusing_writes_gives_a_generic_error_and_leaves_nothing_half_written(
    app: FastAPI,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
    monkeypatch: pytest.MonkeyPatch,
    login_as: Callable[..., Any],
) -> None:
    from sqlalchemy.orm import Session

    from app.identities.models import Person

    def read_only(self: Session, *args: Any, **kwargs: Any) -> None:
        if self.new or self.dirty or self.deleted:
            raise OperationalError("INSERT", {}, Exception("attempt to write a readonly database"))

    people = ctx.session.scalar(select(func.count()).select_from(Person))
    monkeypatch.setattr(Session, "flush", read_only)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = post(
            client,
            world.interviewer,
            f"/api/v1/projects/{world.project.id}/persons",
            json={"legal_name": "Nodira Sohta"},
        )
        assert response.status_code == 503  # app/integrity.py: unavailable, not a bare 500
        assert response.json()["error"]["code"] == "unavailable"
        assert "Nodira" not in response.text
        assert "readonly" not in response.text
        health = client.get("/healthz")
        assert health.status_code == 200
    monkeypatch.undo()
    ctx.session.expire_all()
    assert ctx.session.scalar(select(func.count()).select_from(Person)) == people
