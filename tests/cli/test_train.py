"""``nudgenet train`` as a user meets it: what it prints, saves and refuses."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json
from machine import processor

from nudgenet import Model, load_mini


def test_train_prints_each_epoch_and_saves(tmp_path: Path, capsys) -> None:
    out_path = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--epochs", "2", "--out", str(out_path))
    assert code == 0, err
    assert "784-16-16-10 (13,002 weights and biases) on mini" in out
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in lines] == ["0/2", "1/2", "2/2"]
    assert all("cost" in line and "test accuracy" in line for line in lines)
    model = Model.load(out_path)
    assert model.n_params == 13002
    assert len(model.history) == 3
    assert model.settings["seed"] == 0
    assert model.settings["data"] == "mini"


def test_train_json_is_one_object_and_learns(tmp_path: Path, capsys) -> None:
    result = run_json(capsys, "train", "--epochs", "2", "--out", str(tmp_path / "m.npz"))
    history = result["history"]
    assert result["num_params"] == 13002
    assert history[0]["test_accuracy"] < 0.3  # the untrained network guesses
    assert history[-1]["test_accuracy"] > 0.8
    assert history[-1]["train_cost"] < history[0]["train_cost"]
    assert result["test_accuracy"] == history[-1]["test_accuracy"]


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path: Path, capsys) -> None:
    def once(seed: str, name: str) -> tuple[np.ndarray, list]:
        path = tmp_path / name
        args = ["train", "--epochs", "1", "--seed", seed, "--dtype", "float64"]
        result = run_json(capsys, *args, "--out", str(path))
        costs = [(h["train_cost"], h["test_accuracy"]) for h in result["history"]]
        return Model.load(path).theta, costs

    theta_a, costs_a = once("7", "a.npz")
    theta_b, costs_b = once("7", "b.npz")
    theta_c, _ = once("8", "c.npz")
    np.testing.assert_array_equal(theta_a, theta_b)
    assert costs_a == costs_b
    assert not np.array_equal(theta_a, theta_c)


def test_batch_size_does_not_change_the_initial_weights(tmp_path: Path, capsys) -> None:
    results = [
        run_json(capsys, "train", "--epochs", "1", "--batch-size", b, "--out", str(tmp_path / b))
        for b in ("10", "0")
    ]
    # Epoch 0 is measured before any step: same init, same cost.
    assert results[0]["history"][0] == results[1]["history"][0]


@pytest.mark.parametrize(
    "options",
    [
        ["--activation", "relu", "--output", "softmax", "--cost", "cross-entropy", "--init", "he"],
        ["--activation", "tanh", "--cost", "cross-entropy", "--init", "scaled", "--lr", "0.5"],
        ["--sizes", "784,30,10", "--momentum", "0.9", "--l2", "1e-4", "--lr", "0.1"],
        ["--schedule", "step", "--batch-size", "0", "--lr", "3", "--init", "normal"],
        ["--schedule", "exponential", "--batch-size", "32", "--dtype", "float64"],
        ["--schedule", "inverse-time", "--init", "constant"],
    ],
)
def test_train_options(options: list[str], tmp_path: Path, capsys) -> None:
    result = run_json(capsys, "train", "--epochs", "1", *options, "--out", str(tmp_path / "m"))
    assert np.isfinite(result["train_cost"])
    model = Model.load(result["model"])
    for flag, key in [("--activation", "activation"), ("--output", "output")]:
        if flag in options:
            assert getattr(model.network, key) == options[options.index(flag) + 1]


def test_constant_init_keeps_hidden_neurons_identical(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.npz"
    run_json(capsys, "train", "--epochs", "1", "--init", "constant", "--out", str(path))
    model = Model.load(path)
    (W1, _), (W2, _), _ = model.network.layout.views(model.theta)
    # Every neuron of a layer got the same gradient, so all rows are still equal.
    assert np.all(W1[0] == W1)
    assert np.all(W2[0] == W2)


def test_diverging_learning_rate_stops_with_advice(tmp_path: Path, capsys) -> None:
    code, out, err = run(
        capsys, "train", "--epochs", "1", "--lr", "1000", "--activation", "relu",
        "--output", "softmax", "--cost", "cross-entropy", "--out", str(tmp_path / "m.npz"),
    )  # fmt: skip
    assert code == 1
    assert "diverged" in err
    assert "smaller learning rate" in err
    assert "nan" not in out.lower()
    assert not (tmp_path / "m.npz").exists()


def test_saturating_learning_rate_warns(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "train", "--epochs", "1", "--lr", "50", "--out", str(tmp_path / "m"))
    assert code == 0
    assert "learned next to nothing" in err
    assert "--lr" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "nan"], "learning rate must be a positive finite number"),
        (["--lr", "0"], "learning rate must be a positive finite number"),
        (["--epochs", "0"], "epochs must be a positive integer"),
        (["--batch-size", "-1"], "batch size must be a non-negative integer"),
        (["--momentum", "1.5"], "momentum must be in [0, 1)"),
        (["--sizes", "784,16,16,9"], "does not fit mini"),
        (["--data", "no/such/folder"], "unknown data set 'no/such/folder'"),
    ],
)
def test_train_bad_input_is_one_clear_line(argv, message, tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "train", *argv, "--out", str(tmp_path / "m.npz"))
    assert code == 1
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err


def test_train_from_a_folder_of_idx_files(tmp_path: Path, capsys) -> None:
    mini = load_mini()
    folder = tmp_path / "digits"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", mini.train_images[:500])
    write_idx(folder / "train-labels-idx1-ubyte", mini.train_labels[:500])
    write_idx(folder / "t10k-images-idx3-ubyte", mini.test_images[:100])
    write_idx(folder / "t10k-labels-idx1-ubyte", mini.test_labels[:100])
    result = run_json(capsys, "train", "--data", str(folder), "--epochs", "1",
                      "--out", str(tmp_path / "m.npz"))  # fmt: skip
    assert result["settings"]["data"] == str(folder)
    evaluated = run_json(capsys, "evaluate", str(tmp_path / "m.npz"))
    assert evaluated["n"] == 100  # evaluates on the model's own data by default
    assert evaluated["accuracy"] == pytest.approx(result["test_accuracy"])


def test_named_data_set_comes_from_the_cache(tmp_path: Path, capsys, monkeypatch) -> None:
    mini = load_mini()
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    for name, array in [
        ("train-images-idx3-ubyte", mini.train_images[:300]),
        ("train-labels-idx1-ubyte", mini.train_labels[:300]),
        ("t10k-images-idx3-ubyte", mini.test_images[:50]),
        ("t10k-labels-idx1-ubyte", mini.test_labels[:50]),
    ]:
        write_idx(folder / name, array)
    monkeypatch.setenv("NUDGENET_DATA", str(tmp_path / "cache"))
    result = run_json(capsys, "train", "--data", "mnist", "--epochs", "1",
                      "--out", str(tmp_path / "m.npz"))  # fmt: skip
    assert result["settings"]["data"] == "mnist"
    assert len(result["history"]) == 2


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (big-endian header, then the bytes)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.mark.mnist
@pytest.mark.slow
def test_train_on_full_mnist(mnist_dir: Path, tmp_path: Path, capsys) -> None:
    result = run_json(capsys, "train", "--data", str(mnist_dir), "--epochs", "1",
                      "--out", str(tmp_path / "m.npz"))  # fmt: skip
    assert result["history"][-1]["test_accuracy"] > 0.88
    evaluated = run_json(capsys, "evaluate", str(tmp_path / "m.npz"), "--data", str(mnist_dir))
    assert evaluated["n"] == 10000
    assert sum(map(sum, evaluated["confusion"])) == 10000


@pytest.mark.slow
def test_default_training_reaches_90_percent_on_the_embedded_data(tmp_path: Path, capsys) -> None:
    """`nudgenet train` with no options: the seed network on the embedded subset."""
    result = run_json(capsys, "train", "--out", str(tmp_path / "m.npz"))
    assert result["sizes"] == [784, 16, 16, 10]
    assert result["settings"]["cost"] == "quadratic"
    assert result["test_accuracy"] >= 0.90


def test_train_keeps_step_costs_and_optional_snapshots(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.npz"
    run_json(capsys, "train", "--epochs", "2", "--batch-size", "100", "--snapshots",
             "--out", str(path))  # fmt: skip
    model = Model.load(path)
    assert model.step_costs is not None
    assert model.step_costs.shape == (2 * 100,)
    assert model.snapshots is not None
    assert model.snapshots.shape == (3, 13002)
    np.testing.assert_array_equal(model.snapshots[-1], model.theta)
    plain = tmp_path / "plain.npz"
    run_json(capsys, "train", "--epochs", "1", "--out", str(plain))
    assert Model.load(plain).snapshots is None


def test_augment_alone_means_both_and_is_recorded(tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "train", "--epochs", "1", "--augment",
                         "--out", str(tmp_path / "a.npz"))  # fmt: skip
    assert code == 0, err
    assert "augment both" in out
    assert Model.load(tmp_path / "a.npz").settings["augment"] == "both"
    code, out, _ = run(capsys, "train", "--epochs", "1",
                       "--out", str(tmp_path / "b.npz"))  # fmt: skip
    assert ", augment" not in out
    assert Model.load(tmp_path / "b.npz").settings["augment"] == "none"


def test_augment_names_a_kind(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "train", "--augment", "swirl", "--out", str(tmp_path / "m.npz"))
    assert exit_.value.code == 2
    assert "invalid choice: 'swirl'" in capsys.readouterr().err


def test_the_readmes_quick_start_output_is_what_train_prints(tmp_path: Path, capsys) -> None:
    """The README shows the default run: its first lines as printed everywhere, and its end as
    printed on the processor it names; elsewhere float32 rounds otherwise, and the end may
    differ, by less than a point of accuracy and 0.005 of cost."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    code, out, err = run(capsys, "train", "--out", str(tmp_path / "m.npz"))
    assert code == 0, err
    printed = out.splitlines()

    def without_seconds(line: str) -> str:
        return re.sub(r"\s+[\d.]+ s$", "", line)

    head = shown[: shown.index("...")]
    assert [without_seconds(line) for line in printed[: len(head)]] == [
        without_seconds(line) for line in head
    ]

    def end(lines: list[str]) -> tuple[str, str]:
        """The last line's test accuracy and the last epoch's cost."""
        return lines[-1].split()[2].rstrip("%;"), lines[-2].split()[3]

    named = re.search(r"The run above is from an? ([\w ]+);", readme)
    assert named is not None
    if all(word in processor() for word in named.group(1).split()):
        assert end(printed) == end(shown)
    else:
        (accuracy, cost), (shown_accuracy, shown_cost) = end(printed), end(shown)
        assert abs(float(accuracy) - float(shown_accuracy)) < 1.0
        assert abs(float(cost) - float(shown_cost)) < 0.005
