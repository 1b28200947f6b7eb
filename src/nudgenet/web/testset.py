"""The Test panel's routes: the real test images with their labels, and how a network does.

The test images are the training data's test split (the embedded ``mini`` set unless the
server was given other data), the same images ``nudgenet evaluate`` and the training
jobs measure accuracy on. A network's guesses are :meth:`nudgenet.model.Model.predict`'s.
The routes also carry a trained model out as the ``.npz`` file ``nudgenet train --out``
writes, and take one in: it is read by :meth:`nudgenet.model.Model.load`, which bounds
every array by the layout the file describes before anything is allocated.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import Response

from ..data import to_inputs
from ..model import Model
from .errors import ApiError
from .schemas import (
    ERRORS,
    ErrorBody,
    ModelInfo,
    ModelUpload,
    NetworkParam,
    TestImages,
    TestSet,
)
from .state import StateParam, WebState, check_digit_model

router = APIRouter(tags=["test"])
MAX_PAGE = 100
"""Most test images sent at once: a page of thumbnails."""


def guesses(state: WebState, network: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels, guesses) of the network on the whole test set, both of shape (n,)."""
    m = state.model(network)  # type: ignore[arg-type]
    data = state.test_data(m)
    X = to_inputs(data.test_images, m.theta.dtype)  # (n, 784)
    return data.test_labels.astype(np.intp), m.predict(X)


@router.get("/api/test-set", response_model=TestSet)
def score_on_test_set(state: StateParam, network: NetworkParam = "served") -> dict[str, Any]:
    """Accuracy and confusion matrix on the test set (rows: the label, columns: the guess)."""
    labels, guess = guesses(state, network)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, guess), 1)
    return {
        "network": network,
        "data": state.training_data().name,
        "size": len(labels),
        "accuracy": float(np.mean(labels == guess)),
        "confusion": confusion.tolist(),
        "wrong": int(np.sum(labels != guess)),
    }


@router.get("/api/test-images", response_model=TestImages)
def browse_test_images(
    state: StateParam,
    network: NetworkParam = "served",
    start: Annotated[int, Query(ge=0, le=1_000_000, description="first one to send")] = 0,
    count: Annotated[int, Query(ge=1, le=MAX_PAGE, description="how many")] = 40,
    wrong: Annotated[bool, Query(description="only those the network gets wrong")] = False,
    label: Annotated[int | None, Query(ge=0, le=9, description="only this digit")] = None,
) -> dict[str, Any]:
    """A page of test images with their labels and the network's guesses."""
    labels, guess = guesses(state, network)
    keep = np.ones(len(labels), dtype=bool)
    if wrong:
        keep &= labels != guess
    if label is not None:
        keep &= labels == label
    chosen = np.flatnonzero(keep)
    images = state.test_data(state.model(network)).test_images  # type: ignore[arg-type]
    return {
        "network": network,
        "total": len(chosen),
        "start": start,
        "images": [
            {
                "index": int(i),
                "label": int(labels[i]),
                "guess": int(guess[i]),
                "pixels": images[i].ravel().tolist(),
            }
            for i in chosen[start : start + count]
        ],
    }


@router.get(
    "/api/model/download",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}},
                     "description": "the model file, as `nudgenet train --out` writes"}},
)  # fmt: skip
def download_model(state: StateParam, network: NetworkParam = "served") -> Response:
    """The network as a ``.npz`` model file, to use with ``nudgenet predict`` and the rest."""
    m = state.model(network)
    with tempfile.TemporaryDirectory() as folder:
        data = m.save(Path(folder) / "model.npz").read_bytes()
    name = "nudgenet-trained.npz" if network == "training" else "nudgenet-served.npz"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/api/model",
    response_model=ModelInfo,
    responses={**ERRORS, 413: {"model": ErrorBody, "description": "the file is too large"}},
)
def upload_model(request: ModelUpload, state: StateParam) -> dict[str, Any]:
    """Serve this model file from now on, instead of the one the server started with."""
    try:
        data = base64.b64decode(request.npz_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            422, "the model file did not arrive whole: its base64 text is malformed",
            "choose the file again",
        ) from None  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "uploaded.npz"
        path.write_bytes(data)
        model = Model.load(path)  # bounded reading; ModelFileError (422) names what is wrong
    check_digit_model(model)
    state.served = model
    d = model.describe()
    keys = ("sizes", "activation", "output", "cost", "num_params", "settings", "history")
    return {"network": "served", **{k: d[k] for k in keys}}
