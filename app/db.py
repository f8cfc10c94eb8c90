"""The engine, the declarative base and the unit of work.

Concurrency model: synchronous SQLAlchemy sessions, one per request, with routes as plain `def` functions
that FastAPI runs in its thread pool. We chose it because every request is short, SQLite drivers are
synchronous anyway, and one model for the web app, the CLI and the tests keeps the transaction rules simple:
the request's session commits once on success and rolls back on any error; services only flush. Slow work
(argon2, parsing, encrypting large files) therefore never runs on the event loop.

SQLite is the embedded default. The pysqlite driver's own transaction handling defers BEGIN and breaks
SAVEPOINT, so we take over: the driver runs in autocommit mode and SQLAlchemy emits BEGIN IMMEDIATE itself.
IMMEDIATE takes the write lock at the start: SQLite has one writer anyway, and nearly every request writes
(an audit entry at least); a deferred transaction that read first and writes later fails at once with
SQLITE_BUSY when another writer committed in between, instead of waiting. This also serialises audit
appends on SQLite; on PostgreSQL they are serialised by an advisory lock (app/audit). WAL lets
readers proceed during a write; `secure_delete` overwrites freed pages so deleted ciphertext and wrapped keys
do not linger in the file; foreign keys are enforced.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes: a timestamp without a zone is a bug waiting to happen."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """SQLite returns naive datetimes; they were stored in UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every table; one metadata with an explicit naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    """A random UUIDv4 primary key: never sequential, never time-based."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see the module docstring
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # Read-only work (health checks, verification) opts out of the write lock with `read_only=True`.
    read_only = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create the one engine of a process, tuned for its backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def make_sessionmaker(bind: Any) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. Used by requests and the CLI."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
