"""Engines that did not change give the same bits as before: digests of θ after training.

``unchanged_digests.json`` holds, per kind of machine and configuration, the SHA-256 of θ's
bytes after a short training run, computed with the engines as they were before the
wide-network (BLAS) engine and the compiled stack's shared passes were added, and before the
fast engine's L2 and norm passes were fused. Their arithmetic on θ in float32 did not change,
so their θ must be the same bits. Cases whose engine changed since are stored only for the
kinds of machine they were taken on again: the BLAS engine's after it shared each chunk's
work among threads of its own, one per core (whatever the load), each calling BLAS on one
thread; the fast engine's (and its stack's) after its small layers' products became
register tiles on chunks padded to whole vectors. The lanes engine's stack was first taken
with its first layer in tiles of 4 units × 5 examples, before tiles of 2 × 10 (the same
sums in the same order). Bits depend
on the machine (processor, BLAS kernels, vector width, Numba's thread count), so each
machine's digests are checked only where the fingerprint is the same; elsewhere the test
says why it skips.

Record this machine's digests (only for a new kind of machine, or for a deliberate change
of an engine's numbers, whose case should then be dropped from the other machines)::

    python tests/training/test_unchanged.py
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from machine import processor

from nudgenet.data import load_mini
from nudgenet.network import Network
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit
from nudgenet.training.stacked import Member, train_stacked

STORED = Path(__file__).with_name("unchanged_digests.json")

CASES: dict[str, tuple[Network, TrainSettings, str, str]] = {
    "seed-b10-reference-f32": (Network(), TrainSettings(epochs=1, lr=1.0), "reference", "float32"),
    "seed-b10-fast-f32": (Network(), TrainSettings(epochs=1, lr=1.0), "fast", "float32"),
    "seed-b10-fast-f64": (Network(), TrainSettings(epochs=1, lr=1.0), "fast", "float64"),
    "seed-b100-fast-f32-momentum": (
        Network(), TrainSettings(epochs=1, batch_size=100, lr=0.5, momentum=0.9, l2=1e-4),
        "fast", "float32",
    ),
    "wide-relu-ce-b64-reference-f32": (
        Network((784, 64, 32, 10), "relu", "softmax"),
        TrainSettings(epochs=1, batch_size=64, lr=0.05, momentum=0.9, l2=1e-4,
                      cost="cross-entropy", schedule="cosine"),
        "reference", "float32",
    ),
    "wide-relu-ce-b64-blas-f32": (
        Network((784, 64, 32, 10), "relu", "softmax"),
        TrainSettings(epochs=1, batch_size=64, lr=0.05, momentum=0.9, l2=1e-4,
                      cost="cross-entropy", schedule="cosine"),
        "blas", "float32",
    ),
}  # fmt: skip
STACK_MEMBERS = [Member(lr=0.5, seed=0), Member(lr=2.0, seed=1), Member(lr=0.1, seed=0)]


def fingerprint() -> dict[str, Any]:
    """What the bits depend on besides the code: the processor, BLAS and its core type, vector
    width, threads."""
    import numba
    from threadpoolctl import threadpool_info

    from nudgenet.training.simd import VECTOR_BYTES

    blas = sorted(  # NumPy's own (SciPy and PyTorch may have loaded others)
        f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
        for i in threadpool_info()
        if i["user_api"] == "blas" and "numpy" in Path(i["filepath"]).parent.name
    )
    return {
        "processor": processor(),
        "numpy": np.__version__,
        "blas": blas,
        "vector_bytes": VECTOR_BYTES,
        "numba_threads": int(numba.config.NUMBA_NUM_THREADS),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }


def _digest(theta: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(theta).tobytes()).hexdigest()


STACK_ENGINES = ("reference", "fast", "lanes")
ALL_CASES = [*CASES, *(f"stack-seed-b10-{engine}-f32" for engine in STACK_ENGINES)]


def digest(case: str) -> str:
    """Train one case on 600 images of the embedded set; the digest of its final θ. Each
    case alone, so that a test pays for its own training only, on whichever worker runs it."""
    data = load_mini()
    if case in CASES:
        network, settings, engine, dtype = CASES[case]
        recipe = Recipe(network, settings, init="he" if network.activation == "relu" else "xavier",
                        seed=3, dtype=dtype, engine=engine)  # fmt: skip
        return _digest(fit(recipe, data, train_size=600).theta)
    engine = case.removeprefix("stack-seed-b10-").removesuffix("-f32")
    X = data.train_images[:600].reshape(600, -1).astype(np.float32) / 255
    Y = np.eye(10, dtype=np.float32)[data.train_labels[:600]]
    results = train_stacked(Network(), STACK_MEMBERS, X, Y, epochs=1, batch_size=10,
                            dtype="float32", engine=engine)  # fmt: skip
    return _digest(np.stack([r.theta for r in results]))


def digests() -> dict[str, str]:
    return {case: digest(case) for case in ALL_CASES}


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    here = fingerprint()
    for saved in json.loads(STORED.read_text())["machines"]:
        if saved["fingerprint"] == here:
            return saved["digests"]
    pytest.skip(f"no digests are stored for this kind of machine: {here}")


@pytest.mark.slow
@pytest.mark.parametrize("case", ALL_CASES)
def test_unchanged_engine_gives_the_same_bits(case: str, stored: dict) -> None:
    if case not in stored:
        pytest.skip(f"{case} was not taken on this kind of machine since its engine changed")
    assert digest(case) == stored[case]


def record() -> None:
    """Store this machine's digests beside the other machines' (replacing its own)."""
    here = fingerprint()
    machines = [m for m in json.loads(STORED.read_text())["machines"] if m["fingerprint"] != here]
    machines.append({"fingerprint": here, "digests": digests()})
    STORED.write_text(json.dumps({"machines": machines}, indent=2) + "\n")


if __name__ == "__main__":
    record()
    sys.exit(0)
