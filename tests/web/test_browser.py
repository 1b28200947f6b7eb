"""The page in a real browser: Debian's chromium, headless, driven by Playwright.

Each test uses the page as a learner would (mouse strokes on the pad, buttons, the slider)
against a real server, and saves a screenshot of its panel to ``$NUDGENET_ARTIFACTS``
(default ``tests/artifacts/``). With ``NUDGENET_DOCS_IMAGES=DIR`` they also write the
README's pictures, ``DIR/web-<panel>.png``.

They skip, saying why, when chromium or Playwright is missing, unless
``NUDGENET_REQUIRE_BROWSER=1`` (set by CI, which installs both) turns that into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nudgenet.web import create_app, seed_model

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("NUDGENET_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--font-render-hinting=none",
]
ARTIFACTS = Path(os.environ.get("NUDGENET_ARTIFACTS") or Path(__file__).parents[1] / "artifacts")
WIDE = {"width": 1200, "height": 900}
PHONE = {"width": 390, "height": 844}
# The README's pictures (the live Learn one is scripts/screenshots.py's).
DOC_IMAGES = {"web-draw", "web-descend", "web-nudges"}


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).is_file() and not shutil.which(CHROMIUM):
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set NUDGENET_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = _missing()
    if why is not None:
        if os.environ.get("NUDGENET_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here, but {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(browser: Any, serve_module: Callable[..., str]) -> str:
    """A server with the seed network as `nudgenet serve` trains it (3 epochs)."""
    return serve_module(create_app(seed_model(epochs=3)))


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    context = browser.new_context(viewport=WIDE, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Refused requests (4xx) are part of some tests; the browser logs them as errors.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(site)
    yield page
    context.close()
    assert errors == [], errors  # no script errors, no failed loads


def shot(page: Any, name: str, selector: str | None = None) -> Path:
    """Save a screenshot (of one element, or the page) as an artifact, and for the docs."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    docs = os.environ.get("NUDGENET_DOCS_IMAGES")
    if docs and name in DOC_IMAGES:
        Path(docs).mkdir(parents=True, exist_ok=True)
        _save_small(path, Path(docs) / path.name)
    return path


def _save_small(source: Path, dest: Path) -> None:
    """Quantise the screenshot to a palette: the same picture in a fraction of the bytes."""
    from PIL import Image

    with Image.open(source) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(dest, optimize=True)


def stroke(page: Any, points: list[tuple[float, float]], selector: str = "#pad") -> None:
    """Draw one stroke through points given as fractions (0..1) of the pad's box."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def draw_one(page: Any) -> None:
    stroke(page, [(0.52, 0.15), (0.5, 0.5), (0.48, 0.85)])


def draw_seven(page: Any) -> None:
    stroke(page, [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)])


def guess_of(page: Any) -> str:
    """The guess shown once the last stroke's prediction has come back."""
    page.wait_for_function("draw.prediction !== null && !draw.inFlight && !draw.pending")
    return page.locator("#guess").inner_text()


# --------------------------------------------------------------------------- Draw


def test_draw_a_digit_and_see_the_guess(page: Any) -> None:
    draw_one(page)
    assert guess_of(page) == "1"
    bars = page.locator("#bars .bar")
    assert bars.count() == 10
    assert page.locator("#bars .bar.top .digit").inner_text() == "1"
    shares = [float(t.rstrip("%")) for t in page.locator("#bars .pct").all_inner_texts()]
    assert sum(shares) == pytest.approx(100, abs=0.5)
    assert max(shares) == shares[1]
    # What the network sees: ink in the middle of the 28×28 image, none at the border.
    seen = page.evaluate(
        "() => Array.from(document.querySelector('#seen').getContext('2d')"
        ".getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))"
    )
    assert max(seen) == 255
    assert seen[0] == 0
    # Every layer lights up: 16 + 16 + 10 neurons in the diagram.
    assert page.locator("#diagram .neuron").count() == 42
    page.locator('#diagram .neuron[data-layer="2"][data-index="5"]').click()
    page.wait_for_selector("#neuron-card:not([hidden])")
    assert "bias" in page.locator("#neuron-text").inner_text()
    assert page.locator("#neuron-title").inner_text() == "Layer 2, neuron 5"
    page.locator("#clear").click()
    page.mouse.move(0, 0)
    draw_seven(page)
    assert guess_of(page) == "7"
    page.locator('#diagram .neuron[data-layer="1"][data-index="3"]').click()
    page.wait_for_function(
        "document.querySelector('#neuron-title').textContent === 'Layer 1, neuron 3'"
    )
    assert page.evaluate("document.querySelector('#neuron-weights').width") == 28  # 784 as 28×28
    shot(page, "web-draw", "#draw")


def test_the_shipped_model_reads_the_drawing_too(page: Any) -> None:
    page.select_option("#draw-network", "shipped")
    draw_seven(page)
    assert guess_of(page) == "7"
    assert page.evaluate("draw.prediction.network") == "shipped"
    # 512 + 512 + 10 neurons; of its 262,144 middle weights only the strongest are drawn.
    assert page.locator("#diagram .neuron").count() == 1034
    page.wait_for_function("document.querySelectorAll('#diagram .edge').length > 0")
    middle = page.locator('#diagram .edge[data-layer="2"]').count()
    assert 100 < middle <= 2100
    assert "784-512-512-10" in page.locator("#diagram").get_attribute("aria-label")


def test_clear_empties_the_pad(page: Any) -> None:
    draw_one(page)
    guess_of(page)
    page.locator("#clear").click()
    assert page.locator("#guess").inner_text() == "?"
    assert "Draw a digit" in page.locator("#draw-message").inner_text()


def test_the_page_fits_a_phone(browser: Any, site: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    page.goto(site)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # no sideways scrolling
    draw_one(page)
    assert guess_of(page) == "1"
    shot(page, "web-draw-phone")
    for panel in ("learn", "descend", "nudges"):
        page.goto(f"{site}/#{panel}")
        page.wait_for_selector(f"#{panel}:not([hidden])")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], panel
        shot(page, f"web-{panel}-phone")
    context.close()


# --------------------------------------------------------------------------- Learn


def test_train_and_watch_the_cost_curve_grow(page: Any) -> None:
    page.goto(page.url.split("#")[0] + "#learn")
    state = "document.querySelector('#job-state').dataset.state"
    # A long job (batch size 1, 50 epochs) to pause, resume and stop at leisure.
    page.fill('input[name="batch_size"]', "1")
    page.fill('input[name="epochs"]', "50")
    page.locator("#start").click()
    page.wait_for_function("learn.points.length > 0")
    page.locator("#pause").click()
    page.wait_for_function(f"{state} === 'paused'")
    assert re.match(r"Paused at epoch \d+ of 50", page.locator("#job-state").inner_text())
    assert page.locator("#start").is_disabled()
    paused_points = page.evaluate("learn.points.length")
    page.locator("#resume").click()
    page.wait_for_function(f"learn.points.length > {paused_points}")  # the curve gains points
    page.locator("#stop").click()
    page.wait_for_function(f"{state} === 'stopped'")
    # A short job, watched to the end (at full speed: the page's default is watchable).
    page.fill('input[name="batch_size"]', "10")
    page.fill('input[name="epochs"]', "5")
    page.select_option("#speed", "0")
    page.locator("#start").click()
    page.wait_for_function(f"{state} === 'finished'", timeout=60_000)
    assert page.evaluate("learn.points.length") > 1000  # (each the mean of a few steps)
    assert page.evaluate("learn.epochs.length") == 6  # epochs 0..5
    assert page.locator("#weight-grid canvas").count() == 16
    assert "Test accuracy" in page.locator("#job-state").inner_text()
    verdict = page.evaluate("learn.job.verdict")  # as the server sent it
    assert verdict["verdict"] in ("slow", "converges", "oscillates", "diverges", "stalls")
    assert (
        f"Verdict: {verdict['verdict']}: {verdict['reason']}."
        in page.locator("#job-state").inner_text()
    )
    assert page.locator("#start").is_enabled()
    assert page.locator("#pause").is_disabled()
    shot(page, "web-learn", "#learn")


def test_bad_settings_are_explained(page: Any) -> None:
    page.goto(page.url.split("#")[0] + "#learn")
    page.fill('input[name="hidden"]', "16,100")
    page.locator("#start").click()
    page.wait_for_function("document.querySelector('#job-state').textContent.includes('hidden')")
    assert "Not started" in page.locator("#job-state").inner_text()


# --------------------------------------------------------------------------- Nudges


def test_nudges_for_a_target_digit(page: Any) -> None:
    draw_seven(page)
    assert guess_of(page) == "7"
    page.locator('.tabs a[data-tab="nudges"]').click()
    page.wait_for_selector("#nudges:not([hidden])")
    page.locator("#targets button", has_text="1").click()
    assert page.locator("#targets button", has_text="1").get_attribute("aria-pressed") == "true"
    page.wait_for_function("nudges.result !== null && nudges.result.target === 1")
    items = page.locator("#top-nudges tbody tr")
    assert items.count() == 12
    assert "bias of output" in " ".join(items.all_inner_texts())
    assert page.locator("#nudge-grid canvas").count() == 16
    assert "Cost for target 1" in page.locator("#nudge-cost").inner_text()
    assert page.locator("#wants .bar.target .want").inner_text() == "↑"
    shot(page, "web-nudges", "#nudges")


# --------------------------------------------------------------------------- Descend


def table_ws(page: Any) -> list[float]:
    return [float(t) for t in page.locator("#steps tbody tr td:nth-child(2)").all_inner_texts()]


def test_step_the_playground_towards_3(page: Any) -> None:
    page.goto(page.url.split("#")[0] + "#descend")
    page.wait_for_function("descend.result !== null")
    assert page.locator("#lr-value").inner_text() == "0.1"
    assert "2·w - 6" in page.locator("#derivative").inner_text()
    assert table_ws(page) == [0.0]
    for _ in range(8):
        page.locator("#step").click()
    ws = table_ws(page)
    assert ws[:3] == [0.0, 0.6, 1.08]  # the lecture note's steps
    assert len(ws) == 9
    distances = [abs(w - 3) for w in ws]
    assert distances == sorted(distances, reverse=True)  # w approaches 3
    assert distances[-1] < 0.6
    assert "descending" in page.locator("#descend-state").inner_text()
    shot(page, "web-descend", "#descend")
    page.locator("#run").click()  # run to the end
    page.wait_for_function("document.querySelector('#descend-state').dataset.state === 'converges'")
    assert abs(table_ws(page)[-1] - 3) < 1e-5
    assert "converges: it reached the bottom" in page.locator("#descend-state").inner_text()


def test_a_rate_too_large_flies_off(page: Any) -> None:
    page.goto(page.url.split("#")[0] + "#descend")
    page.wait_for_function("descend.result !== null")
    page.locator("#lr-slider").fill("0.08")  # η = 10^0.08 = 1.2
    page.wait_for_function("descend.result !== null && descend.result.learning_rate === 1.2")
    for _ in range(3):
        page.locator("#step").click()
    assert (
        "uphill: the step jumped across the bottom and landed higher"
        in page.locator("#descend-state").inner_text()
    )
    ws = table_ws(page)
    assert [abs(w - 3) for w in ws] == sorted(abs(w - 3) for w in ws)  # farther every step
    page.locator("#run").click()
    page.wait_for_function("document.querySelector('#descend-state').dataset.state === 'diverges'")
    text = page.locator("#descend-state").inner_text()
    assert "η < 2/C'' = 1" in text
    assert "Help: use a smaller η (below 2/C'' = 1," in text
    shot(page, "web-descend-diverging", "#descend")


def test_eta_one_bounces_and_the_page_says_what_the_server_says(page: Any) -> None:
    from nudgenet import run_descent

    page.goto(page.url.split("#")[0] + "#descend")
    page.wait_for_function("descend.result !== null")
    page.locator("#lr-slider").fill("0")  # η = 10^0 = 1: w = 0, 6, 0, 6, …
    page.wait_for_function("descend.result !== null && descend.result.learning_rate === 1")
    page.locator("#step").click()
    first = page.locator("#descend-state").inner_text()
    assert "w = 6" in first
    assert "level: the step jumped across the bottom and landed just as high" in first  # C = 9
    assert "landed lower" not in first
    page.locator("#run").click()
    state = "document.querySelector('#descend-state').dataset.verdict"
    page.wait_for_function(f"{state} === 'oscillates'")
    verdict = run_descent("(w-3)**2", 0.0, 1.0, steps=100).verdict  # the page asks for 100
    text = page.locator("#descend-state").inner_text()
    assert text == (
        f"step 100: w = 0, C(w) = 9 — oscillates: {verdict.reason}. Help: {verdict.advice}."
    )
    assert "never comes closer: C − C* stays 9" in text
    assert "a larger η" not in text
    shot(page, "web-descend-bouncing", "#descend")


def test_a_bad_formula_is_explained(page: Any) -> None:
    page.goto(page.url.split("#")[0] + "#descend")
    page.fill('input[name="expression"]', "(w-3)^2 + import")
    page.wait_for_function("document.querySelector('#descend-state').dataset.state === 'failed'")
    assert "cannot use the cost" in page.locator("#descend-state").inner_text()
