"""The Nudges panel's route: which weights one drawing asks to change, to say another digit.

The numbers are one example's gradient by backpropagation, read as nudges by
:mod:`nudgenet.lessons.nudges`, the lesson behind ``nudgenet nudges``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter

from ..data import to_inputs
from ..lessons.nudges import example_wants, largest_nudges
from ..network import probabilities
from .schemas import ERRORS, Nudges, NudgesRequest, floats
from .state import StateParam

router = APIRouter(tags=["nudges"])


@router.post("/api/nudges", response_model=Nudges, responses=ERRORS)
def nudges(request: NudgesRequest, state: StateParam) -> dict[str, Any]:
    """Which weights and biases one drawing asks to change most, to say ``target``.

    The gradient of this one example's cost with the target's one-hot vector, by
    backpropagation (:func:`nudgenet.lessons.nudges.example_wants`), listed by
    :func:`nudgenet.lessons.nudges.largest_nudges`.
    """
    m = state.model(request.network)
    image = state.input_image(request, m)  # (28, 28) uint8
    x = to_inputs(image[None], np.float64)[0]  # (784,)
    wants = example_wants(m.network, m.theta, x, request.target, cost=m.cost)
    layout = m.network.layout
    top = largest_nudges(layout, wants.gradient, 1.0, k=request.top)
    # In float64, as example_wants computes: the guess is the output the nudges start from.
    p = probabilities(m.network, m.theta.astype(np.float64), x[None])[0]
    W1 = layout.views(m.theta)[0][0]  # (n1, 784)
    dW1 = layout.views(wants.gradient)[0][0]
    return {
        "network": request.network,
        "image": image.ravel().tolist(),
        "probabilities": floats(p),
        "guess": int(np.argmax(p)),
        "target": request.target,
        "cost": wants.cost,
        "top": [{**n.as_dict(), "value": float(m.theta[n.index])} for n in top],
        "outputs": [
            {k: o.as_dict()[k] for k in ("neuron", "activation", "target", "wants")}
            for o in wants.outputs
        ],
        "first_layer": {
            "shape": list(W1.shape),
            "weights": floats(W1),
            "nudges": floats(-dW1),
        },
    }
