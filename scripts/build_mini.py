"""Build nudgenet's embedded MNIST subset, ``src/nudgenet/data/mini.npz``, reproducibly.

The subset is class-balanced: 1,000 training images of each digit (10,000 in all) and
200 test images of each digit (2,000), drawn without replacement with
``np.random.default_rng(0)`` (the training draw first, digit by digit, then the test
draw), then put back in their original order. The chosen positions are stored too
(``train_indices``, ``test_indices``), so every image can be traced to the full set.

The file has the layout ``np.savez_compressed`` writes (a deflated zip of ``.npy``
members), but each member gets a fixed time stamp, so rebuilding gives the same bytes.

Usage::

    python scripts/build_mini.py --source /path/to/mnist --out src/nudgenet/data/mini.npz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nudgenet.data import CHECKSUMS, MNIST_FILES, load_folder

N_TRAIN_PER_DIGIT = 1000
N_TEST_PER_DIGIT = 200
SEED = 0
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``per_class`` positions of each label at random; return them sorted."""
    picks = [rng.permutation(np.flatnonzero(labels == d))[:per_class] for d in range(10)]
    return np.sort(np.concatenate(picks)).astype(np.int32)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as a compressed ``.npz`` whose bytes depend only on the arrays."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def verify_source(source: Path) -> None:
    """Refuse a source whose .gz files are not the canonical MNIST ones."""
    for name in MNIST_FILES:
        gz = source / f"{name}.gz"
        if not gz.is_file():
            continue
        _, expected = CHECKSUMS["mnist"][gz.name]
        got = hashlib.sha256(gz.read_bytes()).hexdigest()
        if got != expected:
            sys.exit(f"error: {gz} is not the canonical MNIST file (sha256 {got})")


def build(source: Path) -> dict[str, np.ndarray]:
    """Return the subset's arrays, keyed as load_mini expects, plus source indices."""
    full = load_folder(source, name="mnist")
    rng = np.random.default_rng(SEED)
    train_idx = balanced_indices(full.train_labels, N_TRAIN_PER_DIGIT, rng)
    test_idx = balanced_indices(full.test_labels, N_TEST_PER_DIGIT, rng)
    return {
        "train_images": full.train_images[train_idx],
        "train_labels": full.train_labels[train_idx],
        "test_images": full.test_images[test_idx],
        "test_labels": full.test_labels[test_idx],
        "train_indices": train_idx,
        "test_indices": test_idx,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="folder with full MNIST")
    parser.add_argument("--out", type=Path, default=Path("src/nudgenet/data/mini.npz"))
    args = parser.parse_args(argv)
    verify_source(args.source)
    arrays = build(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}: {args.out.stat().st_size} bytes, sha256 {digest}")
    for split in ("train", "test"):
        counts = np.bincount(arrays[f"{split}_labels"], minlength=10)
        print(f"{split}: {len(arrays[f'{split}_labels'])} images, per digit {counts.tolist()}")


if __name__ == "__main__":
    main()
