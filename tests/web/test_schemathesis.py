"""schemathesis against ``/openapi.json``: requests generated from the documented schemas.

A second, independent fuzzer next to ``test_fuzz.py``: it knows nothing of this project but
what the server documents, and sends valid and invalid cases of every operation to a real
server. Every answer must be a 2xx, or a 4xx with an ``{"error", "help"}`` body.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from web.fuzzing import REQUEST_TIMEOUT_S, Tally

from nudgenet import Model, Network, init_params
from nudgenet.web import create_app

schemathesis = pytest.importorskip("schemathesis")  # in the test extra; optional elsewhere

EXAMPLES = int(os.environ.get("NUDGENET_FUZZ_EXAMPLES", "30"))
TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """How many cases of each operation were sent, and how they were answered (``-rP``)."""
    yield
    print(TALLY.report())


@pytest.fixture(scope="module")
def base_url(seed: Model, serve_module: Callable[..., str]) -> str:
    """A server of this module's own, whose training network exists (a job has finished)."""
    url = serve_module(create_app(seed))
    httpx.post(f"{url}/api/train", json={"epochs": 1, "train_size": 200}, timeout=30)
    stop_job(url)
    return url


def stop_job(url: str) -> None:
    """Stop the job, if one runs, so that its event stream ends and the server stays free."""
    httpx.post(f"{url}/api/train/stop", json={}, timeout=30)
    httpx.get(f"{url}/api/train/events", timeout=30)


def _documented() -> dict:
    """The server's /openapi.json, from an application of an untrained network: the
    document does not depend on the network, and the tests send it to a real server."""
    network = Network((784, 16, 16, 10))
    theta = init_params(network.layout, rng=np.random.default_rng(0))
    return create_app(Model(network, theta)).openapi()


schema = schemathesis.openapi.from_dict(_documented())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),  # a real server: slow, and often refusing
    database=None,
)
def test_every_documented_operation(case: Any, base_url: str) -> None:
    response = case.call(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
    method, status = case.method.upper(), response.status_code
    assert status < 500, (case.as_curl_command(), response.text[:500])
    if 400 <= status < 500 and method != "HEAD":
        body = response.json()
        assert isinstance(body["error"], str), body
        assert body["error"]
        assert body["help"] is None or isinstance(body["help"], str), body
    if method == "POST" and case.path == "/api/train" and status == 202:
        stop_job(base_url)
    documented = method == case.operation.method.upper()  # else a method the path lacks
    kind = f"schemathesis {method} {case.path}" if documented else "schemathesis, other methods"
    TALLY.add(kind, "2xx" if status < 300 else str(status))
