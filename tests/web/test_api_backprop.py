"""The Backprop panel's API over real HTTP: every number is the library's backpropagation."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import httpx
import numpy as np
import pytest

from nudgenet import Model, cost_and_gradient, load_mini, one_hot, to_inputs


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=30)


def library(seed: Model, index: int, target: int | None = None) -> tuple[float, np.ndarray]:
    """C and ∇C of test image ``index`` of mini, straight from cost_and_gradient."""
    data = load_mini()
    x = to_inputs(data.test_images[index : index + 1], np.float64)
    y = one_hot([int(data.test_labels[index]) if target is None else target], 10, np.float64)
    return cost_and_gradient(seed.network, seed.theta.astype(np.float64), x, y, seed.cost)


def test_a_test_image_walked_equals_cost_and_gradient(url: str, seed: Model) -> None:
    response = post(url, "/api/backprop", {"image": 4})
    assert response.status_code == 200, response.text
    walk = response.json()
    C, grad = library(seed, 4)
    assert walk["label"] == int(load_mini().test_labels[4]) == walk["target"]
    assert walk["cost"] == pytest.approx(C, rel=1e-12)
    assert [f["layer"] for f in walk["layers"]] == [1, 2, 3]
    for frame, (dW, db) in zip(walk["layers"], seed.network.layout.views(grad), strict=True):
        assert frame["shape"] == list(dW.shape)
        np.testing.assert_allclose(frame["delta"], db, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(frame["grad_W"], dW.ravel(), rtol=1e-10, atol=1e-15)
    assert walk["layers"][0]["weights"] is None  # layer 1's W is the Draw panel's images
    W3 = np.array(walk["layers"][2]["weights"]).reshape(10, 16)
    np.testing.assert_allclose(W3, seed.network.layout.views(seed.theta)[2][0], rtol=1e-6)
    assert walk["after"]["cost"] < walk["cost"]  # one nudge downhill


def test_nudges_lower_the_cost_and_move_the_outputs_towards_the_target(url: str) -> None:
    walks = [
        post(url, "/api/backprop", {"image": 0, "target": 3, "nudges": k}).json() for k in range(3)
    ]
    for before, after in pairwise(walks):
        assert after["cost"] == pytest.approx(before["after"]["cost"], rel=1e-12)
    costs = [w["cost"] for w in walks]
    target_outputs = [w["outputs"][3] for w in walks]
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] < costs[0]
    assert target_outputs == sorted(target_outputs)  # output 3 brightens
    again = post(url, "/api/backprop", {"image": 0, "target": 3, "nudges": 2}).json()
    assert again["cost"] == costs[2]  # stateless: the same request, the same numbers


def test_a_drawing_with_its_target(url: str, seed: Model) -> None:
    image = load_mini().test_images[7]
    big = np.kron(image, np.ones((4, 4), dtype=np.uint8))
    drawing = {"width": 112, "height": 112, "pixels": big.ravel().tolist()}
    walk = post(url, "/api/backprop", {"drawing": drawing, "target": 5}).json()
    assert walk["label"] is None
    assert walk["target"] == 5
    assert walk["image_index"] is None
    assert len(walk["image"]) == 784
    assert walk["layers"][2]["cost_wrt_a"][5] < 0  # the target's output should rise


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"image": 2000}, 422, "no test image 2000"),
        ({}, 422, "either image"),
        ({"image": 1, "nudges": 101}, 422, ""),
        ({"image": 1, "target": 10}, 422, ""),
        ({"image": "1"}, 422, ""),
        ({"image": 1, "learning_rate": 0}, 422, ""),
        ({"image": 1, "network": "training"}, 409, "no network is being trained"),
        ({"drawing": {"width": 8, "height": 8, "pixels": [0] * 64}}, 422, "no label"),
    ],
)
def test_bad_requests_are_explained(url: str, body: dict, status: int, words: str) -> None:
    response = post(url, "/api/backprop", body)
    assert response.status_code == status, response.text
    error = response.json()
    assert words in error["error"]
    if status != 422 or words:
        assert error["help"]


def test_a_blank_drawing_is_refused(url: str) -> None:
    blank = {"width": 8, "height": 8, "pixels": [0] * 64}
    response = post(url, "/api/backprop", {"drawing": blank, "target": 1})
    assert response.status_code == 422
    assert response.json()["help"]


def test_the_mini_batch_average_is_the_batch_gradient(url: str, seed: Model) -> None:
    response = post(url, "/api/backprop/batch", {"start": 10, "count": 6})
    assert response.status_code == 200, response.text
    body = response.json()
    examples = body["examples"]
    assert [e["index"] for e in examples] == list(range(10, 16))
    data = load_mini()
    X = to_inputs(data.test_images[10:16], np.float64)
    Y = one_hot(data.test_labels[10:16], 10, np.float64)
    C, grad = cost_and_gradient(seed.network, seed.theta.astype(np.float64), X, Y, seed.cost)
    assert body["average"]["cost"] == pytest.approx(C, rel=1e-12)
    assert body["batch"]["largest_difference"] < 1e-12
    wants = np.array([e["wants"] for e in examples])
    np.testing.assert_allclose(body["average"]["wants"], wants.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(body["average"]["wants"], -grad[-10:], rtol=1e-10, atol=1e-15)
    for e, label in zip(examples, data.test_labels[10:16], strict=True):
        assert e["label"] == label
        assert e["wants"][label] > 0  # each example wants its own label's output up
    # Averaging cancels: the average is shorter than the examples' gradients on average.
    assert body["average"]["gradient_norm"] < np.mean([e["gradient_norm"] for e in examples])
    refused = post(url, "/api/backprop/batch", {"start": 1995, "count": 8})
    assert refused.status_code == 422
    assert "no test image 2002" in refused.json()["error"]
    assert post(url, "/api/backprop/batch", {"count": 33}).status_code == 422
