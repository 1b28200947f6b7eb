"""What the routes share: the served model, the training jobs, and the data they learn from.

One :class:`WebState` per application, kept on ``app.state.web``; a route asks for it with a
:data:`StateParam` parameter, so every route is a plain function that can be read (and
called) on its own, and two applications in one process never share a job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from fastapi import Depends, Request

from ..data import Dataset, load_mini
from ..data.embedded import load_default_model
from ..data.images import preprocess
from ..errors import NudgenetError
from ..model import Model
from ..training.recipe import prepared, trained_deskewed
from .errors import ApiError
from .jobs import JobManager
from .schemas import DrawWhich, Input


@dataclass(eq=False)
class WebState:
    """The served model, the job manager, and the training data (loaded at the first job).

    ``closing`` is set when the server starts to stop: the event streams end on it, rather
    than keep the server waiting for their jobs. Raises NudgenetError when the model cannot
    read a 28×28 drawing or name a digit.
    """

    served: Model
    data: Dataset | None = None
    shipped: Model | None = None
    jobs: JobManager = field(init=False)
    closing: threading.Event = field(init=False, default_factory=threading.Event)

    def __post_init__(self) -> None:
        check_digit_model(self.served)
        self.jobs = JobManager(self.training_data)

    def training_data(self) -> Dataset:
        """What training jobs learn from: the data given, or the embedded ``mini`` set."""
        if self.data is None:
            self.data = load_mini()
        return self.data

    def test_data(self, model: Model) -> Dataset:
        """The training data as ``model`` reads it: deskewed if it learnt from deskewed digits."""
        return prepared(self.training_data(), trained_deskewed(model))

    def test_image(self, index: int, model: Model) -> tuple[np.ndarray, int]:
        """Test image ``index``, (28, 28) uint8, as ``model`` reads it, with its label."""
        data = self.test_data(model)
        n = len(data.test_labels)
        if not 0 <= index < n:
            raise ApiError(
                404,
                f"there is no test image {index}: the test set has images 0 to {n - 1}",
                f"choose a test image number from 0 to {n - 1}",
            )
        return data.test_images[index], int(data.test_labels[index])

    def input_image(self, request: Input, model: Model) -> np.ndarray:
        """The (28, 28) uint8 image a request gives ``model``.

        A drawing is preprocessed as ``nudgenet predict`` does; a test image is already
        what the network was trained on, and goes in as it is (deskewed if the network
        learnt from deskewed digits).
        """
        if request.test_image is not None:
            return self.test_image(request.test_image, model)[0]
        assert request.drawing is not None  # Input's validator: one or the other
        return preprocess(request.drawing.array(), invert=False)

    def model(self, which: DrawWhich) -> Model:
        """The network a request names: the served one, the training job's as of now, or
        (for the Draw panel) the one shipped in the package, loaded when first asked for."""
        if which == "served":
            return self.served
        if which == "shipped":
            if self.shipped is None:
                self.shipped = load_default_model()
            return self.shipped
        job = self.jobs.current
        if job is None:
            raise ApiError(
                409,
                "no network is being trained yet",
                "start one in the Learn panel (or with POST /api/train), or use the served one",
            )
        return job.model()


def check_digit_model(model: Model) -> None:
    """Refuse a model the page cannot draw with: it needs 784 inputs and 10 outputs."""
    sizes = model.network.sizes
    if sizes[0] != 784 or sizes[-1] != 10:
        raise NudgenetError(
            f"the page needs a network with 784 inputs (28×28 pixels) and 10 outputs "
            f"(digits), but this one has sizes {','.join(map(str, sizes))}",
            help="serve a model trained on MNIST-style digits, e.g. by `nudgenet train`",
        )


def web_state(request: Request) -> WebState:
    """The state of the application serving ``request`` (a FastAPI dependency)."""
    state: WebState = request.app.state.web
    return state


StateParam = Annotated[WebState, Depends(web_state)]
"""A route parameter that FastAPI fills with the application's :class:`WebState`."""
