"""Folders of labelled images, the outside-handwriting set, and what preprocessing adds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json
from PIL import Image, ImageDraw

from nudgenet import Model
from nudgenet.data import load_mini, preprocess, to_inputs
from nudgenet.data.embedded import load_default_model
from nudgenet.data.images import (
    BOX,
    STROKE_RANGE,
    _crop_to_ink,
    _normalise_stroke,
    stroke_width,
)
from nudgenet.data.labelled import label_of, load_labelled
from nudgenet.errors import DataError
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit

HANDWRITING = Path(__file__).parent / "handwriting"


def _digit_file(path: Path, digit: int) -> None:
    """A real digit from the embedded set, as black ink on white paper, 3× larger."""
    images, labels = load_mini().test_images, load_mini().test_labels
    pixels = 255 - images[np.flatnonzero(labels == digit)[0]]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).resize((84, 84)).save(path)


def test_labels_come_from_names_or_folders(tmp_path: Path) -> None:
    _digit_file(tmp_path / "7-mine.png", 7)
    _digit_file(tmp_path / "3_scan.png", 3)
    _digit_file(tmp_path / "5" / "photo.png", 5)
    _digit_file(tmp_path / "notes" / "x.png", 1)  # no label: left out
    Image.new("L", (40, 40), 255).save(tmp_path / "2-blank.png")  # no ink: unreadable
    found = load_labelled(tmp_path)
    assert found.names == ["3_scan.png", "5/photo.png", "7-mine.png"]
    assert found.labels.tolist() == [3, 5, 7]
    assert found.images.shape == (3, 28, 28)
    assert [(name, label) for name, label, _ in found.unreadable] == [("2-blank.png", 2)]
    assert label_of(tmp_path / "12-x.png", tmp_path) is None  # two digits: not a label


def test_a_folder_without_labelled_images_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no labelled image") as err:
        load_labelled(tmp_path)
    assert "7-mine.png" in err.value.help
    with pytest.raises(DataError, match="no folder"):
        load_labelled(tmp_path / "missing")


def test_evaluate_images_counts_unreadable_as_wrong(tmp_path: Path, capsys) -> None:
    model_path = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", "--epochs", "2", "--out", str(model_path))
    assert code == 0, err
    folder = tmp_path / "mine"
    for d in range(10):
        _digit_file(folder / f"{d}-a.png", d)
    Image.new("L", (40, 40), 255).save(folder / "4-blank.png")
    result = run_json(capsys, "evaluate", str(model_path), "--images", str(folder), "--json")
    found = load_labelled(folder)
    model = Model.load(model_path)
    right = int(np.sum(model.predict(to_inputs(found.images)) == found.labels))
    assert result["n"] == 11
    assert result["accuracy"] == pytest.approx(right / 11)
    assert result["unreadable"][0]["file"] == "4-blank.png"
    assert result["per_class_accuracy"][4] <= 0.5  # its blank 4 counts against it
    code, out, _ = run(capsys, "evaluate", str(model_path), "--images", str(folder))
    assert f"11 images, accuracy {100 * right / 11:.2f}%" in out
    assert "1 without ink" in out


def test_evaluate_refuses_both_images_and_data(tmp_path: Path, capsys) -> None:
    model_path = tmp_path / "m.npz"
    run(capsys, "train", "--epochs", "1", "--out", str(model_path))
    code, _, err = run(capsys, "evaluate", str(model_path), "--images", str(tmp_path),
                       "--data", "mini")  # fmt: skip
    assert code == 1
    assert "--images and --data" in err


# ---------------------------------------------------------------------------------------------
# the two steps beyond MNIST's own preparation


def _slanted_bar(shear: float) -> np.ndarray:
    page = np.zeros((200, 200), np.uint8)
    for r in range(30, 170):
        c = int(100 + shear * (100 - r))
        page[r, c - 8 : c + 8] = 255
    return page


def test_deskewing_stands_a_slanted_stroke_upright() -> None:
    def slant(image: np.ndarray) -> float:
        a = image.astype(float)
        rows, cols = np.mgrid[0:28, 0:28]
        cy, cx = (a * rows).sum() / a.sum(), (a * cols).sum() / a.sum()
        return float((a * (rows - cy) * (cols - cx)).sum() / (a * (rows - cy) ** 2).sum())

    bar = _slanted_bar(0.4)
    assert abs(slant(preprocess(bar, deskew=False))) > 0.25
    assert abs(slant(preprocess(bar))) < 0.05


@pytest.mark.parametrize(("pen", "thicker"), [(2, True), (90, False)])
def test_stroke_width_is_brought_into_mnists_range(pen: int, thicker: bool) -> None:
    page = np.zeros((400, 400))
    page[40:360, 200 - pen // 2 : 200 + (pen + 1) // 2] = 1.0  # a "1" of this pen width
    page[40 : 40 + pen, 120:200] = 1.0  # its flag
    cropped = _crop_to_ink(page)
    normalised = _normalise_stroke(cropped)

    def width_in_box(ink: np.ndarray) -> float:  # in pixels of the 28×28 image
        return stroke_width(ink >= 0.5) * BOX / max(ink.shape)

    before, after = width_in_box(cropped), width_in_box(normalised)
    assert (before < STROKE_RANGE[0]) if thicker else (before > STROKE_RANGE[1])
    assert STROKE_RANGE[0] <= after <= STROKE_RANGE[1]
    # What the network sees changes the same way: more ink for the thin pen, less for the thick.
    ink_before = preprocess(page, stroke=False, deskew=False).sum()
    ink_after = preprocess(page, deskew=False).sum()
    assert (ink_after > ink_before) if thicker else (ink_after < ink_before)


def test_thinning_treats_what_lies_beyond_the_crop_as_background() -> None:
    # A thick filled ellipse touches its crop on all four sides. Eroding it must narrow it on
    # every side alike; reflecting the ink at the crop's edge once left a one-pixel spike
    # across the whole width, which the scaling then blurred off the 20-pixel box.
    page = Image.new("L", (19, 37), 0)
    ImageDraw.Draw(page).ellipse([0, 0, 18, 36], fill=255)
    ink = np.asarray(page, dtype=np.float64) / 255
    thinned = _normalise_stroke(ink)
    h, w = thinned.shape
    assert h < 37
    assert abs((37 - h) - (19 - w)) <= 1  # the same 2r off each axis, not off one only
    digit = preprocess(ink, deskew=False)
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == BOX


def test_most_mnist_digits_are_left_as_they_were_by_the_stroke_step() -> None:
    digits = load_mini().test_images[:200]
    same = [
        np.array_equal(preprocess(d, deskew=False), preprocess(d, stroke=False, deskew=False))
        for d in digits
    ]
    assert np.mean(same) > 0.85  # the range holds 90 % of MNIST's widths


@pytest.mark.slow
def test_the_outside_set_is_read_better_with_the_shipped_preprocessing() -> None:
    """The claim of data/images.py: the two extra steps help the seed network."""
    model = fit(Recipe(settings=TrainSettings(epochs=20, schedule="cosine")), load_mini())
    scores = {}
    for name, steps in {"shipped": {}, "neither": {"stroke": False, "deskew": False}}.items():
        found = load_labelled(HANDWRITING, **steps)
        right = np.sum(model.predict(to_inputs(found.images)) == found.labels)
        scores[name] = right / (len(found.labels) + len(found.unreadable))
    assert len(found.labels) + len(found.unreadable) == 600
    assert scores["shipped"] > scores["neither"]
    assert scores["shipped"] > 0.6  # far above chance (0.1), far below MNIST's 93 %


# ---------------------------------------------------------------------------------------------
# the model shipped for reading your digits


def test_the_shipped_model_reads_mnist_and_outside_handwriting() -> None:
    model = load_default_model()
    assert model.network.sizes == (784, 512, 512, 10)
    data = load_mini()  # its test images come from MNIST's test set, never trained on
    accuracy = np.mean(model.predict(to_inputs(data.test_images)) == data.test_labels)
    assert accuracy > 0.985
    found = load_labelled(HANDWRITING)
    outside = np.sum(model.predict(to_inputs(found.images)) == found.labels) / 600
    assert outside > 0.8  # the seed network reads about 0.7 of them


def test_predict_without_a_model_uses_the_shipped_one(tmp_path: Path, capsys) -> None:
    _digit_file(tmp_path / "seven.png", 7)
    result = run_json(capsys, "predict", str(tmp_path / "seven.png"), "--json")
    assert result["model"] == "shipped"
    assert result["predictions"][0]["guesses"][0]["digit"] == 7
    code, out, err = run(
        capsys, "predict", str(tmp_path / "seven.png"), str(tmp_path / "seven.png")
    )
    assert code == 0, err
    assert out.count("seven.png: 7") == 2  # both are images, neither is taken for a model
