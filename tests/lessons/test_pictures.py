"""Pictures of a training run: the numbers behind each figure, and the figures themselves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, Model, ShapeError, load_mini, to_inputs
from nudgenet.cli import main
from nudgenet.lessons.pictures import (
    FIGURES,
    MAX_CURVE_POINTS,
    Mistake,
    confusion_figure,
    confusion_matrix,
    cost_figure,
    draw_all,
    learning_rate_curve,
    learning_rate_figure,
    misclassified,
    misclassified_figure,
    moving_average,
    outputs_figure,
    weights_figure,
)
from nudgenet.network import feedforward

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _train(path: Path, *extra: str) -> Model:
    argv = ["train", "--epochs", "2", "--batch-size", "100", "--out", str(path), "--json"]
    assert main([*argv, *extra]) == 0
    return Model.load(path)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """The seed network after two quick epochs on the embedded data."""
    return _train(tmp_path_factory.mktemp("pictures") / "seed.npz")


@pytest.fixture(scope="module")
def mini():
    return load_mini()


# --------------------------------------------------------------------------- moving_average


def test_moving_average_by_hand() -> None:
    out = moving_average([4.0, 2.0, 6.0, 0.0, 10.0], 3)
    np.testing.assert_allclose(out, [4.0, 3.0, 4.0, 8 / 3, 16 / 3])


def test_moving_average_window_one_is_identity_and_wide_window_is_running_mean() -> None:
    x = np.random.default_rng(0).normal(size=50)
    np.testing.assert_allclose(moving_average(x, 1), x)
    np.testing.assert_allclose(moving_average(x, 1000), np.cumsum(x) / np.arange(1, 51))


def test_moving_average_rejects_bad_window_and_shape() -> None:
    with pytest.raises(ConfigError, match="window"):
        moving_average([1.0, 2.0], 0)
    with pytest.raises(ShapeError, match="1-D"):
        moving_average(np.ones((2, 2)), 2)


# --------------------------------------------------------------------------- confusion_matrix


def test_confusion_matrix_counts_by_hand() -> None:
    labels = [0, 0, 1, 2, 2, 2]
    guesses = [0, 1, 1, 2, 0, 2]
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    counts = confusion_matrix(labels, guesses, n=3)
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == len(labels)
    assert np.trace(counts) == 4  # four right answers


def test_confusion_matrix_rejects_bad_input() -> None:
    with pytest.raises(ShapeError, match="one guess per label"):
        confusion_matrix([0, 1], [0], n=2)
    with pytest.raises(ConfigError, match=r"0\.\.2"):
        confusion_matrix([0, 3], [0, 1], n=3)


# --------------------------------------------------------------------------- misclassified


def test_misclassified_by_hand() -> None:
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    mistakes = misclassified([0, 0, 1, 1], [0, 1, 0, 1], probs)
    assert mistakes == [Mistake(1, 0, 1, 0.7), Mistake(2, 1, 0, 0.6)]
    assert misclassified([0, 0, 1, 1], [0, 1, 0, 1], probs, limit=1) == mistakes[:1]


def test_misclassified_on_a_real_model_lists_exactly_the_mistakes(model: Model, mini) -> None:
    X = to_inputs(mini.test_images, model.theta.dtype)
    probs = model.probabilities(X)
    guesses = model.predict(X)
    mistakes = misclassified(mini.test_labels, guesses, probs)
    assert len(mistakes) == int(np.sum(guesses != mini.test_labels)) > 0
    for m in mistakes:
        assert mini.test_labels[m.index] == m.label != m.guess == guesses[m.index]
        assert m.probability == pytest.approx(float(probs[m.index].max()))
    assert [m.index for m in mistakes] == sorted(m.index for m in mistakes)


# --------------------------------------------------------------------------- learning rate


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine"])
def test_learning_rate_curve_matches_the_recorded_history(tmp_path: Path, schedule: str) -> None:
    model = _train(tmp_path / "m.npz", "--schedule", schedule, "--lr", "2", "--epochs", "4")
    curve = learning_rate_curve(model)
    assert curve.steps_per_epoch == 100  # 10,000 images in batches of 100
    assert len(curve.learning_rate) == 400
    assert curve.learning_rate[0] == pytest.approx(2.0)
    for record in model.history[1:]:
        k = record["epoch"] * curve.steps_per_epoch - 1  # the epoch's last step
        assert curve.learning_rate[k] == pytest.approx(record["learning_rate"], rel=1e-12)
    # From the training-set size instead of the records: the same curve.
    np.testing.assert_array_equal(learning_rate_curve(model, n_train=10_000).learning_rate,
                                  curve.learning_rate)  # fmt: skip
    if schedule == "constant":
        assert np.all(curve.learning_rate == 2.0)
    else:
        assert np.all(np.diff(curve.learning_rate) <= 0)
        assert curve.learning_rate[-1] < 1.0


def test_learning_rate_curve_of_a_model_claiming_a_trillion_epochs_is_a_bounded_sample(
    model: Model,
) -> None:
    claims = Model(model.network, model.theta, settings={**model.settings, "epochs": 10**12},
                   history=model.history)  # fmt: skip
    curve = learning_rate_curve(claims)
    assert len(curve.steps) == MAX_CURVE_POINTS
    assert curve.steps[0] == 0
    assert curve.steps[-1] == 100 * 10**12 - 1
    assert np.all(np.diff(curve.steps) > 0)


def test_learning_rate_curve_needs_the_settings(model: Model) -> None:
    bare = Model(model.network, model.theta, history=model.history)
    with pytest.raises(ConfigError, match="schedule, lr, epochs"):
        learning_rate_curve(bare)


# --------------------------------------------------------------------------- figures


def test_cost_figure_draws_the_history_and_every_step(model: Model) -> None:
    ax = cost_figure(model).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    train = lines["whole training set, each epoch"]
    np.testing.assert_allclose(train.get_ydata(), [h["train_cost"] for h in model.history])
    np.testing.assert_array_equal(train.get_xdata(), [0, 1, 2])
    steps = next(line for label, line in lines.items() if label.startswith("one mini-batch"))
    assert len(steps.get_xdata()) == 200
    assert steps.get_xdata()[-1] == pytest.approx(199 / 100)  # x in epochs
    assert "cost C (quadratic)" in ax.get_ylabel()
    assert "epoch" in ax.get_xlabel()


def test_learning_rate_figure_draws_the_curve(model: Model) -> None:
    ax = learning_rate_figure(model).axes[0]
    curve = learning_rate_curve(model)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), curve.learning_rate)
    assert "learning rate" in ax.get_ylabel()


def test_weights_figure_shows_each_first_layer_row_on_one_symmetric_scale(model: Model) -> None:
    fig = weights_figure(model)
    W, b = model.network.layout.views(model.theta)[0]
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 16
    for i, image in enumerate(images):
        np.testing.assert_array_equal(image.get_array(), W[i].reshape(28, 28))
        low, high = image.get_clim()
        assert low == -high == pytest.approx(-np.abs(W).max())
    neuron, bias = fig.axes[5].get_title().split("\n")
    assert neuron == "neuron 5"
    assert float(bias.removeprefix("b = ")) == pytest.approx(b[5], abs=0.005)


def test_weights_figure_grid_for_other_widths(tmp_path: Path) -> None:
    wide = _train(tmp_path / "w.npz", "--sizes", "784,30,10", "--epochs", "1")
    fig = weights_figure(wide)
    assert sum(1 for ax in fig.axes if ax.images) == 30
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (5, 6)
    assert sum(1 for ax in weights_figure(wide, limit=9).axes if ax.images) == 9


def test_confusion_figure_annotates_the_counts(model: Model, mini) -> None:
    ax = confusion_figure(model, mini.test_images, mini.test_labels).axes[0]
    guesses = model.predict(to_inputs(mini.test_images, model.theta.dtype))
    counts = confusion_matrix(mini.test_labels, guesses)
    np.testing.assert_array_equal(ax.images[0].get_array(), counts)
    texts = [int(t.get_text()) for t in ax.texts]
    assert texts == counts.ravel().tolist()
    assert f"{100 * np.mean(guesses == mini.test_labels):.1f}% right" in ax.get_title()


def test_misclassified_figure_titles_say_true_guess_and_probability(model: Model, mini) -> None:
    fig = misclassified_figure(model, mini.test_images, mini.test_labels, limit=6)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 6
    for title in titles:
        pair, index = title.split("\n")
        true, guess = pair.split(" (")[0].split(" → ")
        assert true != guess
        assert int(true) == mini.test_labels[int(index.lstrip("#"))]


def test_outputs_figure_bars_are_the_output_activations(model: Model, mini) -> None:
    fig = outputs_figure(model, mini.test_images, mini.test_labels, index=3)
    X = to_inputs(mini.test_images[3:4], model.theta.dtype)
    a = feedforward(model.network, model.theta, X)[-1][0]
    bars = fig.axes[1].patches[:10]
    np.testing.assert_allclose([bar.get_height() for bar in bars], a, rtol=1e-6)
    assert f"label: {mini.test_labels[3]}" in fig.axes[0].get_title()
    with pytest.raises(ConfigError, match="out of range"):
        outputs_figure(model, mini.test_images, mini.test_labels, index=2000)


def test_outputs_figure_prints_a_small_cost_in_significant_digits(tmp_path: Path, mini) -> None:
    model = _train(tmp_path / "sure.npz", "--batch-size", "10")
    # The network made surer of itself: the output layer's z scaled up pushes every output
    # towards 0 or 1, so the images it gets right cost next to nothing.
    theta = model.theta.copy()
    W, b = model.network.layout.views(theta)[-1]
    W *= 4.0
    b *= 4.0
    model = replace(model, theta=theta)
    X = to_inputs(mini.test_images, model.theta.dtype)
    a = feedforward(model.network, model.theta, X)[-1]
    Y = np.eye(10)[mini.test_labels]
    costs = np.sum((a - Y) ** 2, axis=1)
    index = int(np.argmin(costs))  # the image the model is surest of: a cost far below 0.001
    assert costs[index] < 5e-4
    title = outputs_figure(model, mini.test_images, mini.test_labels, index=index).axes[1]
    title = title.get_title()
    assert title.endswith(f" = {costs[index]:.3g}")
    assert float(title.rsplit(" = ", 1)[1]) == pytest.approx(costs[index], rel=5e-3)
    assert "0.000" not in title


# --------------------------------------------------------------------------- draw_all


def test_draw_all_writes_every_figure(model: Model, mini, tmp_path: Path) -> None:
    out = tmp_path / "new" / "plots"
    written = draw_all(model, mini, out, formats=("png", "svg"), image_index=5)
    assert [p.name for p in written[::2]] == [f"{name}.png" for name in FIGURES]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    for path in written:
        head = path.read_bytes()[:400]
        assert head.startswith(PNG_MAGIC) if path.suffix == ".png" else b"<svg" in head


def test_draw_all_checks_before_writing(model: Model, mini, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"image index 2000 is out of range.*0 to 1999"):
        draw_all(model, mini, tmp_path / "out", image_index=2000)
    with pytest.raises(ConfigError, match="no training history"):
        draw_all(Model(model.network, model.theta), mini, tmp_path / "out")
    assert not (tmp_path / "out").exists()
