"""Group commit of sensitive reads: one chain, few commits, entries durable before its reply, fail closed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app import migrate
from app.audit import group_commit
from app.audit import service as audit_log
from app.audit.group_commit import Batch, GroupCommitter
from app.audit.models import AuditEvent
from app.auth.models import ApiToken, AuthSession
from app.context import Context
from app.db import (
    ReadOnlyUnitOfWorkError,
    make_engine,
    make_sessionmaker,
    read_unit_of_work,
    touch,
    unit_of_work,
)
from app.errors import ServiceUnavailableError
from app.runtime import Runtime
from crypto.keyring import KeyStore
from tests.auth_support import Clock
from tests.databases import DatabaseFactory
from tests.interviews.conftest import TXT, World, get, new_interview, post, upload, world  # noqa: F401

READERS = 24
SECRET_WORD = "I left in 2019."  # a phrase of the fictional transcript TXT


@pytest.fixture
def fresh_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    """A brand-new database at head, committed to for real (not rolled back)."""
    engine = make_engine(databases.new("group_commit"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


class HeldKeys:
    """A key store callable that holds the committer's first batch until released, and can fail a batch."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_from_call: int | None = None

    def __call__(self) -> KeyStore:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            self.release.wait()
        if self.fail_from_call is not None and self.calls >= self.fail_from_call:
            raise ServiceUnavailableError("sealed")
        return self.keys


def _read_entry(actor: uuid.UUID) -> Batch:
    pending = audit_log.entry(
        action="transcript.read_pseudonymised", actor_id=actor, actor_role="coder", object_id=uuid.uuid4()
    )
    return Batch(entries=[pending])


def _entries_of(sessions: sessionmaker[Session], actor: uuid.UUID) -> int:
    with unit_of_work(sessions) as session:
        return session.scalar(select(func.count()).where(AuditEvent.actor_id == actor)) or 0


def _run_readers(
    committer: GroupCommitter, held: HeldKeys, sessions: sessionmaker[Session]
) -> tuple[list[uuid.UUID], dict[uuid.UUID, int | str]]:
    """One read commits first and is held; READERS more queue behind it; then the first is released."""
    first = uuid.uuid4()
    first_done = committer.submit(_read_entry(first))
    held.entered.wait()
    actors = [uuid.uuid4() for _ in range(READERS)]
    seen: dict[uuid.UUID, int | str] = {}

    def read(actor: uuid.UUID) -> None:
        try:
            committer.commit(_read_entry(actor))
        except ServiceUnavailableError:
            seen[actor] = "503"
            return
        # The moment commit returns (the reply may go out), the entry is visible to another connection.
        seen[actor] = _entries_of(sessions, actor)

    threads = [threading.Thread(target=read, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    while committer._queue.qsize() < READERS:  # every reader is queued behind the held batch
        threading.Event().wait(0.01)
    held.release.set()
    for thread in threads:
        thread.join()
    first_done.result()
    return actors, seen


def test_concurrent_reads_become_one_entry_each_in_two_commits(
    fresh_engine: Engine, keystore: KeyStore
) -> None:
    sessions = make_sessionmaker(fresh_engine)
    held = HeldKeys(keystore)
    committer = GroupCommitter(sessions, held)
    try:
        actors, seen = _run_readers(committer, held, sessions)
    finally:
        committer.close()
    assert seen == dict.fromkeys(actors, 1)
    assert committer.commits == 2  # the held first read, then every queued read together
    with unit_of_work(sessions) as session:
        report = audit_log.verify(session, keys=keystore)
    assert report == audit_log.VerifyReport(True, READERS + 1, READERS + 1, None, None)


def test_a_failed_group_commit_refuses_every_read_of_the_batch(
    fresh_engine: Engine, keystore: KeyStore
) -> None:
    sessions = make_sessionmaker(fresh_engine)
    held = HeldKeys(keystore)
    held.fail_from_call = 2  # the first batch commits, the batch of queued reads fails
    committer = GroupCommitter(sessions, held)
    try:
        actors, seen = _run_readers(committer, held, sessions)
    finally:
        committer.close()
    assert seen == dict.fromkeys(actors, "503")
    assert all(_entries_of(sessions, actor) == 0 for actor in actors)
    with unit_of_work(sessions) as session:
        assert audit_log.verify(session, keys=keystore) == audit_log.VerifyReport(True, 1, 1, None, None)


def _write_in_read_only(runtime: Runtime, *, orm: bool) -> None:
    """Try to change a row inside a read-only unit of work."""
    now = runtime.clock()
    with read_unit_of_work(runtime.sessions, after_read=lambda _session: None) as session:
        if orm:
            session.add(
                ApiToken(token_hash=b"\x01" * 32, user_id=uuid.uuid4(), created_at=now, expires_at=now)
            )
            session.flush()
        else:
            session.execute(update(ApiToken).values(last_used_at=now))


def test_a_read_only_unit_of_work_cannot_change_rows(runtime: Runtime, ctx: Context) -> None:
    with pytest.raises(ReadOnlyUnitOfWorkError):
        _write_in_read_only(runtime, orm=True)
    with pytest.raises(ReadOnlyUnitOfWorkError):
        _write_in_read_only(runtime, orm=False)
    with pytest.raises(RuntimeError, match="read-only"):
        group_commit.defer(ctx.session, _read_entry(uuid.uuid4()).entries[0])


def _approved_interview(client: TestClient, world: World) -> str:  # noqa: F811 - the fixture's name
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode()).status_code == 201
    for flag in get(client, world.interviewer, f"/api/v1/interviews/{interview['id']}/flags").json():
        url = f"/api/v1/interviews/{interview['id']}/flags/{flag['id']}"
        assert post(client, world.interviewer, url, json={"decision": "redact"}).status_code == 200
    approve = f"/api/v1/interviews/{interview['id']}/transcripts/latest/approve"
    assert post(client, world.interviewer, approve).status_code == 200
    return str(interview["id"])


def test_a_transcript_read_is_audited_by_group_commit_and_touches_the_session(
    client: TestClient,
    world: World,  # noqa: F811 - the fixture
    ctx: Context,
    runtime: Runtime,
    clock: Clock,
) -> None:
    interview_id = _approved_interview(client, world)
    clock.advance(minutes=5)  # past the touch interval, within the idle timeout
    response = get(client, world.coder, f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised")
    assert response.status_code == 200
    assert SECRET_WORD in response.text
    assert runtime.group_commit.commits >= 1
    ctx.session.expire_all()
    reads = ctx.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "transcript.read_pseudonymised", AuditEvent.actor_id == world.coder.user.id
        )
    ).all()
    assert len(reads) == 1
    row = ctx.session.scalars(select(AuthSession).where(AuthSession.user_id == world.coder.user.id)).one()
    assert row.last_seen_at == clock()
    assert audit_log.verify(ctx.session, keys=runtime.keys).ok


def test_a_transcript_read_whose_audit_cannot_be_written_gets_503_and_no_content(
    client: TestClient,
    world: World,  # noqa: F811 - the fixture
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interview_id = _approved_interview(client, world)

    def broken(*_args: object, **_kwargs: object) -> list[AuditEvent]:
        raise OSError("disk full")

    monkeypatch.setattr(audit_log, "append", broken)
    response = get(client, world.coder, f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised")
    assert response.status_code == 503
    assert SECRET_WORD not in response.text
    assert "segments" not in response.text
    ctx.session.expire_all()
    reads = ctx.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "transcript.read_pseudonymised", AuditEvent.actor_id == world.coder.user.id
        )
    ).all()
    assert reads == []


def _failing_write(runtime: Runtime) -> None:
    """A change with its audit entry and a touch, then an error."""
    with unit_of_work(runtime.sessions) as session:
        Context(session, runtime, None).audit("user.create", object_type="user", object_id=uuid.uuid4())
        stale = update(AuthSession).where(AuthSession.id == uuid.uuid4()).values(last_seen_at=runtime.clock())
        touch(session, stale)
        raise ZeroDivisionError


def test_writes_keep_their_entry_in_their_own_transaction(runtime: Runtime, ctx: Context) -> None:
    with pytest.raises(ZeroDivisionError):
        _failing_write(runtime)
    assert ctx.session.scalar(select(func.count()).where(AuditEvent.action == "user.create")) == 0
