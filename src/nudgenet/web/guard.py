"""The ASGI middleware in front of every route: the Host check and the body's size and time.

It works on raw ASGI messages, before FastAPI parses anything, so a hostile request costs no
more than reading its headers (and at most ``max_body`` bytes of its body, for at most
``body_timeout`` seconds).
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response
from .schemas import MAX_SIDE


class Guard:
    """ASGI middleware refusing what should never reach an endpoint.

    * a request line and headers over ``max_head`` bytes: 431;
    * a Host header not in ``allowed_hosts`` (when given): 400, against DNS rebinding;
    * a POST whose body is not JSON: 415, so plain HTML forms of other sites cannot post;
    * a body over ``max_body`` bytes: 413, before anything parses it;
    * a body not all sent within ``body_timeout`` seconds: 408, so a client that announces
      a body and stalls does not hold its connection (and a request task) for ever.

    After a 413 or a 408 the rest of the body is not read: the connection is closed.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: frozenset[str] | None,
        max_head: int,
        max_body: int,
        body_timeout: float,
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.max_head = max_head
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = len(scope.get("raw_path", b"")) + len(scope["query_string"])
        head += sum(len(k) + len(v) + 4 for k, v in scope["headers"])  # "k: v\r\n"
        if head > self.max_head:
            await _closing(
                error_response(
                    431,
                    f"request headers too large: the limit is {self.max_head:,} bytes",
                    "clear this site's cookies (localhost), or send fewer headers",
                )
            )(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = _hostname(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await error_response(
                400,
                f"unexpected Host header {headers.get('host', '')!r:.80}",
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
                f"{media_type or 'no Content-Type':.80}",
            )(scope, receive, send)
            return
        body = await self._read(receive, headers.get("content-length"))
        if body is None:  # the client has gone: nobody to answer
            return
        if isinstance(body, Response):
            await body(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: wait for the disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, length: str | None) -> bytes | Response | None:
        """The whole body; or the refusal, as soon as it is too large or too late; or None
        when the client disconnected."""
        # h11 has checked a Content-Length is digits; no more are converted than the limit has.
        digits = length if length is not None and length.isascii() and length.isdigit() else "0"
        if len(digits) > len(str(self.max_body)) or int(digits) > self.max_body:
            return self._too_large()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        chunks = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except asyncio.TimeoutError:
                return _closing(
                    error_response(
                        408,
                        f"request body not received within {self.body_timeout:g} s",
                        "send the whole body at once, as the page does",
                    )
                )
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> Response:
        return _closing(
            error_response(
                413,
                f"request body too large: the limit is {self.max_body:,} bytes",
                f"send drawings of at most {MAX_SIDE}×{MAX_SIDE} pixels",
            )
        )


def _closing(response: Response) -> Response:
    """``response``, telling the client that the connection ends with it (the rest of the
    body is never read, so the connection cannot carry another request)."""
    response.headers["connection"] = "close"
    return response


def _hostname(host: str) -> str:
    """The name in a Host header, without the port: "[::1]:8000" → "::1"."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
