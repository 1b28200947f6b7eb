"""The Draw panel's routes: the network, its weights, and what it makes of a drawing.

A drawing goes through :func:`nudgenet.data.images.preprocess` as in ``nudgenet predict``,
then through :func:`nudgenet.network.feedforward`; the page shows every layer's activations.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path

from ..data import to_inputs
from ..network import feedforward
from .errors import ApiError
from .schemas import (
    ERRORS,
    DrawNetworkParam,
    ErrorBody,
    LayerWeights,
    ModelInfo,
    Prediction,
    PredictRequest,
    floats,
)
from .state import StateParam

router = APIRouter(tags=["draw"])


@router.get("/api/model", response_model=ModelInfo)
def model_info(state: StateParam, network: DrawNetworkParam = "served") -> dict[str, Any]:
    """The network's architecture, settings and per-epoch history."""
    d = state.model(network).describe()
    keys = ("sizes", "activation", "output", "cost", "num_params", "settings", "history")
    return {"network": network, **{k: d[k] for k in keys}}


@router.get(
    "/api/weights/{layer}",
    response_model=LayerWeights,
    responses={404: {"model": ErrorBody, "description": "no such layer"}},
)
def weights(
    state: StateParam,
    layer: Annotated[int, Path(ge=1, le=16, description="1 is the first hidden layer")],
    network: DrawNetworkParam = "served",
) -> dict[str, Any]:
    """Layer ``layer``'s weights and biases (row j: neuron j's incoming weights)."""
    m = state.model(network)
    views = m.network.layout.views(m.theta)
    if layer > len(views):
        raise ApiError(
            404,
            f"layer {layer} does not exist: this network has layers 1 to {len(views)}",
        )
    W, b = views[layer - 1]
    return {
        "network": network,
        "layer": layer,
        "shape": list(W.shape),
        "weights": floats(W),
        "biases": floats(b),
    }


@router.post("/api/predict", response_model=Prediction, responses=ERRORS)
def predict(request: PredictRequest, state: StateParam) -> dict[str, Any]:
    """Preprocess a drawing as ``nudgenet predict`` does, and run it through the network."""
    m = state.model(request.network)
    image = state.input_image(request, m)  # (28, 28) uint8
    X = to_inputs(image[None], m.theta.dtype)  # (1, 784)
    activations = feedforward(m.network, m.theta, X)
    return {
        "network": request.network,
        "sizes": list(m.network.sizes),
        "image": image.ravel().tolist(),
        "activations": [floats(layer[0]) for layer in activations[1:]],
        "probabilities": floats(m.probabilities(X)[0]),  # runs X again: microseconds
        "guess": int(np.argmax(activations[-1][0])),
    }
