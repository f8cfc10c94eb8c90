"""Request bodies: bounded in size before they are read, and never spooled to disk.

A body larger than the upload limit (plus room for multipart framing) is refused with 413 as soon as its
Content-Length says so, or as soon as the streamed bytes pass the limit, before any of it is parsed. Uploaded
files stay in memory while a request is handled: Starlette would otherwise write any part over 1 MB to an
unencrypted temporary file, and a stolen disk must reveal nothing.
"""

from __future__ import annotations

from starlette.formparsers import MultiPartParser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_ALLOWANCE = 64 * 1024


def keep_uploads_in_memory(limit: int) -> None:
    """Raise Starlette's spooling threshold above the largest accepted body, so no part reaches the disk."""
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, limit + MULTIPART_ALLOWANCE)


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit + MULTIPART_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length first, then count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(scope, receive, send)
                return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            # Past the limit the app is told the client left (it stops reading) and the 413 is ours to send.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await _too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(
        {"error": {"code": "payload_too_large", "message": "The upload is larger than this server accepts."}},
        status_code=413,
    )
    await response(scope, receive, send)
