"""``nudgenet features``, ``noise``, ``dream`` and ``memorize``: what they print is computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json

from nudgenet import Model
from nudgenet.cli import main
from nudgenet.data import load_mini, to_inputs
from nudgenet.lessons.features import features
from nudgenet.lessons.noise import non_digits
from nudgenet.lessons.seeds import SeedNetwork

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed network after two quick epochs on the embedded data."""
    path = tmp_path_factory.mktemp("model") / "seed.npz"
    argv = [
        "train",
        "--epochs",
        "2",
        "--batch-size",
        "20",
        "--seed",
        "3",
        "--out",
        str(path),
        "--json",
    ]
    assert main(argv) == 0
    return path


@pytest.mark.slow
def test_features_json_is_the_librarys_measure_and_draws_four_figures(
    trained: Path, tmp_path: Path, capsys
) -> None:
    out = run_json(capsys, "features", str(trained), "--seeds", "0", "--plot", str(tmp_path))
    model = Model.load(trained)
    from nudgenet.cli.experiments import _initial_theta

    initial = Model(model.network, _initial_theta(model), model.cost)
    X = to_inputs(load_mini().test_images, np.float64)
    expected = features([SeedNetwork(0, initial, model)], X).summary()
    for family, states in expected.items():
        for state, measures in states.items():
            for name, value in measures.items():
                assert out["measures"][family][state][name]["mean"] == pytest.approx(value["mean"])
    names = sorted(Path(p).name for p in out["figures"])
    assert names == [f"features-{n}.png" for n in ("layer1", "layer2", "measures", "top")]
    for p in out["figures"]:
        assert Path(p).read_bytes()[:8] == PNG_MAGIC
    assert len(out["top_images"]) == 16


def test_noise_json_is_what_the_model_answers(trained: Path, capsys) -> None:
    out = run_json(capsys, "noise", str(trained), "--seeds", "0,1", "--images", "200")
    model = Model.load(trained)
    means = []
    for seed in (0, 1):
        X = non_digits("noise", 200, np.random.default_rng(seed))
        means.append(float(model.probabilities(X.astype(np.float32)).max(axis=1).mean()))
    assert out["noise_max_probability"]["mean"] == pytest.approx(np.mean(means), rel=1e-5)
    test = to_inputs(load_mini().test_images, np.float32)
    p = float(model.probabilities(test).max(axis=1).mean())
    assert out["test_max_probability"]["mean"] == pytest.approx(p, rel=1e-5)
    assert out["test_max_probability"]["std"] == pytest.approx(0.0, abs=1e-12)  # one model
    assert set(out["kinds"]) == {"noise", "blank", "scribble", "test"}
    assert out["seeds_vary"].startswith("the images only")


def test_dream_final_probability_is_the_networks_for_the_image(
    trained: Path, tmp_path: Path, capsys
) -> None:
    out = run_json(
        capsys,
        "dream",
        str(trained),
        "5",
        "--seeds",
        "0",
        "--steps",
        "300",
        "--plot",
        str(tmp_path),
    )
    assert out["target"] == 5
    assert out["steps"] == 300
    image = np.array(out["image"])
    assert image.shape == (28, 28)
    model = Model.load(trained)
    p = model.probabilities(image.reshape(1, 784).astype(np.float32))[0, 5]
    assert out["final_probability"] == pytest.approx(float(p), rel=1e-5)
    assert out["over_seeds"]["final_probability"]["mean"] == out["final_probability"]
    assert out["real_digits"]["target_correlation"]["mean"] > 0.4
    assert Path(out["figures"][0]).name == "dream.png"


def test_dream_from_a_test_image_and_its_text_report(trained: Path, capsys) -> None:
    code, out, err = run(
        capsys,
        "dream",
        str(trained),
        "3",
        "--start",
        "test-image",
        "7",
        "--seeds",
        "0",
        "--steps",
        "50",
        "--smooth",
        "0.05",
        "--range",
        "1",
    )
    assert code == 0, err
    assert "Dreaming a 3" in out
    assert "from test-image 7" in out
    first = run_json(
        capsys,
        "dream",
        str(trained),
        "3",
        "--start",
        "test-image",
        "7",
        "--seeds",
        "0",
        "--steps",
        "1",
    )
    x7 = to_inputs(load_mini().test_images[7:8], np.float64)[0]
    assert first["start_resemblance"]["correlations"][0] == pytest.approx(
        float(
            np.corrcoef(
                x7,
                to_inputs(load_mini().train_images, np.float64)[load_mini().train_labels == 0].mean(
                    axis=0
                ),
            )[0, 1]
        )
    )


def test_memorize_lists_have_one_entry_per_epoch_and_shuffled_is_at_chance(
    tmp_path: Path, capsys
) -> None:
    out = run_json(
        capsys,
        "memorize",
        "--epochs",
        "6",
        "--limit",
        "1000",
        "--seeds",
        "0,1",
        "--plot",
        str(tmp_path),
    )
    assert out["seeds"] == [0, 1]
    for labels in ("true", "shuffled"):
        for key in ("train_cost", "train_accuracy", "test_accuracy"):
            assert len(out[labels][key]) == 6 + 1
    assert abs(out["shuffled"]["test_accuracy"][-1] - 0.1) < 0.04
    assert out["true"]["test_accuracy"][-1] > 0.6
    assert (tmp_path / "memorize.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dream", "12"], "DIGIT must be 0 to 9"),
        (["dream", "5", "--start", "clouds"], "--start takes noise, blank or test-image N"),
        (["dream", "5", "--start", "test-image", "99999"], "index from 0 to 1999"),
        (["dream", "5", "--steps", "0"], "--steps"),
        (["noise", "--images", "0"], "--images"),
        (["noise", "--seeds", "0-40"], "seeds"),
        (["memorize", "--epochs", "0"], "epochs"),
        (["features", "no-such-model.npz"], "no-such-model.npz"),
    ],
)
def test_bad_input_is_one_error_and_one_help_line(capsys, argv: list[str], message: str) -> None:
    code, _out, err = run(capsys, *argv)
    assert code == 1
    assert message in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ")
    assert lines[-1].startswith("help: ")


@pytest.mark.slow
def test_the_lessons_verdicts_hold_for_the_default_networks(capsys) -> None:
    """docs/lesson-video.md, with the commands' defaults (seeds 0–4): noise gets most of the
    outputs, most noise images get more than half, test digits get more; the dreamed 5 is
    read as a 5 while it looks no more like a 5 than a real 5 does."""
    noise = run_json(capsys, "noise")
    assert noise["noise_max_probability"]["mean"] > 0.6
    assert noise["kinds"]["noise"]["share_confident"]["mean"] > 0.8
    assert noise["test_max_probability"]["mean"] > noise["noise_max_probability"]["mean"] + 0.1
    dream = run_json(capsys, "dream", "5")
    over = dream["over_seeds"]
    assert over["final_probability"]["mean"] > 0.8
    assert abs(over["target_correlation"]["mean"]) < 0.1
    assert dream["real_digits"]["target_correlation"]["mean"] > 0.5
