"""`GET /healthz`: is the database reachable and are the keys unlocked?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.deps import RuntimeDep

router = APIRouter()


class HealthRead(BaseModel):
    """Readiness, and which part is not ready."""

    status: str
    database: str
    keys: str


@router.get(
    "/healthz",
    tags=["system"],
    responses={
        200: {"model": HealthRead, "description": "Ready."},
        503: {"model": HealthRead, "description": "The database is unreachable or the keys are sealed."},
    },
)
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
