"""``nudgenet serve``: the web page, on a local server.

Binds to 127.0.0.1 unless told otherwise; any other address needs an explicit ``--host``
and prints a warning, because the page has no login: whoever reaches it can use it and
start training jobs. FastAPI and uvicorn are imported only when the command runs, so the
rest of the command line starts as fast as before.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import options
from ..errors import ConfigError
from ..interop import load_model
from ..model import Model
from .common import add_option

DEFAULT_HOST = "127.0.0.1"


def register(commands: Any) -> None:
    """Add ``serve`` to the command line's subcommands."""
    p = commands.add_parser(
        "serve",
        help="a web page to draw digits, look inside the network and watch it learn",
        description="Start a local web server with one page: draw a digit and see what the "
        "network sees and guesses, train a network and watch its cost fall, step gradient "
        "descent on a one-parameter cost, and see which weights one example nudges. With no "
        "MODEL it first trains the seed network on the embedded data (a few seconds).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", type=Path, nargs="?", help="a model saved by `nudgenet train`")
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on; any but loopback can be reached by others",
    )
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free one)")
    add_option(p, options.EPOCHS, 3, flag="--seed-epochs",
               help="epochs to train the seed network when no MODEL is given")  # fmt: skip
    add_option(p, options.SEED, 0, help="seed for the seed network")
    p.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Load or train the model, bind the socket, print the address, serve until Ctrl+C."""
    if not 0 <= args.port <= 65535:
        raise ConfigError(
            f"--port must be in 0..65535, got {args.port}",
            help="e.g. --port 8000, or --port 0 for any free one",
        )
    if args.seed_epochs < 1:
        raise ConfigError(
            f"--seed-epochs must be at least 1, got {args.seed_epochs}",
            help="a few epochs train the seed network in seconds, e.g. --seed-epochs 3",
        )
    from ..web.app import LOOPBACK_HOSTS, create_app
    from ..web.server import make_server

    loopback = is_loopback(args.host)
    if not loopback:
        print(
            f"warning: serving on {args.host}, not on this machine alone: anyone who can "
            "reach it can use the page and start training jobs (there is no login)",
            file=sys.stderr,
        )
    sock = _bind(args.host, args.port)  # before training, so a busy port fails at once
    if args.model is not None:
        model = load_model(args.model)
    else:
        model = _train_seed(args.seed_epochs, args.seed)
    # On a loopback address the Host header must name one (against DNS rebinding); on a
    # network address the names it is reached by are not known in advance.
    app = create_app(model, allowed_hosts=LOOPBACK_HOSTS | {args.host} if loopback else None)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"nudgenet is serving on http://{shown}:{port}/  (Ctrl+C stops it)", flush=True)
    server = make_server(app)  # uvicorn, with the timeouts and limits of nudgenet.web.server
    # uvicorn re-raises Ctrl+C once it has shut down cleanly: for a server, that is the end.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    print("nudgenet serve stopped", file=sys.stderr)
    return 0


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine alone: localhost, 127.0.0.0/8 or ::1.

    Examples
    --------
    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "192.168.1.5")]
    [True, True, True, False, False]
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            help="choose another --port (0 picks a free one), or stop what uses this one",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _train_seed(epochs: int, seed: int) -> Model:
    from ..training.loop import Epoch
    from ..web import seed_model

    print(
        f"training the seed network 784-16-16-10 on the embedded data ({epochs} epochs)...",
        file=sys.stderr,
    )
    bar = tqdm(total=epochs, unit="epoch", file=sys.stderr, disable=None, leave=False)
    last: list[Any] = []

    def progress(record: Any) -> None:
        if isinstance(record, Epoch):
            last[:] = [record]
            if record.epoch:
                bar.update(1)
                bar.set_postfix(cost=f"{record.train_cost:.4f}")

    with bar:
        model = seed_model(epochs=epochs, seed=seed, on_record=progress)
    if last:
        print(f"seed network ready: test accuracy {100 * last[0].test_accuracy:.1f}%",
              file=sys.stderr)  # fmt: skip
    return model
