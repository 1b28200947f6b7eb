"""The BLAS engine against the reference engine: same batches, same steps, same numbers.

The BLAS engine (``train(..., engine="blas")``, nudgenet.training.wide) is what ``auto`` picks
for wide networks. Given the same seed it must agree with the readable reference engine to
rounding error (float64: rtol 1e-10) for every hidden activation, output and cost, with and
without momentum and L2, for batches cut into chunks or not. No test here measures time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, DivergenceError, Model, Network, Step, TrainSettings, train
from nudgenet.cli import main
from nudgenet.init import init_params
from nudgenet.training import wide
from nudgenet.training.engines import FAST_MAX_PARAMS, choose_engine

pytestmark = pytest.mark.skipif(
    wide.unsupported(Network(), np.float64) is not None,
    reason=f"the BLAS engine cannot run here: {wide.unsupported(Network(), np.float64)}",
)

N = 61  # examples: batches of 8 leave a last batch of 5


def problem(n_in: int = 12, n_out: int = 4, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """n points in [0,1]^n_in, each in the class of its largest of the first n_out features."""
    rng = np.random.default_rng(3)
    X = rng.uniform(0.0, 1.0, size=(n, n_in))
    return X, np.eye(n_out)[np.argmax(X[:, :n_out], axis=1)]


def both(network: Network, settings: TrainSettings, *, dtype: str = "float64", init: str = "he"):
    """{engine: (θ, records)} for the reference and BLAS engines from the same seeds."""
    X, Y = problem(network.sizes[0], network.sizes[-1])
    out = {}
    for engine in ("reference", "blas"):
        theta = init_params(network.layout, init, rng=np.random.default_rng(1), dtype=dtype)
        records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(7),
                             engine=engine))  # fmt: skip
        out[engine] = (theta, records)
    return out


def assert_agree(runs, rtol: float) -> None:
    (theta_ref, ref), (theta, got) = runs["reference"], runs["blas"]
    scale = np.max(np.abs(theta_ref))
    np.testing.assert_allclose(theta, theta_ref, rtol=0, atol=rtol * scale)
    assert [type(r).__name__ for r in got] == [type(r).__name__ for r in ref]
    steps, ref_steps = ([r for r in rs if isinstance(r, Step)] for rs in (got, ref))
    assert [s.step for s in steps] == [s.step for s in ref_steps]
    assert [s.learning_rate for s in steps] == [s.learning_rate for s in ref_steps]
    np.testing.assert_allclose([s.cost for s in steps], [s.cost for s in ref_steps], rtol=rtol)
    np.testing.assert_allclose(
        [s.gradient_norm for s in steps], [s.gradient_norm for s in ref_steps], rtol=rtol
    )


@pytest.mark.parametrize(
    ("activation", "output", "cost"),
    [("relu", "softmax", "cross-entropy"), ("sigmoid", "sigmoid", "quadratic"),
     ("tanh", "softmax", "quadratic"), ("relu", "sigmoid", "cross-entropy")],
)  # fmt: skip
@pytest.mark.parametrize("batch_size", [8, 0], ids=["partial-last-batch", "full-batch"])
@pytest.mark.parametrize(("momentum", "l2"), [(0.0, 0.0), (0.9, 1e-3)], ids=["plain", "mom+l2"])
def test_blas_equals_reference_in_float64(activation, output, cost, batch_size, momentum, l2):
    network = Network((12, 9, 7, 4), activation, output)
    settings = TrainSettings(epochs=3, batch_size=batch_size, lr=0.2, momentum=momentum, l2=l2,
                             cost=cost, schedule="cosine")  # fmt: skip
    assert_agree(both(network, settings), rtol=1e-10)


@pytest.mark.parametrize("batch_size", [0, 40], ids=["full-batch", "batch-40"])
def test_large_batches_in_chunks(monkeypatch: pytest.MonkeyPatch, batch_size: int) -> None:
    """Chunks of 16 rows: 61 examples are 4 chunks (the last of 13), each added in."""
    monkeypatch.setattr(wide, "CHUNK_ROWS", 16)
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.3, momentum=0.5, l2=1e-3,
                             cost="cross-entropy")  # fmt: skip
    assert_agree(both(Network((12, 9, 4), "relu", "softmax"), settings), rtol=1e-10)


@pytest.mark.parametrize("cut", ["units", "examples"])
@pytest.mark.parametrize("parts", [1, 3, 5])
def test_any_number_of_threads_shares_the_work_right(monkeypatch, parts: int, cut: str) -> None:
    """One part per core, each a run of every layer's units or of a chunk's examples. With
    more parts than a layer has units (5 against 2 and 4) or than a chunk has examples (5
    against a batch of 2), some parts get none, and the rest must still add up."""
    monkeypatch.setattr(wide, "usable_cores", lambda: parts)
    monkeypatch.setattr(wide, "by_examples", lambda *_: cut == "examples")
    monkeypatch.setattr(wide, "CHUNK_ROWS", 16)
    settings = TrainSettings(epochs=2, batch_size=40, lr=0.3, momentum=0.9, l2=1e-3,
                             cost="cross-entropy")  # fmt: skip
    assert_agree(both(Network((12, 9, 2, 4), "relu", "softmax"), settings), rtol=1e-10)
    for batch_size in (2, 40, 0):  # 2: fewer examples than parts
        settings = TrainSettings(epochs=1, batch_size=batch_size, lr=0.3, cost="cross-entropy")
        assert_agree(both(Network((12, 9, 2, 4), "relu", "softmax"), settings), rtol=1e-10)


def test_many_cores_make_chunks_smaller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut by units, each part holds a share of every error moved back: on many cores the
    chunks shrink so that the shares stay within SHARES_BYTES, and the numbers still agree."""
    monkeypatch.setattr(wide, "usable_cores", lambda: 3)
    monkeypatch.setattr(wide, "SHARES_BYTES", 2 * 3 * 9 * 8 * 10)  # 10 rows of float64
    network = Network((12, 9, 4), "relu", "softmax")
    X, Y = problem(12, 4)
    runner = wide.BlasEpochs(network, np.zeros(network.n_params), X, Y, batch_size=40,
                             schedule=lambda _: 0.1, momentum=0.0, l2=0.0,
                             cost="cross-entropy", baseline=1.0)  # fmt: skip
    assert runner.rows == 10
    assert runner.moved.nbytes + runner.moving.nbytes <= wide.SHARES_BYTES
    settings = TrainSettings(epochs=2, batch_size=40, lr=0.3, momentum=0.9, cost="cross-entropy")
    assert_agree(both(network, settings), rtol=1e-10)


def test_wide_batches_are_cut_by_examples_and_narrow_ones_by_units() -> None:
    assert wide.by_examples(1000, 2, 800)
    assert wide.by_examples(1000, 2, 256)
    assert not wide.by_examples(256, 2, 800)
    assert not wide.by_examples(128, 2, 256)


def test_one_layer_and_four_layers() -> None:
    for sizes in [(12, 4), (12, 10, 8, 6, 4)]:
        settings = TrainSettings(epochs=2, batch_size=8, lr=0.5, momentum=0.9)
        assert_agree(both(Network(sizes), settings, init="xavier"), rtol=1e-10)


def test_float32_agrees_to_float32_precision() -> None:
    network = Network((12, 30, 30, 4), "relu", "softmax")
    settings = TrainSettings(epochs=2, batch_size=8, lr=0.05, momentum=0.9, l2=1e-4,
                             cost="cross-entropy")  # fmt: skip
    runs = both(network, settings, dtype="float32")
    assert runs["blas"][0].dtype == np.float32
    assert_agree(runs, rtol=2e-4)


def test_the_callers_theta_holds_the_result_after_every_epoch() -> None:
    """The engine updates the caller's θ in place; each Epoch record sees it as it is."""
    network = Network((12, 9, 4), "relu", "softmax")
    X, Y = problem()
    thetas = {}
    for engine in ("reference", "blas"):
        theta = init_params(network.layout, "he", rng=np.random.default_rng(1))
        thetas[engine] = []
        settings = TrainSettings(epochs=3, batch_size=7, lr=0.1, momentum=0.9,
                                 cost="cross-entropy")  # fmt: skip
        for record in train(network, theta, X, Y, settings, rng=np.random.default_rng(2),
                            engine=engine):  # fmt: skip
            if not isinstance(record, Step):
                thetas[engine].append(theta.copy())
    np.testing.assert_allclose(thetas["blas"], thetas["reference"], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("steps_to_diverge", ["ten-times", "nan"])
def test_divergence_stops_at_the_same_step_with_the_same_theta(steps_to_diverge: str) -> None:
    network = Network((12, 16, 16, 4), "relu", "sigmoid")
    X, Y = problem()
    settings = TrainSettings(epochs=5, batch_size=7, lr=1e3, cost="cross-entropy")
    errors, thetas = {}, {}
    for engine in ("reference", "blas"):
        theta = init_params(network.layout, "he", rng=np.random.default_rng(1))
        if steps_to_diverge == "nan":
            theta[3] = np.inf
        with np.errstate(all="ignore"), pytest.raises(DivergenceError) as caught:
            list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2), engine=engine))
        errors[engine], thetas[engine] = caught.value.message, theta
    assert errors["blas"].split(":")[0] == errors["reference"].split(":")[0]
    if steps_to_diverge == "ten-times":
        assert re.search(r"over the limit 10 ×", errors["blas"])
    np.testing.assert_allclose(thetas["blas"], thetas["reference"], rtol=1e-9)


def test_a_flat_gradient_ends_each_epoch_as_in_the_reference() -> None:
    """θ = 0 and targets ½: every output is exactly ½, so ∇C = 0 and each epoch stops."""
    network = Network((12, 4, 2), "relu", "softmax")
    X, _ = problem()
    theta = np.zeros(network.n_params)
    records = list(train(network, theta, X, np.full((N, 2), 0.5), TrainSettings(epochs=2,
                   batch_size=7), rng=np.random.default_rng(0), engine="blas"))  # fmt: skip
    assert not any(isinstance(r, Step) for r in records)
    assert [r.steps for r in records] == [0, 9, 18]
    assert not theta.any()


def test_auto_picks_blas_for_wide_networks_and_falls_back(monkeypatch) -> None:
    wide_net = Network((784, 128, 10), "relu", "softmax")
    assert wide_net.n_params > FAST_MAX_PARAMS
    assert choose_engine("auto", wide_net, np.float32) == "blas"
    assert choose_engine("auto", Network(), np.float32) == "fast"
    assert choose_engine("blas", Network(), np.float32) == "blas"  # asked for: it can
    assert choose_engine("auto", wide_net, np.float16) == "reference"
    with pytest.raises(ConfigError, match=r"the blas engine cannot train here: .*not float16"):
        choose_engine("blas", wide_net, np.float16)
    monkeypatch.setenv("NUDGENET_DISABLE_NUMBA", "1")
    assert choose_engine("auto", wide_net, np.float32) == "reference"


def test_engine_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    thetas = {}
    for engine in ("reference", "blas"):
        path = tmp_path / f"{engine}.npz"
        argv = ["train", "--epochs", "1", "--batch-size", "50", "--dtype", "float64",
                "--sizes", "784,20,10", "--activation", "relu", "--output", "softmax",
                "--cost", "cross-entropy", "--momentum", "0.9", "--lr", "0.05"]  # fmt: skip
        assert main([*argv, "--engine", engine, "--out", str(path), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["settings"]["engine"] == engine
        thetas[engine] = Model.load(path).theta
    np.testing.assert_allclose(thetas["blas"], thetas["reference"], rtol=1e-9, atol=1e-12)


def test_the_same_seed_gives_the_same_bits_whatever_the_load() -> None:
    """Shapes where OpenBLAS's float32 products differ between one thread and two, trained
    once on a quiet machine and once beside a process that keeps a core busy."""
    network = Network((784, 64, 256, 10), "relu", "softmax")
    settings = TrainSettings(epochs=1, batch_size=64, lr=0.05, momentum=0.9, l2=1e-4,
                             cost="cross-entropy")  # fmt: skip
    X, Y = problem(784, 10, n=640)
    X, Y = X.astype(np.float32), Y.astype(np.float32)

    def run() -> bytes:
        theta = init_params(network.layout, "he", rng=np.random.default_rng(1), dtype="float32")
        list(train(network, theta, X, Y, settings, rng=np.random.default_rng(7), engine="blas"))
        return theta.tobytes()

    quiet = run()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = run()
    finally:
        busy.kill()
        busy.wait()
    assert loaded == quiet
