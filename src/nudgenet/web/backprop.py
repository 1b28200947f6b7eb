"""The Backprop panel's routes: one example's backward pass, frame by frame, and a batch's.

Every number is :func:`nudgenet.lessons.walk.walk_example`'s (or ``walk_batch``'s), the
library behind ``nudgenet backprop``, computed in float64 on the network a request names.
The example is a test image of the page's data, by index, or a drawing preprocessed as the
Draw panel's. "Apply this nudge" is stateless: a request names how many nudges θ ← θ − η∇Cₓ
on this example to take first (at most :data:`MAX_NUDGES`), so the served model never
changes and the same request always gets the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from .._json import finite
from ..backprop import cost_and_gradient
from ..cost import one_hot
from ..data import to_inputs
from ..data.images import preprocess
from ..descent import gradient_step
from ..lessons.walk import walk_batch, walk_example
from ..model import Model
from .errors import ApiError
from .schemas import ERRORS, Drawing, Strict, Which, floats
from .state import StateParam, WebState

router = APIRouter(tags=["backprop"])

MAX_NUDGES = 100
"""Most nudges a request may ask to take before the walk: each is one backward pass."""
MAX_BATCH = 32
"""Most examples in one mini-batch view: each keeps its own gradient."""


class BackpropRequest(Strict):
    """One example to walk: a test image by index, or a drawing with the digit it should be."""

    network: Which = "served"
    image: int | None = Field(default=None, ge=0, le=1_000_000, description="test image index")
    drawing: Drawing | None = None
    target: int | None = Field(
        default=None, ge=0, le=9, description="the digit to want (default: the image's label)"
    )
    learning_rate: float = Field(default=1.0, gt=0.0, le=10.0, description="η of each nudge")
    nudges: int = Field(
        default=0, ge=0, le=MAX_NUDGES, description="nudges θ ← θ − η∇Cₓ to take first"
    )

    @model_validator(mode="after")
    def _one_example(self) -> BackpropRequest:
        if (self.image is None) == (self.drawing is None):
            raise ValueError("give either image (a test image index) or drawing, not both")
        if self.drawing is not None and self.target is None:
            raise ValueError("a drawing has no label: give target, the digit it should be")
        return self


class BatchRequest(Strict):
    """Test images start, start + 1, …, start + count − 1: a mini-batch to average."""

    network: Which = "served"
    start: int = Field(default=0, ge=0, le=1_000_000, description="first test image")
    count: int = Field(default=8, ge=1, le=MAX_BATCH, description="how many")


class LayerFrame(BaseModel):
    """One layer of the backward pass (W and ∂C/∂W row-major, shape [n_out, n_in])."""

    layer: int
    shape: list[int]
    z: list[float]
    a: list[float]
    sigma_prime: list[float] | None = Field(description="σ′(z); null for a softmax output")
    cost_wrt_a: list[float] = Field(description="∂C/∂a")
    delta: list[float] = Field(description="δ = ∂C/∂z = ∂C/∂b")
    grad_W: list[float] = Field(description="∂C/∂W = δ aᵀ")
    weights: list[float] | None = Field(description="W, for the layers after the first")


class BackpropWalk(BaseModel):
    """Forward and backward pass of one example, at θ after ``nudges`` nudges."""

    network: Which
    sizes: list[int]
    activation: str
    output: str
    cost_function: str
    image_index: int | None
    image: list[int] = Field(description="the 28×28 input, 0..255, row-major")
    label: int | None = Field(description="the test image's label (null for a drawing)")
    target: int
    nudges: int
    learning_rate: float
    cost: float = Field(description="this example's cost Cₓ at this θ")
    outputs: list[float]
    guess: int
    gradient_norm: float
    layers: list[LayerFrame] = Field(description="layer 1 first; the output layer last")
    after: dict[str, Any] = Field(description="{cost, outputs, guess} one more nudge on")


def _model_and_data(state: WebState, which: Which) -> tuple[Model, np.ndarray, np.ndarray]:
    model = state.model(which)
    data = state.test_data(model)
    return model, data.test_images, data.test_labels


def _test_image(images: np.ndarray, index: int) -> np.ndarray:
    if index >= len(images):
        raise ApiError(
            422,
            f"there is no test image {index}: the page's data has {len(images):,}",
            f"choose an index from 0 to {len(images) - 1}",
        )
    return np.asarray(images[index], dtype=np.uint8)


@router.post("/api/backprop", response_model=BackpropWalk, responses=ERRORS)
def backprop(request: BackpropRequest, state: StateParam) -> dict[str, Any]:
    """Walk one example through the network and back, after ``nudges`` nudges on it."""
    model, images, labels = _model_and_data(state, request.network)
    label = None
    if request.image is not None:
        image = _test_image(images, request.image)
        label = int(labels[request.image])
    else:
        image = preprocess(request.drawing.array(), invert=False)  # type: ignore[union-attr]
    target = label if request.target is None else request.target
    network, cost = model.network, model.cost
    x = to_inputs(image[None], np.float64)[0]  # (784,)
    y = one_hot(np.array([target]), 10, np.float64)[0]
    theta = model.theta.astype(np.float64)  # a copy: the served θ never changes
    eta = request.learning_rate
    for _ in range(request.nudges):
        _, g = cost_and_gradient(network, theta, x[None], y[None], cost)
        theta = gradient_step(theta, g, eta)
    walk = walk_example(network, theta, x, y, cost)
    after = walk_example(network, gradient_step(theta, walk.gradient(), eta), x, y, cost)
    views = network.layout.views(theta)
    return finite({
        "network": request.network,
        "sizes": list(network.sizes),
        "activation": network.activation,
        "output": network.output,
        "cost_function": cost,
        "image_index": request.image,
        "image": image.ravel().tolist(),
        "label": label,
        "target": target,
        "nudges": request.nudges,
        "learning_rate": eta,
        "cost": walk.cost,
        "outputs": floats(walk.output),
        "guess": int(np.argmax(walk.output)),
        "gradient_norm": float(np.linalg.norm(walk.gradient())),
        "layers": [
            {
                "layer": f.layer,
                "shape": list(f.grad_W.shape),
                "z": floats(f.z),
                "a": floats(f.a),
                "sigma_prime": None if f.sigma_prime is None else floats(f.sigma_prime),
                "cost_wrt_a": floats(f.cost_wrt_a),
                "delta": floats(f.delta),
                "grad_W": floats(f.grad_W),
                "weights": floats(views[f.layer - 1][0]) if f.layer > 1 else None,
            }
            for f in walk.layers
        ],
        "after": {
            "cost": after.cost,
            "outputs": floats(after.output),
            "guess": int(np.argmax(after.output)),
        },
    })  # fmt: skip


@router.post("/api/backprop/batch", responses=ERRORS)
def backprop_batch(request: BatchRequest, state: StateParam) -> dict[str, Any]:
    """What each example of a mini-batch wants, and the average the step follows.

    An example's wish for an output is its nudge to that neuron's bias, −∂Cₓ/∂bᴸⱼ = −δᴸⱼ;
    the batch's gradient is the average of the examples' (the note's average over the
    training examples), checked here against ``cost_and_gradient`` on the whole batch.
    """
    model, images, labels = _model_and_data(state, request.network)
    end = request.start + request.count
    _test_image(images, end - 1)
    network, cost = model.network, model.cost
    X = to_inputs(np.asarray(images[request.start : end], dtype=np.uint8), np.float64)
    batch_labels = labels[request.start : end].astype(np.intp)
    Y = one_hot(batch_labels, 10, np.float64)
    theta = model.theta.astype(np.float64)
    walked = walk_batch(network, theta, X, Y, cost)
    C, grad = cost_and_gradient(network, theta, X, Y, cost)
    n_last = network.sizes[-1]
    examples = [
        {
            "index": request.start + i,
            "label": int(batch_labels[i]),
            "guess": int(np.argmax(w.output)),
            "cost": w.cost,
            "wants": floats(-w.layers[-1].delta),
            "gradient_norm": float(np.linalg.norm(walked.gradients[i])),
        }
        for i, w in enumerate(walked.walks)
    ]
    return finite({
        "network": request.network,
        "examples": examples,
        "average": {
            "cost": walked.cost,
            "wants": floats(-walked.gradient[-n_last:]),  # the output biases close θ
            "gradient_norm": float(np.linalg.norm(walked.gradient)),
        },
        "batch": {
            "cost": C,
            "largest_difference": float(np.max(np.abs(grad - walked.gradient))),
        },
    })  # fmt: skip
