"""``nudgenet backprop``: one example's backward pass from the shell, checked by the library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json
from PIL import Image

from nudgenet import Model, Network, cost_and_gradient, init_params, load_mini, one_hot, to_inputs
from nudgenet.training.recipe import seed_streams


def fresh_theta(seed: int = 0) -> np.ndarray:
    """θ as `nudgenet train --seed` starts it: the command's network without MODEL."""
    return init_params(Network().layout, "xavier", rng=seed_streams(seed)[0], dtype="float64")


def test_json_walks_from_the_output_back_and_agrees_with_the_library(capsys) -> None:
    result = run_json(capsys, "backprop", "--image", "3")
    data = load_mini()
    x = to_inputs(data.test_images[3:4], np.float64)
    label = int(data.test_labels[3])
    C, grad = cost_and_gradient(Network(), fresh_theta(), x, one_hot([label], 10, np.float64))
    assert result["label"] == label
    assert result["cost"] == pytest.approx(C, rel=1e-12)
    assert [layer["layer"] for layer in result["layers"]] == [3, 2, 1]  # output layer first
    assert result["max_relative_error"] < 1e-6
    assert result["passed"] is True
    views = Network().layout.views(grad)
    for layer in result["layers"]:
        dW, db = views[layer["layer"] - 1]
        np.testing.assert_allclose(layer["delta"], db, rtol=1e-12)  # ∂C/∂b = δ
        assert layer["grad_W_norm"] == pytest.approx(np.linalg.norm(dW), rel=1e-12)
        assert layer["grad_b_norm"] == pytest.approx(np.linalg.norm(db), rel=1e-12)
        assert layer["max_relative_error"] < 1e-6
        big = layer["largest"]
        j, k = big["neuron"], big["input"]
        assert big["derivative"] == pytest.approx(dW[j, k], rel=1e-12)
        assert abs(dW[j, k]) == np.max(np.abs(dW))
    assert result["layers"][0]["cost_wrt_a"] == pytest.approx(
        (2 * (np.array(result["outputs"]) - np.eye(10)[label])).tolist()
    )


def test_text_reads_layer_by_layer(capsys) -> None:
    code, out, _ = run(capsys, "backprop", "--image", "0", "--seed", "1")
    assert code == 0
    assert "fresh xavier-initialised 784-16-16-10 network (seed 1), untrained" in out
    heads = [out.index(h) for h in ("the output layer:", "layer 2:", "layer 1:")]
    assert heads == sorted(heads)
    assert out.count("largest |∂C/∂w|") == 3
    assert "from pixel (" in out
    assert out.count("checked against finite differences: max relative error") == 3
    assert "all 13,002 components checked against finite differences in float64" in out
    assert out.rstrip().endswith("passed (tolerance 1e-06)")


@pytest.mark.slow  # two walks, each checked against 38,000 finite-difference passes
def test_a_saved_softmax_model_and_your_own_image(tmp_path: Path, capsys) -> None:
    network = Network((784, 12, 10), "tanh", "softmax")
    theta = init_params(network.layout, "xavier", rng=np.random.default_rng(5), dtype="float64")
    path = Model(network, theta, "cross-entropy").save(tmp_path / "m.npz")
    image = tmp_path / "seven.png"
    Image.fromarray(255 - load_mini().test_images[0]).save(image)  # dark ink on white
    result = run_json(capsys, "backprop", str(path), "--file", str(image), "--label", "7")
    assert result["cost_function"] == "cross-entropy"
    assert result["layers"][0]["sigma_prime"] is None  # softmax: no elementwise σ′
    assert result["max_relative_error"] < 1e-6
    assert result["label"] == 7
    assert result["example"] == f"the image {image}"
    code, out, _ = run(capsys, "backprop", str(path), "--image", "0", "--label", "2")
    assert code == 0
    assert "softmax couples the outputs" in out
    assert "target y (label 2)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--image", "2000"], "--image must be a test image index in 0..1999, got 2000"),
        (["--image", "-1"], "--image must be a test image index in 0..1999, got -1"),
        (["--label", "10"], "--label must be a digit in 0..9, got 10"),
        (["--file", "nowhere.png"], "has no label"),
        (["--file", "nowhere.png", "--label", "3"], "nowhere.png"),
        (["missing.npz"], "no model file at missing.npz"),
    ],
)
def test_bad_input_is_one_error_and_one_help(argv: list[str], message: str, capsys) -> None:
    code, out, err = run(capsys, "backprop", *argv)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert lines[1].startswith("help: ")


def test_a_file_that_is_not_a_model(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    code, _, err = run(capsys, "backprop", str(junk))
    assert code == 1
    assert "\nhelp: " in err
    assert err.startswith("error: ")
    assert "Traceback" not in err
