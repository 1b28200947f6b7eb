"""Slow and oversized clients, over raw sockets against a real server with short deadlines.

Each test opens connections that send part of a request and stop (or trickle), and checks
that the server closes them within its deadline while it goes on serving everyone else.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from nudgenet import Model
from nudgenet.web import create_app
from nudgenet.web.app import BODY_TIMEOUT_S, MAX_HEAD_BYTES
from nudgenet.web.server import (
    HEADER_TIMEOUT_S,
    KEEP_ALIVE_S,
    MAX_CONNECTIONS,
    SHUTDOWN_GRACE_S,
    make_server,
)

DEADLINE_S = 1.0
"""The header and body deadlines of this module's server: short, for the tests' sake."""
SLACK_S = 1.5
"""How much later than its deadline a connection may be closed (a busy test machine)."""
HEAD = b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
POST_HEAD = (
    b"POST /api/descend HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
)


@pytest.fixture(scope="module")
def address(seed: Model, serve_module: Callable[..., str]) -> tuple[str, int]:
    """Host and port of a server with deadlines of :data:`DEADLINE_S`."""
    url = serve_module(create_app(seed, body_timeout=DEADLINE_S), header_timeout=DEADLINE_S)
    parts = urlsplit(url)
    return parts.hostname, parts.port


@contextmanager
def connection(address: tuple[str, int]) -> Iterator[socket.socket]:
    with socket.create_connection(address, timeout=DEADLINE_S + SLACK_S + 5) as sock:
        yield sock


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took.

    A close with bytes of ours still unread (a trickle's last one can arrive just before
    the deadline) reaches us as a reset rather than an end of stream: closed all the same.
    """
    start = time.monotonic()
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received, time.monotonic() - start


def serves(address: tuple[str, int]) -> bool:
    """Whether the server answers a normal request promptly."""
    host, port = address
    return httpx.get(f"http://{host}:{port}/api/model", timeout=2).status_code == 200


def json_body(response: bytes) -> dict:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def test_the_server_has_its_limits(seed: Model) -> None:
    config = make_server(create_app(seed)).config
    assert config.timeout_keep_alive == KEEP_ALIVE_S
    assert config.h11_max_incomplete_event_size == MAX_HEAD_BYTES
    assert config.limit_concurrency == MAX_CONNECTIONS
    assert config.timeout_graceful_shutdown == SHUTDOWN_GRACE_S
    assert config.http.header_timeout == HEADER_TIMEOUT_S
    assert config.ws == "none"
    assert KEEP_ALIVE_S < HEADER_TIMEOUT_S < BODY_TIMEOUT_S


@contextmanager
def trickling(sock: socket.socket, data: bytes) -> Iterator[None]:
    """Send ``data`` one byte every 0.1 s in the background, until the block ends."""
    stop = threading.Event()

    def trickle() -> None:
        for byte in data:
            if stop.wait(0.1):
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET /api/model HTTP/1.1\r\nHo",  # half a head
        HEAD + b"GET /api/mo",  # a first request answered, then half a second one
        b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n",  # GET body
    ],
    ids=["nothing", "half a head", "half a second head", "a GET's body never sent"],
)
def test_a_stalled_head_is_cut_off(address: tuple[str, int], sent: bytes) -> None:
    with connection(address) as sock:
        sock.sendall(sent)
        assert serves(address)  # meanwhile, others are served
        received, took = until_closed(sock)
    assert took < DEADLINE_S + SLACK_S
    assert received.count(b"HTTP/1.1 200 OK") == sent.count(b"\r\n\r\n")  # answered ones only


def test_a_trickled_head_is_cut_off(address: tuple[str, int]) -> None:
    """One byte at a time does not push the deadline back (slowloris)."""
    with connection(address) as sock, trickling(sock, HEAD[:-2]):
        received, took = until_closed(sock)
    assert received == b""
    assert took < DEADLINE_S + SLACK_S
    assert serves(address)


def test_many_stalled_connections_do_not_stop_the_server(address: tuple[str, int]) -> None:
    sockets = [socket.create_connection(address, timeout=10) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /api/mod")
        assert serves(address)
        start = time.monotonic()
        for sock in sockets:
            assert sock.recv(100) == b""  # each one closed
        assert time.monotonic() - start < DEADLINE_S + SLACK_S
    finally:
        for sock in sockets:
            sock.close()


def test_a_stalled_body_is_answered_408(address: tuple[str, int]) -> None:
    with connection(address) as sock:
        start = time.monotonic()  # the deadline runs from here, while another request is served
        sock.sendall(POST_HEAD + b'{"steps":')  # 9 of the 100 bytes announced
        assert serves(address)
        received, _ = until_closed(sock)
        took = time.monotonic() - start
    assert DEADLINE_S * 0.9 < took < DEADLINE_S + SLACK_S
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in received.lower()
    body = json_body(received)
    assert "not received within 1 s" in body["error"]
    assert body["help"]


def test_a_trickled_body_is_answered_408(address: tuple[str, int]) -> None:
    """The body's deadline is for all of it, not for each piece."""
    with connection(address) as sock:
        sock.sendall(POST_HEAD)
        with trickling(sock, b" " * 100):
            received, took = until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert took < DEADLINE_S + SLACK_S


def test_a_body_sent_in_pieces_in_time_is_read(address: tuple[str, int]) -> None:
    body = b'{"expression": "(w-1)^2", "steps": 5}'
    head = POST_HEAD.replace(b"100", str(len(body)).encode())
    with connection(address) as sock:
        sock.sendall(head)
        for i in range(0, len(body), 10):
            time.sleep(0.05)
            sock.sendall(body[i : i + 10])
        received = sock.recv(65536)
    assert received.startswith(b"HTTP/1.1 200 "), received[:200]


def test_an_oversized_head_is_refused(address: tuple[str, int]) -> None:
    cookie = b"Cookie: " + b"c" * MAX_HEAD_BYTES + b"\r\n"
    with connection(address) as sock:  # all at once: it reaches the Guard
        sock.sendall(HEAD[:-2] + cookie + b"\r\n")
        received, _ = until_closed(sock)
    assert received.startswith(b"HTTP/1.1 431 ")
    assert f"{MAX_HEAD_BYTES:,} bytes" in json_body(received)["error"]
    with connection(address) as sock:  # in pieces, never finished: h11 stops buffering it
        sock.sendall(HEAD[:-2])
        for i in range(0, len(cookie), 4096):
            try:
                sock.sendall(cookie[i : i + 4096])
            except OSError:
                break
            time.sleep(0.01)
        received, took = until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 ")
    assert took < DEADLINE_S
    assert serves(address)


def test_a_head_within_the_limit_is_served(address: tuple[str, int]) -> None:
    host, port = address
    cookie = "c" * (MAX_HEAD_BYTES // 2)
    response = httpx.get(f"http://{host}:{port}/api/model", headers={"cookie": cookie})
    assert response.status_code == 200


@pytest.mark.parametrize("length", [b"1000001", b"9" * 10, b"9" * 5000])
def test_an_announced_body_over_the_limit_is_refused_at_once(
    address: tuple[str, int], length: bytes
) -> None:
    with connection(address) as sock:
        sock.sendall(POST_HEAD.replace(b"100", length))
        received, took = until_closed(sock)
    assert took < DEADLINE_S
    # h11 reads Content-Length itself: it refuses one Python cannot convert (400, text).
    status = b"400" if len(length) > 4300 else b"413"
    assert received.startswith(b"HTTP/1.1 " + status), received[:100]


def test_a_stopping_server_closes_a_stalled_body_at_once(seed: Model) -> None:
    """The server does not wait for the body deadline (or its grace period) to stop."""
    app = create_app(seed)  # the real deadlines: 15 s for a body
    server = make_server(app)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    with connection(sock.getsockname()) as client:
        client.sendall(POST_HEAD + b"{")
        time.sleep(0.2)
        start = time.monotonic()
        server.should_exit = True
        thread.join(10)
        assert time.monotonic() - start < 1.5
        assert until_closed(client)[0] == b""
