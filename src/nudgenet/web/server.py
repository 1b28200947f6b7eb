"""The HTTP server around the application: uvicorn, with every limit a slow client meets.

uvicorn bounds the size of a request head still on its way and the life of an idle
connection, but not the time a client may take to send its head: a client that opens a
connection and sends half a request line would hold it for ever. :class:`DeadlineProtocol`
adds that deadline; the :class:`~nudgenet.web.guard.Guard` bounds the time to send a body.
:class:`Server` ends the open event streams as soon as it is told to stop, and
:class:`AnswerWhileStopping` answers the requests still computing, so Ctrl+C waits for
neither, and prints no traceback.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import MAX_HEAD_BYTES
from .errors import error_response
from .state import WebState

HEADER_TIMEOUT_S = 10.0
"""Seconds a connection has to send a whole request head, counted from when it opened or
from the end of its previous response. A browser sends its head in one packet within
milliseconds; a client that stalls or trickles bytes (slowloris) loses its connection.
uvicorn has no such setting: :class:`DeadlineProtocol` enforces it."""
KEEP_ALIVE_S = 5
"""Seconds an idle keep-alive connection stays open (uvicorn's ``timeout_keep_alive``):
long enough for the page's next request to reuse it, short enough not to pile up."""
MAX_CONNECTIONS = 64
"""Open connections and requests at once (``limit_concurrency``); past it a request is
answered 503. A page uses at most six connections; this leaves room for many tabs."""
STOP_POLL_S = 0.1
"""How often a request in progress looks whether the server has begun to stop."""
SHUTDOWN_GRACE_S = 2
"""Seconds a stopping server waits for requests still being answered
(``timeout_graceful_shutdown``) before it cancels them: the event streams end at once
(:class:`Server`), and every other request is answered in well under a second."""


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that takes too long to send a request head.

    A deadline of ``header_timeout`` seconds starts when the connection opens and again when
    a response ends; it is lifted once a request's head has arrived, and never pushed back by
    the bytes that trickle in before. A request body has its own deadline, in the Guard.
    """

    header_timeout: float = HEADER_TIMEOUT_S
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lift()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """Stop as uvicorn does, but close at once a connection still sending its body.

        Waiting would keep the server up until the Guard's body deadline, then cancel the
        request with a traceback; closing ends that request quietly, as a client that left.
        """
        responding = self.cycle is not None and not self.cycle.response_complete
        if responding and self.conn.their_state is h11.SEND_BODY:
            self.transport.close()
        else:
            super().shutdown()

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _watch(self) -> None:
        """Start the deadline while a head is awaited (unless running); lift it once one came."""
        if not self._waiting_for_head():
            self._lift()
        elif self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _lift(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.close()


class AnswerWhileStopping:
    """ASGI wrapper: once the server stops, a request still computing is answered 503 at once.

    uvicorn waits :data:`SHUTDOWN_GRACE_S` for the requests in progress, then cancels them
    and logs a traceback. A page open when Ctrl+C comes may have one in a worker thread (a
    formula SymPy is still reading, on a busy machine), which no signal can stop; its
    answer is not needed any more. So the client is told the server is stopping, the
    request's task is cancelled, and its thread's result, when it comes, is dropped.
    A response already under way (an event stream) ends by itself (``closing``).
    """

    def __init__(self, app: ASGIApp, closing: threading.Event) -> None:
        self.app = app
        self.closing = closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        abandoned = False

        async def forward(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, forward))
        while not task.done():
            await asyncio.wait({task}, timeout=STOP_POLL_S)
            if self.closing.is_set() and not task.done() and not started:
                abandoned = True
                task.cancel()
                await error_response(
                    503, "the server is stopping", "start it again: nudgenet serve"
                )(scope, receive, send)
                return
        task.result()  # the route's own exception, if any, as without this wrapper


class Server(uvicorn.Server):
    """uvicorn's server, which tells the application's event streams to end when it stops.

    uvicorn waits for the responses in progress before it stops, and an event stream lasts
    as long as its training job: without this, Ctrl+C with a page open would wait
    :data:`SHUTDOWN_GRACE_S`, then cancel the stream with a traceback.
    """

    def __init__(self, config: uvicorn.Config, state: WebState) -> None:
        super().__init__(config)
        self.web_state = state

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.web_state.closing.set()
        await super().shutdown(sockets)


def make_server(
    app: FastAPI, *, header_timeout: float = HEADER_TIMEOUT_S, **options: Any
) -> Server:
    """A uvicorn server for ``app`` (from :func:`~nudgenet.web.create_app`), with its limits.

    ``options`` go to :class:`uvicorn.Config` (e.g. ``log_level``); h11 is the protocol, as
    the one uvicorn always has and the one these limits are written for, and WebSockets are
    off, as no route uses them.
    """
    protocol = type("DeadlineProtocol", (DeadlineProtocol,), {"header_timeout": header_timeout})
    config = uvicorn.Config(
        AnswerWhileStopping(app, app.state.web.closing),
        http=protocol,
        ws="none",
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,  # a head in pieces: 400 past it
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        **{"log_level": "warning", "access_log": False, **options},
    )
    return Server(config, app.state.web)
