"""A large upload is parsed in the thread pool: a real server keeps answering /healthz while it runs.

The parse step is wrapped so that it waits until the health request has been answered. If the upload ran on
the event loop, the health request could not be served and the test would time out instead of passing, so
the test needs no timing thresholds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn

from app.auth import service as users
from app.auth import sessions
from app.auth.deps import cookie_name
from app.auth.models import Role, SessionStage
from app.context import Context
from app.db import unit_of_work
from app.identities import service as identities
from app.ingest import formats
from app.interviews import service as interviews
from app.main import create_app
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from tests.cli_support import Harbour


def _large_transcript(target: int = 1_500_000) -> bytes:
    turn = (
        "Interviewer: What happened after the summons in the spring, and who came to the house?\n\n"
        "Farhod Ismoilov: Two officers came to my father's house and asked about my work abroad. "
        "They said my sister would lose her job at the hospital if I kept talking to journalists.\n\n"
    )
    return (turn * (target // len(turn) + 1)).encode("utf-8")


@pytest.fixture
def server(harbour: Harbour) -> Iterator[tuple[str, Runtime]]:
    """A real uvicorn server on 127.0.0.1 (random port) over a fresh installation."""
    assert harbour("init").code == 0
    runtime = Runtime.open(Settings())
    app = create_app(runtime.settings, runtime=runtime)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert instance.started
    try:
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
        sock.close()
        runtime.close()


def test_health_answers_while_a_large_upload_is_parsed(
    server: tuple[str, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, runtime = server
    with unit_of_work(runtime.sessions) as session:
        ctx = Context(session, runtime, None)
        project = projects.create(ctx, name="load")
        made = users.create(ctx, username="iris", role=Role.INTERVIEWER, project_name="load")
        made.user.must_change_password = False
        person = identities.register(ctx, project_id=project.id, legal_name="Farhod Ismoilov").person
        interview = interviews.create(
            ctx,
            project_id=project.id,
            interviewee_person_id=person.id,
            interview_month="2025-01",
            mode="in_person",
            languages=["ru"],
            interviewer_id=made.user.id,
        )
        started = sessions.start(session, runtime, user=made.user, stage=SessionStage.FULL)
        sid = started.sid
        interview_id = interview.id
    csrf = sessions.csrf_token(runtime, sid)

    parsing = threading.Event()
    health_answered = threading.Event()
    real_parse = formats.parse

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        parsing.set()
        health_answered.wait(timeout=30)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(formats, "parse", slow_parse)
    outcome: dict[str, Any] = {}

    def do_upload() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            response = client.post(
                f"/api/v1/interviews/{interview_id}/transcripts",
                files={"file": ("large.txt", _large_transcript(), "text/plain")},
                headers={"x-csrf-token": csrf, "cookie": f"{cookie_name(runtime)}={sid}"},
            )
        outcome["status"] = response.status_code
        outcome["body"] = response.json()
        outcome["finished"] = time.monotonic()

    uploader = threading.Thread(target=do_upload)
    uploader.start()
    assert parsing.wait(timeout=30), "the upload never reached the parser"
    with httpx.Client(base_url=base, timeout=10) as client:
        health = client.get("/healthz")
    answered = time.monotonic()
    health_answered.set()
    uploader.join(timeout=120)
    assert health.status_code == 200
    assert outcome.get("status") == 201, outcome.get("body")
    assert outcome["body"]["turns"] > 1000
    assert answered < outcome["finished"]
