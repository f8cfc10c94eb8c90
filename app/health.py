"""`GET /healthz`: is the database reachable and are the keys unlocked?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.deps import RuntimeDep

router = APIRouter()


@router.get("/healthz", tags=["system"])
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """Report readiness: 200 when the database answers and the keys are unlocked, else 503."""
    try:
        with runtime.engine.connect().execution_options(read_only=True) as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unreachable"
    keys = "unlocked" if runtime.keystore is not None else "sealed"
    healthy = database == "ok" and keys == "unlocked"
    body = {"status": "ok" if healthy else "unavailable", "database": database, "keys": keys}
    return JSONResponse(body, status_code=200 if healthy else 503)
