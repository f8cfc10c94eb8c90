"""A small load run against a live multi-process server: every request answered correctly, nothing unaudited.

Correctness only (never speed): a real uvicorn (SQLite: 1 worker; PostgreSQL: 2 workers) on a fresh
installation of the backend under test, 8 concurrent clients sending a fixed number of requests over the mix
of `scripts/load` (password logins, pseudonymised transcript reads, coding writes, de-identified exports).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.coding.models import Coding
from app.db import make_engine
from scripts.perf.harness import (
    FAST_ARGON2_ENV,
    percentile,
    run_load,
    seed,
    standard_mix,
    start_server,
    verify_audit,
)
from tests.databases import DatabaseFactory

CLIENTS = 8
REQUESTS = 160
INTERVIEWS = 3


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == 4.8
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 9.0], 0) == 1.0
    assert percentile([1.0, 9.0], 100) == 9.0


def test_small_concurrent_load_answers_everything_and_audits_every_read(
    tmp_path: Path, databases: DatabaseFactory
) -> None:
    workers = 2 if databases.backend == "postgresql" else 1
    reads: list[uuid.UUID] = []
    made: list[uuid.UUID] = []
    with start_server(tmp_path / "data", databases.new("load"), workers, FAST_ARGON2_ENV) as server:
        world = seed(server, interviews_count=INTERVIEWS)
        mix = standard_mix(world, reads=reads, made=made)
        result = run_load(server.url, mix, clients=CLIENTS, requests=REQUESTS, seed=7)
        assert server.alive(), server.log()

    assert result.errors == 0, result.table()
    assert result.requests == REQUESTS
    for operation in mix:
        answered = result.stats[operation.name].statuses
        assert sum(answered.values()) > 0, f"{operation.name} never ran"
        assert set(answered) <= operation.expected | operation.shed, (operation.name, answered)
    assert result.count("login", 201) > 0, result.table()

    chain = verify_audit(server.env)
    assert chain.ok, chain.output
    assert chain.entries is not None
    assert chain.entries >= len(reads) > 0

    engine = make_engine(server.settings.sqlalchemy_url)
    try:
        with engine.connect() as connection:
            read_entries = connection.scalar(
                select(func.count()).where(AuditEvent.action == "transcript.read_pseudonymised")
            )
            coding_ids = set(connection.scalars(select(Coding.id)))
            coding_entries = set(
                connection.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "coding.create"))
            )
    finally:
        engine.dispose()
    # One entry per read the clients got, plus the seed's own read of each interview.
    assert read_entries == len(reads) + INTERVIEWS
    assert len(made) == result.count("coding", 201) > 0
    assert set(made) == coding_ids
    assert {str(coding_id) for coding_id in made} == coding_entries
