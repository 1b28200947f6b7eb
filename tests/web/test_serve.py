"""``nudgenet serve`` as a user starts it: a real subprocess of the installed command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nudgenet import Model

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def nudgenet(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nudgenet", *argv],
        capture_output=True, text=True, timeout=timeout, env=ENV, check=False,
    )  # fmt: skip


@pytest.fixture
def server_process() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


def start(started: list, *argv: str) -> tuple[subprocess.Popen[str], str]:
    """Start `nudgenet serve ARGV --port 0` and return it with the address it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nudgenet", "serve", *argv, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    started.append(process)
    line = process.stdout.readline()  # blocks until the server is listening
    match = re.search(r"serving on (http://127\.0\.0\.1:\d+/)", line)
    assert match, (line, process.stderr.read() if process.poll() is not None else "")
    return process, match.group(1)


def test_serve_trains_a_seed_network_and_prints_its_address(server_process: list) -> None:
    process, url = start(server_process, "--seed-epochs", "1")
    info = httpx.get(f"{url}api/model").json()
    assert info["sizes"] == [784, 16, 16, 10]
    assert info["settings"]["epochs"] == 1
    assert httpx.get(url).headers["content-type"].startswith("text/html")
    process.send_signal(signal.SIGINT)  # Ctrl+C
    assert process.wait(20) == 0
    err = process.stderr.read()
    assert "training the seed network" in err
    assert "seed network ready: test accuracy" in err
    assert "warning" not in err


def test_serve_a_saved_model(server_process: list, seed: Model, tmp_path: Path) -> None:
    path = seed.save(tmp_path / "seed.npz")
    process, url = start(server_process, str(path))
    info = httpx.get(f"{url}api/model").json()
    assert info["history"] == seed.history
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    assert "training the seed network" not in process.stderr.read()


def test_serving_beyond_this_machine_warns(tmp_path: Path) -> None:
    # 192.0.2.1 is reserved for documentation: never this machine's, so the bind fails
    # after the warning, and nothing is ever exposed.
    result = nudgenet("serve", str(tmp_path / "none.npz"), "--host", "192.0.2.1", "--port", "0")
    assert result.returncode == 1
    assert "warning: serving on 192.0.2.1" in result.stderr
    assert "no login" in result.stderr
    assert "error: cannot listen on 192.0.2.1:0" in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "--port must be in 0..65535"),
        (["--seed-epochs", "0"], "--seed-epochs must be at least 1"),
        (["missing.npz", "--port", "0"], "no model file at missing.npz"),
    ],
)
def test_serve_refuses_bad_options(argv: list[str], message: str) -> None:
    result = nudgenet("serve", *argv)
    assert result.returncode == 1
    assert f"error: {message}" in result.stderr


def test_serve_help_shows_the_safe_default() -> None:
    result = nudgenet("serve", "--help")
    assert result.returncode == 0
    assert "127.0.0.1" in result.stdout
    assert "8000" in result.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_promptly_and_quietly_with_a_page_open(
    server_process: list, seed: Model, tmp_path: Path, sig: signal.Signals
) -> None:
    """An open event stream of a running job does not hold the server up, nor make it noisy."""
    process, url = start(server_process, str(seed.save(tmp_path / "seed.npz")))
    job = {"epochs": 50, "batch_size": 1}  # runs until stopped
    assert httpx.post(f"{url}api/train", json=job).status_code == 202
    with httpx.stream("GET", f"{url}api/train/events", timeout=10) as events:
        assert events.status_code == 200
        lines = events.iter_lines()
        assert next(lines) == "retry: 2000"  # the stream is open, as a page's would be
        began = time.monotonic()
        process.send_signal(sig)
        code = process.wait(10)
        took = time.monotonic() - began
    err = process.stderr.read()
    assert took < 2.0, err
    assert code in (0, -sig, 128 + sig), err  # SIGTERM: uvicorn re-raises it once stopped
    assert "Traceback" not in err
    assert "ERROR" not in err
