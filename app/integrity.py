"""When the stores themselves fail: tampered ciphertext, and a database that cannot be written or reached.

Threat: an insider with database access swaps or edits ciphertexts (a value moved to another row or column,
an older version put back). Authenticated encryption already refuses to open such a value (app.encryption
raises `DataIntegrityError`, a content-free 500); what was missing is a trace an auditor can see. So a
request that meets one writes an `integrity.tamper_detected` entry naming only the table and row id (opaque)
and the actor, in a transaction of its own: the request's own transaction has been rolled back by then (the
session dependency ends before the exception reaches these handlers), so nothing the request did survives,
but the detection does. If even that entry cannot be written, the request still fails the same way.

A database that refuses writes (read-only file, disk full, locked past the busy timeout) or cannot be reached
(connection refused or dropped) is not a bug in Harbour: it answers 503 `unavailable`, with `Retry-After`,
as JSON for the API and the error page for browsers, instead of a bare 500. The request's transaction is
rolled back, so nothing is half-written. Other database errors (a constraint, a programming error) stay the
generic 500 of app.errors, except a value the database cannot store (a NUL character in a PostgreSQL text
column, a number out of range): that is the request's fault, a 422 `invalid_input`. Neither response nor
log line carries the exception's message: a driver error can quote the SQL and its parameters.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool

from app.audit import service as audit_log
from app.db import unit_of_work
from app.encryption import DataIntegrityError
from app.errors import render_error
from app.runtime import Runtime

__all__ = ["TAMPER_ACTION", "install", "is_unavailable"]

log = logging.getLogger("harbour.integrity")

TAMPER_ACTION = "integrity.tamper_detected"
RETRY_AFTER_SECONDS = "30"
INVALID_VALUE_MESSAGE = "A value in the request cannot be stored (such as a NUL character)."
UNAVAILABLE_MESSAGE = "The database is unavailable just now; nothing was saved. Try again in a moment."

# PostgreSQL SQLSTATEs that mean "cannot write or reach the database now", whatever class the driver gives
# them: read-only transaction (a standby or default_transaction_read_only), connection exceptions (08),
# insufficient resources such as a full disk (53), operator intervention such as a shutdown (57P).
_UNAVAILABLE_SQLSTATES = ("25006",)
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57P")
# DB-API exception classes that mean the same on every driver (sqlite3 and psycopg alike).
_UNAVAILABLE_DBAPI_CLASSES = ("OperationalError", "InterfaceError")


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means the database cannot be written or reached (503), not a bug (500)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate in _UNAVAILABLE_SQLSTATES or sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
    ):
        return True
    if isinstance(sqlstate, str):
        return False  # the server named another problem (a constraint, a syntax error, a deadlock)
    return type(exc).__name__ in _UNAVAILABLE_DBAPI_CLASSES


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "name", None) or "unknown")


def _record_tamper(request: Request, exc: DataIntegrityError) -> None:
    """Write `integrity.tamper_detected` (opaque ids only) in a transaction of its own, and commit it."""
    runtime: Runtime = request.app.state.runtime
    actor = getattr(request.state, "actor", None)
    object_type: str | None = exc.object_type
    object_id: uuid.UUID | str | None = exc.object_id
    if object_type is None or object_id is None:  # raised above the cipher: name the route instead
        object_type, object_id = "route", _route_name(request)
    with unit_of_work(runtime.sessions) as session:
        audit_log.record(
            session,
            keys=runtime.keys,
            action=TAMPER_ACTION,
            actor_id=actor.user_id if actor is not None else None,
            actor_role=actor.role_label if actor is not None else None,
            object_type=object_type,
            object_id=object_id,
            outcome=audit_log.Outcome.FAILED,
            reason="integrity_failed",
        )


async def _on_integrity_error(request: Request, exc: Exception) -> Response:
    """A ciphertext failed authentication: record it for the auditors, answer the one opaque error."""
    assert isinstance(exc, DataIntegrityError)  # noqa: S101 - registered for DataIntegrityError only
    log.warning("integrity check failed on %s %s", request.method, _route_name(request))
    try:
        await run_in_threadpool(_record_tamper, request, exc)
    except Exception as failure:  # the refusal stands either way; never let logging change the answer
        log.error("could not record a tamper detection: %s", type(failure).__name__)
    return render_error(request, exc.status_code, exc.code, exc.message)


async def _on_database_error(request: Request, exc: Exception) -> Response:
    """Database refused or dropped us: 503; a value it cannot store: 422; anything else: the generic 500."""
    if isinstance(exc, DataError) and not is_unavailable(exc):
        # A value the database cannot hold (a NUL in a PostgreSQL text column, a number out of range): the
        # request's fault, rolled back. The value itself is never echoed or logged.
        log.info(
            "database refused a value (%s) on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return render_error(request, 422, "invalid_input", INVALID_VALUE_MESSAGE)
    if not is_unavailable(exc):
        raise exc  # not ours: the generic handler of app.errors answers a bland 500
    log.error("database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.url.path)
    response = render_error(request, 503, "unavailable", UNAVAILABLE_MESSAGE)
    response.headers["retry-after"] = RETRY_AFTER_SECONDS
    return response


def install(app: FastAPI) -> None:
    """Register the handlers for tampered ciphertext and an unavailable database."""
    app.add_exception_handler(DataIntegrityError, _on_integrity_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(PoolTimeoutError, _on_database_error)
