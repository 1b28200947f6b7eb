"""The Learn panel's live job and the Test panel's routes, over real HTTP.

A job can be watched (its progress in every event), slowed down, stepped one mini-batch at a
time, and always ends with the lessons' verdict; a divergence still reaches the chart. The
test images come with their labels, and a trained model goes out and comes back as a file.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx
import numpy as np
import pytest

from nudgenet import Model, load_mini, to_inputs
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit
from nudgenet.web import create_app

from .test_api import SMALL_JOB, assert_error, events, wait_for


def test_every_steps_event_says_how_far_the_job_is(fresh_url: str) -> None:
    assert httpx.post(f"{fresh_url}/api/train", json=SMALL_JOB).status_code == 202
    steps = [data for name, data in events(fresh_url) if name == "steps"]
    assert len(steps) >= 2
    for batch in steps:  # the last point's step, and the epoch under way
        assert batch["step"] == batch["points"][-1][0] + 1
        assert 0 <= batch["epoch"] <= 2
    assert steps[-1]["step"] == 100


def test_a_divergence_reaches_the_chart_and_gets_a_verdict(fresh_url: str) -> None:
    job = {**SMALL_JOB, "activation": "relu", "output": "softmax", "cost": "cross-entropy",
           "lr": 10.0, "init": "he"}  # fmt: skip
    assert httpx.post(f"{fresh_url}/api/train", json=job).status_code == 202
    seen = list(events(fresh_url))
    points = [p for name, data in seen if name == "steps" for p in data["points"]]
    last = seen[-1][1]
    assert last["state"] == "failed"
    assert "diverged at step" in last["error"]
    # The step that blew up is the last point, with the cost the message quotes (null if
    # that cost was not a number JSON can carry).
    found = re.search(r"diverged at step (\d+) .*?(?:grew to ([0-9.e+]+)|became)", last["error"])
    assert found, last["error"]
    assert points[-1][0] == int(found.group(1))
    if found.group(2):
        assert points[-1][1] == pytest.approx(float(found.group(2)), rel=1e-3)
    else:
        assert points[-1][1] is None
    assert last["verdict"]["verdict"] == "diverges"
    assert "--lr" in last["help"]  # the command line's words stay apart from the message
    assert "--lr" not in last["error"]


def test_a_slowed_job_can_be_stepped_one_batch_at_a_time(fresh_url: str) -> None:
    job = {**SMALL_JOB, "speed": 20.0}
    began = time.monotonic()
    assert httpx.post(f"{fresh_url}/api/train", json=job).status_code == 202
    time.sleep(0.5)
    paused = httpx.post(f"{fresh_url}/api/train/pause", json={}).json()
    assert paused["state"] == "paused"
    assert 2 <= paused["step"] <= 30  # 20 steps a second, not 100 steps at once
    stepped = httpx.post(f"{fresh_url}/api/train/step", json={}).json()
    assert stepped["state"] == "paused"
    assert stepped["step"] == paused["step"] + 1  # exactly one mini-batch
    time.sleep(0.2)
    assert httpx.get(f"{fresh_url}/api/train").json()["step"] == stepped["step"]  # held again
    fast = httpx.post(f"{fresh_url}/api/train/speed", json={"speed": 0}).json()
    assert fast["speed"] == 0
    httpx.post(f"{fresh_url}/api/train/resume", json={})
    slowed = wait_for(fresh_url, {"finished"})
    assert time.monotonic() - began > 0.5
    # The pace changes when the numbers are shown, never the numbers.
    assert httpx.post(f"{fresh_url}/api/train", json=SMALL_JOB).status_code == 202
    plain = wait_for(fresh_url, {"finished"})

    def numbers(status: dict) -> list[dict]:
        return [{k: v for k, v in e.items() if k != "seconds"} for e in status["history"]]

    assert numbers(slowed) == numbers(plain)
    assert_error(httpx.post(f"{fresh_url}/api/train/step", json={}), 409, "finished")
    assert_error(httpx.post(f"{fresh_url}/api/train/speed", json={"speed": -1}), 422, "speed")
    tiny = httpx.post(f"{fresh_url}/api/train", json={**SMALL_JOB, "speed": 1e-300})
    assert_error(tiny, 422, "speed", "at least 0.1")


def test_saturated_sigmoids_end_with_a_stall_not_a_plain_finish(fresh_url: str) -> None:
    job = {**SMALL_JOB, "epochs": 4, "lr": 20.0, "schedule": "constant"}
    assert httpx.post(f"{fresh_url}/api/train", json=job).status_code == 202
    status = wait_for(fresh_url, {"finished", "failed"}, timeout=120)
    assert status["history"][-1]["train_cost"] == pytest.approx(1.0, abs=1e-3)
    assert status["verdict"]["verdict"] == "stalls"


# --------------------------------------------------------------------------- Test panel


def test_the_test_set_with_its_labels_and_confusion_matrix(seed: Model, url: str) -> None:
    mini = load_mini()
    guesses = seed.predict(to_inputs(mini.test_images))
    body = httpx.get(f"{url}/api/test-set").json()
    confusion = np.array(body["confusion"])
    assert confusion.sum() == body["size"] == len(mini.test_labels)
    assert body["accuracy"] == pytest.approx(np.mean(guesses == mini.test_labels))
    assert np.trace(confusion) == body["size"] - body["wrong"]
    assert confusion[3, 5] == np.sum((mini.test_labels == 3) & (guesses == 5))
    wrong = httpx.get(f"{url}/api/test-images?wrong=true&count=5").json()
    assert wrong["total"] == body["wrong"]
    for image in wrong["images"]:
        i = image["index"]
        assert image["label"] == mini.test_labels[i] != image["guess"] == guesses[i]
        assert image["pixels"] == mini.test_images[i].ravel().tolist()
        # Given to the network as it is, the test image gets the same guess.
        p = httpx.post(f"{url}/api/predict", json={"test_image": i}).json()
        assert p["guess"] == image["guess"]
        assert p["image"] == image["pixels"]
    sevens = httpx.get(f"{url}/api/test-images?label=7&count=3").json()
    assert {im["label"] for im in sevens["images"]} == {7}
    assert_error(httpx.post(f"{url}/api/predict", json={"test_image": 99999}), 404, "0 to 1999")
    assert_error(httpx.post(f"{url}/api/predict", json={}), 422, "either a drawing")


def test_download_a_model_and_load_it_back(seed: Model, serve, tmp_path) -> None:
    url = serve(create_app(seed))
    response = httpx.get(f"{url}/api/model/download")
    assert response.headers["content-disposition"].endswith('.npz"')
    path = tmp_path / "m.npz"
    path.write_bytes(response.content)
    np.testing.assert_array_equal(Model.load(path).theta, seed.theta)
    other = Model(seed.network, seed.theta * 0.5, seed.cost)
    other.save(tmp_path / "other.npz")
    text = base64.b64encode((tmp_path / "other.npz").read_bytes()).decode()
    info = httpx.post(f"{url}/api/model", json={"npz_base64": text})
    assert info.status_code == 200, info.text
    assert info.json()["sizes"] == [784, 16, 16, 10]
    again = httpx.get(f"{url}/api/weights/1").json()["weights"]
    np.testing.assert_allclose(again, other.network.layout.views(other.theta)[0][0].ravel())
    junk = base64.b64encode(b"not a zip file").decode()
    assert_error(httpx.post(f"{url}/api/model", json={"npz_base64": junk}), 422, "not a")
    assert_error(httpx.post(f"{url}/api/model", json={"npz_base64": "@@@"}), 422, "base64")


def test_the_favicon_is_served(url: str) -> None:
    response = httpx.get(f"{url}/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


def test_the_web_page_reads_the_test_set_as_a_deskewed_model_learnt_it(serve: Any) -> None:
    mini = load_mini()
    model = fit(Recipe(settings=TrainSettings(epochs=1), deskew=True), mini, train_size=2000)
    url = serve(create_app(model))
    # The first request deskews the test set (2.5 s on an idle machine; more on a loaded one
    # than httpx's default 5 s wait).
    body = httpx.get(f"{url}/api/test-set", timeout=60).json()
    assert body["accuracy"] == pytest.approx(model.history[-1]["test_accuracy"], abs=1e-12)
    shown = httpx.post(f"{url}/api/predict", json={"test_image": 3}).json()
    assert shown["image"] == mini.deskewed.test_images[3].ravel().tolist()
