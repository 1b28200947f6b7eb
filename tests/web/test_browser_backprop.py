"""The Backprop panel in a real browser (Debian's chromium, driven by Playwright).

Each number the page shows is checked against the library: the test computes the same
gradient component with :func:`nudgenet.cost_and_gradient` and compares. They skip, saying
why, when chromium or Playwright is missing, unless ``NUDGENET_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nudgenet import Model, cost_and_gradient, evaluate_cost, load_mini, one_hot, to_inputs

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("NUDGENET_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("NUDGENET_ARTIFACTS") or Path(__file__).parents[1] / "artifacts")
WIDE = {"width": 1200, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "the Python package playwright is not installed (pip install -e '.[test]')"
    else:
        why = None if Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) else f"no {CHROMIUM}"
    if why is not None:
        if os.environ.get("NUDGENET_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here, but {why}")
        pytest.skip(why)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    context = browser.new_context(viewport=WIDE, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(f"{url}/#backprop")
    page.wait_for_function("backprop.result !== null && backprop.batch !== null")
    yield page
    context.close()
    assert errors == [], errors


def gradient(seed: Model, index: int, target: int | None = None) -> tuple[float, np.ndarray]:
    """The library's C and ∇C for test image ``index`` of the embedded set, in float64."""
    data = load_mini()
    x = to_inputs(data.test_images[index : index + 1], np.float64)
    y = one_hot([int(data.test_labels[index]) if target is None else target], 10, np.float64)
    return cost_and_gradient(seed.network, seed.theta.astype(np.float64), x, y, seed.cost)


def frame(page: Any) -> str:
    return page.locator("#bp-frame").inner_text()


def fill_of(page: Any, layer: int, index: int) -> str:
    selector = f'#bp-diagram .neuron[data-layer="{layer}"][data-index="{index}"] .bp-dot'
    return page.locator(selector).get_attribute("fill")


def test_step_forward_then_backward_and_read_the_chain_rule(page: Any, seed: Model) -> None:
    _, grad = gradient(seed, 0)
    views = seed.network.layout.views(grad)
    assert frame(page).startswith("Frame 1 of 8. Input")
    assert page.locator("#bp-back").is_disabled()
    assert fill_of(page, 3, 0) == "rgba(255,255,255,0.04)"  # nothing lit yet
    for layer in (1, 2, 3):
        page.locator("#bp-next").click()
        assert f"Frame {layer + 1} of 8. Forward" in frame(page)
    outputs = page.evaluate("backprop.result.outputs")
    assert fill_of(page, 3, 7) == f"rgba(255,255,255,{max(0.04, outputs[7]):.3f})"  # lit
    page.locator("#bp-next").click()
    assert "Output error" in frame(page)
    assert page.locator("#bp-phase").inner_text() == "(backward pass)"
    for layer in (3, 2, 1):
        page.locator("#bp-next").click()
        assert f"Backward, {'the output layer' if layer == 3 else f'layer {layer}'}" in frame(page)
    assert page.locator("#bp-next").is_disabled()
    assert "frame 8" in page.locator("#bp-diagram").get_attribute("aria-label")
    # In the backward frames each neuron shows its δ: red where δ > 0, blue where δ < 0.
    db3 = views[2][1]
    for j in range(10):
        assert ("248,113,113" if db3[j] >= 0 else "96,165,250") in fill_of(page, 3, j)
    page.locator("#bp-back").click()
    assert "Frame 7 of 8. Backward, layer 2" in frame(page)
    flowing = page.locator("#bp-diagram .bp-edge.flow")
    assert flowing.count() == 160  # δ³ flows back along the 10 × 16 weights of layer 3
    assert page.locator('#bp-diagram .bp-edge.flow[data-layer="3"]').count() == 160
    # Click an edge: its slope is the library's ∂C/∂W³[2, 5].
    page.locator('#bp-diagram .bp-edge[data-layer="3"][data-j="2"][data-k="5"]').dispatch_event(
        "click"
    )
    shown = page.locator("#bp-grad")
    assert float(shown.inner_text()) == pytest.approx(views[2][0][2, 5], rel=1e-5)
    assert float(shown.get_attribute("data-value")) == pytest.approx(views[2][0][2, 5], rel=1e-12)
    assert "a_in · σ′(z_out) · ∂C/∂a_out" in page.locator("#bp-detail").inner_text()
    factors = page.locator("#bp-detail .chain").inner_text().split("=")[2].split("×")
    assert np.prod([float(f) for f in factors]) == pytest.approx(views[2][0][2, 5], rel=1e-4)
    # The same with the keyboard only: the form picks W²[4, 7].
    page.select_option("#bp-edge-layer", "2")
    page.fill("#bp-edge-j", "4")
    page.fill("#bp-edge-k", "7")
    page.locator("#bp-edge-k").press("Enter")
    page.wait_for_function("backprop.selected.layer === 2 && backprop.selected.j === 4")
    assert float(page.locator("#bp-grad").inner_text()) == pytest.approx(
        views[1][0][4, 7], rel=1e-5
    )
    # A neuron, chosen from the keyboard, shows its δ; the focus stays on it.
    neuron = page.locator('#bp-diagram .neuron[data-layer="2"][data-index="3"]')
    neuron.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#bp-delta")
    assert float(page.locator("#bp-delta").inner_text()) == pytest.approx(views[1][1][3], rel=1e-5)
    assert page.evaluate("document.activeElement.dataset.index") == "3"
    page.keyboard.press("ArrowLeft")  # the arrow keys step through the frames
    assert frame(page).startswith("Frame 6 of 8. Backward, the output layer")
    page.keyboard.press("ArrowRight")
    assert frame(page).startswith("Frame 7 of 8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#backprop").screenshot(path=str(ARTIFACTS / "web-backprop.png"))


def test_apply_the_nudge_and_the_cost_falls(page: Any, seed: Model) -> None:
    before = page.evaluate("backprop.result")
    C, grad = gradient(seed, 0)
    assert before["cost"] == pytest.approx(C, rel=1e-12)
    page.locator("#bp-apply").click()
    page.wait_for_function("backprop.nudges === 1")
    after = page.evaluate("backprop.result")
    assert after["cost"] < before["cost"]
    target = after["target"]
    assert after["outputs"][target] > before["outputs"][target]  # towards the target's 1
    data = load_mini()
    x = to_inputs(data.test_images[:1], np.float64)
    y = one_hot([target], 10, np.float64)
    stepped = seed.theta.astype(np.float64) - 1.0 * grad
    assert after["cost"] == pytest.approx(evaluate_cost(seed.network, stepped, x, y), rel=1e-10)
    text = page.locator("#bp-cost").inner_text()
    assert text.startswith("After 1 nudge of η = 1:")
    assert f"→ {after['cost']:.4g}" in text
    page.locator("#bp-apply").click()
    page.wait_for_function("backprop.nudges === 2")
    assert page.evaluate("backprop.result.cost") < after["cost"]
    page.locator("#bp-reset").click()
    page.wait_for_function("backprop.nudges === 0")
    assert page.evaluate("backprop.result.cost") == before["cost"]


def test_choose_the_example_and_the_target(page: Any, seed: Model) -> None:
    page.fill("#bp-image", "12")
    page.locator("#bp-image").press("Enter")
    page.wait_for_function("backprop.result.image_index === 12")
    label = int(load_mini().test_labels[12])
    assert page.evaluate("backprop.result.target") == label
    assert f"test image 12, a {label}" in page.locator("#bp-example").inner_text()
    other = (label + 1) % 10
    page.locator("#bp-targets button", has_text=str(other)).click()
    page.wait_for_function(f"backprop.result.target === {other}")
    pressed = page.locator("#bp-targets button", has_text=str(other))
    assert pressed.get_attribute("aria-pressed") == "true"
    C, _ = gradient(seed, 12, other)
    assert page.evaluate("backprop.result.cost") == pytest.approx(C, rel=1e-12)
    page.fill("#bp-image", "5000")
    page.locator("#bp-image").press("Enter")
    page.wait_for_function("document.querySelector('#bp-message').textContent !== ''")
    assert "no test image 5000" in page.locator("#bp-message").inner_text()


def test_the_mini_batch_average(page: Any, seed: Model) -> None:
    rows = page.locator("#bp-batch tbody tr")
    assert rows.count() == 9  # 8 examples and their average
    batch = page.evaluate("backprop.batch")
    wants = np.array([e["wants"] for e in batch["examples"]])
    np.testing.assert_allclose(batch["average"]["wants"], wants.mean(axis=0), rtol=1e-10)
    average = rows.nth(8).locator("td").all_inner_texts()
    assert average[0] == "average"
    assert [float(t) for t in average[3:]] == pytest.approx(
        wants.mean(axis=0), abs=0.0051
    )  # shown to 2 decimals
    assert "cancel" in page.locator("#bp-batch-note").inner_text()
    page.fill("#bp-batch-start", "100")
    page.fill("#bp-batch-count", "4")
    page.locator("#bp-batch-count").press("Enter")
    page.wait_for_function("backprop.batch.examples[0].index === 100")
    assert page.locator("#bp-batch tbody tr").count() == 5


def test_walk_your_own_drawing(page: Any) -> None:
    page.locator('.tabs a[data-tab="draw"]').click()
    page.wait_for_selector("#pad", state="visible")  # the panel shown, so the pad has a box
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.85 * box["height"], steps=10)
    page.mouse.up()
    page.wait_for_function("draw.drawing !== null && !draw.inFlight && !draw.pending")
    page.locator('.tabs a[data-tab="backprop"]').click()
    page.locator("#bp-use-drawing").click()
    page.wait_for_function("backprop.result.image_index === null")
    assert "your drawing" in page.locator("#bp-example").inner_text()


def test_the_panel_fits_a_phone(browser: Any, url: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    page.goto(f"{url}/#backprop")
    page.wait_for_function("backprop.result !== null && backprop.batch !== null")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
