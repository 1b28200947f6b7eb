"""Time data augmentation against the training it feeds: does the step wait on it?

    python benchmarks/bench_augment.py              # full MNIST, 3 rounds
    python benchmarks/bench_augment.py --data mini --repeats 1   # quick

For each kind of distortion (affine, elastic, both) it times one epoch's worth of distorted
training images (``nudgenet.data.augment.distort`` into a preallocated buffer, as training
calls it), and one epoch of training without augmentation for two networks: the seed's
784-16-16-10 at batch 10 (the fast engine) and 784-512-512-10 at batch 64 with momentum and
cross-entropy (the shipped default model's recipe). It prints images per second and the
ratio of augmentation time to epoch time: the share of a training epoch that augmenting
adds. Medians over the rounds. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from nudgenet.data import load_dataset, one_hot, to_inputs
from nudgenet.data.augment import distort
from nudgenet.init import init_params
from nudgenet.network import Network
from nudgenet.training.loop import Epoch, TrainSettings, train

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
NETWORKS = {
    "784-16-16-10 batch 10": (Network(), TrainSettings(epochs=1, batch_size=10), "xavier"),
    "784-512-512-10 batch 64": (
        Network((784, 512, 512, 10), "relu", "softmax"),
        TrainSettings(epochs=1, batch_size=64, lr=0.05, momentum=0.9, l2=1e-4,
                      cost="cross-entropy"),
        "he",
    ),
}  # fmt: skip


def epoch_seconds(name: str, X: np.ndarray, labels: np.ndarray) -> float:
    """The update time of one epoch (the Epoch record's seconds), no augmentation."""
    network, settings, init = NETWORKS[name]
    rng = np.random.default_rng(0)
    theta = init_params(network.layout, init, rng=rng, dtype=np.float32)
    Y = one_hot(labels, 10, np.float32)
    records = train(network, theta, X, Y, settings, rng=rng)
    return [r for r in records if isinstance(r, Epoch)][-1].seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(MNIST) if MNIST.is_dir() else "mini")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    data = load_dataset(args.data)
    X = to_inputs(data.train_images)
    out = np.empty_like(X)
    rng = np.random.default_rng(0)
    distort(X[:64], "both", rng)  # compile the kernel outside the timings
    epoch_seconds("784-16-16-10 batch 10", X[:1000], data.train_labels[:1000])  # and this one

    augment: dict[str, list[float]] = {k: [] for k in ("affine", "elastic", "both")}
    epochs: dict[str, list[float]] = {k: [] for k in NETWORKS}
    for _ in range(args.repeats):
        for kind, times in augment.items():
            start = time.perf_counter()
            distort(X, kind, rng, out=out)
            times.append(time.perf_counter() - start)
        for name, times in epochs.items():
            times.append(epoch_seconds(name, X, data.train_labels))
    median = {k: statistics.median(v) for k, v in {**augment, **epochs}.items()}
    report = {
        "images": len(X),
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_average": os.getloadavg(),
        "augment_seconds": {k: median[k] for k in augment},
        "augment_images_per_second": {k: len(X) / median[k] for k in augment},
        "epoch_seconds": {k: median[k] for k in epochs},
        "augment_share_of_epoch": {
            f"{kind} / {name}": median[kind] / median[name] for kind in augment for name in epochs
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
