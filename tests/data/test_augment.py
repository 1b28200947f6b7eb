"""Data augmentation: the distortions' geometry, their statistics, and training with them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nudgenet.data import load_mini, to_inputs
from nudgenet.data.augment import Distortion, distort, elastic_fields, gaussian_matrix
from nudgenet.data.warp_kernel import warp as _warp
from nudgenet.errors import ConfigError
from nudgenet.network import Network
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, Run, augment_stream, fit, seed_streams

IDENTITY = np.eye(2, dtype=np.float32)[None]
NO_SHIFT = np.zeros((1, 2), np.float32)
STILL = np.zeros((1, 28, 28), np.float32)


def digits(n: int = 50) -> np.ndarray:
    return to_inputs(load_mini().train_images[:n])


def warp(image: np.ndarray, A=IDENTITY, shift=NO_SHIFT, dy=STILL, dx=STILL) -> np.ndarray:
    out = np.empty((1, 28, 28), np.float32)
    _warp(image[None].astype(np.float32), np.ascontiguousarray(A, np.float32), shift, dy, dx, out)
    return out[0]


def test_identity_map_reads_every_pixel_where_it_is() -> None:
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    np.testing.assert_array_equal(warp(image), image)


def test_a_whole_pixel_shift_moves_the_image_and_brings_in_background() -> None:
    image = np.random.default_rng(1).random((28, 28), dtype=np.float32)
    moved = warp(image, shift=np.array([[1.0, 0.0]], np.float32))  # read one row below
    np.testing.assert_allclose(moved[:-1], image[1:], atol=1e-6)
    np.testing.assert_array_equal(moved[-1], 0)


def test_a_quarter_turn_about_the_centre_is_rot90() -> None:
    image = np.random.default_rng(2).random((28, 28), dtype=np.float32)
    # output (r, q) reads source (q', −r') about the centre: a quarter turn
    quarter = np.array([[[0.0, 1.0], [-1.0, 0.0]]], np.float32)
    np.testing.assert_allclose(warp(image, A=quarter), np.rot90(image, 1), atol=1e-5)


def test_half_pixel_reads_average_their_neighbours() -> None:
    image = np.zeros((28, 28), np.float32)
    image[10, 10] = 1.0
    dx = np.full((1, 28, 28), 0.5, np.float32)
    out = warp(image, dx=dx)
    assert out[10, 9] == pytest.approx(0.5)
    assert out[10, 10] == pytest.approx(0.5)


def test_elastic_fields_have_the_statistics_of_simards_smoothed_noise() -> None:
    s = Distortion()
    rng = np.random.default_rng(3)
    G = gaussian_matrix(s.sigma)
    simard = s.alpha * (G @ rng.uniform(-1, 1, (3000, 28, 28)).astype(np.float32) @ G.T)
    dy, _ = elastic_fields(3000, rng, s)
    assert dy.std(axis=0).mean() == pytest.approx(simard.std(axis=0).mean(), rel=0.05)
    for lag in (1, 4, 8):
        ours = np.corrcoef(dy[:, 12, 10], dy[:, 12, 10 + lag])[0, 1]
        theirs = np.corrcoef(simard[:, 12, 10], simard[:, 12, 10 + lag])[0, 1]
        assert ours == pytest.approx(theirs, abs=0.06)


def test_gaussian_matrix_rows_sum_to_one_away_from_the_border() -> None:
    G = gaussian_matrix(2.0)
    assert G[14].sum() == pytest.approx(1.0, abs=1e-3)
    assert G[0].sum() < 0.6  # half the taps fall outside the image


@pytest.mark.parametrize("kind", ["affine", "elastic", "both"])
def test_distortions_are_seeded_bounded_and_keep_the_digit(kind: str) -> None:
    X = digits()
    a = distort(X, kind, np.random.default_rng(7))
    b = distort(X, kind, np.random.default_rng(7))
    c = distort(X, kind, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0
    assert a.max() <= 1
    # Moved, not destroyed: the digits keep their ink (scaling and local stretching change
    # it by tens of per cent at most) and still overlap themselves.
    ratio = a.sum(axis=1) / X.sum(axis=1)
    assert 0.9 < np.median(ratio) < 1.1
    assert np.all((ratio > 0.45) & (ratio < 2.2))
    overlap = [np.corrcoef(x, y)[0, 1] for x, y in zip(X, a, strict=True)]
    assert np.median(overlap) > 0.4


def test_none_copies_into_the_buffer() -> None:
    X = digits(5)
    out = np.zeros_like(X)
    assert distort(X, "none", np.random.default_rng(0), out=out) is out
    np.testing.assert_array_equal(out, X)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="augment"):
        distort(digits(2), "swirl", np.random.default_rng(0))


@settings(max_examples=25, deadline=None)
@given(
    arrays(np.float32, (3, 784), elements=st.floats(0, 1, width=32)),
    st.sampled_from(["affine", "elastic", "both"]),
    st.integers(0, 2**32 - 1),
)
def test_any_image_stays_finite_and_in_range(X: np.ndarray, kind: str, seed: int) -> None:
    out = distort(X, kind, np.random.default_rng(seed))
    assert np.all(np.isfinite(out))
    assert out.min() >= 0
    assert out.max() <= 1 + 1e-6


# ---------------------------------------------------------------------------------------------
# training with augmentation


def _fit(augment: str, engine: str, epochs: int = 2):
    recipe = Recipe(settings=TrainSettings(epochs=epochs, augment=augment), engine=engine)
    return fit(recipe, load_mini(), train_size=600)


@pytest.mark.slow
def test_augmented_training_is_reproducible_and_engines_agree() -> None:
    fast, again, reference = _fit("both", "fast"), _fit("both", "fast"), _fit("both", "reference")
    np.testing.assert_array_equal(fast.theta, again.theta)
    np.testing.assert_allclose(fast.theta, reference.theta, rtol=0, atol=2e-4)
    np.testing.assert_allclose(_fit("both", "blas").theta, reference.theta, rtol=0, atol=2e-4)
    plain = _fit("none", "fast")
    assert np.abs(fast.theta - plain.theta).max() > 1e-2  # the distorted digits were used
    assert fast.settings["augment"] == "both"


def test_augmenting_changes_neither_the_start_nor_the_clean_measurements() -> None:
    plain, augmented = _fit("none", "fast", epochs=1), _fit("both", "fast", epochs=1)
    assert plain.history[0] == augmented.history[0]  # epoch 0: the same θ₀, measured on X
    init, shuffle = seed_streams(0)
    assert augment_stream(0).integers(2**62) not in (init.integers(2**62),
                                                    shuffle.integers(2**62))  # fmt: skip


def test_augmentation_needs_28_by_28_images() -> None:
    X = np.random.default_rng(0).random((20, 6)).astype(np.float32)
    Y = np.eye(2, dtype=np.float32)[np.arange(20) % 2]
    from nudgenet.training.loop import train

    net = Network((6, 3, 2))
    theta = np.zeros(net.n_params, np.float32)
    with pytest.raises(ConfigError, match="28 × 28"):
        next(train(net, theta, X, Y, TrainSettings(augment="affine"),
                   rng=np.random.default_rng(0), augment_rng=np.random.default_rng(1)))  # fmt: skip


def test_run_uses_the_seeds_own_augmentation_stream() -> None:
    run = Run(Recipe(settings=TrainSettings(epochs=1, augment="elastic"), seed=3), load_mini(),
              train_size=200)  # fmt: skip
    first = run._augment_rng.integers(2**62)
    assert first == augment_stream(3).integers(2**62)
