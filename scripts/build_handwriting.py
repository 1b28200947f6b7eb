"""Write tests/data/handwriting/: digits that are not MNIST, to measure how `predict` reads them.

MNIST's digits were written by American Census employees and students, scanned, and brought
into one form (see nudgenet.data.images). Users bring other digits: their own handwriting, on
paper or on a screen, photographed or scanned at any size. This script renders such digits
from the handwriting-like and ordinary fonts Debian ships, and spoils them as the world does:

* dark ink on light paper, or light on dark;
* thin or thick strokes;
* tilted, slanted, and off-centre in a larger frame;
* at resolutions from 28 to 200 pixels;
* with low contrast, uneven lighting, noise, blur, and JPEG compression.

Each image is named ``<digit>-<font>-<variant>.<png|jpg>``, its label first. Every choice is
drawn from one seeded generator, so the set is the same on every run. Fonts:

    apt-get install fonts-dkg-handwriting fonts-breip fonts-bwht fonts-dancingscript \\
        fonts-femkeklaver fonts-humor-sans fonts-comic-neue fonts-dejavu fonts-liberation

Usage::

    python scripts/build_handwriting.py            # writes tests/data/handwriting/
"""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "handwriting"

FONTS = {
    # handwriting-like
    "dkg": "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "dkg-italic": "/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf",
    "dkg-bold": "/usr/share/fonts/truetype/fifthhorseman/dkgBd.ttf",
    "breip": "/usr/share/fonts/truetype/breip/Breip.ttf",
    "femkeklaver": "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "humor-sans": "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
    "dancing": "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
    "dancing-bold": "/usr/share/fonts/opentype/dancingscript/DancingScript-Bold.otf",
    "comic": "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
    "comic-light-italic": "/usr/share/fonts/opentype/comic-neue/ComicNeue-LightItalic.otf",
    "bw-build": "/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf",
    "bw-connect": "/usr/share/fonts/opentype/bwht/BecauseWeConnect-Regular.otf",
    "bw-create": "/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf",
    "bw-learn": "/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf",
    "bw-mentor": "/usr/share/fonts/opentype/bwht/BecauseWeMentor-Regular.otf",
    "bw-organize": "/usr/share/fonts/opentype/bwht/BecauseWeOrganize-Regular.otf",
    # printed, as on forms and screens
    "dejavu-sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "dejavu-serif-italic": "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
    "dejavu-light": "/usr/share/fonts/truetype/dejavu/DejaVuSans-ExtraLight.ttf",
    "liberation-mono": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
}
VARIANTS = 3
"""Spoiled copies of each digit in each font."""


def render(digit: int, font_path: str, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """One digit as the world might hand it over: an image, and the format to save it in."""
    side = int(rng.choice([28, 40, 64, 96, 128, 200]))
    size = side * rng.uniform(0.45, 0.8)  # the glyph's size against the frame
    font = ImageFont.truetype(font_path, max(8, round(size)))
    stroke = int(rng.choice([0, 0, 1, 2])) * max(1, side // 60)  # thin to thick strokes
    paper = Image.new("L", (side * 2, side * 2), 0)
    ImageDraw.Draw(paper).text((side, side), str(digit), font=font, fill=255, anchor="mm",
                               stroke_width=stroke, stroke_fill=255)  # fmt: skip
    glyph = paper.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR)
    # Off-centre: cut the frame around a point near, but not at, the glyph's centre.
    dx, dy = (rng.uniform(-0.18, 0.18, 2) * side).round().astype(int)
    left, top = side // 2 + dx, side // 2 + dy
    ink = np.asarray(glyph.crop((left, top, left + side, top + side)), np.float64) / 255
    return _spoil(ink, rng)


def _spoil(ink: np.ndarray, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """Put ink on paper, under light, through a camera or scanner."""
    side = len(ink)
    dark_on_light = rng.random() < 0.7
    contrast = rng.choice([1.0, 0.8, 0.45])
    paper_level = rng.uniform(0.75, 1.0) if dark_on_light else rng.uniform(0.0, 0.2)
    ink_level = paper_level - contrast * (paper_level if dark_on_light else paper_level - 1)
    grey = paper_level + (ink_level - paper_level) * ink
    # Uneven lighting: a gentle gradient across the page.
    yy, xx = np.mgrid[0:side, 0:side] / side
    grey += rng.uniform(-0.12, 0.12) * (yy - 0.5) + rng.uniform(-0.12, 0.12) * (xx - 0.5)
    noise = rng.choice([0.0, 0.02, 0.06])
    grey += rng.normal(0, noise, grey.shape)
    image = Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8))
    if rng.random() < 0.4:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2) * side / 60))
    if noise or rng.random() < 0.2:  # a noisy picture is a photo: JPEG, as cameras save it
        return image, "jpg"
    return image, "png"


def build(out: Path, seed: int = 2026) -> int:
    """Write the set into ``out`` (replaced whole); return how many images it holds."""
    rng = np.random.default_rng(seed)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    count = 0
    for name, path in FONTS.items():
        for digit in range(10):
            for variant in range(VARIANTS):
                image, fmt = render(digit, path, rng)
                buffer = io.BytesIO()
                if fmt == "jpg":
                    image.save(buffer, "JPEG", quality=int(rng.integers(40, 90)))
                else:
                    image.save(buffer, "PNG", optimize=True)
                (tmp / f"{digit}-{name}-{variant}.{fmt}").write_bytes(buffer.getvalue())
                count += 1
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    n = build(args.out, args.seed)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{n} images, {size / 1e6:.2f} MB, in {args.out}")


if __name__ == "__main__":
    main()
