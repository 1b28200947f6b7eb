"""The JSON the API reads and writes, as pydantic models: what FastAPI checks and documents.

Every request body is :class:`Strict`: unknown fields and loose types ("5" for 5) are refused,
and every number has a range a page can afford, so a request that reaches a route has already
been checked. The responses are documented here too; the routes return plain dicts of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .. import options
from ..constraints import Range
from ..network import Network
from ..training.loop import TrainSettings
from ..training.recipe import Recipe
from .jobs import MAX_SPEED, MIN_SPEED, JobSpec

# What one training request may ask of the page's server, at most.
MAX_HIDDEN = 64  # neurons per hidden layer
MAX_LR = 20.0
MAX_L2 = 1.0
MAX_EPOCHS = 50
MAX_TRAIN_SIZE = 10_000  # training images (and so the largest batch)

Activation = Literal[options.ACTIVATION.values]  # type: ignore[valid-type]
Output = Literal[options.OUTPUT.values]  # type: ignore[valid-type]
Cost = Literal[options.COST.values]  # type: ignore[valid-type]
Init = Literal[options.INIT.values]  # type: ignore[valid-type]
Schedule = Literal[options.SCHEDULE.values]  # type: ignore[valid-type]


def _field(option: Range, default: float, *, high: float | None = None) -> Any:
    """A pydantic Field with the option's interval (narrowed to ``high``) and help text."""
    return Field(default=default, description=option.help, **option.bounds(high))


MAX_UPLOAD_CHARS = 900_000
"""Longest base64 model file accepted (about 670 kB of .npz): a 784-64-64-10 network's θ in
float64 is 440 kB; the request body's own limit is 1 MB."""
MAX_SIDE = 256
"""Largest drawing side, in pixels: the page sends its canvas at a lower resolution."""
MAX_EXPRESSION = 200
"""Longest cost formula accepted by the playground, in characters."""


def _pace(speed: float) -> float:
    if 0 < speed < MIN_SPEED:
        raise ValueError(f"must be 0 (full speed) or at least {MIN_SPEED} steps a second")
    return speed


Speed = Annotated[
    float,
    Field(
        ge=0.0, le=MAX_SPEED,
        description=f"steps a second to show, to watch it learn: 0 (as fast as it can) or "
        f"{MIN_SPEED} to {MAX_SPEED:g}; the numbers are the same at every speed",
    ),
    AfterValidator(_pace),
]  # fmt: skip

Which = Literal["served", "training"]
NetworkParam = Annotated[
    Which, Query(description="which network: the one served, or the training job's")
]
DrawWhich = Literal["served", "training", "shipped"]
"""The Draw panel may also read with the model shipped in the package, the one
``nudgenet predict`` uses: the best at reading digits that are not MNIST's."""
DrawNetworkParam = Annotated[
    DrawWhich,
    Query(description="which network: the one served, the training job's, or the shipped one"),
]


# --------------------------------------------------------------------------- request bodies


class Strict(BaseModel):
    """A request body: unknown fields and loose types (e.g. "5" for 5) are rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Drawing(Strict):
    """A greyscale drawing, row by row: 0 is background, 255 is full ink."""

    width: int = Field(ge=8, le=MAX_SIDE, description="pixels per row")
    height: int = Field(ge=8, le=MAX_SIDE, description="rows")
    pixels: list[Annotated[int, Field(ge=0, le=255)]] = Field(
        max_length=MAX_SIDE * MAX_SIDE, description="width × height ink levels, row-major"
    )

    @model_validator(mode="after")
    def _size_matches(self) -> Drawing:
        if len(self.pixels) != self.width * self.height:
            raise ValueError(
                f"pixels has {len(self.pixels)} values, but width × height = "
                f"{self.width} × {self.height} = {self.width * self.height}"
            )
        return self

    def array(self) -> np.ndarray:
        """The drawing as a (height, width) uint8 array."""
        return np.asarray(self.pixels, dtype=np.uint8).reshape(self.height, self.width)


MAX_TEST_INDEX = 1_000_000
"""Largest test-image index a request may name (the data's own size is checked by the route)."""


class Input(Strict):
    """What the network is given: a drawing, or one of the test images by its index."""

    drawing: Drawing | None = Field(default=None, description="a drawing, preprocessed")
    test_image: int | None = Field(
        default=None, ge=0, le=MAX_TEST_INDEX, description="or: this test image, as it is"
    )

    @model_validator(mode="after")
    def _one_input(self) -> Input:
        if (self.drawing is None) == (self.test_image is None):
            raise ValueError("give either a drawing or a test_image, not both or neither")
        return self


class PredictRequest(Input):
    """A drawing (or test image) to classify."""

    network: DrawWhich = "served"


class NudgesRequest(Input):
    """A drawing (or test image) and the digit the network should say for it."""

    target: int = Field(ge=0, le=9, description="the digit to nudge the network towards")
    network: Which = "served"
    top: int = Field(default=12, ge=1, le=100, description="how many of the largest to list")


class DescendRequest(Strict):
    """A one-parameter cost and how to descend it."""

    expression: str = Field(
        default="(w-3)^2", min_length=1, max_length=MAX_EXPRESSION, description="C(w)"
    )
    start: float = Field(default=0.0, ge=-1e6, le=1e6, description="w₀")
    learning_rate: float = Field(default=0.1, gt=0.0, le=10.0, description="η")
    steps: int = Field(default=50, ge=1, le=500, description="the most updates to take")


class TrainRequest(Strict):
    """Training settings: the options of ``nudgenet train``, within ranges a page can afford.

    Each choice and range is the option table's (:mod:`nudgenet.options`); the page narrows
    some upper ends so that one request cannot keep the server busy for long.
    """

    hidden: list[Annotated[int, Field(ge=1, le=MAX_HIDDEN)]] = Field(
        default=[16, 16], max_length=3, description="hidden layer sizes (784 in, 10 out)"
    )
    activation: Activation = "sigmoid"
    output: Output = "sigmoid"
    cost: Cost = "quadratic"
    init: Init = "xavier"
    lr: float = _field(options.LEARNING_RATE, 1.0, high=MAX_LR)
    schedule: Schedule = "cosine"
    momentum: float = _field(options.MOMENTUM, 0.0)
    l2: float = _field(options.L2, 0.0, high=MAX_L2)
    batch_size: int = _field(options.BATCH_SIZE, 10, high=MAX_TRAIN_SIZE)
    epochs: int = _field(options.EPOCHS, 5, high=MAX_EPOCHS)
    seed: int = _field(options.SEED, 0)
    train_size: int = Field(
        default=MAX_TRAIN_SIZE, ge=100, le=MAX_TRAIN_SIZE, description="training images"
    )
    speed: Speed = 0.0

    def spec(self) -> JobSpec:
        """The job these settings describe (raises ConfigError for what pydantic can't see)."""
        settings = TrainSettings(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule,
            momentum=self.momentum, l2=self.l2, cost=self.cost,
        )  # fmt: skip
        network = Network((784, *self.hidden, 10), self.activation, self.output)
        recipe = Recipe(network, settings, init=self.init, seed=self.seed)
        return JobSpec(recipe, self.train_size, self.speed)


class SpeedRequest(Strict):
    """A new pace for the running job."""

    speed: Speed


class ModelUpload(Strict):
    """A model file (``.npz``, as ``nudgenet train --out`` writes) to serve from now on."""

    npz_base64: str = Field(
        min_length=1, max_length=MAX_UPLOAD_CHARS, description="the file's bytes, in base64"
    )


# --------------------------------------------------------------------------- responses


class ErrorBody(BaseModel):
    """Every error: what was wrong, and what to do."""

    error: str
    help: str | None = None


class Prediction(BaseModel):
    """What the network sees and does with one drawing."""

    network: DrawWhich
    sizes: list[int]
    image: list[int] = Field(description="the 28×28 input after preprocessing, 0..255, row-major")
    activations: list[list[float]] = Field(description="a¹ … aᴸ: every layer after the input")
    probabilities: list[float]
    guess: int


class FirstLayerNudges(BaseModel):
    """W¹ and the nudges −∂Cₓ/∂W¹ asked by one example, both (n1 × 784) row-major."""

    shape: list[int]
    weights: list[float]
    nudges: list[float]


class Nudges(BaseModel):
    """The gradient of one example's cost, for a chosen target digit, read as nudges."""

    network: Which
    image: list[int] = Field(description="the 28×28 input after preprocessing")
    probabilities: list[float]
    guess: int
    target: int
    cost: float = Field(description="Cₓ = Σⱼ (aⱼ − yⱼ)² for this example and target")
    top: list[dict[str, Any]] = Field(
        description="the largest |∂Cₓ/∂θᵢ| first: name, description, layer, kind, position, "
        "value θᵢ, derivative ∂Cₓ/∂θᵢ, nudge −∂Cₓ/∂θᵢ, direction"
    )
    outputs: list[dict[str, Any]] = Field(
        description="per output neuron: activation, target, which way it wants to go"
    )
    first_layer: FirstLayerNudges


class DescentPoint(BaseModel):
    """w_k with C(w_k) and the slope C′(w_k) there (null where they are not finite)."""

    k: int
    w: float | None
    cost: float | None
    slope: float | None


class Descent(BaseModel):
    """Gradient descent w ← w − η·C′(w) on a typed cost, every step kept."""

    expression: str = Field(description="C(w) as SymPy reads it")
    derivative: str = Field(description="C′(w), by SymPy")
    learning_rate: float
    points: list[DescentPoint] = Field(description="w₀, w₁, …: where each step starts, and the end")
    converged: bool = Field(description="stopped because the slope was flat")
    diverged: str | None = Field(description="what blew up, when the run was stopped as diverged")
    why: str | None = Field(description="why it diverged: η times the curvature")
    verdict: Literal["slow", "converges", "oscillates", "diverges", "stalls", "unbounded"] = Field(
        description="what the run did (nudgenet.lessons.verdict), as `nudgenet descend` says"
    )
    reason: str = Field(description="the numbers that decided the verdict")
    advice: str | None = Field(description="what to change, as follows from it (null: nothing)")
    crossing: dict[str, float] | None = Field(
        description="the first step that jumped over a hilltop: {step, hill, length}"
    )
    valleys: list[list[float]] | None = Field(description="local minima [w, C(w)] when known")
    curve: dict[str, list[float | None]] = Field(description="{w: [...], cost: [...]} to draw")


class ModelInfo(BaseModel):
    """A network's architecture and how it was trained."""

    network: DrawWhich
    sizes: list[int]
    activation: str
    output: str
    cost: str
    num_params: int
    settings: dict[str, Any]
    history: list[dict[str, Any]]


class LayerWeights(BaseModel):
    """One layer's W (n_out × n_in, row-major) and b: row j is neuron j's incoming weights."""

    network: DrawWhich
    layer: int
    shape: list[int]
    weights: list[float]
    biases: list[float]


class TestImage(BaseModel):
    """One test image with its label and what the network says."""

    index: int
    label: int
    guess: int
    pixels: list[int] = Field(description="28×28 ink levels, 0..255, row-major")


class TestImages(BaseModel):
    """A page of test images, all or the misclassified ones only."""

    network: Which
    total: int = Field(description="how many images match (all, or the misclassified)")
    start: int
    images: list[TestImage]


class TestSet(BaseModel):
    """How the network does on the whole test set."""

    network: Which
    data: str
    size: int
    accuracy: float
    confusion: list[list[int]] = Field(description="row: the label, column: the guess")
    wrong: int = Field(description="how many images it gets wrong")


class JobStatus(BaseModel):
    """The training job's state (no job yet: state "idle")."""

    job: int | None
    state: Literal["idle", "running", "paused", "finished", "stopped", "failed"]
    step: int = 0
    epoch: int = 0
    epochs: int = 0
    total_steps: int = 0
    cost: float | None = Field(default=None, description="the latest mini-batch's cost")
    speed: float = 0.0
    error: str | None = None
    help: str | None = None
    verdict: dict[str, Any] | None = Field(
        default=None, description="once finished (or diverged): {verdict, reason, advice}"
    )
    settings: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    stride: int = 1
    n_events: int = 0


ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "invalid request (fields, ranges, types)"},
}


def floats(a: np.ndarray) -> list[float]:
    """An array as the flat, row-major list of floats that JSON can carry."""
    return a.astype(np.float64).ravel().tolist()


def decimal(text: str, max_digits: int) -> int | None:
    """``text`` as a number when it is a plain ASCII decimal of 1 to ``max_digits`` digits.

    For values read by hand from headers: ``str.isdigit`` alone lets through "²" and "١",
    which ``int`` refuses or reads, and a long string would cost a long conversion.

    Examples
    --------
    >>> [decimal(t, 3) for t in ("42", "007", "", "-1", "4.0", "²", "1234", " 1")]
    [42, 7, None, None, None, None, None, None]
    """
    if not (0 < len(text) <= max_digits and text.isascii() and text.isdigit()):
        return None
    return int(text)
