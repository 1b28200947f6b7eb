"""The video's experiments on the page: a noise image for Draw, and a dreamed digit.

``POST /api/noise`` draws one non-digit (random noise, a blank grey page or a scribble) as
:func:`nudgenet.lessons.noise.non_digits` draws them for ``nudgenet noise``, and runs it
through the network; ``POST /api/dream`` descends on the pixels with θ fixed, as
``nudgenet dream`` does (:func:`nudgenet.lessons.dream.dream`). Both answer with what Draw
shows for a drawing (the 28×28 input, every layer's activations, the probabilities and
the guess), so the panel draws them as it draws a prediction.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter
from pydantic import Field

from ..data import load_mini, to_inputs
from ..lessons import dream as dreams
from ..lessons.noise import non_digits
from ..network import feedforward
from .schemas import ERRORS, Prediction, Strict, Which, floats
from .state import StateParam

router = APIRouter(tags=["experiments"])

MAX_DREAM_STEPS = 5000
"""Most pixel steps one request may ask for: about a quarter of a second."""
SEED = Field(default=0, ge=0, le=2**32 - 1, description="seed of the random image")


class NoiseRequest(Strict):
    """Which kind of non-digit to draw, from which seed."""

    kind: Literal["noise", "blank", "scribble"] = "noise"
    seed: int = SEED
    network: Which = "served"


class NoisePrediction(Prediction):
    """A non-digit and what the network makes of it."""

    kind: str
    seed: int


class DreamRequest(Strict):
    """The digit to dream, where to start, and the descent's settings."""

    digit: int = Field(ge=0, le=9, description="the output that should be 1, the others 0")
    start: Literal["noise", "blank"] = "noise"
    seed: int = SEED
    steps: int = Field(default=dreams.STEPS, ge=1, le=MAX_DREAM_STEPS)
    learning_rate: float = Field(default=dreams.LEARNING_RATE, gt=0, le=10)
    smooth: float = Field(default=0.0, ge=0, le=10, description="λ of the smoothness term")
    range: float = Field(default=0.0, ge=0, le=10, description="μ of the [0, 1] range term")
    network: Which = "served"


class DreamResult(Prediction):
    """The dreamed image, what the network says of it, and how much it looks like a digit."""

    target: int
    steps: int
    final_probability: float
    pixels: list[float] = Field(description="the dreamed 784 pixels (may leave [0, 1])")
    costs: list[float] = Field(description="C(x) every few steps, at most 200 values")
    correlations: list[float] = Field(description="with the mean image of each digit 0-9")
    real_correlation: float = Field(description="a real test image's, with its own mean")


def _prediction(m: Any, network: str, X: np.ndarray, image: np.ndarray) -> dict[str, Any]:
    """Draw's view of one input: the image shown, every layer's activations, the guess."""
    activations = feedforward(m.network, m.theta, X.astype(m.theta.dtype))
    a = activations[-1][0].astype(np.float64)
    return {
        "network": network,
        "sizes": list(m.network.sizes),
        "image": image.ravel().tolist(),
        "activations": [floats(layer[0]) for layer in activations[1:]],
        "probabilities": floats(a / max(float(a.sum()), np.finfo(np.float64).tiny)),
        "guess": int(np.argmax(a)),
    }


@router.post("/api/noise", response_model=NoisePrediction, responses=ERRORS)
def noise(request: NoiseRequest, state: StateParam) -> dict[str, Any]:
    """One non-digit of ``kind`` and the network's answer to it, as for a drawing."""
    m = state.model(request.network)
    x = non_digits(request.kind, 1, np.random.default_rng(request.seed))  # (1, 784) in [0, 1]
    image = np.rint(255 * x).astype(np.uint8)  # what is shown is what the network sees
    X = to_inputs(image.reshape(1, 28, 28), np.float64)
    return {**_prediction(m, request.network, X, image), "kind": request.kind, "seed": request.seed}


@cache
def _means() -> tuple[np.ndarray, dict[int, float]]:
    """The mean image of each digit of the embedded training set, and how much a real test
    image of each digit correlates with its own mean, on average."""
    data = load_mini()
    means = dreams.class_means(to_inputs(data.train_images, np.float64), data.train_labels)
    test = to_inputs(data.test_images, np.float64)
    real = {
        d: float(
            np.mean(
                [
                    dreams.resemblance(x, means, d)["target_correlation"]
                    for x in test[data.test_labels == d][:100]
                ]
            )
        )
        for d in range(10)
    }
    return means, real


@router.post("/api/dream", response_model=DreamResult, responses=ERRORS)
def dream(request: DreamRequest, state: StateParam) -> dict[str, Any]:
    """Descend on the pixels until the network reads ``digit``; θ is not changed."""
    m = state.model(request.network)
    rng = np.random.default_rng(request.seed)
    start = rng.random(784) if request.start == "noise" else np.zeros(784)
    d = dreams.dream(
        m.network,
        m.theta,
        request.digit,
        start,
        steps=request.steps,
        learning_rate=request.learning_rate,
        smooth=request.smooth,
        range_weight=request.range,
    )
    means, real = _means()
    shown = np.clip(np.rint(255 * d.image), 0, 255).astype(np.uint8)
    every = max(1, len(d.costs) // 200)
    out = _prediction(m, request.network, d.image[None], shown)
    return {
        **out,
        "target": d.target,
        "steps": d.steps,
        "final_probability": d.final_probability,
        "pixels": floats(d.image),
        "costs": d.costs[::every],
        "correlations": dreams.resemblance(d.image, means, d.target)["correlations"],
        "real_correlation": real[d.target],
    }
