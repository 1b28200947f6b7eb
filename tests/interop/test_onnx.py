"""Tests for nudgenet.interop.onnx: onnxruntime computes what nudgenet computes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nudgenet import Model, OutputError
from nudgenet.interop import keys, save_onnx, to_onnx
from nudgenet.network import output

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5  # what onnxruntime must reproduce nudgenet's outputs within


def run_onnx(path: Path, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


def test_the_graph_is_gemm_and_activation_nodes(trained: Model) -> None:
    proto = to_onnx(trained)
    onnx.checker.check_model(proto, full_check=True)
    ops = [node.op_type for node in proto.graph.node]
    assert ops == ["Gemm", "Sigmoid", "Gemm", "Sigmoid", "Gemm", "Sigmoid"]
    assert [t.name for t in proto.graph.initializer] == keys(trained.network)
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(
        weights["0.weight"], trained.network.layout.views(trained.theta)[0][0]
    )
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["nudgenet"])["sizes"] == [784, 16, 16, 10]


def test_onnxruntime_reproduces_each_kind_on_the_embedded_test_set(
    kind: Model, mini_test: np.ndarray, tmp_path: Path
) -> None:
    path = save_onnx(kind, tmp_path / "m.onnx")
    X = mini_test.astype(kind.theta.dtype)
    theirs = run_onnx(path, X)
    assert theirs.dtype == kind.theta.dtype
    np.testing.assert_allclose(theirs, output(kind.network, kind.theta, X), rtol=0, atol=TOLERANCE)


def test_onnxruntime_reproduces_the_trained_network_on_the_embedded_test_set(
    trained: Model, mini_test: np.ndarray, tmp_path: Path
) -> None:
    theirs = run_onnx(save_onnx(trained, tmp_path / "m.onnx"), mini_test)
    ours = output(trained.network, trained.theta, mini_test)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=TOLERANCE)
    assert np.array_equal(theirs.argmax(1), ours.argmax(1))


@pytest.mark.mnist
def test_onnxruntime_reproduces_the_trained_network_on_the_mnist_test_set(
    trained: Model, mnist_test: np.ndarray, tmp_path: Path
) -> None:
    theirs = run_onnx(save_onnx(trained, tmp_path / "m.onnx"), mnist_test)
    ours = output(trained.network, trained.theta, mnist_test)
    assert theirs.shape == (10_000, 10)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("batch", [1, 7])
def test_the_batch_size_is_free(
    trained: Model, mini_test: np.ndarray, batch: int, tmp_path: Path
) -> None:
    theirs = run_onnx(save_onnx(trained, tmp_path / "m.onnx"), mini_test[:batch])
    assert theirs.shape == (batch, 10)


def test_a_failed_write_leaves_nothing(trained: Model, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        save_onnx(trained, tmp_path / "missing" / "m.onnx")
    assert list(tmp_path.iterdir()) == []
