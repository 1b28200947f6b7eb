"""The page as a learner meets it, in a real browser: each problem a first user ran into.

Learn follows its job (the status line, another tab, a reload, a divergence, a stall, a pace
slow enough to watch); the page says when the server stops and waits for it instead of
retrying; Draw leaves a dot for a click and a stroke per finger; messages speak of the
form's fields; the layout holds on a phone; the keyboard and screen readers get what the
mouse and the eye get; and the page's address reproduces a run. Debian's chromium, driven
by Playwright, against real servers (see test_browser.py for the fixtures).
"""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from nudgenet import Model, load_mini, to_inputs
from nudgenet.web import create_app
from nudgenet.web.server import make_server

from . import test_browser, test_serve
from .test_browser import PHONE, WIDE, draw_one, guess_of, stroke

# The browser and the shared server, as test_browser.py's tests have them.
browser = test_browser.browser
site = test_browser.site
page = test_browser.page

pytestmark = pytest.mark.browser
STATE = "document.querySelector('#job-state')"


@pytest.fixture
def fresh(browser: Any, seed: Model, serve: Callable[..., str]) -> Iterator[tuple[Any, str]]:
    """A page on a server of its own (no job yet), and that server's address."""
    url = serve(create_app(seed))
    context = browser.new_context(viewport=WIDE, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    yield page, url
    context.close()
    assert errors == []


def learn_page(page: Any, url: str, query: str = "") -> None:
    page.goto(f"{url}/{query}#learn")
    page.wait_for_selector("#learn:not([hidden])")
    page.wait_for_function("learn.ready")


def start(page: Any, speed: str = "0", **fields: str) -> None:
    for name, value in fields.items():
        page.fill(f'input[name="{name}"]', value)
    page.select_option("#speed", speed)
    page.locator("#start").click()


def wait_state(page: Any, *states: str, timeout: float = 60_000) -> None:
    names = ", ".join(f"'{s}'" for s in states)
    page.wait_for_function(f"[{names}].includes({STATE}.dataset.state)", timeout=timeout)


# --------------------------------------------------------------------------- Learn


def test_the_status_line_follows_the_job_and_survives_a_reload(fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    # 200 steps at 20 a second: still running after the reload, on a loaded machine too.
    start(page, speed="20", lr="0.5", seed="3", epochs="2", train_size="1000")
    page.wait_for_function("learn.job.step > 5")
    text = page.locator("#job-state").inner_text()
    step = int(re.search(r"step (\d+) of 200", text).group(1))
    assert step > 5  # not "epoch 0, step 0" while the charts move on
    learn_page(page, site)  # a reload, with no settings in the address
    page.wait_for_function(f"{STATE}.textContent.includes('Training: epoch')")
    page.wait_for_function(f"learn.job.step > {step}")
    assert not re.search(r"step 0 of", page.locator("#job-state").inner_text())
    # The form shows the settings of the job on screen, not the defaults.
    assert page.input_value('input[name="lr"]') == "0.5"
    assert page.input_value('input[name="seed"]') == "3"
    assert page.input_value('input[name="train_size"]') == "1000"
    page.locator("#stop").click()
    wait_state(page, "stopped")


def test_a_tab_opened_before_the_job_finds_it(browser: Any, fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    other = browser.new_context(viewport=WIDE).new_page()
    learn_page(other, site)
    # 20 epochs at 20 steps a second: a job that is still running when the Stop is clicked,
    # however slowly a loaded machine brings the pages up (one epoch was 2.5 s).
    start(other, speed="20", epochs="20", train_size="500")
    page.wait_for_function(f"{STATE}.dataset.state === 'running'", timeout=10_000)
    assert page.input_value('input[name="train_size"]') == "500"
    other.locator("#stop").click()
    wait_state(page, "stopped")
    other.context.close()


def test_a_divergence_shows_on_the_cost_chart(fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    page.select_option('select[name="activation"]', "relu")
    page.select_option('select[name="output"]', "softmax")
    page.select_option('select[name="cost"]', "cross-entropy")
    page.select_option('select[name="init"]', "he")
    start(page, lr="10", epochs="2", train_size="500")
    wait_state(page, "failed")
    # The step that blew up is on the chart: its cost (or null past what JSON carries).
    error = httpx.get(f"{site}/api/train").json()["error"]
    step = int(re.search(r"diverged at step (\d+)", error).group(1))
    assert page.evaluate("learn.points[learn.points.length - 1][0]") == step
    assert page.evaluate("learn.points.some((p) => p[1] === null || p[1] > 20)")
    assert "blew up" in page.get_attribute("#cost-chart", "aria-label")
    text = page.locator("#job-state").inner_text()
    assert "Verdict: diverges" in text
    assert "--lr" not in text
    assert "--schedule" not in text


def test_a_stalled_run_ends_with_its_verdict(fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    page.select_option('select[name="schedule"]', "constant")
    start(page, lr="20", epochs="4", train_size="500")
    wait_state(page, "finished")
    verdict = httpx.get(f"{site}/api/train").json()["verdict"]  # the classifier's
    assert verdict["verdict"] == "stalls"
    assert page.evaluate(f"{STATE}.dataset.verdict") == "stalls"
    assert f"Verdict: stalls: {verdict['reason']}." in page.locator("#job-state").inner_text()
    colour = page.evaluate(f"getComputedStyle({STATE}).backgroundColor")
    assert colour != "rgb(220, 252, 231)"  # not the green of a run that learned


def test_the_default_run_is_slow_enough_to_watch_pause_and_step(fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    assert page.input_value("#speed") == "200"  # steps a second: 25 s for the default run
    page.locator("#start").click()
    page.wait_for_function("learn.job.step > 0")
    time.sleep(1.5)
    assert page.evaluate("learn.job.state") == "running"
    page.locator("#pause").click()
    wait_state(page, "paused")
    before = page.evaluate("learn.job.step")
    assert before < 5000
    page.locator("#step-once").click()
    page.wait_for_function(f"learn.job.step === {before + 1}")
    assert page.evaluate("learn.job.state") == "paused"
    # The live diagram draws the weights as lines, and they move as it learns.
    lines = page.locator("#learn-diagram line.edge")
    assert lines.count() > 50
    first = page.evaluate("learn.weights.layers[1].weights.slice(0, 16)")
    page.select_option("#speed", "0")
    page.locator("#resume").click()
    page.wait_for_function(f"learn.weights.step > {before + 100}")
    assert page.evaluate("learn.weights.layers[1].weights.slice(0, 16)") != first
    page.locator("#stop").click()
    wait_state(page, "stopped")


# --------------------------------------------------------------------------- the server stops


def _serve_on(app: Any, port: int = 0) -> tuple[Any, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, sock.getsockname()[1]


@pytest.mark.slow
def test_the_page_says_when_the_server_stops_and_waits_for_it(browser: Any, seed: Model) -> None:
    app = create_app(seed)
    server, thread, port = _serve_on(app)
    url = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.goto(url)
    draw_one(page)
    assert guess_of(page) == "1"
    page.evaluate("location.hash = '#learn'")
    page.wait_for_function("learn.ready")
    start(page, speed="20", epochs="50", batch_size="1")
    page.wait_for_function("learn.job.step > 0")
    server.should_exit = True  # as Ctrl+C does: the job stops, then the server
    thread.join(10)
    page.wait_for_selector("#server-banner:not([hidden])", timeout=10_000)
    assert "server has stopped" in page.locator("#server-banner").inner_text()
    assert re.search(r"server has stopped|Stopped at", page.locator("#job-state").inner_text())
    assert page.locator("#start").is_disabled()
    # Drawing while it is gone sends nothing on every pointer move (no reload: the page
    # stays as the learner left it).
    page.evaluate("location.hash = '#draw'")
    predicts: list[str] = []
    page.on("request", lambda r: predicts.append(r.url) if "/api/predict" in r.url else None)
    stroke(page, [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)])  # 24 pointer moves
    time.sleep(1.0)
    assert len(predicts) == 0
    assert page.evaluate("draw.pending")
    # It comes back on the same port: the page notices, and sends the latest drawing.
    server, thread, _ = _serve_on(create_app(seed), port)
    page.wait_for_selector("#server-banner[hidden]", state="attached", timeout=20_000)
    page.wait_for_function("!draw.pending && !draw.inFlight && draw.prediction !== null")
    assert len(predicts) == 1
    assert page.evaluate("connection.probes") <= 6  # backing off: 1, 2, 4, 8 … seconds
    context.close()
    server.should_exit = True
    thread.join(10)


# --------------------------------------------------------------------------- Draw


def test_a_click_leaves_a_dot_and_an_empty_pad_is_never_sent(page: Any) -> None:
    refused: list[int] = []
    page.on("response", lambda r: refused.append(r.status) if r.status >= 400 else None)
    box = page.locator("#pad").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("draw.prediction !== null && !draw.inFlight")
    ink = page.evaluate(
        "() => { const c = document.querySelector('#pad'); const d = c.getContext('2d')"
        ".getImageData(c.width / 2 - 2, c.height / 2 - 2, 4, 4).data;"
        " return Math.min(...d.filter((_, i) => i % 4 === 3)); }"
    )
    assert ink > 200  # a dot where the pen came down
    assert refused == []  # no 422 for an empty pad


def test_two_fingers_draw_two_strokes(browser: Any, site: str) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(site)
    box = page.locator("#pad").bounding_box()
    cdp = context.new_cdp_session(page)

    def at(fx: float, fy: float, finger: int) -> dict:
        return {"x": box["x"] + fx * box["width"], "y": box["y"] + fy * box["height"], "id": finger}

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
             "touchPoints": [at(0.2, 0.2, 0), at(0.8, 0.2, 1)]})  # fmt: skip
    for k in range(1, 9):
        y = 0.2 + 0.07 * k
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                 "touchPoints": [at(0.2, y, 0), at(0.8, y, 1)]})  # fmt: skip
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function("draw.prediction !== null && !draw.inFlight && !draw.pending")
    ink = page.evaluate(
        "([fx, fy]) => { const c = document.querySelector('#pad');"
        " return c.getContext('2d').getImageData(fx * c.width, fy * c.height, 1, 1).data[3]; }",
        [0.5, 0.5],
    )
    assert ink == 0  # nothing between the fingers
    for fx in (0.2, 0.8):
        assert (
            page.evaluate(
                "([fx]) => { const c = document.querySelector('#pad'); return c.getContext('2d')"
                ".getImageData(fx * c.width, 0.5 * c.height, 1, 1).data[3]; }",
                [fx],
            )
            > 200
        )  # each finger's own stroke
    context.close()


def test_a_test_image_without_a_mouse(page: Any, seed: Model) -> None:
    mini = load_mini()
    page.locator("#test-image").fill("7")
    page.locator("#test-image").press("Enter")
    page.wait_for_function(
        "draw.prediction !== null && draw.prediction.test_image === 7 && !draw.inFlight"
    )
    expected = int(seed.predict(to_inputs(mini.test_images[7:8]))[0])
    assert page.locator("#guess").inner_text() == str(expected)
    assert "test image 7" in page.get_attribute("#pad", "aria-label")
    assert "image=7" in page.url


# --------------------------------------------------------------------------- messages


def test_a_refusal_stays_while_the_last_jobs_events_replay(fresh: tuple) -> None:
    """A page opened after a job ran replays that job's events; they must not hide a refusal."""
    page, site = fresh
    settings = {"hidden": [16], "batch_size": 10, "epochs": 2, "train_size": 2000}
    job = httpx.post(f"{site}/api/train", json=settings, timeout=30).json()["job"]
    deadline = time.monotonic() + 120
    while httpx.get(f"{site}/api/train", timeout=30).json()["state"] != "finished":
        assert time.monotonic() < deadline, "the job did not finish in 120 s"
        time.sleep(0.2)
    page.goto(f"{site}/?image=3#learn")  # opened now, it follows that job from its first event
    page.wait_for_function("learn.ready")
    page.fill('input[name="hidden"]', "16,100")
    page.locator("#start").click()
    page.wait_for_function(f"{STATE}.textContent.startsWith('Not started')")
    # The whole replay arrives (its final state and every epoch), and the refusal stays.
    page.wait_for_function("learn.job.state === 'finished' && learn.epochs.length === 3")
    assert page.evaluate("learn.job.job") == job
    text = page.locator("#job-state").inner_text()
    assert text.startswith(
        "Not started: hidden layers, layer 2, must be from 1 to 64 neurons, got 100."
    )
    assert "On screen: Finished: epoch 2 of 2" in text
    assert page.get_attribute("#job-state", "data-state") == "failed"
    # The next job that starts clears it.
    page.fill('input[name="hidden"]', "16")
    page.locator("#start").click()
    page.wait_for_function(f"!{STATE}.textContent.startsWith('Not started')")
    assert page.evaluate("learn.refusal") is None


def test_messages_name_the_form_fields_and_refuse_empty_ones(fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.fill('input[name="lr"]', "")
    page.locator("#start").click()
    text = page.locator("#job-state").inner_text()
    assert text.startswith("Not started: learning rate η: enter a number")
    assert page.get_attribute('input[name="lr"]', "aria-invalid") == "true"
    page.fill('input[name="lr"]', "30")
    page.locator("#start").click()
    assert "learning rate η must be at most 20, got 30" in page.locator("#job-state").inner_text()
    page.fill('input[name="lr"]', "1")
    page.fill('input[name="hidden"]', "16,100")
    page.locator("#start").click()
    text = page.locator("#job-state").inner_text()
    assert "hidden layers, layer 2, must be from 1 to 64 neurons, got 100" in text
    assert sent == []  # refused on the page, named as the form names it
    for word in ("hidden.0", "--lr", "invert=True", "POST /api/"):
        assert word not in text
    # What the server refuses comes back in the page's words too.
    words = page.evaluate(
        "import('/static/js/api.js').then((m) => m.explain({message: 'training job 1 is"
        " running', help: 'wait for it to finish, or stop it first (POST /api/train/stop)'}))"
    )
    assert (
        words
        == "training job 1 is running (wait for it to finish, or stop it first (the Stop button))"
    )
    words = page.evaluate(
        "Promise.all([import('/static/js/api.js'), import('/static/js/form.js')]).then(([a, f]) =>"
        " a.explain({message: 'invalid request', detail: [{loc: ['body', 'hidden', 0],"
        " msg: 'Input should be less than or equal to 64'}]}, f.label))"
    )
    assert words == "hidden layers, layer 1, must be at most 64."
    page.goto(page.url.split("#")[0] + "#descend")
    page.fill('input[name="start"]', "")
    page.wait_for_function(
        "document.querySelector('#descend-state').textContent.includes('start w₀: enter a number')"
    )


# --------------------------------------------------------------------------- layout


def test_the_layout_keeps_what_matters_in_sight(browser: Any, fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    placeholder = page.locator("#weight-grid p").bounding_box()
    assert placeholder["width"] > 300
    assert placeholder["height"] < 60
    state = page.locator("#job-state").bounding_box()
    assert state["y"] + state["height"] < WIDE["height"]  # above the fold
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, has_touch=True)
    phone = context.new_page()
    phone.goto(site)
    pad = phone.locator("#pad").bounding_box()
    guess = phone.locator("#guess").bounding_box()
    assert guess["y"] < pad["y"] + pad["height"]
    assert guess["x"] > pad["x"] + pad["width"] / 2
    phone.goto(site + "/#descend")
    phone.wait_for_function("descend.result !== null")
    phone.locator("#step").scroll_into_view_if_needed()
    phone.locator("#step").click()
    curve = phone.locator("#curve").bounding_box()
    button = phone.locator("#step").bounding_box()
    assert curve["y"] >= 0
    assert button["y"] + button["height"] <= PHONE["height"]
    phone.goto(site)
    draw_one(phone)
    guess_of(phone)
    phone.goto(site + "/#nudges")
    phone.wait_for_function("nudges.result !== null")
    wrap = phone.evaluate(
        "(() => { const w = document.querySelector('#top-nudges').closest('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; })()"
    )
    assert wrap[0] <= wrap[1]  # the Nudges table is not clipped
    phone.goto(site + "/#test")
    phone.wait_for_selector("#confusion td")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


# --------------------------------------------------------------------------- accessibility


def test_keyboard_and_screen_readers(page: Any) -> None:
    draw_one(page)
    guess_of(page)
    neuron = page.locator('#diagram .neuron[data-layer="2"][data-index="4"]')
    neuron.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#neuron-card:not([hidden])")
    focused = page.evaluate(
        "[document.activeElement.dataset.layer, document.activeElement.dataset.index]"
    )
    assert focused == ["2", "4"]  # the focus stays on the chosen neuron
    page.goto(page.url.split("#")[0] + "#nudges")  # (the drawing stays: no reload)
    page.wait_for_function("nudges.result !== null")
    for canvas in page.locator("canvas").all():  # every panel's: a text alternative each
        labelled = canvas.get_attribute("aria-label") or canvas.get_attribute("aria-hidden")
        assert labelled, canvas.evaluate("c => c.outerHTML")
    page.goto(page.url.split("#")[0] + "#descend")
    slider = page.locator("#lr-slider")
    assert slider.get_attribute("aria-valuetext") == "η = 0.1"
    slider.fill("0")
    page.wait_for_function(
        "document.querySelector('#lr-slider').getAttribute('aria-valuetext') === 'η = 1'"
    )


def test_small_slips_favicon_and_step_axis(fresh: tuple) -> None:
    page, site = fresh
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(site)
    page.wait_for_load_state("networkidle")
    assert missing == []
    assert httpx.get(f"{site}/favicon.ico").status_code == 200
    learn_page(page, site)
    texts = page.evaluate(
        "() => { const seen = []; const real = CanvasRenderingContext2D.prototype.fillText;"
        " CanvasRenderingContext2D.prototype.fillText = function (t, ...r) { seen.push(String(t));"
        " return real.call(this, t, ...r); };"
        " learn.job = {...(learn.job || {}), total_steps: 200000, epochs: 50}; learn.redraw();"
        " CanvasRenderingContext2D.prototype.fillText = real; return seen; }"
    )
    assert "200,000" in texts
    assert not [t for t in texts if "e+" in t]


# --------------------------------------------------------------------------- the address


def test_a_shared_link_reproduces_the_same_run(browser: Any, fresh: tuple) -> None:
    page, site = fresh
    learn_page(page, site)
    page.select_option('select[name="activation"]', "tanh")
    start(page, lr="0.3", seed="7", epochs="2", train_size="500", momentum="0.5", l2="0.001")
    wait_state(page, "finished")
    assert page.evaluate("learn.epochs.length") == 3
    first = page.evaluate("learn.epochs.map((e) => [e.train_cost, e.test_accuracy])")
    link = page.url
    assert "lr=0.3" in link
    assert "seed=7" in link
    assert "momentum=0.5" in link
    assert link.endswith("#learn")
    other = browser.new_context(viewport=WIDE).new_page()
    other.goto(link)
    for name, value in [("lr", "0.3"), ("seed", "7"), ("epochs", "2"), ("momentum", "0.5"),
                        ("l2", "0.001"), ("train_size", "500")]:  # fmt: skip
        assert other.input_value(f'input[name="{name}"]') == value, name
    assert other.input_value('select[name="activation"]') == "tanh"
    before = page.evaluate("learn.job.job")  # the first run's job number
    other.locator("#start").click()
    # Its own job, not the first one's finished state, which the new tab may still show.
    other.wait_for_function(
        f"learn.job && learn.job.job !== {before} && {STATE}.dataset.state === 'finished'"
        " && learn.epochs.length === 3",
        timeout=60_000,
    )
    assert other.evaluate("learn.epochs.map((e) => [e.train_cost, e.test_accuracy])") == first
    # The Descend panel's formula and η, and the test image on the pad, travel too.
    other.goto(site + "/?f=(w-1)%5E2&eta=0.5&image=3#descend")
    other.wait_for_function("descend.result !== null")
    assert other.evaluate("descend.result.learning_rate") == 0.5
    assert other.evaluate("descend.result.expression") == "(w - 1)**2"
    other.wait_for_function("draw.prediction !== null && draw.prediction.test_image === 3")
    other.context.close()


# --------------------------------------------------------------------------- Test images


def test_the_test_images_their_mistakes_and_the_model_file(
    page: Any, seed: Model, tmp_path: Path, site: str
) -> None:
    page.goto(site + "/#test")
    page.wait_for_selector("#confusion td")
    cells = [int(t or 0) for t in page.locator("#confusion td").all_inner_texts()]
    assert len(cells) == 100
    summary = httpx.get(f"{site}/api/test-set").json()
    assert sum(cells) == summary["size"]
    assert np.array(cells).reshape(10, 10).tolist() == summary["confusion"]
    page.locator("#test-wrong").check()
    page.wait_for_function("testset.page && testset.page.images.every((i) => i.label !== i.guess)")
    shown = page.locator("#test-grid .test-image.wrong")
    assert shown.count() == min(40, summary["wrong"])
    index = int(shown.first.get_attribute("data-index"))
    shown.first.click()
    page.wait_for_function(f"draw.prediction !== null && draw.prediction.test_image === {index}")
    assert page.evaluate("location.hash") == "#draw"
    with page.expect_download() as download:
        page.goto(site + "/#test")
        page.locator("#download-model").click()
    path = tmp_path / "served.npz"
    download.value.save_as(path)
    served = Model.load(path)
    assert served.network.sizes == (784, 16, 16, 10)
    page.locator("#model-file").set_input_files(str(path))
    page.wait_for_function(
        "document.querySelector('#test-message').textContent.includes('Now serving')"
    )


# --------------------------------------------------------------------------- Ctrl+C


server_process = test_serve.server_process


@pytest.mark.slow
def test_ctrl_c_with_a_page_open_stops_at_once_and_quietly(
    browser: Any, server_process: list, seed: Model, tmp_path: Path
) -> None:
    """`nudgenet serve` as a user runs it, a training page open in chromium, then SIGINT."""
    process, url = test_serve.start(server_process, str(seed.save(tmp_path / "seed.npz")))
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    learn_page(page, url.rstrip("/"))
    start(page, speed="200", epochs="50", batch_size="1")
    page.wait_for_function("learn.job.step > 0")  # its event stream is open
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    code = process.wait(10)
    took = time.monotonic() - began
    err = process.stderr.read()
    assert took < 2.0, err
    assert code == 0, err
    assert "Traceback" not in err
    assert "ERROR" not in err
    page.wait_for_selector("#server-banner:not([hidden])", timeout=10_000)
    context.close()
