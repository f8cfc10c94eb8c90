"""Several processes appending at once build one chain: no fork, no gap (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from app import migrate
from app.audit import service as audit_log
from app.audit.models import AuditEvent
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.settings import Settings
from crypto.keyring import KeyStore
from tests.audit.workers import append_many
from tests.databases import DatabaseFactory

PROCESSES = 4
APPENDS_EACH = 50


@pytest.fixture
def fresh_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    """A brand-new database at head, committed to for real (not rolled back)."""
    engine = make_engine(databases.new("audit_concurrency"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_processes_appending_at_once_make_one_chain_without_gaps_or_forks(
    fresh_engine: Engine, settings: Settings, keystore: KeyStore
) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    url = fresh_engine.url.render_as_string(hide_password=False)
    actors = [str(uuid.uuid4()) for _ in range(PROCESSES)]
    workers = [
        context.Process(target=append_many, args=(str(settings.data_dir), url, actor, APPENDS_EACH, barrier))
        for actor in actors
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES

    with unit_of_work(make_sessionmaker(fresh_engine)) as session:
        report = audit_log.verify(session, keys=keystore)
        per_actor = Counter(str(actor) for actor in session.scalars(select(AuditEvent.actor_id)))
        order = list(session.scalars(select(AuditEvent.actor_id).order_by(AuditEvent.seq)))
    total = PROCESSES * APPENDS_EACH
    assert report == audit_log.VerifyReport(True, total, total, None, None)
    assert per_actor == dict.fromkeys(actors, APPENDS_EACH)
    # The appends really ran concurrently: the processes' entries interleave.
    switches = sum(1 for before, after in zip(order, order[1:], strict=False) if before != after)
    assert switches >= PROCESSES


def test_threads_appending_at_once_make_one_chain(fresh_engine: Engine, keystore: KeyStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sessions = make_sessionmaker(fresh_engine)

    def append(count: int) -> None:
        for _ in range(count):
            with unit_of_work(sessions) as session:
                audit_log.record(
                    session, keys=keystore, action="login", actor_id=uuid.uuid4(), actor_role="coder"
                )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, [25] * 4))

    with unit_of_work(sessions) as session:
        assert audit_log.verify(session, keys=keystore) == audit_log.VerifyReport(True, 100, 100, None, None)
