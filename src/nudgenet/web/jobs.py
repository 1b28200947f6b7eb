"""One training job at a time, in a background thread, that the web page can watch and steer.

The job runs :func:`nudgenet.training.loop.train` (the same loop as ``nudgenet train``) and turns
what it yields into an append-only list of events. Readers, such as the server-sent event
stream, poll the list from where they left off, so any number of them can follow one job,
join late, or reconnect without missing anything. Between two steps the thread checks two
flags: *stop* ends the job, and *run* (cleared by :meth:`TrainingJob.pause`) holds it until
:meth:`TrainingJob.resume` sets it again; :meth:`TrainingJob.step_once` lets a paused job take
one mini-batch and hold again. A job can be slowed down to ``speed`` steps a second, to be
watched, and sped up again while it runs: the speed changes when the numbers are shown, never
the numbers. The job uses the reference engine, which takes each step when it yields it, so
that a pause, a single step and the weights shown are exactly those of the step on screen
(the fast engine takes a whole epoch at once). θ is only ever changed by the training thread;
others read copies taken between steps.

Events (each ``{"id": n, "event": name, "data": {...}}``, ids counting from 0):

* ``state``    the job's state changed: running, paused, finished, stopped or failed (a
  finished job, or one that failed by diverging, carries its ``verdict``, from
  :func:`nudgenet.lessons.verdict.judge_training`, as ``nudgenet learning-rate`` judges);
* ``steps``    cost points since the last ``steps`` event: ``[[step, cost], ...]``, each the
  mean cost of ``stride`` consecutive mini-batches, so a long job sends at most ~2,000, with
  the job's ``step`` and ``epoch`` so far; a cost that blew up is sent as null, at its step;
* ``epoch``    an :class:`~nudgenet.training.loop.Epoch` record (epoch 0 is the untrained network);
* ``weights``  every layer's weights and biases (``layers``: ``[{shape, weights, biases}]``,
  W¹ first, rounded), at most a few times a second, and after every step while it is slowed
  to a few steps a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._json import finite
from .._types import Vector
from ..cost import get_cost
from ..data import Dataset
from ..descent import Step
from ..errors import DivergenceError, NudgenetError
from ..lessons.verdict import judge_training, network_yardsticks
from ..model import Model
from ..training.loop import Epoch
from ..training.recipe import Recipe, Run

STATES = ("running", "paused", "finished", "stopped", "failed")
TERMINAL = frozenset({"finished", "stopped", "failed"})
MAX_POINTS = 2000
"""A job sends at most about this many cost points, however many steps it takes."""
WEIGHTS_EVERY_S = 0.4
"""Least time between two ``weights`` events (besides the one after each epoch)."""
MAX_SPEED = 100_000.0
"""Fastest pace a job can be asked for, in steps a second (0 asks for no pacing at all)."""
MIN_SPEED = 0.1
"""Slowest pace, in steps a second: one step every ten seconds."""


@dataclass(frozen=True)
class JobSpec:
    """What to train: a recipe, on the first ``train_size`` images of the page's data."""

    recipe: Recipe
    train_size: int = 10_000
    speed: float = 0.0  # steps a second to show (0: as fast as it can); not part of the run

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description, in the request's words."""
        return {**self.recipe.as_dict(), "train_size": self.train_size}


class TrainingJob:
    """A training run in a daemon thread, with pause, resume and stop between steps."""

    def __init__(self, job_id: int, spec: JobSpec, data: Dataset) -> None:
        self.id = job_id
        self.spec = spec
        self.network = spec.recipe.network
        # `nudgenet train`'s steps, each taken as it is reported (see the module docstring).
        recipe = replace(spec.recipe, engine="reference")
        self._training = Run(recipe, data, train_size=spec.train_size)
        self.theta = self._training.theta
        self.total_steps = self._training.total_steps
        self.stride = max(1, -(-self.total_steps // MAX_POINTS))
        self.state = "running"
        self.error: str | None = None
        self.help: str | None = None  # what to do about the error, in the command line's words
        self.verdict: dict[str, Any] | None = None  # what the run did, once it has ended
        self.step = 0  # updates taken so far
        self.epoch = 0
        self.step_costs: list[float] = []  # each the mean of `stride` steps, as plotted
        self.cost: float | None = None  # the latest mini-batch's cost
        self.speed = spec.speed
        self._chunk: list[float] = []  # step costs not yet averaged into a point
        self._points: list[list[float | None]] = []  # points not yet published
        self._budget: int | None = None  # steps left before holding again (step_once)
        self._wake = threading.Event()  # cuts a paced wait short (new speed, pause, stop)
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._run = threading.Event()
        self._run.set()
        self._stop = threading.Event()
        self._held = threading.Event()  # set while the thread waits in a pause
        self._snapshot = self.theta.copy()
        self._thread = threading.Thread(target=self._main, name=f"nudgenet-job-{job_id}")
        self._thread.daemon = True  # a server stopped with Ctrl+C does not wait for it

    # ----------------------------------------------------------------- control

    def start(self) -> None:
        """Begin training in the background."""
        self._publish("state", self._state_data())
        self._thread.start()

    def pause(self, timeout: float = 5.0) -> None:
        """Hold the job before its next step; returns once it is held (or has ended)."""
        self._run.clear()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while not self._held.wait(0.02):
            if self.terminal or time.monotonic() > deadline:
                return

    def resume(self, timeout: float = 5.0) -> None:
        """Let a paused job go on; returns once it runs again (or has ended)."""
        self._run.set()
        deadline = time.monotonic() + timeout
        while self._held.is_set() and not self.terminal and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self, timeout: float = 5.0) -> None:
        """End the job before its next step; its θ so far is kept."""
        self._stop.set()
        self._run.set()
        self._wake.set()
        self._thread.join(timeout)

    def step_once(self, timeout: float = 5.0) -> None:
        """Let a paused job take one mini-batch, then hold again; returns once it holds."""
        self._budget = 1
        self._held.clear()
        self._run.set()
        deadline = time.monotonic() + timeout
        while not self._held.wait(0.02):
            if self.terminal or time.monotonic() > deadline:
                return

    def set_speed(self, speed: float) -> None:
        """Show ``speed`` steps a second from now on (0: as fast as it can)."""
        self.speed = float(speed)
        self._wake.set()
        self._publish("state", self._state_data())

    @property
    def terminal(self) -> bool:
        """Whether the job has ended (finished, stopped or failed)."""
        return self.state in TERMINAL

    # ----------------------------------------------------------------- reading

    def events_since(self, first: int) -> list[dict[str, Any]]:
        """The events with id ≥ ``first``."""
        with self._lock:
            return self._events[max(first, 0) :]

    @property
    def n_events(self) -> int:
        """How many events were published so far."""
        with self._lock:
            return len(self._events)

    def snapshot(self) -> Vector:
        """A copy of θ as of the latest report (never half-way through an update)."""
        with self._lock:
            return self._snapshot.copy()

    @property
    def history(self) -> list[dict[str, Any]]:
        """The Epoch records so far, as dicts (epoch 0 first)."""
        return self._training.history

    def model(self) -> Model:
        """The network as trained so far, as a :class:`Model`."""
        return self._training.model(self.snapshot())

    def status(self) -> dict[str, Any]:
        """Everything a page needs to draw the job from scratch (no weights)."""
        with self._lock:
            return {
                **self._state_data(),
                "settings": self.spec.as_dict(),
                "history": list(self.history),
                "stride": self.stride,
                "n_events": len(self._events),
            }

    # ----------------------------------------------------------------- thread

    def _state_data(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "state": self.state,
            "step": self.step,
            "epoch": self.epoch,
            "epochs": self.spec.recipe.settings.epochs,
            "total_steps": self.total_steps,
            "cost": finite(self.cost),
            "speed": self.speed,
            "error": self.error,
            "help": self.help,
            "verdict": self.verdict,
        }

    def _publish(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._events.append({"id": len(self._events), "event": event, "data": data})

    def _set_state(self, state: str, error: str | None = None, help: str | None = None) -> None:
        self.state = state
        self.error = error
        self.help = help
        self._publish("state", self._state_data())

    def _main(self) -> None:
        try:
            self._train()
        except NudgenetError as exc:  # e.g. DivergenceError: a lesson, not a crash
            if isinstance(exc, DivergenceError):
                if exc.step is not None:  # the step that blew up: on the chart, as null
                    self.step = exc.step + 1
                    self._points.append([exc.step, finite(exc.cost)])
                self.verdict = self._judge(exc.message)
            self._flush()
            self._take_snapshot()
            self._set_state("failed", exc.message, exc.help)
        except Exception as exc:  # pragma: no cover - reported to the page, not raised
            self._set_state("failed", f"{type(exc).__name__}: {exc}")
        finally:
            self._held.set()

    def _train(self) -> None:
        records = self._training.records()
        last_weights = time.monotonic()
        pace = _Pace()
        for record in records:
            if isinstance(record, Epoch):
                self.epoch = record.epoch
                self._flush()
                self._publish("epoch", record.as_dict())
                self._publish_weights()
                last_weights = time.monotonic()
            else:
                self._count(record)
                slow = 0 < self.speed <= 1 / WEIGHTS_EVERY_S  # each step shown on its own
                due = time.monotonic() - last_weights > WEIGHTS_EVERY_S
                if slow or due or self._budget is not None:
                    self._flush()
                    self._publish_weights()
                    last_weights = time.monotonic()
                if self._budget is not None:
                    self._budget -= 1
                    if self._budget <= 0:
                        self._budget = None
                        self._run.clear()
                pace.wait(self.speed, self._wake)
            if not self._run.is_set():
                self._flush()
                self._hold()
            if self._stop.is_set():
                records.close()
                self._flush()
                self._take_snapshot()
                self._set_state("stopped")
                return
        self._flush()
        self._take_snapshot()
        self.verdict = self._judge()
        self._set_state("finished")

    def _judge(self, stopped: str | None = None) -> dict[str, Any]:
        """The run's verdict from its epochs, against the network's absolute yardsticks."""
        t = self._training
        cost = get_cost(self.spec.recipe.settings.cost, self.network.output)
        yardsticks = network_yardsticks(t.Y, cost.value, t.test[1])
        return judge_training(self.history, yardsticks, stopped).as_dict()

    def _count(self, record: Step) -> None:
        """Average the step costs in groups of ``stride`` into plotted points."""
        self.step = record.step + 1
        self.cost = record.cost
        self._chunk.append(record.cost)
        if len(self._chunk) == self.stride or self.step == self.total_steps:
            mean = float(np.mean(self._chunk))
            self.step_costs.append(mean)
            self._points.append([record.step, finite(mean)])
            self._chunk.clear()

    def _flush(self) -> None:
        if self._points:
            self._publish(
                "steps", {"points": self._points, "step": self.step, "epoch": self.epoch,
                          "cost": finite(self.cost)},
            )  # fmt: skip
            self._points = []

    def _hold(self) -> None:
        self._take_snapshot()
        self._set_state("paused")
        self._held.set()
        while not self._run.wait(0.1):
            pass
        if not self._stop.is_set() and self._budget is None:  # a single step stays "paused"
            self._set_state("running")
        self._held.clear()

    def _take_snapshot(self) -> None:
        with self._lock:
            self._snapshot = self.theta.copy()

    def _publish_weights(self) -> None:
        self._take_snapshot()
        layers = [
            {"shape": list(W.shape), "weights": _rounded(W), "biases": _rounded(b)}
            for W, b in self.network.layout.views(self._snapshot)
        ]
        self._publish("weights", {"step": self.step, "layers": layers})


class _Pace:
    """Waits between steps so that they come ``speed`` a second (0: no wait at all)."""

    def __init__(self) -> None:
        self.next_at: float | None = None

    def wait(self, speed: float, wake: threading.Event) -> None:
        speed = speed if speed <= 0 else max(speed, MIN_SPEED)  # never a wait without end
        if speed <= 0:
            self.next_at = None
            return
        now = time.monotonic()
        if self.next_at is None or self.next_at < now - 0.25:  # late: do not burst to catch up
            self.next_at = now
        self.next_at += 1.0 / speed
        if self.next_at > now:
            wake.wait(self.next_at - now)
        wake.clear()


def _rounded(a: np.ndarray, digits: int = 4) -> list[float]:
    """A flat list of the array's values, rounded: enough for a picture, a third the JSON."""
    return np.round(a.astype(np.float64).ravel(), digits).tolist()


class JobManager:
    """Holds the current job; refuses a second while one is running or paused."""

    def __init__(self, data: Callable[[], Dataset]) -> None:
        self._data = data
        self._lock = threading.Lock()
        self._next_id = 1
        self.current: TrainingJob | None = None

    def start(self, spec: JobSpec) -> TrainingJob:
        """Start a job, or raise :class:`JobBusy` when one is running or paused."""
        with self._lock:
            if self.current is not None and not self.current.terminal:
                raise JobBusy(self.current)
            job = TrainingJob(self._next_id, spec, self._data())
            self._next_id += 1
            self.current = job
        job.start()
        return job

    def shutdown(self) -> None:
        """Stop the current job, if any (when the server stops)."""
        if self.current is not None and not self.current.terminal:
            self.current.stop(timeout=2.0)


class JobBusy(Exception):
    """A training job is already running or paused."""

    def __init__(self, job: TrainingJob) -> None:
        super().__init__(f"training job {job.id} is {job.state}")
        self.job = job
