"""Tests for nudgenet.data.images: real image files written with Pillow, read back as digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageOps

from nudgenet.data.images import MAX_PIXELS, load_image, load_images, preprocess, to_inputs
from nudgenet.errors import DataError, ImageError, ShapeError

# ---------------------------------------------------------------------------------------------
# helpers


def draw_seven(size: tuple[int, int] = (600, 800), width: int = 40) -> Image.Image:
    """A thick black "7" on a large white page, like a pen drawing photographed flat."""
    w, h = size
    page = Image.new("L", size, 255)
    pen = ImageDraw.Draw(page)
    pen.line([(w * 0.25, h * 0.2), (w * 0.75, h * 0.2), (w * 0.45, h * 0.8)], fill=0, width=width)
    pen.line([(w * 0.35, h * 0.5), (w * 0.65, h * 0.5)], fill=0, width=width)
    return page


def ink_box(digit: NDArray[np.uint8]) -> tuple[int, int]:
    """Height and width of the bounding box of the non-zero pixels."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(digit: NDArray[np.uint8]) -> tuple[float, float]:
    """Ink-weighted mean (row, column)."""
    d = digit.astype(np.float64)
    idx = np.arange(d.shape[0], dtype=np.float64)
    return float(d.sum(axis=1) @ idx / d.sum()), float(d.sum(axis=0) @ idx / d.sum())


def assert_mnist_like(digit: NDArray[np.uint8]) -> None:
    """Shape, type, black background, bright ink, 20 px box, centred mass."""
    assert digit.shape == (28, 28)
    assert digit.dtype == np.uint8
    assert digit[0].max() == digit[-1].max() == digit[:, 0].max() == digit[:, -1].max() == 0
    assert digit.max() >= 250
    assert np.mean(digit == 0) > 0.5  # mostly background, as in MNIST
    h, w = ink_box(digit)
    assert max(h, w) in (19, 20, 21)
    assert min(h, w) <= 21
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 1
    assert abs(cx - 14) <= 1


def mean_abs_diff(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


@pytest.fixture
def reference(tmp_path: Path) -> NDArray[np.uint8]:
    """The "7" read from a plain greyscale PNG: what every other encoding should match."""
    path = tmp_path / "seven.png"
    draw_seven().save(path)
    return load_image(path)


# ---------------------------------------------------------------------------------------------
# the MNIST form


def test_dark_ink_on_white_page_becomes_bright_centred_digit(
    reference: NDArray[np.uint8],
) -> None:
    assert_mnist_like(reference)
    h, w = ink_box(reference)
    assert h == 20
    assert w < 20


def test_light_on_dark_gives_the_same_digit(tmp_path: Path, reference: NDArray[np.uint8]) -> None:
    path = tmp_path / "chalk.png"
    ImageOps.invert(draw_seven()).save(path)
    digit = load_image(path)
    assert_mnist_like(digit)
    assert np.abs(digit.astype(int) - reference.astype(int)).max() <= 1


def test_explicit_invert_matches_the_guess(tmp_path: Path, reference: NDArray[np.uint8]) -> None:
    path = tmp_path / "seven.png"
    draw_seven().save(path)
    np.testing.assert_array_equal(load_image(path, invert=True), reference)
    with pytest.raises(ImageError, match="no ink"):
        load_image(path, invert=False)  # white paper "ink" on a white border: nothing stands out


def test_off_centre_non_square_drawing_is_centred(tmp_path: Path) -> None:
    page = Image.new("L", (1000, 400), 255)
    ImageDraw.Draw(page).rectangle([20, 300, 420, 380], fill=0)  # a low bar in a corner
    path = tmp_path / "dash.png"
    page.save(path)
    digit = load_image(path)
    assert_mnist_like(digit)
    h, w = ink_box(digit)
    assert w == 20
    assert h == 4


def test_small_drawing_is_enlarged_to_20_px(tmp_path: Path) -> None:
    page = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(page).ellipse([140, 150, 147, 159], outline=0, width=2)  # an 8×10 "0"
    path = tmp_path / "tiny.png"
    page.save(path)
    assert_mnist_like(load_image(path))


def test_mnist_like_input_comes_back_close_to_itself() -> None:
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 13:16] = 255  # a "1" with a foot, 20 px tall
    digit[4:24, 12] = digit[4:24, 16] = 128  # anti-aliased edges
    digit[23, 10:19] = 255
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) < 0.1
    assert cx == 14
    out = preprocess(digit)
    assert_mnist_like(out)
    assert mean_abs_diff(out, digit) < 1


def test_preprocessing_twice_changes_little(reference: NDArray[np.uint8]) -> None:
    again = preprocess(reference)
    assert_mnist_like(again)
    assert mean_abs_diff(again, reference) < 10


def test_float_input_in_unit_range_matches_uint8() -> None:
    page = np.asarray(draw_seven(), dtype=np.uint8)
    np.testing.assert_array_equal(preprocess(page / 255.0), preprocess(page))


def test_grey_paper_and_faint_pencil_still_give_full_contrast() -> None:
    page = np.asarray(draw_seven(), dtype=np.float64)
    faint = 0.7 - 0.3 * (page < 128)  # mid-grey paper, pencil only 30% darker
    digit = preprocess(faint)
    assert_mnist_like(digit)
    assert digit.max() == 255


def test_noisy_photo_keeps_a_clean_black_background(
    tmp_path: Path, reference: NDArray[np.uint8]
) -> None:
    rng = np.random.default_rng(2)
    page = 0.2 + 0.7 * np.asarray(draw_seven(), dtype=np.float64) / 255  # grey paper, grey ink
    noisy = np.clip(page * 255 + rng.normal(0, 8, page.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(noisy).save(path, quality=80)
    digit = load_image(path)
    assert_mnist_like(digit)
    assert np.count_nonzero(digit[reference == 0]) <= 3  # no grey haze of paper grain
    assert mean_abs_diff(digit, reference) < 3


# ---------------------------------------------------------------------------------------------
# file formats


def test_jpeg(tmp_path: Path, reference: NDArray[np.uint8]) -> None:
    path = tmp_path / "seven.jpg"
    draw_seven().save(path, quality=75)
    digit = load_image(path)
    assert_mnist_like(digit)
    assert mean_abs_diff(digit, reference) < 8


@pytest.mark.parametrize("hidden", [(0, 0, 0), (255, 255, 255)], ids=["black", "white"])
def test_transparent_png_with_black_strokes(
    tmp_path: Path, reference: NDArray[np.uint8], hidden: tuple[int, int, int]
) -> None:
    """Whatever colour hides under the transparency, black strokes read as ink."""
    strokes = ImageOps.invert(draw_seven())  # strokes opaque, page transparent
    rgba = Image.new("RGBA", strokes.size, (*hidden, 0))
    rgba.paste(Image.new("RGBA", strokes.size, (0, 0, 0, 255)), mask=strokes)
    path = tmp_path / "seven.png"
    rgba.save(path)
    digit = load_image(path)
    assert_mnist_like(digit)
    assert mean_abs_diff(digit, reference) < 1


def test_transparent_png_with_white_strokes(tmp_path: Path, reference: NDArray[np.uint8]) -> None:
    strokes = ImageOps.invert(draw_seven())
    rgba = Image.new("RGBA", strokes.size, (255, 255, 255, 0))
    rgba.paste(Image.new("RGBA", strokes.size, (255, 255, 255, 255)), mask=strokes)
    path = tmp_path / "seven.png"
    rgba.save(path)
    assert mean_abs_diff(load_image(path), reference) < 1


def test_fully_transparent_png_has_no_ink(tmp_path: Path) -> None:
    path = tmp_path / "nothing.png"
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(path)
    with pytest.raises(ImageError, match="no ink"):
        load_image(path)


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [("RGB", ".png"), ("P", ".png"), ("P", ".gif"), ("1", ".bmp"), ("LA", ".png"), ("I", ".tif")],
)
def test_colour_palette_and_other_modes(
    tmp_path: Path, reference: NDArray[np.uint8], mode: str, suffix: str
) -> None:
    page = draw_seven()
    if mode == "RGB":  # dark blue ink on cream paper
        image: Image.Image = ImageOps.colorize(page, black=(20, 20, 120), white=(250, 245, 225))
    elif mode == "I":  # 16-bit greyscale scanner output
        image = Image.fromarray(np.asarray(page, dtype=np.int32) * 257)
    else:
        image = page.convert(mode)
    path = tmp_path / f"seven{suffix}"
    image.save(path)
    digit = load_image(path)
    assert_mnist_like(digit)
    assert mean_abs_diff(digit, reference) < 3


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    page = Image.new("L", (800, 300), 255)
    ImageDraw.Draw(page).rectangle([100, 120, 700, 180], fill=0)  # stored as a wide bar
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the camera was held upright
    path = tmp_path / "photo.jpg"
    page.save(path, exif=exif)
    h, w = ink_box(load_image(path))
    assert h == 20
    assert w < 5


def test_load_images_stacks(tmp_path: Path, reference: NDArray[np.uint8]) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.jpg"]
    for p in paths:
        draw_seven().save(p)
    batch = load_images(paths)
    assert batch.shape == (2, 28, 28)
    assert batch.dtype == np.uint8
    np.testing.assert_array_equal(batch[0], reference)
    assert load_images(str(paths[0])).shape == (1, 28, 28)
    assert load_images([]).shape == (0, 28, 28)


# ---------------------------------------------------------------------------------------------
# errors


def assert_names_file(err: pytest.ExceptionInfo[ImageError], path: Path) -> None:
    assert str(path) in str(err.value)
    assert err.value.help


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.png"
    with pytest.raises(ImageError, match="not found") as err:
        load_image(path)
    assert_names_file(err, path)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match="not in an image format") as err:
        load_image(path)
    assert_names_file(err, path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert_names_file(err, path)


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="folder") as err:
        load_image(tmp_path)
    assert_names_file(err, tmp_path)


def test_truncated_png(tmp_path: Path) -> None:
    whole = tmp_path / "whole.png"
    noisy = np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)
    Image.fromarray(noisy).save(whole)  # noise does not compress, so the data is long
    path = tmp_path / "cut.png"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ImageError, match="damaged or truncated") as err:
        load_image(path)
    assert_names_file(err, path)


@pytest.mark.parametrize("shade", [0, 255, 128])
def test_blank_image_has_no_ink(tmp_path: Path, shade: int) -> None:
    path = tmp_path / "blank.png"
    Image.new("L", (100, 80), shade).save(path)
    with pytest.raises(ImageError, match="no ink") as err:
        load_image(path)
    assert_names_file(err, path)
    assert "darker or thicker" in str(err.value)


def test_blank_jpeg_noise_is_not_ink(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    page = np.clip(240 + rng.normal(0, 3, (120, 90)), 0, 255).astype(np.uint8)
    path = tmp_path / "blank.jpg"
    Image.fromarray(page).save(path, quality=60)
    with pytest.raises(ImageError, match="no ink"):
        load_image(path)


@pytest.mark.parametrize("pixels", [MAX_PIXELS + 1, 2 * 89_478_485 + 1], ids=["ours", "pillows"])
def test_huge_image_is_refused_before_decoding(tmp_path: Path, pixels: int) -> None:
    """Both our limit and Pillow's decompression-bomb limit give an ImageError, no warning."""
    width = 10_000
    path = tmp_path / "huge.png"
    Image.new("1", (width, -(-pixels // width))).save(path)  # bilevel keeps the test cheap
    with pytest.raises(ImageError, match="too large") as err:
        load_image(path)
    assert_names_file(err, path)


@pytest.mark.parametrize(
    ("pixels", "match"),
    [
        (np.zeros((28, 28, 3), dtype=np.uint8), "2-D"),
        (np.zeros((0, 5), dtype=np.uint8), "2-D"),
        (np.full((5, 5), 2.0), "0..1"),
        (np.full((5, 5), np.nan), "NaN"),
        (np.full((5, 5), 300, dtype=np.int32), "0..255"),
        (np.full((5, 5), "a"), "numbers"),
    ],
)
def test_preprocess_rejects_unsuitable_arrays(pixels: NDArray[np.generic], match: str) -> None:
    with pytest.raises(ImageError, match=match):
        preprocess(pixels)


# ---------------------------------------------------------------------------------------------
# property: any blob, anywhere, of any size, comes out as a centred MNIST-style digit


@st.composite
def blob_pages(draw: st.DrawFn) -> tuple[NDArray[np.uint8], bool]:
    """A rectangle or ellipse at a random place on a random page, in either polarity."""
    w = draw(st.integers(8, 160))
    h = draw(st.integers(8, 160))
    # At most 60% of each side, so the border stays mostly background (as in any drawing).
    bw = draw(st.integers(1, max(1, int(0.6 * w))))
    bh = draw(st.integers(1, max(1, int(0.6 * h))))
    x0 = draw(st.integers(0, w - bw))
    y0 = draw(st.integers(0, h - bh))
    background = draw(st.integers(0, 255))
    ink = draw(
        st.integers(0, 255).filter(lambda v: abs(v - background) >= 60),
    )
    page = Image.new("L", (w, h), background)
    shape = ImageDraw.Draw(page).ellipse if draw(st.booleans()) else ImageDraw.Draw(page).rectangle
    shape([x0, y0, x0 + bw - 1, y0 + bh - 1], fill=ink)
    return np.asarray(page, dtype=np.uint8), ink < background


@settings(max_examples=60, deadline=None)
@given(blob_pages())
def test_any_blob_becomes_a_centred_digit(case: tuple[NDArray[np.uint8], bool]) -> None:
    page, dark_ink = case
    assume(np.ptp(page) > 0)  # tiny ellipses may draw nothing
    # Deskewing shears a slanted blob, which can widen its box past 20 px: MNIST's own form
    # is the one without it (the deskewed digit is checked in tests/data/test_labelled.py).
    deskewed = preprocess(page)
    assert deskewed.max() >= 250
    assert abs(centre_of_mass(deskewed)[0] - 14) <= 1
    digit = preprocess(page, deskew=False)
    assert digit.shape == (28, 28)
    assert digit.dtype == np.uint8
    assert digit.max() >= 250
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20
    # Nothing pushed against the edge: the 4 px margin of MNIST survives on every side.
    assert min(rows[0], cols[0]) >= 3
    assert max(rows[-1], cols[-1]) <= 24
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 1
    assert abs(cx - 14) <= 1
    # The guessed polarity is the drawn one: forcing it gives the same digit.
    np.testing.assert_array_equal(preprocess(page, invert=dark_ink, deskew=False), digit)


# ---------------------------------------------------------------------------------------------
# network inputs


def test_to_inputs() -> None:
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 0, 1] = 255, 51, 1
    x = to_inputs(images)
    assert x.shape == (2, 784)
    assert x.dtype == np.float32
    assert x[0, 0] == 1.0
    assert x[1, 783] == pytest.approx(0.2)
    assert x[1, 1] == np.float32(1 / 255)
    assert x.sum() == pytest.approx(1 + 0.2 + 1 / 255)
    assert to_inputs(images.reshape(2, 784), dtype=np.float64).dtype == np.float64
    assert not np.shares_memory(x, images)
    assert to_inputs(images[:0]).shape == (0, 784)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inputs_start_on_a_cache_line_in_the_old_numbers(dtype: type) -> None:
    """Every row of 784 pixels is a whole number of 64-byte lines, so every row is aligned,
    and the numbers are x / 255 in the dtype, as NumPy divides."""
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    for n in range(1, 8):  # arrays of several sizes, wherever malloc would put them
        x = to_inputs(images[:n], dtype)
        assert x.ctypes.data % 64 == 0
        assert x.flags.c_contiguous
        expected = images[:n].reshape(n, 784).astype(dtype)
        expected /= 255
        assert x.tobytes() == expected.tobytes()
    with pytest.raises(DataError, match="uint8"):
        to_inputs(images.astype(np.float32))
    with pytest.raises(ShapeError, match=r"\(28, 28\)"):
        to_inputs(images[0])
