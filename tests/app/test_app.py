"""The application shell: health, security headers, error rendering and the unit of work."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.context import Context
from app.deps import SessionDep
from app.errors import ConflictError
from app.projects import service as projects
from app.projects.models import Project
from app.runtime import Runtime


def test_healthz_reports_database_and_unlocked_keys(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "keys": "unlocked"}


def test_healthz_is_503_while_keys_are_sealed(client: TestClient, runtime: Runtime) -> None:
    runtime.keystore = None
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["keys"] == "sealed"


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/healthz", "/no-such-page", "/api/v1/no-such-thing"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_static_files_may_be_cached_but_keep_the_other_headers(client: TestClient) -> None:
    response = client.get("/static/harbour.css")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_errors_are_json_with_code_and_message(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_page_errors_are_html(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text


def test_a_request_that_fails_leaves_nothing_written(
    app: FastAPI, client: TestClient, runtime: Runtime
) -> None:
    @app.post("/api/v1/test-fail")
    def fail_after_write(session: SessionDep) -> None:
        projects.create(Context(session, runtime, None), name="half-written")
        raise ConflictError("refused after a write")

    @app.post("/api/v1/test-ok")
    def succeed(session: SessionDep) -> dict[str, str]:
        projects.create(Context(session, runtime, None), name="fully-written")
        return {"ok": "yes"}

    failed = client.post("/api/v1/test-fail")
    assert failed.status_code == 409
    assert failed.json()["error"] == {"code": "conflict", "message": "refused after a write"}
    assert client.post("/api/v1/test-ok").status_code == 200
    with runtime.sessions() as session:
        names = set(session.scalars(select(Project.name)))
    assert "half-written" not in names
    assert "fully-written" in names


def test_unexpected_errors_are_a_bland_500_without_details(app: FastAPI, settings: object) -> None:
    @app.get("/api/v1/test-crash")
    def crash() -> None:
        raise RuntimeError("secret canary 7f3a in an exception message")

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = client.get("/api/v1/test-crash")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal", "message": "Internal error."}}
    assert "canary" not in response.text


def test_invalid_input_is_422_without_echoing_the_value(app: FastAPI, client: TestClient) -> None:
    @app.get("/api/v1/test-number")
    def number(n: int) -> dict[str, int]:
        return {"n": n}

    response = client.get("/api/v1/test-number", params={"n": "canary-b41"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "invalid_input"
    assert "canary" not in response.text


def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(
    client: TestClient, settings: object
) -> None:
    from app.settings import Settings

    assert isinstance(settings, Settings)
    too_big = settings.max_upload_bytes + 128 * 1024
    response = client.post(
        "/api/v1/auth/token", content=b"x" * too_big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_streamed_body_over_the_limit_is_refused_too(client: TestClient, settings: object) -> None:
    from app.settings import Settings

    assert isinstance(settings, Settings)
    chunk = b"x" * (1024 * 1024)
    count = settings.max_upload_bytes // len(chunk) + 2

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk

    response = client.post(
        "/api/v1/auth/token",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_uploads_are_never_spooled_to_disk(settings: object) -> None:
    from starlette.formparsers import MultiPartParser

    from app.settings import Settings

    assert isinstance(settings, Settings)
    assert MultiPartParser.spool_max_size > settings.max_upload_bytes


def test_a_wrong_method_is_405_naming_every_method_of_the_path(client: TestClient) -> None:
    response = client.request("OPTIONS", "/api/v1/auth/token")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "DELETE, POST"


def test_the_openapi_schema_declares_the_error_envelope_on_api_operations(app: FastAPI) -> None:
    spec = app.openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/"):
                for status in ("401", "403", "404", "422"):
                    content = operation["responses"][status]["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path)
