"""Take the README's screenshots of the web page, in Debian's chromium driven by Playwright.

    python scripts/screenshots.py                    # every picture, into docs/images/
    python scripts/screenshots.py web-learn-live     # only this one

Each picture is one function, ``shot_<name>(page, url) -> locator``: it drives the page to the
state worth showing and returns the element to photograph. The server is the one
``nudgenet serve`` runs (the seed network, trained on the spot), on a free port of 127.0.0.1;
the pictures are quantised to a palette, which keeps them small. ``NUDGENET_CHROMIUM`` names
another chromium.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("NUDGENET_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1200, "height": 900}


def shot_web_learn_live(page: Any, url: str) -> Any:
    """Learn while it trains: the live diagram's weight lines, the curves, the weight images."""
    page.goto(f"{url}/?epochs=3&train_size=2000&speed=200#learn")
    page.wait_for_function("learn.ready")
    page.locator("#start").click()
    page.wait_for_function("learn.epochs.length >= 2 && learn.weights && learn.weights.step > 250")
    page.locator("#pause").click()
    page.wait_for_function("document.querySelector('#job-state').dataset.state === 'paused'")
    page.locator("#step-once").click()
    page.wait_for_function("document.querySelector('#job-state').dataset.state === 'paused'")
    return page.locator("#learn")


BACKWARD_LAYER_2 = 6  # Next presses from the input to "Backward, layer 2" (frame 7 of 8)


def shot_web_backprop(page: Any, url: str) -> Any:
    """Backprop on the first test image the seed network gets wrong (where the backward pass
    has the most to say), after one nudge, stepped back to layer 2, with the chain-rule
    product of the weight W³[2, 5] shown."""
    import numpy as np

    from nudgenet import load_mini, to_inputs
    from nudgenet.web import seed_model

    data = load_mini()
    wrong = np.flatnonzero(
        seed_model(epochs=3).predict(to_inputs(data.test_images)) != data.test_labels
    )
    index = int(wrong[0]) if len(wrong) else 0
    page.goto(f"{url}/#backprop")
    page.wait_for_function("backprop.result !== null && backprop.batch !== null")
    page.fill("#bp-image", str(index))
    page.locator("#bp-image").press("Enter")
    page.wait_for_function(f"backprop.result.image_index === {index}")
    page.locator("#bp-apply").click()
    page.wait_for_function("backprop.nudges === 1")
    for _ in range(BACKWARD_LAYER_2):
        page.locator("#bp-next").click()
    edge = '#bp-diagram .bp-edge[data-layer="3"][data-j="2"][data-k="5"]'
    page.locator(edge).dispatch_event("click")
    page.wait_for_timeout(2000)  # let the colours' transitions and δ's flow finish
    return page.locator("#backprop")


@contextmanager
def serving() -> Iterator[str]:
    """The page's server, with the seed network, until the block ends; yields its address."""
    from nudgenet.web import create_app, seed_model
    from nudgenet.web.server import make_server

    app = create_app(seed_model(epochs=3))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the page's server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        app.state.web.jobs.shutdown()
        server.should_exit = True
        thread.join(10)


def save_small(png: bytes, dest: Path) -> None:
    """Quantise a screenshot to a palette: the same picture in a fraction of the bytes."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(dest, optimize=True)


def shots() -> dict[str, Callable[[Any, str], Any]]:
    """Every ``shot_*`` function of this script, by its picture's name (web-learn-live)."""
    return {
        name.removeprefix("shot_").replace("_", "-"): f
        for name, f in sorted(globals().items())
        if name.startswith("shot_") and callable(f)
    }


def main(argv: list[str] | None = None) -> int:
    known = shots()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", choices=[[], *known], help="pictures to take")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the pictures")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with serving() as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for name in args.names or list(known):
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            element = known[name](context.new_page(), url)
            save_small(element.screenshot(), args.out / f"{name}.png")
            print(f"wrote {args.out / f'{name}.png'}", file=sys.stderr)
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
