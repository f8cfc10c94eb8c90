"""The error family services raise, and the handlers that render it.

Services raise `AppError` subclasses; one handler renders `{"error": {"code", "message"}}` for `/api/` and
`templates/error.html` for pages. Anything else becomes a generic 500 whose log line names only the exception
type and request path: exception messages can carry content, so they are never logged or shown.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.templating import Jinja2Templates

log = logging.getLogger("harbour.errors")


class AppError(Exception):
    """Base of every error a service may raise on purpose; safe to show to the caller."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class InvalidInputError(AppError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422
    code = "invalid_input"


class UnauthenticatedError(AppError):
    """No valid session or token."""

    status_code = 401
    code = "unauthenticated"


class ForbiddenError(AppError):
    """Authenticated, but the policy does not allow this action (never used to hide existence)."""

    status_code = 403
    code = "forbidden"


class NotFoundError(AppError):
    """Missing, or out of the caller's scope: the two are indistinguishable by design."""

    status_code = 404
    code = "not_found"

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class ConflictError(AppError):
    """The change conflicts with the current state (duplicate, stale version, locked record)."""

    status_code = 409
    code = "conflict"


class PayloadTooLargeError(AppError):
    """An upload or body beyond the configured limit."""

    status_code = 413
    code = "payload_too_large"


class ServiceUnavailableError(AppError):
    """Keys sealed, audit log unwritable or database unreachable: fail closed."""

    status_code = 503
    code = "unavailable"


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a message safe to show."""

    code: str
    message: str


class ErrorEnvelope(BaseModel):
    """The body of every API error."""

    error: ErrorDetail


_DOCUMENTED_ERRORS = {
    400: "The request is not acceptable.",
    401: "No valid session or token.",
    403: "The caller's role does not allow this, or the form's CSRF token is missing.",
    404: "Missing, or out of the caller's scope.",
    409: "The change conflicts with the current state.",
    413: "The body is larger than this server accepts.",
    415: "The uploaded file's type is not supported.",
    422: "The request is malformed or its content is not acceptable.",
    503: "Harbour is sealed or its database is unreachable.",
}

# Declared on every API operation (app.main includes the API routers with it), so the OpenAPI schema
# describes the error envelope instead of FastAPI's default `HTTPValidationError` for 422.
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in _DOCUMENTED_ERRORS.items()
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def render_error(request: Request, status_code: int, code: str, message: str) -> Response:
    """Render one error as JSON for the API, or as the error page for browsers."""
    if _wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status_code)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status_code": status_code, "code": code, "message": message},
        status_code=status_code,
    )


def _validation_message(exc: RequestValidationError) -> str:
    """Describe the first invalid field without echoing the submitted value back."""
    errors = exc.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
    what = str(first.get("msg", "invalid value"))
    return f"{where}: {what}" if where else what


async def _record_denied(request: Request, reason: str) -> None:
    """Log a refused request of an authenticated caller in its own transaction (the request rolled back)."""
    hook = getattr(request.app.state, "on_denied", None)
    if hook is None or getattr(request.state, "actor", None) is None:
        return
    try:
        await run_in_threadpool(hook, request, reason)
    except Exception as exc:  # the refusal stands either way; never let logging turn it into a 500
        log.error("could not record a denied request: %s", type(exc).__name__)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (Starlette names only the first matching route's)."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a clean response."""

    async def on_app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
        if exc.status_code == 401 and not _wants_json(request):
            return RedirectResponse("/login", status_code=303)
        if exc.status_code in (403, 404):
            await _record_denied(request, exc.code)
        response = render_error(request, exc.status_code, exc.code, exc.message)
        response.headers.update(getattr(exc, "headers", None) or {})  # such as Retry-After on a 503
        return response

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for HTTPException only
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        response = render_error(request, exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["allow"] = _allowed_methods(request)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for validation only
        return render_error(request, 422, "invalid_input", _validation_message(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "internal", "message": "Internal error."}}, status_code=500
            )
        return HTMLResponse("<!doctype html><title>Error</title><p>Internal error.</p>", status_code=500)

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
