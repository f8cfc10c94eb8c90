"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app import __version__, errors, health, integrity
from app.audit import pages as audit_pages
from app.audit import router as audit_api
from app.audit import service as audit_log
from app.auth import pages as auth_pages
from app.auth import router as auth_api
from app.auth import users_router
from app.body_limit import BodyLimitMiddleware, keep_uploads_in_memory
from app.coding import codebook_pages
from app.coding import codebook_router as codebook_api
from app.coding import pages as coding_pages
from app.coding import reports_pages as coding_report_pages
from app.coding import reports_router as coding_reports_api
from app.coding import router as coding_api
from app.consent import pages as consent_pages
from app.consent import router as consent_api
from app.db import unit_of_work
from app.exports import jobs as export_jobs
from app.exports import pages as export_pages
from app.exports import router as exports_api
from app.guides import pages as guide_pages
from app.guides import router as guides_api
from app.identities import pages as identities_pages
from app.identities import router as identities_api
from app.incidents import pages as incident_pages
from app.incidents import router as incidents_api
from app.interviews import pages as interview_pages
from app.interviews import router as interviews_api
from app.runtime import Runtime
from app.security_headers import SecurityHeadersMiddleware
from app.settings import Settings
from app.web import router as web

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
THREAD_POOL_SIZE = 200  # see the lifespan

log = logging.getLogger("harbour")


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the application for these settings; the runtime is opened here unless one is given."""
    owns_runtime = runtime is None
    runtime = runtime or Runtime.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes and dependencies run in the thread pool, and some threads wait by design (a login for
        # its password slot, a read for its group commit). With Starlette's default of 40 threads, waiters
        # could take every thread while a request holding SQLite's write lock waits for one to finish:
        # a convoy that ends in "database is locked". Threads that wait cost no CPU; allow enough of them.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREAD_POOL_SIZE
        if not settings.cookie_secure:
            log.warning("cookies are not marked Secure: use this only for plain http on localhost")
        yield
        app.state.export_jobs.shutdown()
        if owns_runtime:
            runtime.close()

    app = FastAPI(
        title="Harbour",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.state.export_jobs = export_jobs.JobRunner(runtime)
    errors.install_handlers(app)
    integrity.install(app)  # tampered ciphertext audited; database unavailable is 503
    keep_uploads_in_memory(settings.max_upload_bytes)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_upload_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.cookie_secure)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.state.on_denied = _record_denied
    app.include_router(health.router)
    # Each domain's JSON API (declaring the error envelope in the schema), then its pages.
    domains: list[tuple[APIRouter, APIRouter | None]] = [
        (auth_api.router, auth_pages.router),
        (users_router.router, None),
        (audit_api.router, audit_pages.router),
        (identities_api.router, identities_pages.router),
        (interviews_api.router, interview_pages.router),
        (guides_api.router, guide_pages.router),
        (consent_api.router, consent_pages.router),
        (codebook_api.router, codebook_pages.router),
        (coding_api.router, coding_pages.router),
        (coding_reports_api.router, coding_report_pages.router),
        (incidents_api.router, incident_pages.router),
        (exports_api.router, export_pages.router),
    ]
    for api, pages in domains:
        app.include_router(api, responses=errors.API_ERROR_RESPONSES)
        if pages is not None:
            app.include_router(pages)
    app.include_router(web.router)
    return app


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return str(route.name) if route is not None else "unknown"


def _record_denied(request: Request, reason: str) -> None:
    """Write a `request.denied` entry for an authenticated caller (opaque ids only)."""
    runtime: Runtime = request.app.state.runtime
    actor = request.state.actor
    with unit_of_work(runtime.sessions) as session:
        audit_log.record(
            session,
            keys=runtime.keys,
            action="request.denied",
            actor_id=actor.user_id,
            actor_role=actor.role_label,
            object_type="route",
            object_id=_route_name(request),
            outcome=audit_log.Outcome.DENIED,
            reason=reason,
        )


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker: settings from HARBOUR_* variables."""
    logging.basicConfig(level=Settings().log_level, format="%(levelname)s %(name)s: %(message)s")
    return create_app(Settings())
