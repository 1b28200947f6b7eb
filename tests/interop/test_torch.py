"""Tests for nudgenet.interop.torch: a state_dict out, the same θ back, the same outputs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nudgenet import Model, ModelFileError, Network
from nudgenet.errors import MissingDependencyError
from nudgenet.interop import load_torch, save_torch, to_torch
from nudgenet.network import output

torch = pytest.importorskip("torch")

# The exported network computes in float32 what nudgenet computes in float32, in another
# order of additions: each output may differ by a few units in the last place of 1.
FLOAT32_ROUNDING = 8 * float(np.finfo(np.float32).eps)  # 9.5e-7


def torch_outputs(module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


def test_the_module_is_a_sequential_of_linear_and_activation_layers(trained: Model) -> None:
    module = to_torch(trained)
    assert [type(m).__name__ for m in module] == [
        "Linear", "Sigmoid", "Linear", "Sigmoid", "Linear", "Sigmoid",
    ]  # fmt: skip
    # The usual key order is the one torch itself gives such a module.
    fresh = torch.nn.Sequential(
        torch.nn.Linear(784, 16), torch.nn.Sigmoid(), torch.nn.Linear(16, 16),
        torch.nn.Sigmoid(), torch.nn.Linear(16, 10), torch.nn.Sigmoid(),
    )  # fmt: skip
    assert list(module.state_dict()) == list(fresh.state_dict())
    assert list(module.state_dict())[:3] == ["0.weight", "0.bias", "2.weight"]


def test_converting_leaves_torchs_random_generator_alone(trained: Model) -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    to_torch(trained)
    assert torch.equal(torch.rand(3), expected)


def test_round_trip_is_bit_for_bit(kind: Model, tmp_path: Path) -> None:
    path = save_torch(kind, tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    assert all(t.dtype == getattr(torch, str(kind.theta.dtype)) for t in state.values())
    net = kind.network
    back = load_torch(path, activation=net.activation, output=net.output, cost=kind.cost)
    assert back.network == net
    assert back.theta.dtype == kind.theta.dtype
    assert back.theta.tobytes() == kind.theta.tobytes()
    assert back.cost == kind.cost


def test_outputs_agree_on_the_embedded_test_set(kind: Model, mini_test: np.ndarray) -> None:
    X = mini_test.astype(kind.theta.dtype)
    ours = output(kind.network, kind.theta, X)
    theirs = torch_outputs(to_torch(kind), X)
    tolerance = FLOAT32_ROUNDING if kind.theta.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=tolerance)


@pytest.mark.mnist
def test_outputs_agree_on_the_mnist_test_set(
    trained: Model, mnist_test: np.ndarray, tmp_path: Path
) -> None:
    module = to_torch(trained)
    module.load_state_dict(torch.load(save_torch(trained, tmp_path / "m.pt"), weights_only=True))
    ours = output(trained.network, trained.theta, mnist_test)
    theirs = torch_outputs(module, mnist_test)
    assert theirs.shape == (10_000, 10)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=FLOAT32_ROUNDING)
    assert np.mean(theirs.argmax(1) == ours.argmax(1)) > 0.999


def test_a_network_made_in_pytorch_is_read(tmp_path: Path, mini_test: np.ndarray) -> None:
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10), torch.nn.Softmax(-1)
    )
    path = tmp_path / "theirs.pt"
    torch.save(module.state_dict(), path)
    model = load_torch(path, activation="relu", output="softmax")
    assert model.network.sizes == (784, 32, 10)
    np.testing.assert_allclose(
        output(model.network, model.theta, mini_test),
        torch_outputs(module, mini_test),
        rtol=0,
        atol=FLOAT32_ROUNDING,
    )


def test_parameters_saved_as_they_are_are_read(trained: Model, tmp_path: Path) -> None:
    path = tmp_path / "parameters.pt"
    torch.save(dict(to_torch(trained).named_parameters()), path)  # requires_grad tensors
    assert load_torch(path).theta.tobytes() == trained.theta.tobytes()


def test_given_sizes_are_checked_against_the_tensors(trained: Model, tmp_path: Path) -> None:
    path = save_torch(trained, tmp_path / "m.pt")
    with pytest.raises(ModelFileError, match=r"0.weight has shape \(16, 784\), but a 784,32,16,10"):
        load_torch(path, network=Network((784, 32, 16, 10)))


def test_a_pickled_module_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)), path)
    with pytest.raises(
        ModelFileError, match="not a PyTorch state_dict that can be read safely"
    ) as info:
        load_torch(path)
    assert "state_dict()" in info.value.help


NOT_STATE_DICTS = {
    "a list": (lambda: [torch.zeros(3)], "holds a list, not a dict of tensors"),
    "a checkpoint": (lambda: {"state_dict": {"0.weight": 1}}, "not a dict of tensors"),
    "float16": (
        lambda: {"0.weight": torch.zeros(2, 4, dtype=torch.float16),
                 "0.bias": torch.zeros(2, dtype=torch.float16)},
        "the tensors are float16",
    ),
}  # fmt: skip


@pytest.mark.parametrize("what", NOT_STATE_DICTS)
def test_what_is_not_a_state_dict_is_refused(what: str, tmp_path: Path) -> None:
    make, match = NOT_STATE_DICTS[what]
    path = tmp_path / "x.pt"
    torch.save(make(), path)
    with pytest.raises(ModelFileError, match=match):
        load_torch(path)


def test_a_file_larger_than_the_network_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.pt"
    with open(path, "wb") as f:
        f.truncate(2 << 20)  # 2 MB of nothing: more than 2-2-1's 9 parameters could fill
    with pytest.raises(ModelFileError, match="more than a network of 9 parameters"):
        load_torch(path, network=Network((2, 2, 1)))


def test_a_zip_that_unpacks_beyond_the_network_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/data.pkl", b"\0" * (8 << 20))  # 8 MB of zeros, 8 kB packed
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelFileError, match="a pickle of 8,388,608 bytes"):
        load_torch(path)


def test_a_damaged_file_is_a_model_file_error(trained: Model, tmp_path: Path) -> None:
    path = save_torch(trained, tmp_path / "m.pt")
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(ModelFileError, match="not a PyTorch state_dict"):
        load_torch(path)


def test_without_torch_the_error_says_how_to_install_it(
    trained: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(MissingDependencyError, match="needs the torch package") as info:
        save_torch(trained, tmp_path / "m.pt")
    assert "pip install torch" in info.value.help
    assert not (tmp_path / "m.pt").exists()


def test_nudgenet_does_not_import_the_exchange_packages() -> None:
    code = (
        "import sys, nudgenet, nudgenet.interop, nudgenet.cli.main; "
        "print([m for m in ('torch', 'onnx', 'onnxruntime', 'safetensors', 'sklearn') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
