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

Read-only units of work (`read_unit_of_work`). A request whose only write would be its audit entries (a
sensitive read) runs its reads in a read-only transaction: a deferred BEGIN on SQLite, so it takes no write
lock, and `SET TRANSACTION READ ONLY` on PostgreSQL. Its audit entries and small bookkeeping updates
(`touch`, such as a session's last-seen time) are collected on the session instead of written, and handed
after the read to the process's group committer (app/audit/group_commit.py), which makes them durable
before the response leaves. Such a session cannot write by mistake: a flush with changes or an ORM
INSERT/UPDATE/DELETE raises `ReadOnlyUnitOfWorkError` (and PostgreSQL refuses any other write), so content
can never be served without the writes it needs. Writes that change data always take the ordinary
`unit_of_work`, with their audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Update, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, sessionmaker
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


def _postgresql_on_begin(connection: Any) -> None:
    # The database itself then refuses any write a read-only unit of work might attempt.
    if connection.get_execution_options().get("read_only", False):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create the one engine of a process, tuned for its backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _postgresql_on_begin)
    return engine


# ---- read-only units of work -----------------------------------------------------------------------

_READ_ONLY = "harbour.read_only"
_DEFERRED_WRITES = "harbour.deferred_writes"


class ReadOnlyUnitOfWorkError(RuntimeError):
    """A read-only unit of work tried to write: a programming error (the route is not a pure read)."""


def is_read_only(session: Session) -> bool:
    """Whether this session is a read-only unit of work (its audit entries are group-committed)."""
    return bool(session.info.get(_READ_ONLY, False))


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if is_read_only(session) and (
        session.new or session.deleted or any(session.is_modified(row) for row in session.dirty)
    ):
        raise ReadOnlyUnitOfWorkError("a read-only unit of work may not change rows")


def _refuse_dml(state: ORMExecuteState) -> None:
    if is_read_only(state.session) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlyUnitOfWorkError("a read-only unit of work may not change rows")


def make_sessionmaker(bind: Any) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    factory = sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)
    event.listen(factory, "before_flush", _refuse_flush)
    event.listen(factory, "do_orm_execute", _refuse_dml)
    return factory


def touch(session: Session, statement: Update) -> None:
    """A small idempotent bookkeeping UPDATE (a last-seen time): run now, or after a read-only unit of work.

    In a read-only unit of work the statement is kept and executed by the group committer, in the same
    transaction as the request's audit entries, before the response is sent.
    """
    if is_read_only(session):
        session.info.setdefault(_DEFERRED_WRITES, []).append(statement)
    else:
        session.execute(statement)


def deferred_writes(session: Session) -> list[Update]:
    """The `touch` statements a read-only unit of work has kept (taken: a second call returns none)."""
    writes: list[Update] = session.info.pop(_DEFERRED_WRITES, [])
    return writes


@contextmanager
def read_unit_of_work(
    factory: sessionmaker[Session], *, after_read: Callable[[Session], Callable[[], None] | None]
) -> Iterator[Session]:
    """A read-only transaction (no write lock); `after_read` collects what must be durable before replying.

    After the body succeeded, `after_read(session)` takes the kept audit entries and writes and returns a
    function that makes them durable (or None if there are none); the read transaction is ended and the
    connection released before that function runs, so waiting for a group commit holds no connection. Any
    error, in the body or while making the writes durable, propagates: the caller never sends content.
    """
    session = factory()
    session.info[_READ_ONLY] = True
    make_durable: Callable[[], None] | None = None
    try:
        session.connection(execution_options={"read_only": True})
        yield session
        make_durable = after_read(session)
        # Nothing to write (the guards saw to that): this ends the read snapshot and, unlike a rollback,
        # keeps loaded objects usable for the response.
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if make_durable is not None:
        make_durable()


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
