"""The Learn panel's routes: start, steer and follow one training job at a time.

The job itself runs in :mod:`nudgenet.web.jobs`; these routes start it from a
:class:`~nudgenet.web.schemas.TrainRequest`, pause, resume or stop it, and stream its
events to any number of pages, each from where it left off.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from .errors import ApiError
from .jobs import JobBusy, JobManager, TrainingJob
from .schemas import ERRORS, ErrorBody, JobStatus, SpeedRequest, TrainRequest, decimal
from .state import StateParam

router = APIRouter(tags=["learn"])
MAX_EVENT_ID_DIGITS = 18
"""Digits of the largest event id read from a client: ids count the events of one job, far
below 10¹⁸, and a longer number is never parsed (Python refuses past 4,300 digits anyway)."""
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "the job is not in a fitting state"}
}


@router.get("/api/train", response_model=JobStatus)
def job_status(state: StateParam) -> dict[str, Any]:
    """The current (or last) training job, or state "idle" before the first."""
    job = state.jobs.current
    return job.status() if job is not None else {"job": None, "state": "idle"}


@router.post(
    "/api/train",
    response_model=JobStatus,
    status_code=202,
    responses={**ERRORS, 409: {"model": ErrorBody, "description": "a job is running"}},
)
def start_training(request: TrainRequest, state: StateParam) -> dict[str, Any]:
    """Start training a new network on the embedded data; one job at a time."""
    try:
        job = state.jobs.start(request.spec())
    except JobBusy as busy:
        raise ApiError(
            409,
            f"training job {busy.job.id} is {busy.job.state}: only one job runs at a time",
            "wait for it to finish, or stop it first (POST /api/train/stop)",
        ) from None
    return job.status()


@router.post("/api/train/pause", response_model=JobStatus, responses=CONFLICT)
def pause_training(state: StateParam) -> dict[str, Any]:
    """Hold the running job between two steps."""
    job = _control(state.jobs, "pause", ("running",))
    job.pause()
    return job.status()


@router.post("/api/train/resume", response_model=JobStatus, responses=CONFLICT)
def resume_training(state: StateParam) -> dict[str, Any]:
    """Let a paused job go on."""
    job = _control(state.jobs, "resume", ("paused",))
    job.resume()
    return job.status()


@router.post("/api/train/stop", response_model=JobStatus, responses=CONFLICT)
def stop_training(state: StateParam) -> dict[str, Any]:
    """End the running or paused job; its network so far stays available."""
    job = _control(state.jobs, "stop", ("running", "paused"))
    job.stop()
    return job.status()


@router.post("/api/train/step", response_model=JobStatus, responses=CONFLICT)
def step_training(state: StateParam) -> dict[str, Any]:
    """Let the paused job take one mini-batch, then hold it again."""
    job = _control(state.jobs, "step", ("paused",))
    job.step_once()
    return job.status()


@router.post("/api/train/speed", response_model=JobStatus, responses={**ERRORS, **CONFLICT})
def training_speed(request: SpeedRequest, state: StateParam) -> dict[str, Any]:
    """Show the running or paused job at ``speed`` steps a second (0: as fast as it can)."""
    job = _control(state.jobs, "change the speed of", ("running", "paused"))
    job.set_speed(request.speed)
    return job.status()


def _control(jobs: JobManager, action: str, allowed: tuple[str, ...]) -> TrainingJob:
    """The current job, when it is in a state that ``action`` applies to (else 409)."""
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


@router.get(
    "/api/train/events",
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
    state: StateParam,
    since: Annotated[
        int, Query(ge=0, lt=10**MAX_EVENT_ID_DIGITS, description="first event id to send")
    ] = 0,
) -> StreamingResponse:
    """Follow the current job as server-sent events, from event ``since`` on.

    A reconnecting browser sends the last id it saw as ``Last-Event-ID``, and the stream
    goes on after it. A value that is not such an id (not a plain decimal of at most
    :data:`MAX_EVENT_ID_DIGITS` digits) is ignored, as if absent: the stream starts from
    ``since``. Browsers only send back ids this server sent; an error for anything else
    would make an EventSource stop reconnecting for good, where starting over costs a few
    events sent again.
    """
    job = state.jobs.current
    if job is None:
        raise ApiError(404, "no training job has been started", "start one: POST /api/train")
    last = decimal(request.headers.get("last-event-id", ""), MAX_EVENT_ID_DIGITS)
    first = last + 1 if last is not None else since
    return StreamingResponse(
        _event_stream(job, first, request, state.closing),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _event_stream(
    job: TrainingJob, first: int, request: Request, closing: threading.Event
) -> AsyncIterator[str]:
    """The job's events as SSE text, from id ``first``, until the job ends, the client goes
    or the server stops (``closing``).

    Written out by hand, as the format is four short lines: FastAPI's own
    ``EventSourceResponse`` (0.135+) would raise the oldest FastAPI nudgenet runs on and change
    the documented responses, while still leaving Last-Event-ID and the end of the stream to us.
    """
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
        if closing.is_set() or await request.is_disconnected():
            return
        if events:
            idle = 0.0
        elif idle >= 15.0:  # a comment keeps proxies and browsers from timing out
            yield ": still here\n\n"
            idle = 0.0
        await asyncio.sleep(0.1)
        idle += 0.1
