"""Tests for nudgenet.interop.state: θ as named tensors, and the checks on the way back."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import ModelFileError, Network
from nudgenet.interop.state import check_shapes, from_state, keys, sizes_of, to_state


def shapes_of(state: dict) -> dict:
    return {name: array.shape for name, array in state.items()}


def dtypes_of(state: dict) -> dict:
    return {name: str(array.dtype) for name, array in state.items()}


def test_names_follow_nn_sequential_with_activations_between() -> None:
    assert keys(Network((5, 4, 3, 2, 1))) == [
        "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "6.weight", "6.bias",
    ]  # fmt: skip


def test_tensors_are_views_of_theta_in_its_order() -> None:
    network = Network((3, 4, 2))
    theta = np.arange(network.n_params, dtype=np.float64)
    state = to_state(network, theta)
    assert list(state) == keys(network)
    assert all(np.shares_memory(array, theta) for array in state.values())
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in state.values()]), theta)
    assert state["0.weight"].shape == (4, 3)  # (n_out, n_in), as torch.nn.Linear keeps it
    theta[0] = -1.0
    assert state["0.weight"][0, 0] == -1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_for_bit(dtype: str) -> None:
    network = Network((6, 5, 3))
    theta = np.random.default_rng(0).normal(size=network.n_params).astype(dtype)
    state = {k: v.copy() for k, v in to_state(network, theta).items()}
    got = check_shapes(shapes_of(state), dtypes_of(state), network, "f")
    back = from_state(state, network, "f", got)
    assert back.dtype == theta.dtype
    assert back.tobytes() == theta.tobytes()


def test_sizes_are_read_from_the_chain_of_weights() -> None:
    network = Network((7, 5, 4, 2))
    state = to_state(network, np.zeros(network.n_params))
    assert sizes_of(shapes_of(state), "f") == (7, 5, 4, 2)


def test_a_broken_chain_is_refused() -> None:
    shapes = {"0.weight": (5, 7), "0.bias": (5,), "2.weight": (2, 6), "2.bias": (2,)}
    with pytest.raises(ModelFileError, match=r"2.weight takes 6 inputs, but the layer before"):
        sizes_of(shapes, "f")


def test_names_not_of_a_sequential_are_refused() -> None:
    with pytest.raises(ModelFileError, match=r"holds no 0.weight") as info:
        sizes_of({"fc1.weight": (5, 7), "fc1.bias": (5,)}, "f.pt")
    assert "fc1.weight" in str(info.value)


def test_an_absurd_weight_shape_is_refused_before_any_layout() -> None:
    with pytest.raises(ModelFileError, match="not \\(n_out, n_in\\)"):
        sizes_of({"0.weight": (10**9, 784), "0.bias": (10**9,)}, "f")


def check(state: dict, network: Network) -> None:
    check_shapes(shapes_of(state), dtypes_of(state), network, "f.pt")


def test_missing_and_unexpected_tensors_are_named() -> None:
    network = Network((4, 3, 2))
    state = dict(to_state(network, np.zeros(network.n_params)))
    state["3.weight"] = state.pop("2.weight")  # a Dropout between shifted the index
    with pytest.raises(ModelFileError, match=r"missing 2\.weight; unexpected 3\.weight"):
        check(state, network)


def test_a_wrong_shape_is_named_with_the_expected_one() -> None:
    network = Network((4, 3, 2))
    state = dict(to_state(network, np.zeros(network.n_params)))
    state["0.bias"] = np.zeros(4)
    with pytest.raises(
        ModelFileError, match=r"0.bias has shape \(4,\), but a 4,3,2 network needs \(3,\)"
    ):
        check(state, network)


@pytest.mark.parametrize("dtypes", [("float16", "float16"), ("float32", "float64")])
def test_half_precision_and_mixed_dtypes_are_refused(dtypes: tuple[str, str]) -> None:
    network = Network((4, 3, 2))
    state = dict(to_state(network, np.zeros(network.n_params)))
    state["0.weight"] = state["0.weight"].astype(dtypes[0])
    state = {k: (v if k == "0.weight" else v.astype(dtypes[1])) for k, v in state.items()}
    with pytest.raises(ModelFileError, match="one float32 or float64 vector"):
        check(state, network)


def test_non_finite_values_are_refused() -> None:
    network = Network((4, 3, 2))
    state = {k: v.copy() for k, v in to_state(network, np.zeros(network.n_params)).items()}
    state["2.bias"][0] = np.nan
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        from_state(state, network, "f", np.dtype(np.float64))
