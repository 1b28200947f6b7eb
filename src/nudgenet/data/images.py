"""Turn your own drawings and photos into MNIST-style 28×28 inputs.

A network trained on MNIST has only ever seen one kind of picture: a bright digit on a black
field, scaled so its longer side is 20 px, anti-aliased, and shifted so its centre of mass sits
at the centre of a 28×28 canvas. It classifies anything else poorly, however good it is, so a
scanned or drawn digit must be brought into the same form first:

1. make the ink bright and the background black (a pen on paper is the other way round);
2. crop to the ink, ignoring faint noise;
3. bring the strokes to MNIST's width (a marker's strokes are thinned, a fine pen's thickened);
4. scale, keeping the aspect ratio, so the longer side is 20 px;
5. paste into a black 28×28 canvas with the ink's centre of mass at (14, 14);
6. deskew: shear the digit upright, so that its ink's principal axis is vertical.

Steps 3 and 6 go beyond what MNIST's own preparation did; each can be turned off. On the
outside-handwriting set of the tests (600 digits rendered from 20 fonts, spoiled by scanning
and lighting), they raise the seed network's accuracy, as ``scripts/robustness.py`` measures.

:func:`to_inputs` then takes such images, drawn or from a data set, the last step to the
network: one row of 784 values in [0, 1] per image.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from .._types import aligned_empty
from ..errors import DataError, ImageError, ShapeError

SIZE = 28
"""Side of the output canvas, as in MNIST."""

BOX = 20
"""Longer side of the scaled ink, as in MNIST (the 4 px margin leaves room to centre it)."""

CENTRE = 14.0
"""Where the ink's centre of mass is put, in pixel-index coordinates (row, column)."""

INK_THRESHOLD = 0.25
"""A pixel counts as ink for cropping if it is this fraction of the way from background to max."""

MIN_CONTRAST = 0.1
"""Ink must stand out of the background noise by this much (of 0..1), or the image is blank."""

NOISE_SIGMAS = 3.0
"""Background noise up to this many standard deviations above its level is set to black."""

MAX_PIXELS = 50_000_000
"""Larger images are refused before decoding: they are not digit drawings, and would eat memory."""

MAX_WORKING_PIXELS = 1 << 22
"""Larger images are shrunk by a whole factor (area averaging) to at most this, 2048², as soon
as they are decoded. Preprocessing works in float64 with a few temporaries, some 30 bytes a
pixel: a 50 KB PNG of :data:`MAX_PIXELS` blank pixels would otherwise cost 1.5 GB. A digit
that fills a tenth of such a frame still spans hundreds of pixels, for a 20-pixel box.
"""

_READ_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)
"""What Pillow's decoders raise for files they cannot read (its plugins are not uniform)."""


def preprocess(
    pixels: NDArray[Any], *, invert: bool | None = None, stroke: bool = True, deskew: bool = True
) -> NDArray[np.uint8]:
    """Bring one greyscale image of any size into MNIST form: (28, 28) uint8, ink 255 on 0.

    Parameters
    ----------
    pixels
        2-D array, uint8 (or other integers) in 0..255, bool, or floats in 0..1.
    invert
        True if the ink is darker than the background (pen on paper), False if it is lighter.
        None guesses from the border, which is nearly always background.
    stroke, deskew
        Normalise the stroke width, and shear the digit upright (steps 3 and 6 above).

    Raises
    ------
    ImageError
        If the array is not a 2-D greyscale image, or has no ink.

    Examples
    --------
    >>> page = np.full((300, 200), 255, dtype=np.uint8)
    >>> page[50:250, 90:110] = 0  # a black "1" on white paper
    >>> digit = preprocess(page)
    >>> digit.shape, digit.dtype.name, int(digit[0, 0]), int(digit.max())
    ((28, 28), 'uint8', 0, 255)
    """
    return _preprocess(pixels, invert=invert, source="the image", stroke=stroke, deskew=deskew)


def load_image(
    path: str | os.PathLike[str],
    *,
    invert: bool | None = None,
    stroke: bool = True,
    deskew: bool = True,
) -> NDArray[np.uint8]:
    """Read an image file (PNG, JPEG, any format Pillow knows) and :func:`preprocess` it.

    Camera photos are turned upright by their EXIF orientation; colour and palette images
    become greyscale. Transparent pixels are laid on the opposite shade of the ink, so a
    transparent PNG with black strokes reads as black on white, not black on black.

    Raises
    ------
    ImageError
        If the file is missing, not an image, damaged, too large, or holds no ink.
    """
    path = Path(path)
    pixels, invert = _read_grey(path, invert)
    return _preprocess(pixels, invert=invert, source=f"image {path}", stroke=stroke, deskew=deskew)


def load_images(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    invert: bool | None = None,
) -> NDArray[np.uint8]:
    """:func:`load_image` each path and stack the results into an (n, 28, 28) uint8 array.

    A single path is accepted too (as n = 1), rather than read character by character.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    digits = [load_image(p, invert=invert) for p in paths]
    if not digits:
        return np.zeros((0, SIZE, SIZE), dtype=np.uint8)
    return np.stack(digits)


def to_inputs(images: NDArray[np.uint8], dtype: DTypeLike = np.float32) -> NDArray[Any]:
    """Flatten uint8 images to network inputs: one row of 784 values in [0, 1] each.

    Scaling by 1/255 keeps the first layer's weighted sums small, so sigmoids start in
    their sensitive middle range instead of saturating.

    >>> to_inputs(np.full((2, 28, 28), 255, dtype=np.uint8)).shape
    (2, 784)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(
            f"to_inputs expected uint8 pixels (0-255), got dtype {images.dtype}",
            help="pass raw images such as Dataset.train_images; they are scaled here",
        )
    if images.ndim not in (2, 3) or math.prod(images.shape[1:]) != SIZE * SIZE:
        raise ShapeError(
            f"to_inputs expected images of shape (m, 28, 28) or (m, 784), got {images.shape}",
            help="for one image, add a leading axis: images[None]",
        )
    inputs = aligned_empty((len(images), SIZE * SIZE), dtype)  # read fastest by the kernels
    inputs[...] = images.reshape(len(images), SIZE * SIZE)
    inputs /= 255
    return inputs


# ---------------------------------------------------------------------------------------------
# preprocessing steps


def _preprocess(
    pixels: NDArray[Any], *, invert: bool | None, source: str, stroke: bool, deskew: bool
) -> NDArray[np.uint8]:
    """:func:`preprocess`, naming ``source`` in its errors."""
    grey = _as_unit_float(pixels, source)
    ink = _ink_levels(grey, invert, source)
    cropped = _crop_to_ink(ink)
    if stroke:
        cropped = _normalise_stroke(cropped)
    scaled = _scale_to_box(cropped)
    # Strokes thinner than a pixel, or noise spikes that set the ink level, leave the digit
    # dim after averaging; MNIST digits reach full brightness, so stretch them to it.
    canvas = _paste_centred(scaled / scaled.max())
    if deskew:
        canvas = _deskew(canvas)
        canvas /= canvas.max()  # interpolating may dim the brightest pixel: restore it
    return np.round(canvas * 255.0).astype(np.uint8)


def _as_unit_float(pixels: NDArray[Any], source: str) -> NDArray[np.float64]:
    """Check the array is a greyscale image and return it as floats in 0..1."""
    a = np.asarray(pixels)
    if a.ndim != 2 or a.size == 0:
        raise ImageError(
            f"{source} must be a non-empty 2-D greyscale array, got shape {a.shape}",
            help="convert colour images to greyscale first (Pillow: .convert('L')), "
            "or use load_image, which does",
        )
    if a.dtype == np.bool_:
        return a.astype(np.float64)
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ImageError(
                f"integer pixels of {source} must lie in 0..255, got {lo}..{hi}",
                help="rescale to 0..255 (uint8), or pass floats in 0..1",
            )
        return a.astype(np.float64) / 255.0
    if np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float64)
        if not np.all(np.isfinite(f)):
            raise ImageError(
                f"{source} contains NaN or infinite pixels",
                help="replace them, e.g. with np.nan_to_num, before preprocessing",
            )
        lo_f, hi_f = float(f.min()), float(f.max())
        if lo_f < 0.0 or hi_f > 1.0:
            raise ImageError(
                f"float pixels of {source} must lie in 0..1, got {lo_f:g}..{hi_f:g}",
                help="divide 0..255 values by 255, or pass them as uint8",
            )
        return f
    raise ImageError(
        f"{source} must hold numbers, got dtype {a.dtype}",
        help="pass uint8 values in 0..255 or floats in 0..1",
    )


def _border(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """The outermost ring of pixels, where a drawing's background nearly always shows."""
    return np.concatenate([a[0, :], a[-1, :], a[1:-1, 0], a[1:-1, -1]])


def _ink_levels(grey: NDArray[np.float64], invert: bool | None, source: str) -> NDArray[np.float64]:
    """Map the background to 0 and the strongest ink to 1, inverting pen-on-paper images.

    The background level is the median of the border, so grey paper or a dim photo still
    gives a black background, as in MNIST; the border's own spread sets a noise floor, so
    paper grain and camera noise become exact 0 instead of a grey haze; and the contrast is
    stretched so that faint pencil reaches 1.
    """
    if invert is None:
        # Light background: the border is nearer the brightest than the darkest pixel.
        invert = bool(np.median(_border(grey)) > (grey.min() + grey.max()) / 2.0)
    if invert:
        grey = 1.0 - grey
    border = _border(grey)
    background = float(np.median(border))
    # 3 standard deviations of the background, estimated robustly (median absolute deviation,
    # scaled for a normal distribution) so ink touching up to half the border does not count.
    floor = background + NOISE_SIGMAS * 1.4826 * float(np.median(np.abs(border - background)))
    contrast = float(grey.max()) - floor
    if contrast < MIN_CONTRAST:
        shade = "darker" if invert else "lighter"
        raise ImageError(
            f"no ink found in {source}: nothing is {shade} than the background by at least "
            f"{MIN_CONTRAST:.0%} (best contrast {max(contrast, 0.0):.0%})",
            help="draw darker or thicker strokes, crop away what is not the digit, "
            "or state whether the ink is darker than the background (invert=True/False)",
        )
    return np.clip((grey - floor) / contrast, 0.0, 1.0)


def _crop_to_ink(ink: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cut out the bounding box of the pixels clearly above the background.

    Only pixels above :data:`INK_THRESHOLD` decide the box, so faint noise and JPEG haze far
    from the strokes do not enlarge it.
    """
    mask = ink >= INK_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


STROKE_WIDTH = 2.9
"""MNIST's median stroke width, in pixels of the 28×28 image (2·area/perimeter of the pixels
above half brightness, over the embedded training digits; the middle 90 % lie in 2.1–4.4)."""

STROKE_RANGE = (1.6, 4.4)
"""Widths (in 28×28 pixels) left as they are: within what MNIST's writers drew."""

STROKE_WORKING = 4 * BOX
"""Strokes are normalised on the digit shrunk to at most this side, which bounds the cost of
the morphology on large photos and keeps the pen's width resolved to a quarter pixel."""


def stroke_width(mask: NDArray[np.bool_]) -> float:
    """Mean width of the strokes in ``mask``: a stroke of length L and width w covers L·w
    pixels and has a boundary of about 2·L, so w ≈ 2·area/boundary."""
    boundary = int((mask & ~ndimage.binary_erosion(mask)).sum())
    return 2.0 * int(mask.sum()) / max(boundary, 1)


def _normalise_stroke(ink: NDArray[np.float64]) -> NDArray[np.float64]:
    """Thin strokes that would be thicker than MNIST's, or thicken ones that would be thinner,
    once scaled into the 20-pixel box, by grey-level erosion or dilation with a disc."""
    if max(ink.shape) > STROKE_WORKING:
        scale = STROKE_WORKING / max(ink.shape)
        ink = _resize(
            ink, (max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale)))
        )
    mask = ink >= 0.5
    if mask.sum() < 4:
        return ink
    length = max(ink.shape)
    width = stroke_width(mask)  # in working pixels
    if STROKE_RANGE[0] <= width * BOX / length <= STROKE_RANGE[1]:
        return ink
    # Eroding (dilating) by r narrows (widens) the strokes by 2r and the box around them too,
    # which changes the scale: solve (w − 2r) · BOX / (L − 2r) = STROKE_WIDTH for r.
    ratio = STROKE_WIDTH / BOX
    radius = round(abs(width - ratio * length) / (2 * (1 - ratio)))  # in working pixels
    if radius < 1:
        return ink
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = np.hypot(yy, xx) <= radius + 0.3
    if width * BOX / length > STROKE_WIDTH:
        # Beyond the crop lies background: eroding must not reflect the ink back in there.
        thinned = ndimage.grey_erosion(ink, footprint=disc, mode="constant", cval=0.0)
        # A stroke thinner than the disc would vanish: keep the original instead.
        return _crop_to_ink(thinned) if thinned.max() >= INK_THRESHOLD else ink
    return _crop_to_ink(ndimage.grey_dilation(np.pad(ink, radius), footprint=disc))


MAX_SKEW = 1.0
"""Largest shear deskewing applies (1: 45°); beyond it the digit is not slanted but a blob."""


def deskew(images: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """MNIST-form digits, (n, 28, 28) uint8, each sheared upright as :func:`preprocess`
    deskews a drawing (step 6): a network that learns from deskewed digits, and reads
    deskewed ones, no longer spends its few neurons on slant.

    >>> slanted = np.zeros((1, 28, 28), dtype=np.uint8)
    >>> for row in range(4, 24):
    ...     slanted[0, row, 8 + row // 2 : 11 + row // 2] = 255  # a "1" leaning right
    >>> upright = deskew(slanted)
    >>> def drift(image):  # how far the stroke moves right from row 5 down to row 22
    ...     return int(np.flatnonzero(image[22] > 127)[0] - np.flatnonzero(image[5] > 127)[0])
    >>> drift(slanted[0]), drift(upright[0])
    (9, 1)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (SIZE, SIZE):
        raise DataError(
            f"deskew expected uint8 images of shape (n, 28, 28), got dtype {images.dtype} "
            f"and shape {images.shape}",
            help="pass MNIST-form digits, such as Dataset.train_images",
        )
    out = np.empty_like(images)
    for i, image in enumerate(images):
        canvas = _deskew(image / 255.0)
        peak = canvas.max()
        out[i] = np.round(canvas * (255.0 / peak if peak > 0 else 0.0))
    return out


def _deskew(canvas: NDArray[np.float64]) -> NDArray[np.float64]:
    """Shear the digit so that its ink's principal axis is vertical (the classic MNIST
    deskewing by moments): x ← x − α (y − ȳ), with α = cov(x, y) / var(y) of the ink. The
    centre of mass stays where it was."""
    total = float(canvas.sum())
    if total <= 0:
        return canvas  # a blank image has no slant
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    cy, cx = float((canvas * rows).sum()) / total, float((canvas * cols).sum()) / total
    mu11 = float((canvas * (rows - cy) * (cols - cx)).sum()) / total
    var_y = float((canvas * (rows - cy) ** 2).sum()) / total
    if var_y <= 0:
        return canvas
    alpha = float(np.clip(mu11 / var_y, -MAX_SKEW, MAX_SKEW))
    # Output (r, c) reads the input at (r, c + α (r − ȳ)).
    sheared = ndimage.affine_transform(
        canvas, np.array([[1.0, 0.0], [alpha, 1.0]]), offset=(0.0, -alpha * cy), order=1
    )
    return np.clip(sheared, 0.0, 1.0)


def _resize(ink: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64]:
    """``ink`` resized to ``shape``: areas averaged when shrinking, bilinear when enlarging."""
    new_h, new_w = shape
    resample = Image.Resampling.BOX if new_h < ink.shape[0] else Image.Resampling.BILINEAR
    image = Image.fromarray(ink.astype(np.float32))
    resized = np.asarray(image.resize((new_w, new_h), resample), dtype=np.float64)
    return np.clip(resized, 0.0, 1.0)


def _scale_to_box(ink: NDArray[np.float64]) -> NDArray[np.float64]:
    """Resize so the longer side is :data:`BOX` px, keeping the aspect ratio.

    Shrinking averages areas (Pillow's BOX filter), which anti-aliases like MNIST's own
    scaling without the ringing of sharper filters; enlarging interpolates bilinearly.
    """
    h, w = ink.shape
    scale = BOX / max(h, w)
    shape = (min(BOX, max(1, round(h * scale))), min(BOX, max(1, round(w * scale))))
    return ink if shape == (h, w) else _resize(ink, shape)


def _centre_of_mass(ink: NDArray[np.float64]) -> tuple[float, float]:
    """Ink-weighted mean (row, column) position, in pixel-index coordinates."""
    total = float(ink.sum())
    rows = np.arange(ink.shape[0], dtype=np.float64)
    cols = np.arange(ink.shape[1], dtype=np.float64)
    return float(ink.sum(axis=1) @ rows) / total, float(ink.sum(axis=0) @ cols) / total


def _offset(centre: float, length: int) -> int:
    """Integer shift putting ``centre`` nearest to :data:`CENTRE`, keeping ``length`` inside."""
    shift = math.floor(CENTRE - centre + 0.5)
    return min(max(shift, 0), SIZE - length)


def _paste_centred(ink: NDArray[np.float64]) -> NDArray[np.float64]:
    """Place the ink on a black 28×28 canvas with its centre of mass at (14, 14)."""
    cy, cx = _centre_of_mass(ink)
    top = _offset(cy, ink.shape[0])
    left = _offset(cx, ink.shape[1])
    canvas = np.zeros((SIZE, SIZE), dtype=np.float64)
    canvas[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return canvas


# ---------------------------------------------------------------------------------------------
# reading files


def _read_grey(path: Path, invert: bool | None) -> tuple[NDArray[np.float64], bool | None]:
    """Decode ``path`` to greyscale floats in 0..1, flattening any transparency.

    Returns the pixels and the ink polarity, which is settled here when transparency
    decided which background the strokes were laid on.
    """
    if not path.exists():
        raise ImageError(
            f"image file {path} not found",
            help="check the path and spelling; relative paths start from the current folder",
        )
    if path.is_dir():
        raise ImageError(
            f"image file {path} is a folder, not a file",
            help="name the image files inside it, e.g. with a wildcard: folder/*.png",
        )
    try:
        with warnings.catch_warnings():
            # The size is checked below with a lower limit and a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                _check_size(opened, path)
                opened.load()
                # Shrinking first keeps the EXIF orientation and saves transposing a copy.
                image = ImageOps.exif_transpose(_shrink(opened))
                return _flatten(image, invert)
    except ImageError:
        raise
    except PermissionError:
        raise ImageError(
            f"cannot read image {path}: permission denied",
            help="check the file's permissions, or copy it somewhere readable",
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            f"cannot read image {path}: it is empty or not in an image format Pillow knows",
            help="save the drawing as PNG or JPEG",
        ) from None
    except Image.DecompressionBombError:
        # Pillow refuses, in Image.open, images of over twice its MAX_IMAGE_PIXELS.
        limit = 2 * (Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
        raise _too_large(path, f"over {limit:,}") from None
    except _READ_ERRORS as e:
        raise ImageError(
            f"cannot read image {path}: the file is damaged or truncated ({e})",
            help="re-save or re-export the image, and check the copy completed",
        ) from None


def _too_large(path: Path, size: str) -> ImageError:
    """The error for images beyond :data:`MAX_PIXELS`."""
    return ImageError(
        f"image {path} is too large: {size} pixels, limit {MAX_PIXELS:,}",
        help="scale it down first (a digit needs only a few hundred pixels a side)",
    )


def _check_size(image: Image.Image, path: Path) -> None:
    """Refuse empty and huge images from the header alone, before decoding them."""
    w, h = image.size
    if w * h == 0:
        raise ImageError(
            f"image {path} is empty: {w}×{h} pixels", help="save a drawing that has pixels"
        )
    if w * h > MAX_PIXELS:
        raise _too_large(path, f"{w}×{h} = {w * h:,}")


def _is_transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _to_l(image: Image.Image) -> Image.Image:
    """An opaque image of 8-bit mode as 8-bit greyscale ("L")."""
    if image.mode == "L":
        return image
    try:
        return image.convert("L")
    except ValueError:  # modes such as LAB or HSV convert to L only through RGB
        return image.convert("RGB").convert("L")


def _shrink(image: Image.Image) -> Image.Image:
    """``image`` reduced by a whole factor to at most :data:`MAX_WORKING_PIXELS` pixels.

    Averaging needs values that average: palette indices and bilevel pixels become grey
    first, 16-bit ones 32-bit, and transparent images are averaged premultiplied, so the
    arbitrary colour under transparent pixels does not bleed into the strokes.
    """
    w, h = image.size
    factor = math.ceil(math.sqrt(w * h / MAX_WORKING_PIXELS))
    if factor <= 1:
        return image
    if _is_transparent(image):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        return rgba.convert("RGBa").reduce(factor).convert("RGBA")
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    elif not image.mode.startswith(("I", "F")):
        image = _to_l(image)
    return image.reduce(factor)


def _flatten(image: Image.Image, invert: bool | None) -> tuple[NDArray[np.float64], bool | None]:
    """Greyscale 0..1 pixels of a decoded image, composited onto a background if transparent."""
    if _is_transparent(image):
        la = np.asarray(image.convert("RGBA").convert("LA"), dtype=np.float64) / 255.0
        return _composite(la[..., 0], la[..., 1], invert)
    if image.mode.startswith(("I", "F")):
        # 16/32-bit and float images: Pillow's conversion to "L" would clip, not scale.
        a = np.asarray(image, dtype=np.float64)
        hi = float(a.max(initial=0.0))
        full = 1.0 if hi <= 1.0 else 255.0 if hi <= 255.0 else 65535.0 if hi <= 65535.0 else hi
        return np.clip(a / full, 0.0, 1.0), invert
    return np.asarray(_to_l(image), dtype=np.float64) / 255.0, invert


def _composite(
    grey: NDArray[np.float64], alpha: NDArray[np.float64], invert: bool | None
) -> tuple[NDArray[np.float64], bool | None]:
    """Lay a transparent image on the opposite shade of its ink.

    The colour under transparent pixels is arbitrary (often black, even beneath black
    strokes), so it is discarded. What is opaque is taken to be the ink; its mean shade
    says whether it is dark (lay it on white, then invert) or light (lay it on black).
    """
    if invert is None and float(alpha.min()) < 1.0:
        weight = float(alpha.sum())
        invert = weight == 0.0 or float((grey * alpha).sum()) / weight < 0.5
    background = 1.0 if invert else 0.0
    return grey * alpha + background * (1.0 - alpha), invert
