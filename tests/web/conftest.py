"""A real server for the web tests: uvicorn in a thread, on 127.0.0.1 and a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from nudgenet import Model
from nudgenet.web import create_app, seed_model
from nudgenet.web.server import make_server


@pytest.fixture(scope="session")
def seed() -> Model:
    """The seed network, trained for one epoch (about 87% test accuracy)."""
    return seed_model(epochs=1)


def _serve(app: FastAPI, **options: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = make_server(app, **options)  # the limits and timeouts of `nudgenet serve`
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def _servers() -> Iterator[Callable[..., str]]:
    running: list[tuple[uvicorn.Server, threading.Thread, FastAPI]] = []

    def start(app: FastAPI, **options: Any) -> str:
        """Serve ``app``; ``options`` go to :func:`nudgenet.web.server.make_server`."""
        server, thread, url = _serve(app, **options)
        running.append((server, thread, app))
        return url

    yield start
    for server, thread, app in running:
        app.state.web.jobs.shutdown()
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start a server for an app, stopped at the end of the test; returns its URL."""
    yield from _servers()


@pytest.fixture(scope="module")
def serve_module() -> Iterator[Callable[..., str]]:
    """Start a server for an app, stopped at the end of the module; returns its URL."""
    yield from _servers()


@pytest.fixture(scope="module")
def url(seed: Model, serve_module: Callable[..., str]) -> str:
    """A server serving the seed network, shared by a module's tests that start no job."""
    return serve_module(create_app(seed))


@pytest.fixture
def fresh_url(seed: Model, serve: Callable[..., str]) -> str:
    """A server of its own (no training job yet) serving the seed network."""
    return serve(create_app(seed))
