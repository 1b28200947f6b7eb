"""The page's noise button and Dream card: the routes over real HTTP, and in a browser."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from web.test_browser import browser, page, site  # noqa: F401  (the browser tests' fixtures)

from nudgenet import Model, to_inputs
from nudgenet.lessons.noise import non_digits


def test_noise_is_the_lessons_image_and_the_models_answer(url: str, seed: Model) -> None:
    for kind in ("noise", "blank", "scribble"):
        r = httpx.post(f"{url}/api/noise", json={"kind": kind, "seed": 7})
        assert r.status_code == 200, r.text
        body = r.json()
        expected = np.rint(255 * non_digits(kind, 1, np.random.default_rng(7))).astype(np.uint8)
        np.testing.assert_array_equal(body["image"], expected.ravel())
        p = seed.probabilities(to_inputs(expected.reshape(1, 28, 28)))[0]
        np.testing.assert_allclose(body["probabilities"], p, rtol=1e-5, atol=1e-7)
        assert body["guess"] == int(np.argmax(p))
        assert [len(a) for a in body["activations"]] == [16, 16, 10]


def test_the_dream_reaches_its_digit_as_the_network_reads_it(url: str, seed: Model) -> None:
    r = httpx.post(f"{url}/api/dream", json={"digit": 5, "steps": 400, "seed": 1}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    x = np.array(body["pixels"])[None]
    p = seed.probabilities(x.astype(seed.theta.dtype))[0]
    assert body["final_probability"] == pytest.approx(float(p[5]), rel=1e-5)
    assert body["probabilities"][5] == pytest.approx(body["final_probability"], rel=1e-6)
    assert body["steps"] == 400
    assert len(body["costs"]) <= 200
    assert body["costs"][-1] < body["costs"][0]
    assert len(body["correlations"]) == 10
    assert body["real_correlation"] > 0.4


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/noise", {"kind": "static"}),
        ("/api/noise", {"seed": -1}),
        ("/api/noise", {"kind": "noise", "extra": 1}),
        ("/api/dream", {"digit": 10}),
        ("/api/dream", {"digit": 5, "steps": 0}),
        ("/api/dream", {"digit": 5, "steps": 100000}),
        ("/api/dream", {"digit": 5, "learning_rate": 0}),
        ("/api/dream", {"digit": 5, "smooth": -1}),
        ("/api/dream", {"digit": "5"}),
    ],
)
def test_bad_requests_are_refused(url: str, path: str, body: dict[str, Any]) -> None:
    r = httpx.post(f"{url}{path}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]


def test_a_diverging_dream_is_refused_with_advice(url: str) -> None:
    body = {"digit": 5, "learning_rate": 10, "smooth": 10, "steps": 500}
    r = httpx.post(f"{url}/api/dream", json=body, timeout=60)
    assert r.status_code == 422, r.text
    assert "diverged" in r.json()["error"]
    assert "16λ" in r.json()["help"]


def test_the_noise_button_and_the_dream_card_in_a_browser(page: Any) -> None:  # noqa: F811
    page.select_option("#noise-kind", "scribble")
    page.click("#noise")
    page.wait_for_function("experiments.last !== null && !draw.inFlight")
    answer = page.evaluate("experiments.last")
    assert page.locator("#guess").inner_text() == str(answer["guess"])
    assert "no digit at all" in page.locator("#draw-message").inner_text()
    page.select_option("#dream-digit", "3")
    page.click("#dream")
    page.wait_for_function("experiments.last && experiments.last.target === 3")
    text = page.locator("#dream-text").inner_text()
    dreamed = page.evaluate("experiments.last")
    assert f"says 3 with {round(100 * dreamed['final_probability'])}%" in text
    assert page.locator("#guess").inner_text() == str(dreamed["guess"])
