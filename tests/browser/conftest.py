"""Browser tests: a real uvicorn server over a fresh data directory and database, driven by Debian's Chromium.

The server runs in a background thread on 127.0.0.1 at a free port, in development mode over plain http
(cookie_secure off, TOTP not required: demo settings), against a new database of the backend under test
(SQLite, or PostgreSQL when HARBOUR_TEST_DATABASE_URL is set). Its data is built with the services: a
project with the default codebook, an interviewer, a coder with a known password and an approved interview.

Playwright (the Python package, sync API) launches /usr/bin/chromium; it never downloads a browser. A
missing Chromium fails the run instead of skipping it, so CI cannot pass without the browser tests.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from app import migrate
from app.auth import service as users
from app.auth.models import Role
from app.coding import codebook
from app.context import Context
from app.db import make_engine, unit_of_work
from app.identities import service as identities
from app.interviews import service as interviews
from app.keys import provider as key_provider
from app.main import create_app
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from tests.cli_support import FAST_ARGON2
from tests.databases import DatabaseFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CODER_NAME = "browser-coder"

# Fictional testimony; the emoji before the phrase the test selects makes UTF-16 and code-point offsets
# differ, which the page script must convert.
TRANSCRIPT = (
    "Interviewer: When did the summons arrive?\n\n"
    "Farida Uydirma: The summons arrived in March \U0001f642 and they took my passport at the border.\n\n"
    "Interviewer: What happened to your family?\n\n"
    "Farida Uydirma: My brother was questioned twice by officers from the city.\n"
)


@dataclass
class Site:
    """The running server and what the tests need to know about its data."""

    base_url: str
    coder: str
    password: str
    interview_id: uuid.UUID
    text: str
    codes: dict[str, uuid.UUID]
    project_id: uuid.UUID
    accounts: dict[str, tuple[str, str]]  # role -> (username, password)
    spare_interview_id: uuid.UUID  # a second approved interview, for the end-to-end scenarios


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _build(
    runtime: Runtime,
) -> tuple[str, uuid.UUID, str, dict[str, uuid.UUID], uuid.UUID, dict[str, tuple[str, str]], uuid.UUID]:
    with unit_of_work(runtime.sessions) as session:
        ctx = Context(session, runtime, None)
        project = projects.create(ctx, name="browser")
        codebook.seed_default(ctx, project_id=project.id)
        interviewer = users.create(
            ctx, username="browser-interviewer", role=Role.INTERVIEWER, project_name="browser"
        )
        coder = users.create(ctx, username=CODER_NAME, role=Role.CODER, project_name="browser")
        auditor = users.create(ctx, username="browser-auditor", role=Role.AUDITOR, project_name="browser")
        for made in (coder, interviewer, auditor):
            made.user.must_change_password = False
        person = identities.register(ctx, project_id=project.id, legal_name="Farida Uydirma").person
        interview = interviews.create(
            ctx,
            project_id=project.id,
            interviewee_person_id=person.id,
            interview_month="2025-03",
            mode="in_person",
            languages=["uz"],
            interviewer_id=interviewer.user.id,
        )
        interviews.upload(ctx, interview_id=interview.id, filename="t.txt", data=TRANSCRIPT.encode())
        interviews.approve(ctx, interview_id=interview.id)
        text = interviews.read_pseudonymised(ctx, interview_id=interview.id).text.reveal()
        other = identities.register(ctx, project_id=project.id, legal_name="Farida Uydirma Ikki").person
        spare = interviews.create(
            ctx,
            project_id=project.id,
            interviewee_person_id=other.id,
            interview_month="2025-05",
            mode="encrypted_call",
            languages=["uz"],
            interviewer_id=interviewer.user.id,
        )
        interviews.upload(ctx, interview_id=spare.id, filename="t.txt", data=TRANSCRIPT.encode())
        interviews.approve(ctx, interview_id=spare.id)
        codes = {code.mnemonic: code.id for code in codebook.tree(ctx, project_id=project.id)}
        accounts = {
            made.user.username.removeprefix("browser-"): (made.user.username, made.one_time_password)
            for made in (coder, interviewer, auditor)
        }
        return coder.one_time_password, interview.id, text, codes, project.id, accounts, spare.id


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, databases: DatabaseFactory) -> Iterator[Site]:
    """Start Harbour on a free local port with fresh data; stop it after the session."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        data_dir=data_dir,
        database_url=databases.new("browser"),
        environment="development",
        demo_mode=True,
        require_totp=False,
        cookie_secure=False,
        **FAST_ARGON2,  # type: ignore[arg-type]
    )
    key_provider.create_keystore(settings)
    engine = make_engine(settings.sqlalchemy_url)
    migrate.upgrade(engine)
    runtime = Runtime.open(settings, engine=engine)
    password, interview_id, text, codes, project_id, accounts, spare_id = _build(runtime)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, runtime=runtime), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, name="harbour-browser-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Site(
        f"http://127.0.0.1:{port}",
        CODER_NAME,
        password,
        interview_id,
        text,
        codes,
        project_id,
        accounts,
        spare_id,
    )
    server.should_exit = True
    thread.join(timeout=10)
    runtime.close()
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright (fails, never skips, when it is missing)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page; fails the test on any Content-Security-Policy violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    opened.on("pageerror", lambda error: violations.append(f"script error: {error}"))
    yield opened
    context.close()
    assert violations == [], violations


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the page: into docs/screenshots/ for the README when HARBOUR_SCREENSHOTS=1
    (scripts/screenshots), else into test-artifacts/screenshots/ (not committed), so every run keeps its own.
    """
    folder = SCREENSHOTS if os.environ.get("HARBOUR_SCREENSHOTS") == "1" else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=False)
    return path
