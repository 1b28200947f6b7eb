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
bodies over :data:`MAX_BODY_BYTES` are refused before parsing (413), and so are bodies not
sent within :data:`BODY_TIMEOUT_S` (408); POSTs must be JSON, so another web site cannot
post a form to this server; when serving on a loopback address the Host header must name
one, which stops DNS-rebinding pages from reaching it. No path from a client is ever opened:
the static files are read once at start-up, then looked up by name. Errors come back as
``{"error": "...", "help": "..." | null}`` with a 4xx status. The limits of the connection
itself (the time to send a request head, its size, keep-alive) are the server's, in
:mod:`nudgenet.web.server`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import PurePosixPath

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from .._version import __version__
from ..data import Dataset
from ..model import Model
from . import backprop, descend, draw, experiments, learn, nudges, testset
from .errors import ApiError, add_error_handlers
from .guard import Guard
from .seed import seed_model
from .state import WebState

MAX_BODY_BYTES = 1_000_000
"""Largest request body accepted, in bytes; a 256×256 drawing takes about 260 kB."""
MAX_HEAD_BYTES = 32 * 1024
"""Largest request line and headers, in bytes: a browser's are under 2 kB, but cookies set
for localhost by other local apps come along too, hence twice h11's default of 16 KiB. The
server stops buffering a head past it (h11's ``max_incomplete_event_size``), and the
:class:`~nudgenet.web.guard.Guard` refuses a longer head that arrived at once (431)."""
BODY_TIMEOUT_S = 15.0
"""Seconds a client has to send its whole body, once its headers have come: the largest
(:data:`MAX_BODY_BYTES`) takes milliseconds on this machine and about 8 s at 1 Mbit/s; a
client that announces a body and stalls gets a 408 and its connection closed."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STATIC_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
"""The media type of each kind of file under ``static/``; files of other kinds are not served."""


# --------------------------------------------------------------------------- the application


def create_app(
    model: Model | None = None,
    *,
    data: Dataset | None = None,
    allowed_hosts: frozenset[str] | None = LOOPBACK_HOSTS,
    body_timeout: float = BODY_TIMEOUT_S,
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
    body_timeout : float
        Seconds a request may take to send its body, once its headers have come (408 after).
    """
    state = WebState(model if model is not None else seed_model(), data)
    static = _read_static()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.jobs.shutdown()  # the server is stopping: end the training thread with it

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
    app.state.web = state
    app.add_middleware(
        Guard,
        allowed_hosts=allowed_hosts,
        max_head=MAX_HEAD_BYTES,
        max_body=MAX_BODY_BYTES,
        body_timeout=body_timeout,
    )
    add_error_handlers(app)

    # ----------------------------------------------------------------- the page

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> Response:
        return _static_response(static, "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers ask for it whatever the page links; the page links the same icon.
        return _static_response(static, "favicon.svg")

    @app.get("/static/{name:path}", include_in_schema=False)
    def static_file(name: str) -> Response:
        # Looked up by name in what was read at start-up: no client path reaches the disk.
        if name not in static or name == "index.html":
            raise ApiError(404, f"no static file {name!r}")
        return _static_response(static, name)

    for panel in (draw, experiments, backprop, nudges, descend, learn, testset):  # API order
        app.include_router(panel.router)
    return app


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
