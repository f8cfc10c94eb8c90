"""Benchmark-only application factory: the real Harbour app plus bare endpoints, in the same server layout.

Never used in production. uvicorn serves it exactly as it serves `app.main:app_from_environment` (same
workers, middleware, thread pool and database), so the bare endpoints are the fair baselines of items 2-4:
- `GET /bench/plain/{row_id}`: the bytes of a plaintext row of `bench_plain_version` (no session check, no
  decryption, no audit entry);
- `POST /bench/plain`: insert one plaintext row and commit (the baseline of a write);
- `GET /bench/audit`: append one audit entry through the request's unit of work (group-committed when the
  app marks reads that way), the appends of item 4.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request, Response
from sqlalchemy import insert, select

from app.context import Context
from app.deps import SessionDep, get_runtime
from app.main import app_from_environment
from scripts.perf.bench_local import PLAIN_SEGMENT, PLAIN_VERSION

try:  # the group-commit mark, when this version of Harbour has it
    from app.deps import reads_only
except ImportError:  # pragma: no cover - older trees

    def reads_only(endpoint):  # type: ignore[no-untyped-def]
        """No mark available: the endpoint keeps the ordinary unit of work."""
        return endpoint


def bench_app() -> FastAPI:
    """The real app from HARBOUR_* variables, with the benchmark's bare endpoints added."""
    app = app_from_environment()

    def plain_read(request: Request, row_id: str) -> Response:
        """The stored bytes of one plaintext row."""
        with get_runtime(request).sessions() as session:
            body = session.scalar(select(PLAIN_VERSION.c.original).where(PLAIN_VERSION.c.id == row_id))
            session.rollback()
        if body is None:
            return Response(status_code=404)
        return Response(content=body, media_type="application/json")

    def plain_write(request: Request) -> Response:
        """Insert one plaintext row in its own committed transaction."""
        with get_runtime(request).sessions.begin() as session:
            session.execute(
                insert(PLAIN_SEGMENT),
                {"id": str(uuid.uuid4()), "version_id": "bench", "seq": 0, "speaker": None, "text": "x" * 80},
            )
        return Response(content=b'{"ok":true}', status_code=201, media_type="application/json")

    @reads_only
    def audit_append(request: Request, session: SessionDep) -> Response:
        """One audit entry through the request's unit of work, nothing else."""
        Context(session, get_runtime(request), None).audit("bench.append", object_type="bench")
        return Response(content=b'{"ok":true}', media_type="application/json")

    app.add_api_route("/bench/plain/{row_id}", plain_read, methods=["GET"])
    app.add_api_route("/bench/plain", plain_write, methods=["POST"])
    app.add_api_route("/bench/audit", audit_append, methods=["GET"])
    return app
