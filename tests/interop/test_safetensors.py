"""Tests for nudgenet.interop.safetensors: θ and the description in one plain file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, Model, ModelFileError, Network
from nudgenet.interop import keys, load_model, load_safetensors, save_safetensors, to_state
from nudgenet.network import output

st_numpy = pytest.importorskip("safetensors.numpy")


def test_round_trip_keeps_theta_bit_for_bit_and_the_description(
    kind: Model, tmp_path: Path
) -> None:
    kind.settings = {"seed": 3, "lr": 0.5, "data": "mini"}
    kind.history = [{"epoch": 0, "train_cost": 2.5}, {"epoch": 1, "train_cost": 0.5}]
    back = load_safetensors(save_safetensors(kind, tmp_path / "m.safetensors"))
    assert back.network == kind.network
    assert back.theta.dtype == kind.theta.dtype
    assert back.theta.tobytes() == kind.theta.tobytes()
    assert (back.cost, back.settings, back.history) == (kind.cost, kind.settings, kind.history)


def test_the_file_is_a_plain_state_dict_with_metadata(trained: Model, tmp_path: Path) -> None:
    path = save_safetensors(trained, tmp_path / "m.safetensors")
    tensors = st_numpy.load_file(path)
    assert sorted(tensors) == sorted(keys(trained.network))
    for name, array in to_state(trained.network, trained.theta).items():
        np.testing.assert_array_equal(tensors[name], array)
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    header = json.loads(path.read_bytes()[8 : 8 + n])
    assert json.loads(header["__metadata__"]["nudgenet"])["sizes"] == [784, 16, 16, 10]


def test_pytorch_loads_it_as_a_state_dict(
    trained: Model, tmp_path: Path, mini_test: np.ndarray
) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from nudgenet.interop import to_torch

    module = to_torch(trained)
    for p in module.parameters():
        p.data.zero_()
    module.load_state_dict(load_file(save_safetensors(trained, tmp_path / "m.safetensors")))
    with torch.no_grad():
        theirs = module(torch.from_numpy(mini_test)).numpy()
    ours = output(trained.network, trained.theta, mini_test)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-6)


def foreign(tmp_path: Path, network: Network) -> tuple[Path, np.ndarray]:
    """A safetensors file as another program writes it: the tensors, no description."""
    theta = np.random.default_rng(2).normal(size=network.n_params).astype(np.float32)
    path = tmp_path / "theirs.safetensors"
    st_numpy.save_file({k: v.copy() for k, v in to_state(network, theta).items()}, path)
    return path, theta


def test_a_file_without_description_needs_the_activations(tmp_path: Path) -> None:
    path, theta = foreign(tmp_path, Network((5, 4, 3)))
    model = load_safetensors(path, activation="tanh", output="softmax", cost="cross-entropy")
    assert model.network == Network((5, 4, 3), "tanh", "softmax")
    assert model.cost == "cross-entropy"
    assert model.theta.tobytes() == theta.tobytes()
    with pytest.raises(ModelFileError, match="not nudgenet's description") as info:
        load_model(path)
    assert "nudgenet import" in info.value.help


def test_load_model_reads_both_formats(trained: Model, tmp_path: Path) -> None:
    npz = load_model(trained.save(tmp_path / "m.npz"))
    tensors = load_model(save_safetensors(trained, tmp_path / "m.safetensors"))
    assert npz.theta.tobytes() == tensors.theta.tobytes() == trained.theta.tobytes()
    assert tensors.history == trained.history


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"network": Network((784, 32, 10))}, "--sizes 784,32,10 contradicts"),
        ({"activation": "relu"}, "--activation relu contradicts"),
        ({"cost": "cross-entropy"}, "--cost cross-entropy contradicts"),
    ],
)
def test_arguments_must_agree_with_the_description(
    trained: Model, tmp_path: Path, given: dict, match: str
) -> None:
    path = save_safetensors(trained, tmp_path / "m.safetensors")
    with pytest.raises(ConfigError, match=match):
        load_safetensors(path, **given)
    load_safetensors(path, network=trained.network, activation="sigmoid")  # agreeing is fine


def test_a_header_longer_than_any_description_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(ModelFileError, match="declares a header of 1,099,511,627,776 bytes"):
        load_safetensors(path)


def test_a_truncated_file_is_a_model_file_error(trained: Model, tmp_path: Path) -> None:
    path = save_safetensors(trained, tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        load_safetensors(path)


def test_a_description_that_lies_about_the_shapes_is_refused(
    trained: Model, tmp_path: Path
) -> None:
    state = {k: v.copy() for k, v in to_state(trained.network, trained.theta).items()}
    meta = trained.describe() | {"sizes": [784, 32, 10]}
    path = tmp_path / "m.safetensors"
    st_numpy.save_file(state, path, metadata={"nudgenet": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="does not hold the tensors of a 784,32,10 network"):
        load_safetensors(path)


def test_a_broken_description_is_refused(trained: Model, tmp_path: Path) -> None:
    state = {k: v.copy() for k, v in to_state(trained.network, trained.theta).items()}
    path = tmp_path / "m.safetensors"
    st_numpy.save_file(state, path, metadata={"nudgenet": "{not json"})
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_safetensors(path)
