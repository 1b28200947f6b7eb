"""The lanes engine: the members of a seed trained side by side in the lanes of one vector.

Each member must take the steps the fast engine's stack takes for it (the same batches,
checks and updates), to rounding; the lanes must never leak into one another.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nudgenet.errors import ConfigError
from nudgenet.network import Network
from nudgenet.training import lanes
from nudgenet.training.stacked import Member, choose_stack_engine, train_stacked

KEYS = ("train_cost", "train_accuracy", "test_cost", "test_accuracy", "learning_rate")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.random((97, 6))  # batches of 10 and a last one of 7; full batch: 3 chunks
    labels = rng.integers(0, 3, 97)
    return X, np.eye(3)[labels], labels


def members(count: int) -> list[Member]:
    """``count`` members over three seeds, with every option the lanes share varying."""
    schedules = ("constant", "cosine", "step", "exponential")
    return [
        Member(lr=float(lr), seed=k % 3, schedule=schedules[k % 4],
               momentum=0.5 if k % 5 == 1 else 0.0, l2=0.01 if k % 7 == 2 else 0.0)
        for k, lr in enumerate(np.geomspace(0.05, 3.0, count))
    ]  # fmt: skip


def assert_same(a, b, rtol: float) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.diverged_step == y.diverged_step
        assert len(x.history) == len(y.history)
        for hx, hy in zip(x.history, y.history, strict=True):
            for key in KEYS:
                if hy[key] is None:  # no test set given
                    assert hx[key] is None
                    continue
                np.testing.assert_allclose(hx[key], hy[key], rtol=rtol, err_msg=key)
        np.testing.assert_allclose(x.theta, y.theta, rtol=rtol, atol=rtol)


@pytest.mark.parametrize(
    ("sizes", "activation", "output", "cost"),
    [((6, 5, 4, 3), "sigmoid", "sigmoid", "quadratic"),
     ((6, 9, 3), "relu", "softmax", "cross-entropy"),
     ((6, 4, 4, 4, 3), "tanh", "softmax", "quadratic"),
     ((6, 3), "sigmoid", "sigmoid", "cross-entropy")],
)  # fmt: skip
@pytest.mark.parametrize("batch_size", [10, 3, 0])
def test_every_member_takes_the_fast_stacks_steps(data, sizes, activation, output, cost,
                                                   batch_size):  # fmt: skip
    # 37 members: groups of one seed, some full and some with lanes left over.
    X, Y, labels = data
    net = Network(sizes, activation, output)
    kwargs = dict(epochs=3, batch_size=batch_size, cost=cost, dtype="float64",
                  test=(X[:20], labels[:20]), labels=labels)  # fmt: skip
    got = train_stacked(net, members(37), X, Y, engine="lanes", **kwargs)
    expected = train_stacked(net, members(37), X, Y, engine="fast", **kwargs)
    assert_same(got, expected, rtol=1e-9)


def test_float32_members_match_to_float32_rounding(data):
    X, Y, labels = data
    net = Network((6, 5, 4, 3))
    kwargs = dict(epochs=2, batch_size=10, dtype="float32", labels=labels)
    got = train_stacked(net, members(20), X, Y, engine="lanes", **kwargs)
    expected = train_stacked(net, members(20), X, Y, engine="fast", **kwargs)
    assert_same(got, expected, rtol=1e-4)


def test_the_exact_path_gives_what_the_bound_gives(data, monkeypatch):
    # With no bound small enough, every step computes ‖∂C/∂W¹‖ instead of proving it finite.
    X, Y, labels = data
    net = Network((6, 5, 4, 3))
    kwargs = dict(epochs=2, batch_size=10, dtype="float64", labels=labels)
    proved = train_stacked(net, members(20), X, Y, engine="lanes", **kwargs)
    built = lanes.LaneStack.__init__

    def without_bound(self, *args, **kw):
        built(self, *args, **kw)
        self.big = 0.0

    monkeypatch.setattr(lanes.LaneStack, "__init__", without_bound)
    computed = train_stacked(net, members(20), X, Y, engine="lanes", **kwargs)
    assert_same(computed, proved, rtol=1e-12)


def test_a_diverging_lane_is_frozen_and_its_neighbours_go_on(data):
    X, Y, labels = data
    net = Network((6, 5, 4, 3), "relu", "softmax")
    calm = [Member(lr=0.3, seed=1), Member(lr=0.5, seed=1, momentum=0.5)]
    wild = Member(lr=1e6, seed=1, momentum=0.5)  # the same seed: the same group, lanes apart
    kwargs = dict(epochs=3, batch_size=10, cost="cross-entropy", dtype="float64",
                  labels=labels, engine="lanes")  # fmt: skip
    with_wild = train_stacked(net, [calm[0], wild, calm[1]], X, Y, **kwargs)
    without = train_stacked(net, calm, X, Y, **kwargs)
    fast = train_stacked(net, [wild], X, Y, **{**kwargs, "engine": "fast"})
    assert with_wild[1].diverged_step == fast[0].diverged_step is not None
    np.testing.assert_allclose(with_wild[1].theta, fast[0].theta, rtol=1e-9)
    assert np.isfinite(with_wild[1].theta).all()
    for a, b in zip([with_wild[0], with_wild[2]], without, strict=True):
        assert a.diverged_step is None
        np.testing.assert_array_equal(a.theta, b.theta)  # bit for bit: no lane leaks


def test_a_flat_lane_waits_for_the_next_epoch(data):
    # θ = ½ everywhere, targets ½: both outputs are exactly ½ and ∇C = 0, every step.
    X, _, labels = data
    net = Network((6, 4, 2), "relu", "softmax")
    Y = np.full((len(X), 2), 0.5)
    flat, moving = Member(lr=0.5, seed=2, init="constant"), Member(lr=0.5, seed=2)
    kwargs = dict(epochs=2, batch_size=10, dtype="float64", labels=labels % 2)
    got = train_stacked(net, [flat, moving], X, Y, engine="lanes", **kwargs)
    expected = train_stacked(net, [flat, moving], X, Y, engine="fast", **kwargs)
    assert_same(got, expected, rtol=1e-9)
    assert np.all(got[0].theta == 0.5)
    assert got[0].diverged_step is None
    assert len(got[0].history) == 3


def test_evaluation_is_each_members_cost_and_accuracy(data):
    from nudgenet.init import init_params
    from nudgenet.training.stacked import stacked_evaluate

    X, Y, labels = data
    rng = np.random.default_rng(5)
    for net, cost in [(Network((6, 5, 4, 3), "tanh", "softmax"), "cross-entropy"),
                      (Network((6, 3)), "quadratic")]:  # fmt: skip
        Theta = np.stack([init_params(net.layout, "normal", rng=rng) for _ in range(19)])
        costs, right = lanes.measure(net, Theta, X, Y, labels, cost)
        expected_costs, expected_right = stacked_evaluate(net, Theta, X, Y, labels, cost)
        np.testing.assert_allclose(costs, expected_costs, rtol=1e-12)
        np.testing.assert_array_equal(right, expected_right)


def test_quick_picks_the_lanes_engine_where_train_picks_the_fast_one_and_the_lanes_fill():
    assert choose_stack_engine("quick", Network(), "float32") == "lanes"
    assert choose_stack_engine("quick", Network(), "float32", fill=0.2) == "fast"
    assert choose_stack_engine("auto", Network(), "float32") == "fast"  # bit for bit `train`
    for engine in ("auto", "quick"):
        assert choose_stack_engine(engine, Network(), "float16") == "reference"
        assert choose_stack_engine(engine, Network((784, 800, 800, 10)), "float32") == "reference"
    assert choose_stack_engine("fast", Network(), "float64") == "fast"
    with pytest.raises(ConfigError, match="unknown stack engine 'blas'"):
        choose_stack_engine("blas", Network(), "float32")


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=4).map(lambda s: (*s, 3)),
    kind=st.sampled_from([("sigmoid", "sigmoid", "quadratic"), ("tanh", "softmax", "quadratic"),
                          ("relu", "softmax", "cross-entropy")]),
    batch_size=st.sampled_from([0, 1, 4, 10, 12, 45]),
    count=st.integers(1, 20),
    seeds=st.integers(1, 3),
    data_seed=st.integers(0, 2**16),
)  # fmt: skip
def test_any_small_stack_takes_the_fast_stacks_steps(sizes, kind, batch_size, count, seeds,
                                                     data_seed):  # fmt: skip
    rng = np.random.default_rng(data_seed)
    X = rng.random((47, sizes[0]))
    labels = rng.integers(0, 3, 47)
    net = Network(sizes, *kind[:2])
    # The effective step η/(1 − momentum) stays within 0.5: a larger one at batch 1 is chaotic,
    # and then any two orders of summation part by a factor of about a million an epoch.
    momenta = rng.choice([0.0, 0.9], count)
    group = [Member(lr=float(rng.uniform(0.01, 0.5) * (1 - m)), seed=int(rng.integers(seeds)),
                    momentum=float(m), l2=float(rng.choice([0.0, 0.01])))
             for m in momenta]  # fmt: skip
    kwargs = dict(epochs=2, batch_size=batch_size, cost=kind[2], dtype="float64", labels=labels)
    got = train_stacked(net, group, X, np.eye(3)[labels], engine="lanes", **kwargs)
    expected = train_stacked(net, group, X, np.eye(3)[labels], engine="fast", **kwargs)
    assert_same(got, expected, rtol=1e-8)


def test_a_sweep_trains_a_seeds_many_rates_on_the_lanes(monkeypatch):
    from nudgenet.training.sweep import Grid, SweepSpec, chunks, run_chunk

    calls = []
    run = lanes.LaneStack.run
    monkeypatch.setattr(lanes.LaneStack, "run", lambda self, *a: calls.append(1) or run(self, *a))
    spec = SweepSpec(data="mini", epochs=1, limit=200)
    many = Grid(lrs=tuple(np.geomspace(0.1, 3, 8).round(4)), seeds=(0,)).configs()
    run_chunk(spec, chunks(many, 64)[0])
    assert calls == [1]  # 8 rates of one seed fill half a group: the lanes engine
    few = Grid(lrs=(0.5,), seeds=(0, 1, 2)).configs()  # one rate per seed: the fast one
    run_chunk(spec, chunks(few, 64)[0])
    assert calls == [1]


numba = pytest.importorskip("numba")
lane_kernels = pytest.importorskip("nudgenet.training.lane_kernels")
_TEST_OPTIONS = {**lane_kernels._OPTIONS, "cache": False, "no_cpython_wrapper": False}
TILE = lane_kernels.TILE


@numba.njit(**_TEST_OPTIONS)
def _first_layer_in_small_tiles(xb, r, T, n_in, n_out, A, D, Gr, R, fresh):
    """The first layer's two products as tiles of 4 (or 1) units × TILE examples only: zˡ
    into A (without b¹) and Gr (+)= D xbᵀ, each sum over the inputs in the tiles' order."""
    J = n_out - n_out % 4
    for j in range(n_out):
        units = 4 if j < J else 1
        if j < J and j % 4:
            continue
        for e in range(0, r, TILE):
            lane_kernels._affine_tile(xb, e, T, j * n_in, n_in, A, j * R, R, units)
            lane_kernels._gradient_tile(D, j * R, e, xb, Gr, j * n_in, n_in, R, units,
                                        fresh and e == 0)  # fmt: skip


@numba.njit(**_TEST_OPTIONS)
def _first_layer(xb, r, T, n_in, n_out, A, D, Gr, R, fresh, pair, tile):
    lane_kernels._input_affine_in(xb, r, T, 0, n_in, n_out, A, R, pair, tile)
    lane_kernels._input_gradient_in(D, xb, r, Gr, 0, n_in, n_out, R, fresh, pair, tile)


@pytest.mark.parametrize("n_out", [1, 2, 3, 5, 16])
@pytest.mark.parametrize("r", [5, 10, 15, 40])
@pytest.mark.parametrize("fresh", [True, False])
@pytest.mark.parametrize(
    ("pair", "tile"), [(2, 4), (0, 2), (1, 1)], ids=["32-registers", "16-registers", "one-unit"]
)
def test_every_tiling_of_the_first_layer_gives_the_same_bits(
    n_out: int, r: int, fresh: bool, pair: int, tile: int
) -> None:
    """Ten examples to a tile read each row of W¹'s lanes once for both halves of the tile;
    fewer units to a tile leave more registers for the sums. Each sum must still add its
    products in the order of tiles of five, bit for bit, for every count of units and
    examples, with the units a tile takes on a CPU of 32 vector registers (2 × 10, 4 × 5),
    of 16 (no tiles of ten, 2 × 5), or one unit to every tile (1 × 10, 1 × 5)."""
    G, n_in, R = lanes.lanes(np.float32), 37, 40
    rng = np.random.default_rng(n_out * 100 + r)
    xb = rng.standard_normal((R, n_in)).astype(np.float32)
    T = rng.standard_normal((n_in * n_out + n_out, G)).astype(np.float32)  # W¹ rows, then b¹
    T[n_in * n_out :] = 0  # (so that zˡ is the sums themselves)
    D = rng.standard_normal((n_out * R, G)).astype(np.float32)
    Gr0 = rng.standard_normal((n_in * n_out, G)).astype(np.float32)
    A_small, A = np.zeros((n_out * R, G), np.float32), np.zeros((n_out * R, G), np.float32)
    Gr_small, Gr = Gr0.copy(), Gr0.copy()
    _first_layer_in_small_tiles(xb, r, T, n_in, n_out, A_small, D, Gr_small, R, fresh)
    _first_layer(xb, r, T, n_in, n_out, A, D, Gr, R, fresh, pair, tile)
    np.testing.assert_array_equal(A, A_small)
    np.testing.assert_array_equal(Gr, Gr_small)


def test_this_cpu_takes_the_tiles_its_registers_hold() -> None:
    from nudgenet.training.simd import VECTOR_REGISTERS

    units = (lane_kernels.PAIR_UNITS, lane_kernels.TILE_UNITS)
    assert units == ((2, 4) if VECTOR_REGISTERS >= 32 else (0, 2))
