"""Code run in child processes by the concurrency tests (kept small: spawn imports it in every child)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from app.audit import service as audit_log
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.keys.provider import open_keystore
from app.settings import Settings


def append_many(data_dir: str, database_url: str, actor_id: str, count: int, barrier: Any) -> None:
    """Open our own engine and keys like an app process would, then append `count` entries, one per commit."""
    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    keys = open_keystore(settings)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        barrier.wait(timeout=60)
        for _ in range(count):
            with unit_of_work(sessions) as session:
                audit_log.record(
                    session,
                    keys=keys,
                    action="transcript.read",
                    actor_id=uuid.UUID(actor_id),
                    actor_role="coder",
                    object_type="interview",
                    object_id=uuid.uuid4(),
                )
    finally:
        engine.dispose()
