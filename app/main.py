"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app import __version__, errors, health
from app.runtime import Runtime
from app.security_headers import SecurityHeadersMiddleware
from app.settings import Settings
from app.web import router as web

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"

log = logging.getLogger("harbour")


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the application for these settings; the runtime is opened here unless one is given."""
    owns_runtime = runtime is None
    runtime = runtime or Runtime.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.cookie_secure:
            log.warning("cookies are not marked Secure: use this only for plain http on localhost")
        yield
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
    errors.install_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.cookie_secure)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(health.router)
    app.include_router(web.router)
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker: settings from HARBOUR_* variables."""
    logging.basicConfig(level=Settings().log_level, format="%(levelname)s %(name)s: %(message)s")
    return create_app(Settings())
