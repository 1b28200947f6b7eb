"""The fast engine against the reference engine: same batches, same steps, same numbers.

The reference engine (``train(..., engine="reference")``) is the readable NumPy loop; the
fast one runs whole epochs compiled (nudgenet.training.fast). Given the same seed they must agree to
rounding error in float64 (rtol 1e-10) for every configuration ``train`` accepts. No test
here measures time; speed is for ``benchmarks/``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nudgenet import (
    ConfigError,
    DivergenceError,
    Epoch,
    Model,
    Network,
    Step,
    TrainSettings,
    init_params,
    train,
)
from nudgenet._types import aligned_empty, is_aligned
from nudgenet.activations import ACTIVATIONS, OUTPUTS
from nudgenet.cli import main
from nudgenet.cost import COSTS
from nudgenet.schedules import SCHEDULES, make_schedule
from nudgenet.training import fast
from nudgenet.training.loop import choose_engine, steps_per_epoch

pytestmark = pytest.mark.skipif(
    fast.unsupported(Network(), np.float64) is not None,
    reason=f"the fast engine cannot run here: {fast.unsupported(Network(), np.float64)}",
)

N = 53  # examples: batches of 7 leave a last batch of 4
SIZES = (5, 6, 4, 3)


def problem(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points in [0,1]⁵ in 3 classes (by which third their sum falls in), one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, SIZES[0]))
    labels = np.digitize(X.sum(axis=1), [2.2, 2.8])
    return X, np.eye(3)[labels]


def both(
    settings: TrainSettings,
    network: Network | None = None,
    *,
    dtype: str = "float64",
    init: str = "xavier",
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
) -> dict[str, tuple[np.ndarray, list[Step | Epoch], np.random.Generator]]:
    """Train the same θ with the same seed on each engine: {engine: (θ, records, rng after)}."""
    network = network or Network(SIZES)
    if X is None:
        X, Y = problem()
    out = {}
    for engine in ("reference", "fast"):
        theta = init_params(network.layout, init, rng=np.random.default_rng(1), dtype=dtype)
        rng = np.random.default_rng(7)
        records = list(train(network, theta, X, Y, settings, rng=rng, engine=engine))
        out[engine] = (theta, records, rng)
    return out


def assert_same_training(
    result: dict[str, tuple[np.ndarray, list[Step | Epoch], np.random.Generator]],
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> None:
    """θ, Epoch records, each fast Step and the random stream all match the reference's."""
    theta_ref, records_ref, rng_ref = result["reference"]
    theta, records, rng = result["fast"]
    assert theta.dtype == theta_ref.dtype
    np.testing.assert_allclose(theta, theta_ref, rtol=rtol, atol=atol)
    # The same shuffles drew the same numbers from the same stream.
    assert rng.bit_generator.state == rng_ref.bit_generator.state
    epochs_ref = [r for r in records_ref if isinstance(r, Epoch)]
    epochs = [r for r in records if isinstance(r, Epoch)]
    assert [(e.epoch, e.steps, e.learning_rate) for e in epochs] == [
        (e.epoch, e.steps, e.learning_rate) for e in epochs_ref
    ]
    for e, e_ref in zip(epochs, epochs_ref, strict=True):
        assert e.train_cost == pytest.approx(e_ref.train_cost, rel=rtol, abs=atol)
        assert e.train_accuracy == e_ref.train_accuracy
    steps_ref = {s.step: s for s in records_ref if isinstance(s, Step)}
    for s in (r for r in records if isinstance(r, Step)):
        ref = steps_ref[s.step]
        assert s.learning_rate == ref.learning_rate
        assert s.cost == pytest.approx(ref.cost, rel=rtol, abs=atol)
        assert s.gradient_norm == pytest.approx(ref.gradient_norm, rel=rtol, abs=atol)


# ---------------------------------------------------------------------------------------------
# same numbers


@pytest.mark.parametrize(
    ("activation", "output", "cost"), list(itertools.product(ACTIVATIONS, OUTPUTS, COSTS))
)
@pytest.mark.parametrize("batch_size", [7, 0], ids=["partial-last-batch", "full-batch"])
@pytest.mark.parametrize(("momentum", "l2"), [(0.0, 0.0), (0.5, 1e-3)], ids=["plain", "mom+l2"])
def test_fast_equals_reference_in_float64(
    activation: str, output: str, cost: str, batch_size: int, momentum: float, l2: float
) -> None:
    settings = TrainSettings(
        epochs=2, batch_size=batch_size, lr=0.3, momentum=momentum, l2=l2, cost=cost
    )
    network = Network(SIZES, activation, output)
    assert_same_training(both(settings, network, init="he" if activation == "relu" else "xavier"))


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule(schedule: str) -> None:
    settings = TrainSettings(epochs=3, batch_size=10, lr=0.5, schedule=schedule)
    result = both(settings)
    assert_same_training(result)
    # The learning rates really changed where the schedule says so.
    per_epoch = steps_per_epoch(N, 10)
    rate = make_schedule(schedule, 0.5, total_steps=3 * per_epoch, steps_per_epoch=per_epoch)
    steps = [r for r in result["fast"][1] if isinstance(r, Step)]
    assert [s.learning_rate for s in steps] == [rate(s.step) for s in steps]


@pytest.mark.parametrize("batch_size", [1, 7, 53, 100], ids=["one", "partial", "all", "more"])
def test_batch_sizes(batch_size: int) -> None:
    assert_same_training(both(TrainSettings(epochs=2, batch_size=batch_size, lr=0.2)))


def test_a_network_with_one_layer_and_one_with_four() -> None:
    for sizes in [(5, 3), (5, 9, 7, 6, 3)]:
        settings = TrainSettings(epochs=2, batch_size=8, lr=0.4, momentum=0.3)
        assert_same_training(both(settings, Network(sizes, "tanh", "softmax")))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [0, 13, 64])
def test_wide_inputs_go_through_the_first_layers_tiles(dtype: str, batch_size: int) -> None:
    """90 inputs and 19 units: the first layer's register tiles (4 × 4 forward, 8 units × 1
    or 2 vectors for the weight gradient) and every edge they leave (columns past the last
    vector, the last units, the last examples of a chunk), with the lanes of a float64 and
    of a float32 vector."""
    rng = np.random.default_rng(3)
    X = rng.uniform(0.0, 1.0, size=(300, 90))
    Y = np.eye(5)[rng.integers(0, 5, 300)]
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.5)
    result = both(settings, Network((90, 19, 5)), dtype=dtype, X=X, Y=Y)
    if dtype == "float64":
        assert_same_training(result)
    else:
        assert_same_training(result, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("dtype", "batch_size"), [("float64", 7), ("float64", 8), ("float32", 10), ("float32", 16)]
)
@pytest.mark.parametrize("momentum", [0.0, 0.5], ids=["plain", "momentum"])
def test_hidden_layers_of_whole_vectors_in_short_chunks(
    dtype: str, batch_size: int, momentum: float
) -> None:
    """Chunks of one vector of examples (at most 8 in float64, 16 in float32) into hidden
    layers of whole vectors of units (16 and 8 inputs, 4 units of a tile and 2 left over):
    their weight gradients go by rows of dW, from the activations transposed first; a last
    batch of a few examples too (60 = 8 × 7 + 4)."""
    rng = np.random.default_rng(5)
    X = rng.uniform(0.0, 1.0, size=(60, 20))
    Y = np.eye(6)[rng.integers(0, 6, 60)]
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.5, momentum=momentum)
    result = both(settings, Network((20, 16, 8, 6)), dtype=dtype, X=X, Y=Y)
    if dtype == "float64":
        assert_same_training(result)
    else:
        assert_same_training(result, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("sizes", "batch_size", "momentum", "l2"),
    [
        ((784, 16, 16, 10), 10, 0.0, 0.0),
        ((784, 16, 16, 10), 10, 0.9, 3e-5),
        ((90, 19, 5), 13, 0.0, 0.0),
        ((90, 19, 5), 13, 0.5, 1e-3),
        ((90, 19, 5), 64, 0.0, 1e-3),
        ((40, 8), 3, 0.5, 0.0),
    ],
    ids=[
        "seed-b10",
        "seed-b10-recipe-1",
        "edges-b13",
        "edges-b13-mom-l2",
        "edges-b64-l2",
        "one-layer-b3-mom",
    ],
)
def test_the_first_layers_gradient_straight_into_the_step_changes_no_bit(
    monkeypatch: pytest.MonkeyPatch,
    dtype: str,
    sizes: tuple[int, ...],
    batch_size: int,
    momentum: float,
    l2: float,
) -> None:
    """Plain SGD on batches of one chunk takes W¹'s step from the gradient's registers
    (``kernels._fused_step``); told that max |x| is unknown, the fast engine writes ∂C/∂W¹,
    sums its squares and steps as in every other case. θ and the costs are the same bit for
    bit (the tiles, the edges past the last vector and the last units, a short last batch);
    ‖∇C‖ adds up in another order. With momentum or L2 the steps go as before either way."""
    rng = np.random.default_rng(4)
    X = rng.uniform(0.0, 1.0, size=(300, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 300)]
    lr = 3.0 if momentum == 0 else 0.3
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=lr, momentum=momentum, l2=l2)
    runs = []
    for largest in (fast.largest_input, lambda X: -1.0):
        monkeypatch.setattr(fast, "largest_input", largest)
        theta = init_params(Network(sizes).layout, "xavier", rng=np.random.default_rng(1),
                            dtype=dtype)  # fmt: skip
        records = list(train(Network(sizes), theta, X, Y, settings, rng=np.random.default_rng(7),
                             engine="fast"))  # fmt: skip
        runs.append((theta, [r for r in records if isinstance(r, Step)]))
    (fused, fused_steps), (written, written_steps) = runs
    assert fused.tobytes() == written.tobytes()
    assert [s.cost for s in fused_steps] == [s.cost for s in written_steps]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose([s.gradient_norm for s in fused_steps],
                               [s.gradient_norm for s in written_steps], rtol=rtol)  # fmt: skip


@pytest.mark.parametrize(
    "engine",
    [
        # NumPy warns of the overflow on the way to inf; the point is what follows.
        pytest.param("reference", marks=pytest.mark.filterwarnings("ignore::RuntimeWarning")),
        "fast",
    ],
)
def test_a_first_layer_gradient_that_overflows_is_not_taken(engine: str) -> None:
    """An input of 10³⁰ on which W¹ has zero weights leaves every activation and the cost as
    they were, but makes ∂C/∂W¹ about 10²⁸ there, whose square is inf in float32: the step
    diverges and θ stays as it was, also where W¹'s step would go straight from the
    gradient's registers (the bound on ∂C/∂W¹ turns that off before it starts)."""
    network = Network((5, 8, 3))
    X, Y = problem()
    X = X.astype(np.float32)
    X[:, 4] = 1e30
    theta = init_params(network.layout, "xavier", rng=np.random.default_rng(1), dtype="float32")
    theta[: 8 * 5].reshape(8, 5)[:, 4] = 0
    before = theta.copy()
    settings = TrainSettings(epochs=1, batch_size=10, lr=0.1)
    with pytest.raises(DivergenceError, match="at step 0"):
        list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2), engine=engine))
    assert theta.tobytes() == before.tobytes()


@pytest.mark.parametrize(
    ("output", "cost"), [("sigmoid", "quadratic"), ("softmax", "cross-entropy")]
)
def test_float32_agrees_to_float32_precision(output: str, cost: str) -> None:
    settings = TrainSettings(epochs=2, batch_size=7, lr=0.5, momentum=0.5, l2=1e-3, cost=cost)
    result = both(settings, Network(SIZES, "sigmoid", output), dtype="float32")
    assert result["fast"][0].dtype == np.float32
    assert_same_training(result, rtol=1e-4, atol=1e-5)


def test_threads_sharing_a_batch_give_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large batches are cut into slices that threads share; force that on a small problem."""
    monkeypatch.setattr(fast, "slice_count", lambda rows: 3)
    X, Y = problem(500)
    for batch_size in (0, 200, 249):  # 249: the last batch's 2 rows leave a slice with none
        settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.5, momentum=0.5, l2=1e-3)
        assert_same_training(both(settings, X=X, Y=Y))


def test_the_number_of_threads_does_not_change_a_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "slice_count", lambda rows: 3)
    X, Y = problem(300)
    thetas = []
    for threads in (1, 2):
        monkeypatch.setattr(fast, "threads_to_use", lambda slices, t=threads: t)
        theta = init_params(Network(SIZES).layout, rng=np.random.default_rng(1))
        settings = TrainSettings(epochs=2, batch_size=100, lr=0.5)
        list(train(Network(SIZES), theta, X, Y, settings, rng=np.random.default_rng(0)))
        thetas.append(theta)
    assert thetas[0].tobytes() == thetas[1].tobytes()
    assert 1 <= fast.threads_to_use(2) <= 2


def wide_problem(classes: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """300 points of 90 inputs, for a first layer wide enough to be cut."""
    rng = np.random.default_rng(3)
    return rng.uniform(0.0, 1.0, size=(300, 90)), np.eye(classes)[rng.integers(0, classes, 300)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("momentum", "l2"), [(0.0, 0.0), (0.5, 1e-3)], ids=["plain", "mom+l2"])
@pytest.mark.parametrize("batch_size", [13, 150], ids=["one-chunk", "three-chunks"])
@pytest.mark.parametrize("sizes", [(90, 70, 5), (90, 70)], ids=["hidden", "output"])
def test_a_first_layer_cut_among_threads_equals_the_reference(
    monkeypatch: pytest.MonkeyPatch,
    dtype: str,
    momentum: float,
    l2: float,
    batch_size: int,
    sizes: tuple[int, ...],
) -> None:
    """A batch's first layer shared out by units: three parts of 70 units (16, 24 and 30, the
    last with the edge the tiles leave), on however many threads there are; as a hidden
    layer, and as the only one."""
    monkeypatch.setattr(fast, "cuts", lambda network, rows: (1, 3))
    X, Y = wide_problem(sizes[-1])
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.5, momentum=momentum, l2=l2)
    result = both(settings, Network(sizes, "relu", "softmax"), dtype=dtype, X=X, Y=Y)
    if dtype == "float64":
        assert_same_training(result)
    else:
        assert_same_training(result, rtol=1e-4, atol=1e-5)


def test_cutting_the_first_layer_changes_no_bit_of_theta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unit's sums are the uncut layer's, so θ is the same bit for bit whatever the parts
    and threads; only ‖∇C‖ and the L2 term of the cost add up in another order."""
    X, Y = wide_problem()
    network = Network((90, 70, 5), "tanh", "softmax")
    runs = []
    for parts, threads in [(1, 1), (2, 2), (3, 2), (2, 1)]:
        monkeypatch.setattr(fast, "cuts", lambda net, rows, p=parts: (1, p))
        monkeypatch.setattr(fast, "threads_to_use", lambda slices, t=threads: t)
        theta = init_params(network.layout, rng=np.random.default_rng(1), dtype="float32")
        settings = TrainSettings(epochs=2, batch_size=20, lr=0.3, momentum=0.9, l2=1e-3)
        records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(0)))
        runs.append((theta, [r for r in records if isinstance(r, Step)]))
    theta, steps = runs[0]
    for other, other_steps in runs[1:]:
        assert other.tobytes() == theta.tobytes()
        for a, b in zip(steps, other_steps, strict=True):
            assert a.gradient_norm == pytest.approx(b.gradient_norm, rel=1e-5)
            assert a.cost == pytest.approx(b.cost, rel=1e-6)


def test_wide_first_layers_are_cut_by_units_in_batches_of_16_to_256() -> None:
    import numba

    threads = numba.config.NUMBA_NUM_THREADS
    seed, narrow, wide = Network(), Network((784, 63, 10)), Network((784, 100, 10))
    assert fast.cuts(seed, 10) == fast.cuts(narrow, 10) == fast.cuts(wide, 15) == (1, 1)
    assert fast.cuts(seed, 128) == fast.cuts(narrow, 128) == (fast.slice_count(128), 1)
    assert fast.cuts(wide, 16) == fast.cuts(wide, 256) == (1, min(threads, 3))
    assert fast.cuts(wide, 257) == (fast.slice_count(257), 1)


def test_slices_have_at_least_24_examples() -> None:
    import numba

    threads = numba.config.NUMBA_NUM_THREADS
    assert fast.slice_count(10) == fast.slice_count(47) == 1
    assert fast.slice_count(48) == min(threads, 2)
    assert fast.slice_count(60_000) == threads


@settings(max_examples=15, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 9), min_size=0, max_size=3),
    n=st.integers(1, 40),
    batch_size=st.integers(0, 45),
    activation=st.sampled_from(list(ACTIVATIONS)),
    output=st.sampled_from(list(OUTPUTS)),
    cost=st.sampled_from(COSTS),
)
def test_random_architectures_and_batches(
    hidden: list[int], n: int, batch_size: int, activation: str, output: str, cost: str
) -> None:
    X, Y = problem(n, seed=n)
    network = Network((5, *hidden, 3), activation, output)
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.3, cost=cost)
    assert_same_training(both(settings, network, X=X, Y=Y))


# ---------------------------------------------------------------------------------------------
# records


def test_fast_reports_every_step_as_the_reference_does() -> None:
    settings = TrainSettings(epochs=3, batch_size=7, lr=0.5, schedule="inverse-time")
    runs = both(settings)
    fast, reference = runs["fast"][1], runs["reference"][1]
    per_epoch = steps_per_epoch(N, 7)  # 8: seven of 7 and one of 4
    kinds = ["Epoch", *(["Step"] * per_epoch + ["Epoch"]) * 3]
    assert [type(r).__name__ for r in fast] == kinds
    assert [type(r).__name__ for r in reference] == kinds
    steps = [r for r in fast if isinstance(r, Step)]
    ref_steps = [r for r in reference if isinstance(r, Step)]
    assert [s.step for s in steps] == list(range(3 * per_epoch))
    assert [s.learning_rate for s in steps] == [s.learning_rate for s in ref_steps]
    np.testing.assert_allclose([s.cost for s in steps], [s.cost for s in ref_steps], rtol=1e-10)
    epochs = [r for r in fast if isinstance(r, Epoch)]
    assert [e.steps for e in epochs] == [0, per_epoch, 2 * per_epoch, 3 * per_epoch]


@pytest.mark.parametrize("split", ["none", "slices", "parts"])
def test_the_fast_engine_flushes_subnormal_numbers_only_while_it_runs(
    monkeypatch: pytest.MonkeyPatch, split: str
) -> None:
    """A gradient below float32's smallest normal number (1.2e-38) is zero in the fast engine,
    which flushes such numbers (they would take the processor's slow path) on every thread
    that works on a step, and a number the reference engine keeps; after the call, NumPy on
    the same thread keeps them again."""
    if split == "slices":  # the batch's slices on two threads
        monkeypatch.setattr(fast, "slice_count", lambda rows: 3)
    if split == "parts":  # the first layer's units in three parts, on two threads
        monkeypatch.setattr(fast, "cuts", lambda network, rows: (1, 3))
    monkeypatch.setattr(fast, "threads_to_use", lambda slices: 2)
    network = Network((1, 24))
    X = np.full((6, 1), 2e-38, dtype=np.float32)  # ∂C/∂w = δ x, with |δ| ≤ 1/4
    Y = np.ones((6, 24), dtype=np.float32)
    weights = {}
    for engine in ("reference", "fast"):
        theta = init_params(network.layout, "constant", value=0.0, rng=np.random.default_rng(0),
                            dtype="float32")  # fmt: skip
        settings = TrainSettings(epochs=1, batch_size=0, lr=1.0)
        list(train(network, theta, X, Y, settings, rng=np.random.default_rng(0), engine=engine))
        W, b = network.layout.views(theta)[0]
        assert (b > 0.1).all()  # the biases learned as usual
        weights[engine] = W
    assert ((weights["reference"] > 0) & (weights["reference"] < 1.2e-38)).all()
    assert (weights["fast"] == 0).all()
    assert np.float32(2e-38) * np.float32(0.125) > 0  # the caller's mode, put back


def test_where_theta_and_the_data_start_changes_no_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps run on θ in place when it starts on a 64-byte boundary, else on an aligned
    copy written back after each epoch; the data are read where they are. Either way the
    caller's θ ends the same bit for bit (the kernels' sums do not depend on the addresses),
    on one thread and with a batch's slices on two."""
    network = Network((784, 16, 10))
    rng = np.random.default_rng(0)
    X = rng.random((120, 784)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 120)]
    start = init_params(network.layout, rng=rng, dtype="float32")

    def at(a: np.ndarray, offset: int) -> np.ndarray:
        """A copy of a starting ``offset`` numbers past a 64-byte boundary."""
        raw = aligned_empty(a.size + 16, a.dtype).reshape(-1)
        out = raw[offset : offset + a.size].reshape(a.shape)
        out[...] = a
        return out

    for slices in (1, 2):
        monkeypatch.setattr(fast, "slice_count", lambda rows, s=slices: s)
        ends = []
        for offset in (0, 1, 4):
            theta, data = at(start, offset), at(X, offset)
            assert is_aligned(theta) == (offset == 0)
            settings = TrainSettings(epochs=2, batch_size=40 if slices > 1 else 10, lr=0.5,
                                     momentum=0.5)  # fmt: skip
            list(train(network, theta, data, Y, settings, rng=np.random.default_rng(1),
                       engine="fast"))  # fmt: skip
            ends.append(theta.tobytes())
        assert ends[0] != start.tobytes()
        assert ends[1] == ends[0]
        assert ends[2] == ends[0]


# In a fresh process, so that the steps below are what starts Numba's pool of threads: the
# pool's threads, asked afterwards, still keep subnormal numbers.
POOL_AFTER_STEPS = """
import numpy as np
from numba import njit, prange
from nudgenet import Network, TrainSettings, init_params, train
from nudgenet.training import fast

@njit(parallel=True)
def tiny(n):
    out = np.empty(n, np.float32)
    for i in prange(n):
        out[i] = np.float32(2e-38) / np.float32(1000 + i)
    return out

fast.cuts = lambda network, rows: (1, 2)
fast.threads_to_use = lambda slices: 2
network = Network((1, 16))
theta = init_params(network.layout, rng=np.random.default_rng(0), dtype="float32")
X, Y = np.full((6, 1), 0.5, np.float32), np.ones((6, 16), np.float32)
list(train(network, theta, X, Y, TrainSettings(epochs=1, batch_size=0), engine="fast",
           rng=np.random.default_rng(0)))
print(int((tiny(256) > 0).all()))
"""


def test_the_threads_that_run_steps_keep_subnormal_numbers_after_them() -> None:
    out = subprocess.run([sys.executable, "-c", POOL_AFTER_STEPS], capture_output=True,
                         text=True, timeout=300, check=True)  # fmt: skip
    assert out.stdout.split()[-1] == "1", out.stdout + out.stderr


def test_a_flat_gradient_ends_each_epoch_as_in_the_reference() -> None:
    """θ = 0 and targets ½: every output is exactly ½, so ∇C = 0 and descend stops at once."""
    network = Network((5, 4, 2), "relu", "softmax")
    X, _ = problem()
    Y = np.full((N, 2), 0.5)
    for engine in ("reference", "fast"):
        theta = np.zeros(network.n_params)
        settings = TrainSettings(epochs=2, batch_size=7)
        rng = np.random.default_rng(0)
        records = list(train(network, theta, X, Y, settings, rng=rng, engine=engine))
        assert not any(isinstance(r, Step) for r in records)
        assert [r.steps for r in records] == [0, 8, 16]
        assert not theta.any()


@pytest.mark.parametrize(
    ("network", "settings", "poison"),
    [
        (
            Network((5, 16, 16, 3), "relu", "softmax"),
            TrainSettings(epochs=20, batch_size=10, lr=1e4, cost="cross-entropy"),
            False,
        ),
        (
            Network(SIZES, "relu", "sigmoid"),
            TrainSettings(epochs=5, batch_size=7, lr=1e3, cost="cross-entropy"),
            False,
        ),
        pytest.param(
            Network(SIZES, "relu", "sigmoid"),
            TrainSettings(epochs=2, batch_size=5, lr=1.0),
            True,
            # The reference engine's NumPy warns on the way to NaN; the point is what follows.
            marks=pytest.mark.filterwarnings("ignore::RuntimeWarning"),
        ),
    ],
    ids=["exploding-cross-entropy", "ten-times", "nan"],
)
def test_divergence_stops_both_engines_at_the_same_step(
    network: Network, settings: TrainSettings, poison: bool
) -> None:
    X, Y = problem()
    errors, thetas = {}, {}
    for engine in ("reference", "fast"):
        theta = init_params(network.layout, "he", rng=np.random.default_rng(1))
        if poison:
            theta[3] = np.inf  # every cost is NaN from the start
        with pytest.raises(DivergenceError, match="smaller learning rate") as caught:
            list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2), engine=engine))
        errors[engine], thetas[engine] = caught.value, theta
    if poison:
        assert errors["fast"].message.endswith("step 0 with learning rate 1: the cost became nan")
    else:  # the limit quoted is the rule's, and the same in both engines
        found = re.search(r"over the limit 10 × ([\d.e+-]+) = ([\d.e+-]+)", errors["fast"].message)
        assert found, errors["fast"].message
        assert float(found[2]) == pytest.approx(10 * float(found[1]), rel=1e-3)
        assert found[0] in errors["reference"].message
    assert errors["fast"].message.split(":")[0] == errors["reference"].message.split(":")[0]
    assert errors["fast"].help == errors["reference"].help
    np.testing.assert_allclose(thetas["fast"], thetas["reference"], rtol=1e-9)


def test_a_bad_learning_rate_from_the_schedule_is_refused_at_that_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train_module = importlib.import_module("nudgenet.training.loop")  # the module, not the function

    def make(name: str, lr: float, **kw: int):
        return lambda k: lr if k < 5 else float("nan")

    monkeypatch.setattr(train_module, "build_schedule", make)
    thetas = {}
    for engine in ("reference", "fast"):
        theta = init_params(Network(SIZES).layout, rng=np.random.default_rng(1))
        X, Y = problem()
        settings, rng = TrainSettings(batch_size=7), np.random.default_rng(0)
        with pytest.raises(ConfigError, match="got nan"):
            list(train(Network(SIZES), theta, X, Y, settings, rng=rng, engine=engine))
        thetas[engine] = theta
    np.testing.assert_allclose(thetas["fast"], thetas["reference"], rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# choosing the engine


def test_auto_picks_the_fast_engine_when_it_can_run() -> None:
    assert choose_engine("auto", Network(), np.float32) == "fast"
    assert choose_engine("fast", Network(), np.float64) == "fast"
    assert choose_engine("reference", Network(), np.float32) == "reference"


def test_auto_falls_back_to_the_reference_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "_load_kernels", lambda: "it needs Numba, which is not installed")
    assert choose_engine("auto", Network(), np.float32) == "reference"
    with pytest.raises(ConfigError, match="needs Numba") as caught:
        choose_engine("fast", Network(), np.float32)
    assert "--engine reference" in (caught.value.help or "")
    monkeypatch.undo()
    monkeypatch.setenv("NUDGENET_DISABLE_NUMBA", "1")
    assert choose_engine("auto", Network(), np.float32) == "reference"


def test_unsupported_dtype_and_unknown_engine() -> None:
    assert choose_engine("auto", Network(), np.float16) == "reference"
    with pytest.raises(ConfigError, match="not float16"):
        choose_engine("fast", Network(), np.float16)
    with pytest.raises(ConfigError, match="unknown engine 'turbo'; choose one of auto, ref"):
        choose_engine("turbo", Network(), np.float32)


def test_nudgenet_imports_and_trains_without_numba(tmp_path: Path) -> None:
    """With Numba unimportable, auto trains on the reference engine (one Step per update)."""
    code = (
        "import sys; sys.modules['numba'] = None\n"  # `import numba` now raises ImportError
        "import numpy as np, nudgenet as nn\n"
        "net = nn.Network((4, 3, 2)); rng = np.random.default_rng(0)\n"
        "X = rng.random((12, 4)); Y = np.eye(2)[np.arange(12) % 2]\n"
        "theta = nn.init_params(net.layout, rng=rng)\n"
        "settings = nn.TrainSettings(epochs=1, batch_size=3)\n"
        "records = list(nn.train(net, theta, X, Y, settings, rng=rng))\n"
        "print(sum(isinstance(r, nn.Step) for r in records), sys.modules['numba'] is not None)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["4", "False"]


# ---------------------------------------------------------------------------------------------
# command line


def test_engine_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = {}
    for engine in ("reference", "fast"):
        path = tmp_path / f"{engine}.npz"
        argv = ["train", "--epochs", "1", "--batch-size", "50", "--dtype", "float64"]
        assert main([*argv, "--engine", engine, "--out", str(path), "--json"]) == 0
        results[engine] = json.loads(capsys.readouterr().out)
        assert results[engine]["settings"]["engine"] == engine
        assert Model.load(path).settings["engine"] == engine
    np.testing.assert_allclose(
        Model.load(tmp_path / "fast.npz").theta, Model.load(tmp_path / "reference.npz").theta,
        rtol=1e-9, atol=1e-12,
    )  # fmt: skip
    for h, h_ref in zip(results["fast"]["history"], results["reference"]["history"], strict=True):
        assert h["train_cost"] == pytest.approx(h_ref["train_cost"], rel=1e-9)
        assert h["test_accuracy"] == h_ref["test_accuracy"]


def test_engine_flag_default_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.npz"
    assert main(["train", "--epochs", "1", "--out", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["engine"] == "fast"  # auto's choice
    with pytest.raises(SystemExit) as caught:
        main(["train", "--engine", "turbo"])
    assert caught.value.code == 2
    assert "invalid choice: 'turbo'" in capsys.readouterr().err
    monkeypatch.setattr(fast, "_load_kernels", lambda: "it needs Numba, which is not installed")
    assert main(["train", "--engine", "fast", "--out", str(path)]) == 1
    err = capsys.readouterr().err
    assert "error: the fast engine cannot train here: it needs Numba" in err
    assert "help: use the reference engine (--engine reference)" in err


# ---------------------------------------------------------------------------------------------
# memory


@pytest.mark.parametrize("batch_size", [1000, 0])
@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_training_never_copies_the_data_set(engine: str, batch_size: int) -> None:
    """While training, the peak of new allocations stays far below the size of X (which a
    per-epoch shuffled copy, or a full batch gathered as X[0..n−1], would allocate)."""
    n, network = 20_000, Network((784, 16, 16, 10))
    rng = np.random.default_rng(0)
    X = rng.random((n, 784), dtype=np.float32)  # 62.7 MB
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    theta = init_params(network.layout, rng=rng, dtype="float32")
    settings = TrainSettings(epochs=2, batch_size=batch_size, lr=0.5)
    # Load (or compile) the kernels first: importing Numba allocates too, but only once.
    list(train(network, theta.copy(), X[:2000], Y[:2000], settings, rng=rng, engine=engine))
    tracemalloc.start()
    try:
        records = train(network, theta, X, Y, settings, rng=rng, engine=engine)
        next(records)  # epoch 0, after the one-off input checks
        tracemalloc.reset_peak()
        for _ in records:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 4, f"{peak / 1e6:.1f} MB at peak; X is {X.nbytes / 1e6:.1f} MB"


# `nudgenet train ARGS`, then its peak resident memory. VmHWM is the peak of this process's
# own memory: a child's ru_maxrss would also count the parent's (pytest's) memory at fork.
PEAK_RSS = (
    "import sys\n"
    "from nudgenet.cli import main\n"
    "assert main(['train', *sys.argv[1:]]) == 0\n"
    "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "print('peak', int(status.split()[0]) / 1024)\n"
)


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")
@pytest.mark.parametrize("batch_size", ["10", "0"])
def test_full_mnist_peak_memory_under_600_mb(
    mnist_dir: Path, tmp_path: Path, batch_size: str
) -> None:
    """``nudgenet train`` on full MNIST in float32 (data, the epoch, its evaluation, saving)."""
    argv = ["--data", str(mnist_dir), "--epochs", "1", "--batch-size", batch_size]
    argv += ["--out", str(tmp_path / "m.npz")]
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *argv], capture_output=True, text=True, check=True
    )
    peak_mb = float(out.stdout.split()[-1])
    assert 250 < peak_mb < 600  # the data alone are 250 MB


@pytest.mark.parametrize("r", [5, 10, 15, 30])
@pytest.mark.parametrize("n_out", [4, 16, 18])
def test_the_first_layers_tiles_of_five_examples_give_the_same_bits(r: int, n_out: int) -> None:
    """A chunk of a multiple of five examples (batch 10) goes through tiles of five examples
    where it once went through tiles of four and one more tile over the next rows; each
    dot product must add up as it did, bit for bit."""
    numba = pytest.importorskip("numba")
    kernels = pytest.importorskip("nudgenet.training.kernels")

    @numba.njit(**{**kernels._OPTIONS, "cache": False, "no_cpython_wrapper": False})
    def in_tiles_of_four(X, rows, r, W, b, Z):
        n_out, n_in = W.shape
        J, K = n_out - n_out % 4, n_in - n_in % kernels._lanes(W)
        R = -(-r // 4) * 4  # the last tile reaches into the rows that come next
        for j in range(n_out):
            Z[j, :R] = b[j]
        for i in range(0, R, 4):
            for j in range(0, J, 4):
                kernels._affine_tile(X, rows, i, W, j, K, Z, -1, False, 4)
        kernels._add_dots(X, rows, 0, R, W, 0, J, K, n_in, Z)
        kernels._add_dots(X, rows, 0, R, W, J, n_out, 0, n_in, Z)

    @numba.njit(**{**kernels._OPTIONS, "cache": False, "no_cpython_wrapper": False})
    def as_the_engine_does(X, rows, r, W, b, Z):
        kernels._input_affine(X, rows, r, W, b, Z)

    rng = np.random.default_rng(r * 100 + n_out)
    X = rng.standard_normal((64, 790)).astype(np.float32)  # 790: columns past the last vector
    W = rng.standard_normal((n_out, 790)).astype(np.float32)
    b = rng.standard_normal(n_out).astype(np.float32)
    rows = rng.permutation(64)  # more rows than r: the next batch's
    expected, got = np.zeros((n_out, 32), np.float32), np.zeros((n_out, 32), np.float32)
    in_tiles_of_four(X, rows, r, W, b, expected)
    as_the_engine_does(X, rows, r, W, b, got)
    np.testing.assert_array_equal(got[:, :r], expected[:, :r])
