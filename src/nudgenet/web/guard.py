"""The ASGI middleware in front of every route: the Host check and the body-size limit.

It works on raw ASGI messages, before FastAPI parses anything, so a hostile request costs no
more than reading its headers (and at most ``max_body`` bytes of its body).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response
from .schemas import MAX_SIDE


class Guard:
    """ASGI middleware refusing what should never reach an endpoint.

    * a Host header not in ``allowed_hosts`` (when given): 400, against DNS rebinding;
    * a POST whose body is not JSON: 415, so plain HTML forms of other sites cannot post;
    * a body over ``max_body`` bytes: 413, before anything parses it.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str] | None, max_body: int) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = _hostname(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await error_response(
                400,
                f"unexpected Host header {headers.get('host', '')!r}",
                "open the page at http://127.0.0.1:PORT/ (the address `nudgenet serve` prints)",
            )(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            await error_response(
                415,
                f"request bodies must be JSON (Content-Type: application/json), got "
                f"{media_type or 'no Content-Type'}",
            )(scope, receive, send)
            return
        body = await self._read(receive, headers.get("content-length"))
        if body is None:
            await error_response(
                413,
                f"request body too large: the limit is {self.max_body:,} bytes",
                f"send drawings of at most {MAX_SIDE}×{MAX_SIDE} pixels",
            )(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: wait for the disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, length: str | None) -> bytes | None:
        """The whole body, or None as soon as it is known to exceed the limit."""
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return None
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _hostname(host: str) -> str:
    """The name in a Host header, without the port: "[::1]:8000" → "::1"."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
