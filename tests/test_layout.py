"""Tests for nudgenet.layout: where every weight and bias lives inside the flat vector θ."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import ConfigError, Layout, ShapeError, options
from nudgenet.layout import LAYER_SIZE, MAX_PARAMS, SEED_SIZES


def test_seed_network_has_13002_parameters() -> None:
    layout = Layout((784, 16, 16, 10))
    # 784·16 + 16 + 16·16 + 16 + 16·10 + 10, written out as in the seed.
    assert layout.n_params == 12544 + 16 + 256 + 16 + 160 + 10 == 13002
    assert layout.n_layers == 3
    assert Layout().sizes == SEED_SIZES == (784, 16, 16, 10)


def test_offsets_mark_each_layer_start() -> None:
    layout = Layout((784, 16, 16, 10))
    assert layout.offsets == (0, 12560, 12832, 13002)


def test_view_shapes_of_the_seed_network() -> None:
    layout = Layout((784, 16, 16, 10))
    views = layout.views(np.zeros(layout.n_params))
    assert [(W.shape, b.shape) for W, b in views] == [
        ((16, 784), (16,)),
        ((16, 16), (16,)),
        ((10, 16), (10,)),
    ]
    assert layout.shapes == [((16, 784), (16,)), ((16, 16), (16,)), ((10, 16), (10,))]


def test_views_are_laid_out_w_then_b_layer_by_layer() -> None:
    layout = Layout((2, 3, 1))
    theta = np.arange(layout.n_params, dtype=np.float64)  # 6 + 3 + 3 + 1 = 13
    (W1, b1), (W2, b2) = layout.views(theta)
    np.testing.assert_array_equal(W1, [[0, 1], [2, 3], [4, 5]])  # row-major (n_out, n_in)
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(W2, [[9, 10, 11]])
    np.testing.assert_array_equal(b2, [12])


def test_views_share_memory_with_theta() -> None:
    layout = Layout((4, 3, 2))
    theta = np.zeros(layout.n_params)
    for W, b in layout.views(theta):
        assert np.shares_memory(W, theta)
        assert np.shares_memory(b, theta)
        assert W.base is not None
        assert b.base is not None


def test_writing_theta_changes_the_views() -> None:
    layout = Layout((4, 3, 2))
    theta = np.zeros(layout.n_params)
    (W1, b1), (W2, b2) = layout.views(theta)
    theta -= 0.5 * np.ones_like(theta)  # an update θ ← θ − η∇C, in place
    assert np.all(W1 == -0.5)
    assert np.all(b1 == -0.5)
    assert np.all(W2 == -0.5)
    assert np.all(b2 == -0.5)


def test_writing_a_view_changes_theta() -> None:
    layout = Layout((4, 3, 2))
    theta = np.zeros(layout.n_params)
    (W1, _), (_, b2) = layout.views(theta)
    W1[2, 3] = 7.0
    b2[1] = -2.0
    assert theta[2 * 4 + 3] == 7.0
    assert theta[-1] == -2.0
    assert np.count_nonzero(theta) == 2


def test_views_cover_theta_exactly_once() -> None:
    layout = Layout((5, 4, 3, 2))
    theta = np.zeros(layout.n_params)
    for W, b in layout.views(theta):
        W += 1.0
        b += 1.0
    np.testing.assert_array_equal(theta, np.ones(layout.n_params))


def test_weight_mask_marks_weights_not_biases() -> None:
    layout = Layout((2, 3, 1))
    mask = layout.weight_mask()
    assert mask.dtype == bool
    expected = [True] * 6 + [False] * 3 + [True] * 3 + [False]
    assert mask.tolist() == expected


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, (1, "weight", (0, 0))),
        (783, (1, "weight", (0, 783))),
        (784, (1, "weight", (1, 0))),
        (784 * 16 - 1, (1, "weight", (15, 783))),
        (784 * 16, (1, "bias", (0,))),
        (784 * 16 + 15, (1, "bias", (15,))),
        (12560, (2, "weight", (0, 0))),
        (12560 + 17, (2, "weight", (1, 1))),
        (12560 + 256, (2, "bias", (0,))),
        (12832 + 159, (3, "weight", (9, 15))),
        (12832 + 160, (3, "bias", (0,))),
        (13001, (3, "bias", (9,))),
    ],
)
def test_locate(index: int, expected: tuple[int, str, tuple[int, ...]]) -> None:
    assert Layout((784, 16, 16, 10)).locate(index) == expected


def test_locate_agrees_with_views() -> None:
    layout = Layout((3, 4, 2))
    theta = np.zeros(layout.n_params)
    views = layout.views(theta)
    for i in range(layout.n_params):
        theta[:] = 0.0
        theta[i] = 1.0
        layer, kind, pos = layout.locate(i)
        W, b = views[layer - 1]
        assert (W if kind == "weight" else b)[pos] == 1.0


@pytest.mark.parametrize("index", [-1, 13002, 10**9])
def test_locate_outside_theta(index: int) -> None:
    with pytest.raises(ShapeError, match=rf"index {index} is outside θ, which has 13002 entries"):
        Layout().locate(index)


@pytest.mark.parametrize(
    "sizes",
    [
        (),
        (784,),
        (784, 0, 10),
        (784, -16, 10),
        (784, 16.5, 10),
        (784, "16x", 10),
        (784, float("nan"), 10),
        (784, float("inf"), 10),
        (784, None, 10),
    ],
    ids=["empty", "one", "zero", "negative", "fraction", "text", "nan", "inf", "none"],
)
def test_bad_sizes_raise_config_error(sizes: tuple[object, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        Layout(sizes)  # type: ignore[arg-type]
    message = str(info.value)
    assert "layer" in message
    assert "784,16,16,10" in message  # an example of what is allowed


def test_too_few_sizes_message() -> None:
    with pytest.raises(ConfigError, match="at least an input and an output layer"):
        Layout((784,))


def test_sizes_accept_integral_floats_and_lists() -> None:
    layout = Layout([784.0, 16, 10])  # type: ignore[arg-type]
    assert layout.sizes == (784, 16, 10)
    assert all(type(n) is int for n in layout.sizes)


@pytest.mark.parametrize(
    "theta",
    [
        np.zeros(13001),
        np.zeros(13003),
        np.zeros((13002, 1)),
        np.zeros((1, 13002)),
        [0.0] * 13002,
    ],
)
def test_wrong_theta_raises_shape_error_naming_the_length(theta: object) -> None:
    layout = Layout()
    with pytest.raises(ShapeError) as info:
        layout.views(theta)  # type: ignore[arg-type]
    message = str(info.value)
    assert "13002 parameters" in message
    assert "784,16,16,10" in message
    assert "help: create it with nudgenet.init_params" in message


def test_wrong_theta_message_reports_the_shape_got() -> None:
    with pytest.raises(ShapeError, match=r"got shape \(13001,\)"):
        Layout().check(np.zeros(13001))


def test_integer_theta_is_rejected() -> None:
    with pytest.raises(ShapeError, match="θ must hold floats, got dtype int64"):
        Layout((2, 1)).views(np.zeros(3, dtype=np.int64))


def test_float32_theta_views_keep_dtype() -> None:
    layout = Layout((3, 2))
    theta = np.zeros(layout.n_params, dtype=np.float32)
    ((W, b),) = layout.views(theta)
    assert W.dtype == b.dtype == np.float32


def test_views_of_a_strided_theta_still_write_through() -> None:
    layout = Layout((2, 2))
    storage = np.zeros(2 * layout.n_params)
    theta = storage[::2]  # not contiguous
    ((W, b),) = layout.views(theta)
    W[1, 0] = 3.0
    b[1] = 4.0
    assert storage[4] == 3.0
    assert storage[10] == 4.0


def test_layer_sizes_are_capped_saying_why() -> None:
    """A layer wider than options.LAYER_SIZE allows is refused with the memory it needs."""
    assert LAYER_SIZE is options.LAYER_SIZE
    assert LAYER_SIZE.high == 10_000
    Layout((784, 10_000, 10))
    with pytest.raises(ConfigError) as info:
        Layout((784, 10_000_000, 10))
    message = str(info.value)
    assert "layer 1 of sizes 784,10000000,10 has 10,000,000 neurons" in message
    assert "limit of 10,000 per layer" in message
    assert "800 GB" in message
    assert info.value.help


def test_parameter_count_is_capped_saying_why() -> None:
    assert MAX_PARAMS is options.MAX_PARAMS
    Layout((784, 5000, 5000, 10))  # 28.9 M
    with pytest.raises(ConfigError) as info:
        Layout((784, 9000, 9000, 10))
    message = str(info.value)
    assert "88,164,010 weights and biases" in message
    assert "limit of 50,000,000" in message
    assert "705 MB apiece" in message
    assert info.value.help
