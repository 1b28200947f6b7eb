"""Fuzzing every route of a real server: no request may get a 5xx, hang, or stop the server.

Each test sends Hypothesis-drawn requests of one class (bodies, query and path values,
headers) over HTTP and checks every answer with :func:`web.fuzzing.check`: a 2xx, or a 4xx
with an ``{"error", "help"}`` body. ``NUDGENET_FUZZ_EXAMPLES`` sets the number of requests
per route and class (default 30); run with ``-rP`` to see how many of each were answered how.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web.fuzzing import (
    BIG_KINDS,
    REQUEST_TIMEOUT_S,
    Raw,
    Tally,
    bodies,
    check,
    filling,
    header_names,
    header_values,
    percent,
    url_text,
    valid,
)

from nudgenet import Model
from nudgenet.web import create_app
from nudgenet.web.app import MAX_BODY_BYTES, MAX_HEAD_BYTES

EXAMPLES = int(os.environ.get("NUDGENET_FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # over HTTP, with training jobs starting: timing is not the point
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # the server's state changes between runs: replaying is no help
)
SMALL_JOB = {"epochs": 1, "train_size": 200, "batch_size": 10}
# A failing example with a 60 kB header would be hidden behind Hypothesis's warning on its repr.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@pytest.fixture(scope="module")
def server(seed: Model, serve_module: Callable[..., str]) -> Iterator[tuple[httpx.Client, dict]]:
    """A server of this module's own, its client, and its /openapi.json; a job has finished,
    so that the event stream ends and the training network can be asked for."""
    url = serve_module(create_app(seed))
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        assert client.post("/api/train", json=SMALL_JOB).status_code == 202
        finish(client)
        yield client, client.get("/openapi.json").json()
        assert client.get("/api/model").status_code == 200  # still serving afterwards


def finish(client: httpx.Client) -> None:
    """Stop the training job, if one runs, and read its event stream to the end."""
    client.post("/api/train/stop", json={})
    with client.stream("GET", "/api/train/events") as events:
        assert events.status_code == 200
        for _ in events.iter_bytes():
            pass


def send(client: httpx.Client, method: str, url: str, **options: Any) -> httpx.Response:
    """One request, read to the end of its body within :data:`REQUEST_TIMEOUT_S` in all
    (an event stream sends a comment every 15 s: the client's read timeout alone would wait
    for ever on one that never ends)."""
    start = time.monotonic()
    chunks = []
    with client.stream(method, url, **options) as streamed:
        for chunk in streamed.iter_raw():  # decoded once, by the Response below
            chunks.append(chunk)
            assert time.monotonic() - start < REQUEST_TIMEOUT_S, f"{method} {url} hangs"
    response = httpx.Response(
        streamed.status_code, headers=streamed.headers, content=b"".join(chunks),
        request=streamed.request,
    )  # fmt: skip
    if method == "POST" and url == "/api/train" and response.status_code == 202:
        finish(client)  # a valid job: stopped at once, so the server stays free
    return response


def answer(client: httpx.Client, method: str, url: str, head: int = 0, **options: Any) -> str:
    """Send one request and check its answer (:func:`web.fuzzing.check`); ``head`` counts the
    bytes of the fuzzed headers. A head over the limit may also be cut off mid-way: h11
    refuses it and closes the connection while the client is still sending it."""
    try:
        response = send(client, method, url, **options)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        if head <= MAX_HEAD_BYTES:
            raise
        return "closed (head over the limit)"
    return check(response, head)


def operations(spec: dict, method: str) -> list[tuple[str, dict]]:
    """The paths of ``spec`` with a ``method`` operation, and those operations."""
    return [(path, ops[method]) for path, ops in spec["paths"].items() if method in ops]


def test_every_post_body_is_answered(server: tuple[httpx.Client, dict]) -> None:
    client, spec = server
    tally = Tally()
    for path, operation in operations(spec, "post"):
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        fuzz_body(client, tally, path, bodies(schema, spec))()
    print(tally.report())
    assert client.get("/api/model").status_code == 200


def fuzz_body(
    client: httpx.Client, tally: Tally, path: str, strategy: st.SearchStrategy[bytes]
) -> Callable[[], None]:
    """A Hypothesis test posting bodies from ``strategy`` to ``path``. A body over the limit
    is refused (413) without being read to its end, so the server may close the connection
    while the client is still sending it; under the limit, every body gets an answer."""

    @FUZZ
    @given(body=strategy)
    def post(body: bytes) -> None:
        headers = {"content-type": "application/json"}
        try:
            response = send(client, "POST", path, content=body, headers=headers)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            if len(body) <= MAX_BODY_BYTES:
                raise
            tally.add(f"POST {path}", "closed (body over the limit)")
            return
        tally.add(f"POST {path}", check(response))

    return post


def test_every_query_and_path_value_is_answered(server: tuple[httpx.Client, dict]) -> None:
    client, spec = server
    tally = Tally()
    for path, operation in operations(spec, "get"):
        fuzz_parameters(client, tally, spec, path, operation.get("parameters", []))()

    @FUZZ
    @given(
        method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        prefix=st.sampled_from(["/static/", "/api/", "/api/train/", "/api/weights/", "/"]),
        rest=url_text,
        slash=st.booleans(),
    )
    def other(method: str, prefix: str, rest: str, slash: bool) -> None:
        response = send(client, method, prefix + percent(rest, slash=slash))
        tally.add("other paths and methods", check(response))

    other()
    print(tally.report())
    assert client.get("/api/model").status_code == 200


def fuzz_parameters(
    client: httpx.Client, tally: Tally, spec: dict, path: str, parameters: list[dict]
) -> Callable[[], None]:
    """A Hypothesis test getting ``path`` with valid or hostile ``parameters``, and others."""

    @FUZZ
    @given(data=st.data())
    def get(data: st.DataObject) -> None:
        url, query = path, []
        for p in parameters:
            value = data.draw(st.one_of(valid(p["schema"], spec).map(str), url_text), p["name"])
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", percent(value))
            elif data.draw(st.booleans()):
                query.append(f"{p['name']}={percent(value)}")
        extra = data.draw(st.lists(st.tuples(url_text, url_text), max_size=2))
        query += [f"{percent(k)}={percent(v)}" for k, v in extra]
        response = send(client, "GET", url + ("?" + "&".join(query) if query else ""))
        tally.add(f"GET {path}", check(response))

    return get


def test_every_header_value_is_answered(server: tuple[httpx.Client, dict]) -> None:
    client, _ = server
    tally = Tally()

    @FUZZ
    @given(last=header_values)
    def last_event_id(last: bytes) -> None:
        headers = {"last-event-id": last}
        tally.add(
            "Last-Event-ID", answer(client, "GET", "/api/train/events", len(last), headers=headers)
        )

    @FUZZ
    @given(host=header_values | st.sampled_from([b"127.0.0.1", b"localhost:1", b"[::1]:80"]))
    def host(host: bytes) -> None:
        tally.add("Host", answer(client, "GET", "/api/model", len(host), headers={"host": host}))

    @FUZZ
    @given(media=header_values | st.sampled_from([b"application/json; charset=latin-1"]))
    def content_type(media: bytes) -> None:
        options = {"headers": {"content-type": media}, "content": b'{"steps": 3}'}
        tally.add("Content-Type", answer(client, "POST", "/api/descend", len(media), **options))

    @FUZZ
    @given(headers=st.lists(st.tuples(header_names, header_values), min_size=1, max_size=4))
    def any_header(headers: list[tuple[str, bytes]]) -> None:
        size = sum(len(k) + len(v) for k, v in headers)
        for path in ("/api/model", "/api/train"):
            tally.add("other headers", answer(client, "GET", path, size, headers=headers))

    for fuzz in (last_event_id, host, content_type, any_header):
        fuzz()
    print(tally.report())
    assert client.get("/api/model").status_code == 200


MEMORY_HEADROOM = 512 * 2**20
"""Address space the server may grow by while answering the largest bodies, in bytes."""
LIMITED_SERVER = """
import resource, socket, sys
from nudgenet import Model
from nudgenet.web import create_app
from nudgenet.web.server import make_server

app = create_app(Model.load(sys.argv[1]))
size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
hard = resource.getrlimit(resource.RLIMIT_AS)[1]
resource.setrlimit(resource.RLIMIT_AS, (size + int(sys.argv[2]), hard))
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(16)
print(sock.getsockname()[1], flush=True)
make_server(app).run(sockets=[sock])
"""


def largest_bodies(spec: dict) -> Iterator[tuple[str, bytes]]:
    """Bodies just within the limit, each large kind of value: as the whole body (parsed
    alike by every route), as the first field of each route's body, and as the pixels."""
    schemas = spec["components"]["schemas"]

    def pixels(v: Raw) -> Any:
        return {"drawing": {"width": 8, "height": 8, "pixels": v}}

    for kind in BIG_KINDS:
        yield "/api/predict", filling(kind, lambda v: v)
        yield "/api/predict", filling(kind, pixels)
        for path, operation in operations(spec, "post"):
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                first = next(iter(schemas[ref.rsplit("/", 1)[-1]]["properties"]))
                yield path, filling(kind, lambda v, k=first: {k: v})


def test_the_largest_bodies_fit_in_bounded_memory(seed: Model, tmp_path: Path) -> None:
    """Bodies just within the limit, to a server whose address space may grow by
    :data:`MEMORY_HEADROOM` at most (``RLIMIT_AS``): none may run it out of memory."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}  # few arenas
    argv = [str(seed.save(tmp_path / "seed.npz")), str(MEMORY_HEADROOM)]
    command = [sys.executable, "-c", LIMITED_SERVER, *argv]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            url = f"http://127.0.0.1:{int(process.stdout.readline())}"
            tally = Tally()
            with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
                for path, body in largest_bodies(client.get("/openapi.json").json()):
                    assert len(body) <= MAX_BODY_BYTES
                    headers = {"content-type": "application/json"}
                    response = send(client, "POST", path, content=body, headers=headers)
                    tally.add(f"largest bodies, POST {path}", check(response))
                assert client.get("/api/model").status_code == 200
            peak = Path(f"/proc/{process.pid}/status").read_text().split("VmHWM:")[1]
            print(tally.report())
            print("peak resident memory:", peak.split("\n")[0].strip())
        finally:
            process.terminate()
            process.wait(10)
