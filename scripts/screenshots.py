"""Take the README's picture of the Backprop panel with Playwright and Debian's chromium.

    python scripts/screenshots.py [--out docs/images] [--chromium /usr/bin/chromium]

It serves the seed network as ``nudgenet serve`` does (3 epochs on the embedded data, seed
0), opens the Backprop panel on the first test image that network gets wrong (where the
backward pass has the most to say), applies one nudge, steps to the backward pass through
layer 2, picks the weight W³[2, 5] to show its chain-rule product, and saves the panel as
``web-backprop.png``, quantised to a palette (the same picture in a fraction of
the bytes). The numbers in the picture are the server's, so the same seed gives the same
picture.
"""

from __future__ import annotations

import argparse
import io
import socket
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nudgenet import Model, load_mini, to_inputs
from nudgenet.files import atomic_write
from nudgenet.web import create_app, seed_model
from nudgenet.web.server import make_server

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
VIEWPORT = {"width": 1200, "height": 900}
BACKWARD_LAYER_2 = 6  # Next presses from the input to "Backward, layer 2" (frame 7 of 8)


def first_mistake(model: Model) -> int:
    """The index of the first embedded test image the model misclassifies."""
    data = load_mini()
    wrong = np.flatnonzero(model.predict(to_inputs(data.test_images)) != data.test_labels)
    return int(wrong[0]) if len(wrong) else 0


def serve(model: Model) -> tuple[object, str]:
    """``model`` served on a free port of 127.0.0.1; returns (server, url)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = make_server(create_app(model))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def shoot(url: str, chromium: str, index: int) -> bytes:
    """The Backprop panel, mid-walk, as PNG bytes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
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
        png = page.locator("#backprop").screenshot()
        browser.close()
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_IMAGES, help="folder for the picture")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser to drive")
    args = parser.parse_args()
    model = seed_model(epochs=3)
    server, url = serve(model)
    try:
        png = shoot(url, args.chromium, first_mistake(model))
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        with atomic_write(args.out / "web-backprop.png") as f:
            small.save(f, format="PNG", optimize=True)
    print(f"wrote {args.out / 'web-backprop.png'}")


if __name__ == "__main__":
    main()
