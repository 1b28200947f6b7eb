"""Tests for nudgenet.sklearn: scikit-learn's estimator contract over nudgenet's training loop."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nudgenet import ConfigError, Model, TrainSettings, load_mini, to_inputs
from nudgenet.sklearn import NudgenetClassifier, expected_failed_checks
from nudgenet.training.recipe import Recipe, fit

OTHER = NudgenetClassifier(
    hidden_layer_sizes=(8,), activation="tanh", output="softmax", cost="cross-entropy",
    init="he", learning_rate=0.05, momentum=0.5, schedule="cosine", dtype="float64",
)  # fmt: skip


@parametrize_with_checks(
    [NudgenetClassifier(), OTHER], expected_failed_checks=expected_failed_checks
)
def test_passes_scikit_learns_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_trains_exactly_as_the_recipe_does() -> None:
    """The same seed and settings give θ bit for bit equal to ``nudgenet train``'s."""
    data = load_mini()
    n = 1000
    recipe = Recipe(settings=TrainSettings(epochs=2, lr=0.5, momentum=0.5, schedule="cosine"))
    expected = fit(recipe, data, train_size=n)
    clf = NudgenetClassifier(epochs=2, learning_rate=0.5, momentum=0.5, schedule="cosine")
    clf.fit(to_inputs(data.train_images[:n]), data.train_labels[:n])
    assert clf.model_.theta.tobytes() == expected.theta.tobytes()
    assert clf.model_.network == expected.network
    costs = [h["train_cost"] for h in clf.model_.history]
    assert costs == [h["train_cost"] for h in expected.history]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    """scikit-learn's 8×8 digits (64 inputs, 10 classes), split 3:1."""
    X, y = load_digits(return_X_y=True)
    return tuple(train_test_split(X, y, random_state=0))


def test_learns_any_table_inside_a_pipeline(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    clf = make_pipeline(MinMaxScaler(), NudgenetClassifier(hidden_layer_sizes=(32,), epochs=20))
    clf.fit(X_train, y_train)
    assert clf[-1].model_.network.sizes == (64, 32, 10)
    assert clf.score(X_test, y_test) > 0.9


def test_labels_of_any_type_come_back_as_given(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])  # fmt: skip
    clf = make_pipeline(MinMaxScaler(), NudgenetClassifier(hidden_layer_sizes=(32,), epochs=20))
    clf.fit(X_train, names[y_train])
    assert list(clf[-1].classes_) == sorted(names)
    guesses = clf.predict(X_test)
    assert guesses.dtype.kind == "U"
    assert np.mean(guesses == names[y_test]) > 0.9
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert np.array_equal(clf[-1].classes_[proba.argmax(1)], guesses)


def test_grid_search_chooses_among_settings(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    search = GridSearchCV(
        make_pipeline(MinMaxScaler(), NudgenetClassifier(hidden_layer_sizes=(16,), epochs=5)),
        {"nudgenetclassifier__learning_rate": [1e-4, 1.0]},
        cv=3,
    )
    search.fit(X_train, y_train)
    assert search.best_params_ == {"nudgenetclassifier__learning_rate": 1.0}
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > 0.8 > scores[0]  # η = 1e-4 barely moves in 5 epochs
    assert search.score(X_test, y_test) > 0.8


def test_partial_fit_continues_from_theta(digits) -> None:
    X_train, _, y_train, _ = digits
    X_train = X_train / 16
    clf = NudgenetClassifier(hidden_layer_sizes=(16,))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X_train, y_train)
    costs = []
    for _ in range(3):
        clf.partial_fit(X_train, y_train, classes=np.arange(10))
        costs.append(clf.model_.history[-1]["train_cost"])
    assert clf.n_iter_ == 3
    assert [h["epoch"] for h in clf.model_.history] == [0, 1, 2, 3]
    assert costs[0] > costs[1] > costs[2]
    with pytest.raises(ConfigError, match="outside the classes given"):
        clf.partial_fit(X_train[:2], np.array([10, 11]))


def test_settings_are_checked_by_the_option_table_when_fitting(digits) -> None:
    X_train, _, y_train, _ = digits
    clf = NudgenetClassifier(activation="swish")  # scikit-learn: no check in __init__
    with pytest.raises(ConfigError, match="unknown activation 'swish' for the hidden layers"):
        clf.fit(X_train, y_train)
    with pytest.raises(ConfigError, match=re.escape("momentum must be in [0, 1), got 1.5")):
        NudgenetClassifier(momentum=1.5).fit(X_train, y_train)
    with pytest.raises(ConfigError, match="random_state must be an integer seed"):
        NudgenetClassifier(random_state="zero").fit(X_train, y_train)


def test_random_states(digits) -> None:
    X_train, _, y_train, _ = digits
    X = X_train[:200] / 16

    def theta(random_state) -> bytes:
        clf = NudgenetClassifier(epochs=1, random_state=random_state).fit(X, y_train[:200])
        return clf.model_.theta.tobytes()

    assert theta(3) == theta(3) != theta(4)
    assert theta(np.random.default_rng(5)) == theta(np.random.default_rng(5))
    assert theta(None) != theta(None)


def test_the_trained_model_is_a_nudgenet_model(digits, tmp_path: Path) -> None:
    X_train, X_test, y_train, _ = digits
    clf = NudgenetClassifier(hidden_layer_sizes=(8,), epochs=2).fit(X_train / 16, y_train)
    loaded = Model.load(clf.model_.save(tmp_path / "digits.npz"))
    assert loaded.settings["seed"] == 0
    assert loaded.settings["epochs"] == 2
    np.testing.assert_array_equal(loaded.probabilities((X_test / 16).astype(np.float32)),
                                  clf.predict_proba(X_test / 16))  # fmt: skip
