"""Security test 17: log hygiene and injection.

Usernames, passwords, TOTP codes, API fields (codebook labels and texts, identity fields, search queries) and
a user-agent carrying CR/LF, ANSI escapes, JSON breakers, NUL and 10 kB strings, each marked with a canary:

- each event writes exactly one audit entry (a refused body none), so no entry can be forged, and every
  entry holds only opaque ids and short codes: none of the injected text;
- the app's log records (loggers `harbour`, `uvicorn`, `uvicorn.error`, `uvicorn.access` at DEBUG) and its
  stdout/stderr hold no password, TOTP code or secret, session id, API token or canary, and no message
  holds a raw control character (no forged log line);
- every error is the generic JSON envelope (or the error page): no stack trace, no SQL, no echo of the value.

And a live `harbour serve`: requests with a canary in the path, the query string and a header leave nothing
of it, and no access line, in the server's own output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.deps import SESSION_COOKIE_SECURE
from app.context import Context
from tests.auth.test_login import NEW_PASSWORD, _enrolled_user, _login_csrf
from tests.auth_support import Clock, use
from tests.cli_support import Harbour
from tests.interviews.conftest import World, get, world  # noqa: F401 - fixture
from tests.security import canaries

LOGGERS = ("harbour", "uvicorn", "uvicorn.error", "uvicorn.access")
# Values an attacker would use to forge a log line or an audit entry, or to break a JSON or terminal reader.
INJECTIONS = {
    "crlf": "\r\nINFO harbour.audit: auth.login outcome=ok actor=admin\r\n",
    "lf": "\n2026-03-14 09:30:00 WARNING forged line\n",
    "ansi": "\x1b[31m\x1b[2J\x1b]0;owned\x07\x1b[0m",
    "json": '"}]}, {"action": "auth.login", "outcome": "ok", "x": "\\',
    "nul": "a\x00b",
    "long": "L" * 10_240,
}
# The same for a TOTP code field (at most 16 characters are accepted, so most arrive whole).
CODE_INJECTIONS = ("\r\n123456", "\x1b[2J123456", '"}123456\\', "123\x00456", "1" * 10_240)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CODE = re.compile(r"[a-z][a-z0-9_.:+-]{0,63}")
TRACE_WORDS = ("Traceback", 'File "', "SELECT ", "INSERT ", "UPDATE ", "sqlalchemy", "psycopg", "sqlite3")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of the app's and the server's loggers, down to DEBUG."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _mark() -> str:
    return canaries.canary("latin", "inj", "NFC")


def _seq(ctx: Context) -> int:
    ctx.session.expire_all()
    return ctx.session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0


def _since(ctx: Context, seq: int) -> list[AuditEvent]:
    ctx.session.expire_all()
    return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)))


def _assert_opaque(entry: AuditEvent) -> None:
    """An entry holds ids and short lower-case codes only."""
    for value in (entry.action, entry.object_type, entry.reason, entry.outcome, entry.actor_role):
        assert value is None or _CODE.fullmatch(value), repr(value)[:80]
    if entry.object_id is not None:
        assert _CODE.fullmatch(entry.object_id) or str(uuid.UUID(entry.object_id)) == entry.object_id


def _assert_generic_error(response: Response, *values: str) -> None:
    """A 4xx in the error envelope (or the error page), with no trace, no SQL and no echo of the values."""
    assert 400 <= response.status_code < 500, response.status_code
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message"}
    for word in TRACE_WORDS:
        assert word not in response.text
    for value in values:
        assert value not in response.text
        for line in value.splitlines():
            if len(line) > 8:  # a fragment of the value long enough to mean something
                assert line not in response.text


def _assert_logs_clean(
    logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], secrets: list[str], marks: list[str]
) -> int:
    """No secret, canary or raw control character in any record or in stdout/stderr; the records counted."""
    records = [record for record in logs.records if record.name.split(".")[0] in ("harbour", "uvicorn")]
    for record in records:
        message = record.getMessage()
        assert not CONTROL.search(message), f"{record.name}: {message[:120]!r}"
    printed = capsys.readouterr()
    text = "\n".join(
        [f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in records]
        + [printed.out, printed.err]
    )
    for secret in secrets:
        assert secret not in text
    assert canaries.hits({"logs": text.encode("utf-8", "surrogatepass")}, marks) == []
    return len(records)


def _form_login(client: TestClient, username: str, password: str, code: str = "") -> Response:
    token = _login_csrf(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "code": code, "csrf_token": token},
        follow_redirects=False,
    )


def _api_login(client: TestClient, username: str, password: str, code: str = "") -> Response:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password, "code": code})


LOGINS: dict[str, Callable[..., Response]] = {"form": _form_login, "api": _api_login}


def test_injected_credentials_write_one_entry_per_attempt_and_nothing_else(
    client: TestClient,
    ctx: Context,
    clock: Clock,
    logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user, secret = _enrolled_user(client, ctx, clock)
    marks: list[str] = []
    secrets = [NEW_PASSWORD, secret]
    attempts = 0
    for channel, login in LOGINS.items():
        for kind, injection in INJECTIONS.items():
            mark = _mark()
            marks.append(mark)
            # (username, password, code, the user the attempt is about)
            cases = [
                (mark + injection, "a wrong password of some length", "", None),
                (user.username, mark + injection, "", user.id),
            ]
            for username, password, code, about in cases:
                clock.advance(seconds=61)  # each attempt on its own, clear of the throttle
                client.cookies.clear()
                before = _seq(ctx)
                response = login(client, username, password, code)
                entries = _since(ctx, before)
                _assert_generic_error(response, mark, injection)
                if response.status_code == 422:  # refused before it is an attempt (too long for the field)
                    assert entries == [], f"{channel} {kind}"
                    continue
                attempts += 1
                assert response.status_code == 401, f"{channel} {kind}: {response.status_code}"
                assert [(e.action, e.outcome, e.reason) for e in entries] == [
                    ("auth.login", "failed", "bad_credentials")
                ], f"{channel} {kind}"
                assert entries[0].object_id == (None if about is None else str(about))
                _assert_opaque(entries[0])
        for code in CODE_INJECTIONS:
            clock.advance(seconds=61)
            client.cookies.clear()
            before = _seq(ctx)
            response = login(client, user.username, NEW_PASSWORD, code)
            entries = _since(ctx, before)
            _assert_generic_error(response, code)
            if response.status_code == 422:
                assert entries == []
                continue
            attempts += 1
            assert response.status_code == 401, f"{channel} {code[:12]!r}"
            assert [(e.action, e.outcome, e.object_id) for e in entries] == [
                ("auth.login", "failed", str(user.id))
            ]
    assert attempts >= 20  # most injections reach the login service, not only the field validation
    # A real login and token for the secrets scan: the password, the code, the session and the token.
    clock.advance(seconds=61)
    client.cookies.clear()
    code = pyotp.TOTP(secret).at(clock.now)
    issued = _api_login(client, user.username, NEW_PASSWORD, code)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    clock.advance(seconds=31)
    code = pyotp.TOTP(secret).at(clock.now)
    page = _form_login(client, user.username, NEW_PASSWORD, code)
    assert page.status_code == 303
    sid = client.cookies.get(SESSION_COOKIE_SECURE)
    assert sid
    _assert_logs_clean(logs, capsys, [*secrets, code, token, sid], marks)


def test_injected_api_fields_and_headers_leave_one_entry_per_event_and_clean_logs(
    app: FastAPI,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
    logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marks: list[str] = []
    project = world.project.id
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        for kind, injection in INJECTIONS.items():
            mark = _mark()
            marks.append(mark)
            value = mark + injection
            agent = (
                value if kind not in ("crlf", "lf", "nul") else mark
            )  # a header cannot carry CR, LF or NUL
            events: list[tuple[str, Any, str, dict[str, Any]]] = [
                (
                    "code",
                    world.coder,
                    f"/api/v1/projects/{project}/codes",
                    {"json": {"mnemonic": "INJ", "name": value}},
                ),
                (
                    "code-text",
                    world.coder,
                    f"/api/v1/projects/{project}/codes",
                    {"json": {"mnemonic": "INJT", "name": "Fictional label", "definition": value}},
                ),
                (
                    "person",
                    world.interviewer,
                    f"/api/v1/projects/{project}/persons",
                    {"json": {"legal_name": value}},
                ),
                ("search", world.coder, "/api/v1/search", {"params": {"q": value}}),
            ]
            for event, who, url, kwargs in events:
                before = _seq(ctx)
                use(client, who)
                method = "GET" if event == "search" else "POST"
                headers = {b"user-agent": agent.encode(), b"x-csrf-token": who.csrf.encode()}
                response = client.request(method, url, headers=headers, **kwargs)
                entries = _since(ctx, before)
                for entry in entries:
                    _assert_opaque(entry)
                if response.status_code >= 400:
                    _assert_generic_error(response, mark, injection)
                    # A refused body writes nothing: the token use of an API token aside, sessions write none.
                    assert entries == [], f"{event} {kind}: {[e.action for e in entries]}"
                else:
                    assert response.status_code in (200, 201), f"{event} {kind}"
                    assert len(entries) == 1, f"{event} {kind}: {[e.action for e in entries]}"
                    assert mark not in response.text or event.startswith("code")  # a coder sees their label
                # Injected text never becomes an entry, whatever the outcome.
                for entry in entries:
                    assert mark not in repr(vars(entry))
    _assert_logs_clean(logs, capsys, [world.coder.sid, world.interviewer.sid], marks)


def test_bad_values_in_paths_and_queries_are_generic_errors_that_do_not_echo(
    client: TestClient,
    world: World,  # noqa: F811 - fixture
    logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mark = _mark()
    for url, params in (
        (f"/api/v1/persons/{mark}", {}),
        (f"/api/v1/interviews/{mark}%0d%0aX-Injected:%20yes", {}),
        ("/api/v1/search", {"q": mark + "\x1b[2J" + "x" * 300}),
        (f"/api/v1/projects/{world.project.id}/interviews", {"unexpected": mark}),
    ):
        response = get(client, world.coder, url, params=params)
        if response.status_code < 400:
            assert mark not in response.text
            continue
        _assert_generic_error(response, mark)
        assert "x-injected" not in response.headers
    _assert_logs_clean(logs, capsys, [world.coder.sid], [mark])


# ---- a live server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live(harbour: Harbour, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path, Path]]:
    """`harbour serve` on a fresh installation, its stdout and stderr going to files."""
    assert harbour("init").code == 0
    port = _free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    command = [
        str(Path(sys.executable).with_name("harbour")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=dict(os.environ))  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait for it to listen (not a timed assertion: it fails only if it never does)
            try:
                httpx2.get(f"{base}/healthz", timeout=1.0)
                break
            except httpx2.TransportError:
                assert process.poll() is None, err.read_text()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.1)
        yield base, process, out, err
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_live_server_writes_no_access_line_and_no_canary(
    live: tuple[str, subprocess.Popen[bytes], Path, Path],
) -> None:
    base, process, out, err = live
    mark = _mark()
    with httpx2.Client(base_url=base, timeout=30.0) as web:
        responses = [
            web.get(f"/api/v1/search?q={mark}", headers={b"user-agent": mark.encode()}),
            web.get(f"/{mark}/x", params={"next": mark}),
            web.get(f"/api/v1/persons/{mark}"),
            web.get("/login", params={"next": mark}),
            web.post("/api/v1/auth/token", json={"username": mark, "password": mark, "code": "123456"}),
            web.get("/healthz"),
        ]
    assert [response.status_code for response in responses[:3]] == [401, 404, 401]
    assert responses[4].status_code == 401
    assert responses[5].status_code == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    printed = {"stdout": out.read_bytes(), "stderr": err.read_bytes()}
    assert canaries.hits(printed, [mark]) == []
    text = (printed["stdout"] + printed["stderr"]).decode("utf-8", "replace")
    assert "HTTP/1.1" not in text
    assert not re.search(r'"(GET|POST|PUT|PATCH|DELETE) /', text)
    assert "Harbour on http://127.0.0.1" in text  # the output was captured at all
