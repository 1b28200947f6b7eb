"""The web page's server: a JSON API over the library, and the page itself.

``create_app(model)`` builds a FastAPI application. Every number it sends is computed by the
same library functions the command line uses: :func:`nudgenet.data.images.preprocess` (as in
``nudgenet predict``), :func:`nudgenet.network.feedforward`, :func:`nudgenet.training.loop.train`
(as in ``nudgenet train``), :func:`nudgenet.backprop.cost_and_gradient` and
:func:`nudgenet.descent.descend`. The server adds only transport: validation, JSON and a
stream of training events.

Two networks can be asked about, named in each request as ``network``:

* ``"served"``   the model the server was started with (or a freshly trained seed network);
* ``"training"`` the current (or last) training job's θ, as of its latest report.

Safety: every request body is a pydantic model with ``extra="forbid"`` and strict types;
bodies over :data:`MAX_BODY_BYTES` are refused before parsing (413); POSTs must be JSON,
so another web site cannot post a form to this server; when serving on a loopback address
the Host header must name one, which stops DNS-rebinding pages from reaching it. No path
from a client is ever opened: the static files are read once at start-up, then looked up by name.
Errors come back as ``{"error": "...", "help": "..." | null}`` with a 4xx status.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._version import __version__
from ..data import Dataset, load_mini, one_hot, to_inputs
from ..data.images import preprocess
from ..errors import NudgenetError
from ..init import init_params
from ..lessons.nudges import example_wants, largest_nudges
from ..lessons.toy import divergence_reason, parse_cost, run_descent, valleys
from ..model import Model
from ..network import Network, feedforward
from ..training.loop import Epoch, TrainSettings, train
from .jobs import JobBusy, JobManager, JobSpec, TrainingJob

MAX_BODY_BYTES = 1_000_000
"""Largest request body accepted, in bytes; a 256×256 drawing takes about 260 kB."""
MAX_SIDE = 256
"""Largest drawing side, in pixels: the page sends its canvas at a lower resolution."""
MAX_EXPRESSION = 200
"""Longest cost formula accepted by the playground, in characters."""
MAX_POWER = 100
"""Largest exponent in a playground formula: higher powers only overflow, and cost time."""
CURVE_POINTS = 301
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
"""The media type of each kind of file under ``static/``; files of other kinds are not served."""

Which = Literal["served", "training"]
NetworkParam = Annotated[
    Which, Query(description="which network: the one served, or the training job's")
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


class PredictRequest(Strict):
    """A drawing to classify."""

    drawing: Drawing
    network: Which = "served"


class NudgesRequest(Strict):
    """A drawing and the digit the network should say for it."""

    drawing: Drawing
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
    """Training settings: the options of ``nudgenet train``, within ranges a page can afford."""

    hidden: list[Annotated[int, Field(ge=1, le=64)]] = Field(
        default=[16, 16], max_length=3, description="hidden layer sizes (784 in, 10 out)"
    )
    activation: Literal["sigmoid", "tanh", "relu"] = "sigmoid"
    output: Literal["sigmoid", "softmax"] = "sigmoid"
    cost: Literal["quadratic", "cross-entropy"] = "quadratic"
    init: Literal["normal", "scaled", "xavier", "he", "constant"] = "xavier"
    lr: float = Field(default=1.0, gt=0.0, le=20.0, description="learning rate η")
    schedule: Literal["constant", "step", "exponential", "inverse-time", "cosine"] = "cosine"
    batch_size: int = Field(default=10, ge=0, le=10_000, description="0: the whole set")
    epochs: int = Field(default=5, ge=1, le=50)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    train_size: int = Field(default=10_000, ge=100, le=10_000, description="training images")

    @model_validator(mode="after")
    def _finite(self) -> TrainRequest:
        if not math.isfinite(self.lr):  # pragma: no cover - le/gt already exclude inf/nan
            raise ValueError("lr must be finite")
        return self

    def spec(self) -> JobSpec:
        """The job these settings describe (raises ConfigError for what pydantic can't see)."""
        return JobSpec(
            network=Network((784, *self.hidden, 10), self.activation, self.output),
            settings=TrainSettings(
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                schedule=self.schedule,
                cost=self.cost,
            ),
            init=self.init,
            seed=self.seed,
            train_size=self.train_size,
        )


# --------------------------------------------------------------------------- responses


class ErrorBody(BaseModel):
    """Every error: what was wrong, and what to do."""

    error: str
    help: str | None = None


class Prediction(BaseModel):
    """What the network sees and does with one drawing."""

    network: Which
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
    valleys: list[list[float]] | None = Field(description="local minima [w, C(w)] when known")
    curve: dict[str, list[float | None]] = Field(description="{w: [...], cost: [...]} to draw")


class ModelInfo(BaseModel):
    """A network's architecture and how it was trained."""

    network: Which
    sizes: list[int]
    activation: str
    output: str
    cost: str
    num_params: int
    settings: dict[str, Any]
    history: list[dict[str, Any]]


class LayerWeights(BaseModel):
    """One layer's W (n_out × n_in, row-major) and b: row j is neuron j's incoming weights."""

    network: Which
    layer: int
    shape: list[int]
    weights: list[float]
    biases: list[float]


class JobStatus(BaseModel):
    """The training job's state (no job yet: state "idle")."""

    job: int | None
    state: Literal["idle", "running", "paused", "finished", "stopped", "failed"]
    step: int = 0
    epoch: int = 0
    epochs: int = 0
    total_steps: int = 0
    error: str | None = None
    settings: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    stride: int = 1
    n_events: int = 0


ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "invalid request (fields, ranges, types)"},
}


# --------------------------------------------------------------------------- the application


def create_app(
    model: Model | None = None,
    *,
    data: Dataset | None = None,
    allowed_hosts: frozenset[str] | None = LOOPBACK_HOSTS,
) -> FastAPI:
    """The web application serving ``model`` (default: a seed network trained on the spot).

    Parameters
    ----------
    model : Model, optional
        The network the page draws with; it must take 784 inputs and give 10 outputs.
        None trains :func:`seed_model` first (a few seconds).
    data : Dataset, optional
        What training jobs learn from; default: the embedded ``mini`` set, loaded when the
        first job starts.
    allowed_hosts : set of str or None
        Host names the Host header may carry; None accepts any (for serving on a network,
        where the name is not known in advance).
    """
    served = model if model is not None else seed_model()
    _check_digit_model(served)
    dataset: list[Dataset] = [data] if data is not None else []

    def training_data() -> Dataset:
        if not dataset:
            dataset.append(load_mini())
        return dataset[0]

    jobs = JobManager(training_data)
    static = _read_static()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()  # the server is stopping: end the training thread with it

    app = FastAPI(
        title="nudgenet",
        lifespan=lifespan,
        version=__version__,
        summary="Draw digits, look inside the network and watch it learn.",
        description="The JSON API behind `nudgenet serve`'s page. Errors are "
        '`{"error": ..., "help": ...}` with a 4xx status.',
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; /openapi.json is ours
        redoc_url=None,
    )
    app.state.jobs = jobs
    app.state.served = served
    app.add_middleware(Guard, allowed_hosts=allowed_hosts, max_body=MAX_BODY_BYTES)
    _add_error_handlers(app)

    def network_model(which: Which) -> Model:
        if which == "served":
            return served
        job = jobs.current
        if job is None:
            raise ApiError(
                409,
                "no network is being trained yet",
                "start one in the Learn panel (or with POST /api/train), or use the served one",
            )
        return job.model()

    # ----------------------------------------------------------------- the page

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> Response:
        return _static_response(static, "index.html")

    @app.get("/static/{name:path}", include_in_schema=False)
    def static_file(name: str) -> Response:
        # Looked up by name in what was read at start-up: no client path reaches the disk.
        if name not in static or name == "index.html":
            raise ApiError(404, f"no static file {name!r}")
        return _static_response(static, name)

    # ----------------------------------------------------------------- Draw

    @app.get("/api/model", response_model=ModelInfo, tags=["draw"])
    def model_info(network: NetworkParam = "served") -> dict[str, Any]:
        """The network's architecture, settings and per-epoch history."""
        m = network_model(network)
        d = m.describe()
        return {
            "network": network,
            "sizes": d["sizes"],
            "activation": d["activation"],
            "output": d["output"],
            "cost": d["cost"],
            "num_params": d["num_params"],
            "settings": d["settings"],
            "history": d["history"],
        }

    @app.get(
        "/api/weights/{layer}",
        response_model=LayerWeights,
        tags=["draw"],
        responses={404: {"model": ErrorBody, "description": "no such layer"}},
    )
    def weights(
        layer: Annotated[int, Path(ge=1, le=16, description="1 is the first hidden layer")],
        network: NetworkParam = "served",
    ) -> dict[str, Any]:
        """Layer ``layer``'s weights and biases (row j: neuron j's incoming weights)."""
        m = network_model(network)
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
            "weights": _floats(W),
            "biases": _floats(b),
        }

    @app.post("/api/predict", response_model=Prediction, tags=["draw"], responses=ERRORS)
    def predict(request: PredictRequest) -> dict[str, Any]:
        """Preprocess a drawing as ``nudgenet predict`` does, and run it through the network."""
        m = network_model(request.network)
        image = preprocess(request.drawing.array(), invert=False)  # (28, 28) uint8
        X = to_inputs(image[None], m.theta.dtype)  # (1, 784)
        activations = feedforward(m.network, m.theta, X)
        a = activations[-1][0]
        probabilities = a / max(float(a.sum()), np.finfo(a.dtype).tiny)
        return {
            "network": request.network,
            "sizes": list(m.network.sizes),
            "image": image.ravel().tolist(),
            "activations": [_floats(layer[0]) for layer in activations[1:]],
            "probabilities": _floats(probabilities),
            "guess": int(np.argmax(a)),
        }

    # ----------------------------------------------------------------- Nudges

    @app.post("/api/nudges", response_model=Nudges, tags=["nudges"], responses=ERRORS)
    def nudges(request: NudgesRequest) -> dict[str, Any]:
        """Which weights and biases one drawing asks to change most, to say ``target``.

        The gradient of this one example's cost with the target's one-hot vector, by
        backpropagation (:func:`nudgenet.lessons.nudges.example_wants`), listed by
        :func:`nudgenet.lessons.nudges.largest_nudges`.
        """
        m = network_model(request.network)
        image = preprocess(request.drawing.array(), invert=False)  # (28, 28) uint8
        x = to_inputs(image[None], np.float64)[0]  # (784,)
        wants = example_wants(m.network, m.theta, x, request.target, cost=m.cost)
        layout = m.network.layout
        top = largest_nudges(layout, wants.gradient, 1.0, k=request.top)
        a = np.array([o.activation for o in wants.outputs])
        W1 = layout.views(m.theta)[0][0]  # (n1, 784)
        dW1 = layout.views(wants.gradient)[0][0]
        return {
            "network": request.network,
            "image": image.ravel().tolist(),
            "probabilities": _floats(a / max(float(a.sum()), np.finfo(a.dtype).tiny)),
            "guess": int(np.argmax(a)),
            "target": request.target,
            "cost": wants.cost,
            "top": [{**n.as_dict(), "value": float(m.theta[n.index])} for n in top],
            "outputs": [
                {k: o.as_dict()[k] for k in ("neuron", "activation", "target", "wants")}
                for o in wants.outputs
            ],
            "first_layer": {
                "shape": list(W1.shape),
                "weights": _floats(W1),
                "nudges": _floats(-dW1),
            },
        }

    # ----------------------------------------------------------------- Descend

    @app.post("/api/descend", response_model=Descent, tags=["descend"], responses=ERRORS)
    def descend_cost(request: DescendRequest) -> dict[str, Any]:
        """Descend a one-parameter cost from w₀ (:func:`nudgenet.lessons.toy.run_descent`).

        The formula is parsed without ``eval`` by :func:`nudgenet.lessons.toy.parse_cost` and
        differentiated by SymPy; the steps are taken by :func:`nudgenet.descent.descend`, the
        routine that trains the network.
        """
        function = parse_cost(request.expression)
        if function.n != 1:
            raise ApiError(
                422,
                f"the playground follows one parameter w, but {request.expression!r} is a "
                f"cost of {' and '.join(function.variables)}",
                "write a cost in w, e.g. (w-3)^2; for x and y use `nudgenet descend --start`",
            )
        _check_powers(function.expression, request.expression)
        run = run_descent(function, [request.start], request.learning_rate, steps=request.steps)
        minima = valleys(function) if _small_polynomial(function.expression) else None
        last = run.steps[-1].point if run.steps else run.start
        points = [
            {"k": s.step, "w": s.point[0], "cost": s.cost, "slope": s.slope[0]} for s in run.steps
        ]
        points.append(
            {
                "k": len(run.steps),
                "w": run.final_point[0],
                "cost": run.final_cost,
                "slope": run.final_slope[0],
            }
        )
        lo, hi = _view(request.start, [m[0] for m in minima or []], [p["w"] for p in points])
        grid = np.linspace(lo, hi, CURVE_POINTS)
        return {
            "expression": str(function.expression),
            "derivative": function.derivative_text,
            "learning_rate": request.learning_rate,
            "points": [{k: _finite(v) for k, v in p.items()} for p in points],
            "converged": run.converged,
            "diverged": run.diverged,
            "why": divergence_reason(function, request.learning_rate, last)
            if run.diverged
            else None,
            "valleys": [list(m) for m in minima] if minima is not None else None,
            "curve": {
                "w": grid.tolist(),
                "cost": [_finite(c) for c in np.asarray(function.on_grid(grid), float).tolist()],
            },
        }

    # ----------------------------------------------------------------- Learn

    @app.get("/api/train", response_model=JobStatus, tags=["learn"])
    def job_status() -> dict[str, Any]:
        """The current (or last) training job, or state "idle" before the first."""
        job = jobs.current
        return job.status() if job is not None else {"job": None, "state": "idle"}

    @app.post(
        "/api/train",
        response_model=JobStatus,
        status_code=202,
        tags=["learn"],
        responses={**ERRORS, 409: {"model": ErrorBody, "description": "a job is running"}},
    )
    def start_training(request: TrainRequest) -> dict[str, Any]:
        """Start training a new network on the embedded data; one job at a time."""
        try:
            job = jobs.start(request.spec())
        except JobBusy as busy:
            raise ApiError(
                409,
                f"training job {busy.job.id} is {busy.job.state}: only one job runs at a time",
                "wait for it to finish, or stop it with POST /api/train/stop",
            ) from None
        return job.status()

    def control(action: str, allowed: tuple[str, ...]) -> TrainingJob:
        job = jobs.current
        if job is None:
            raise ApiError(409, f"cannot {action}: no training job has been started")
        if job.state not in allowed:
            raise ApiError(
                409,
                f"cannot {action} training job {job.id}: it is {job.state}",
                f"{action} works on a job that is {' or '.join(allowed)}",
            )
        return job

    conflict = {409: {"model": ErrorBody, "description": "the job is not in a fitting state"}}

    @app.post("/api/train/pause", response_model=JobStatus, tags=["learn"], responses=conflict)
    def pause_training() -> dict[str, Any]:
        """Hold the running job between two steps."""
        job = control("pause", ("running",))
        job.pause()
        return job.status()

    @app.post("/api/train/resume", response_model=JobStatus, tags=["learn"], responses=conflict)
    def resume_training() -> dict[str, Any]:
        """Let a paused job go on."""
        job = control("resume", ("paused",))
        job.resume()
        return job.status()

    @app.post("/api/train/stop", response_model=JobStatus, tags=["learn"], responses=conflict)
    def stop_training() -> dict[str, Any]:
        """End the running or paused job; its network so far stays available."""
        job = control("stop", ("running", "paused"))
        job.stop()
        return job.status()

    @app.get(
        "/api/train/events",
        tags=["learn"],
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "server-sent events: state, steps, epoch, weights (see "
                "nudgenet.web.jobs); the stream ends when the job does",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            404: {"model": ErrorBody, "description": "no job yet"},
        },
    )
    async def training_events(
        request: Request,
        since: Annotated[int, Query(ge=0, description="first event id to send")] = 0,
    ) -> StreamingResponse:
        """Follow the current job as server-sent events, from event ``since`` on."""
        job = jobs.current
        if job is None:
            raise ApiError(404, "no training job has been started", "start one: POST /api/train")
        last = request.headers.get("last-event-id", "")
        first = int(last) + 1 if last.isdigit() else since
        return StreamingResponse(
            _event_stream(job, first, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


# --------------------------------------------------------------------------- seed network


def seed_model(
    *, epochs: int = 3, seed: int = 0, on_record: Callable[[Any], None] | None = None
) -> Model:
    """The seed's 784-16-16-10 sigmoid network, trained briefly on the embedded data.

    The same recipe as ``nudgenet train --epochs EPOCHS --seed SEED`` (about 90% test accuracy
    after 3 epochs, in a second or two). ``on_record`` sees every Step and Epoch, for a
    progress bar.
    """
    data = load_mini()
    network = Network()
    settings = TrainSettings(epochs=epochs, batch_size=10, lr=1.0, schedule="cosine")
    init_rng, shuffle_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    theta = init_params(network.layout, "xavier", rng=init_rng, dtype=np.float32)
    X = to_inputs(data.train_images, np.float32)
    Y = one_hot(data.train_labels, dtype=np.float32)
    history = []
    for record in train(
        network, theta, X, Y, settings, rng=shuffle_rng,
        test=(to_inputs(data.test_images, np.float32), data.test_labels),
        labels=data.train_labels,
    ):  # fmt: skip
        if on_record is not None:
            on_record(record)
        if isinstance(record, Epoch):
            history.append(record.as_dict())
    return Model(
        network,
        theta,
        "quadratic",
        settings={**settings.as_dict(), "init": "xavier", "seed": seed, "data": "mini"},
        history=history,
    )


def _check_digit_model(model: Model) -> None:
    sizes = model.network.sizes
    if sizes[0] != 784 or sizes[-1] != 10:
        raise NudgenetError(
            f"the page needs a network with 784 inputs (28×28 pixels) and 10 outputs "
            f"(digits), but this one has sizes {','.join(map(str, sizes))}",
            help="serve a model trained on MNIST-style digits, e.g. by `nudgenet train`",
        )


# --------------------------------------------------------------------------- transport


class ApiError(HTTPException):
    """An expected refusal: a status, a message, and what to do instead."""

    def __init__(self, status: int, error: str, help: str | None = None) -> None:
        super().__init__(status_code=status, detail=error)
        self.error = error
        self.help = help


def _error(status: int, error: str, help: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "help": help, **extra}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status_code, exc.error, exc.help)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(NudgenetError)
    async def library_error(request: Request, exc: NudgenetError) -> JSONResponse:
        # The library refused the input (no ink in a drawing, an impossible setting, ...).
        return _error(422, exc.message, exc.help)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_describe(e) for e in exc.errors()]
        return _error(
            422,
            "invalid request: " + "; ".join(problems),
            "see the request schemas in /openapi.json",
            detail=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        )


def _describe(error: Any) -> str:
    """One validation problem as "where: what (got …)"."""
    where = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r:.40})"
    return f"{where}: {message}{shown}"


def _check_powers(expression: Any, text: str) -> None:
    """Refuse exponents beyond :data:`MAX_POWER`: (w+1)^100000 would take minutes to expand."""
    import sympy

    for power in expression.atoms(sympy.Pow):
        if power.exp.is_Number and abs(float(power.exp)) > MAX_POWER:
            raise ApiError(
                422,
                f"cannot use the cost {text!r}: the power {power.exp} is beyond the "
                f"playground's limit of {MAX_POWER}",
                "use smaller powers; large ones only make the curve overflow",
            )


def _small_polynomial(expression: Any) -> bool:
    """Whether C is a polynomial in w of low degree, whose valleys are quick to find."""
    import sympy

    w = sympy.Symbol("w")
    return bool(expression.is_polynomial(w)) and sympy.Poly(expression, w).degree() <= 12


def _view(start: float, minima: list[float], path: list[float | None]) -> tuple[float, float]:
    """The w range to draw: the start, the valleys, and the path while it stays near them.

    A diverging path leaves this window after a few steps; the page marks where it went.
    """
    core = [start, *minima]
    centre = (min(core) + max(core)) / 2
    reach = 4 * max((max(core) - min(core)) / 2, 1.0)
    near = [w for w in path if w is not None and math.isfinite(w) and abs(w - centre) <= reach]
    lo, hi = min(core + near), max(core + near)
    margin = max(0.15 * (hi - lo), 0.5)
    return lo - margin, hi + margin


def _finite(x: Any) -> Any:
    """x, or None where JSON has no number for it (NaN, ±inf)."""
    return x if not isinstance(x, float) or math.isfinite(x) else None


def _floats(a: np.ndarray) -> list[float]:
    return a.astype(np.float64).ravel().tolist()


def _read_static() -> dict[str, bytes]:
    """Every file of a served type under ``static/``, by its path there (``js/draw.js``)."""
    files: dict[str, bytes] = {}
    folders = [("", resources.files("nudgenet.web").joinpath("static"))]
    while folders:
        prefix, folder = folders.pop()
        for entry in folder.iterdir():
            if entry.name.startswith("."):  # editors' and tools' files
                continue
            if entry.is_dir():
                folders.append((f"{prefix}{entry.name}/", entry))
            elif PurePosixPath(entry.name).suffix in STATIC_TYPES:
                files[prefix + entry.name] = entry.read_bytes()
    return files


def _static_response(static: dict[str, bytes], name: str) -> Response:
    return Response(
        static[name],
        media_type=STATIC_TYPES[PurePosixPath(name).suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


async def _event_stream(job: TrainingJob, first: int, request: Request) -> AsyncIterator[str]:
    """The job's events as SSE text, from id ``first``, until the job ends or the client goes."""
    yield "retry: 2000\n\n"
    next_id = first
    idle = 0.0
    while True:
        events = job.events_since(next_id)
        for e in events:
            yield f"id: {e['id']}\nevent: {e['event']}\ndata: {json.dumps(e['data'])}\n\n"
            next_id = e["id"] + 1
        if job.terminal and next_id >= job.n_events:
            return
        if await request.is_disconnected():
            return
        if events:
            idle = 0.0
        elif idle >= 15.0:  # a comment keeps proxies and browsers from timing out
            yield ": still here\n\n"
            idle = 0.0
        await asyncio.sleep(0.1)
        idle += 0.1


class Guard:
    """ASGI middleware refusing what should never reach an endpoint.

    * a Host header not in ``allowed_hosts`` (when given): 400, against DNS rebinding;
    * a POST whose body is not JSON: 415, so plain HTML forms of other sites cannot post;
    * a body over ``max_body`` bytes: 413, before anything parses it.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str] | None, max_body: int) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = _hostname(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await _error(
                400,
                f"unexpected Host header {headers.get('host', '')!r}",
                "open the page at http://127.0.0.1:PORT/ (the address `nudgenet serve` prints)",
            )(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            await _error(
                415,
                f"request bodies must be JSON (Content-Type: application/json), got "
                f"{media_type or 'no Content-Type'}",
            )(scope, receive, send)
            return
        body = await self._read(receive, headers.get("content-length"))
        if body is None:
            await _error(
                413,
                f"request body too large: the limit is {self.max_body:,} bytes",
                f"send drawings of at most {MAX_SIDE}×{MAX_SIDE} pixels",
            )(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: wait for the disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, length: str | None) -> bytes | None:
        """The whole body, or None as soon as it is known to exceed the limit."""
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return None
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _hostname(host: str) -> str:
    """The name in a Host header, without the port: "[::1]:8000" → "::1"."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
