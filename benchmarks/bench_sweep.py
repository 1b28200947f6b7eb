"""Time a learning-rate × seed sweep stacked against the same configurations one by one.

    python benchmarks/bench_sweep.py                # 64 η × 5 seeds × 5 epochs
    python benchmarks/bench_sweep.py --quick        # 16 η × 2 seeds × 1 epoch, 4 alone

Stacked: every configuration through ``nudgenet.training.sweep.run_chunk`` (stacks of ``--chunk``
members trained together), as ``nudgenet sweep`` runs them. One by one: each configuration
through ``nudgenet.training.loop.train`` with its default engine, exactly as ``nudgenet train`` runs
it (same streams, test set measured after each epoch). Both use every core the machine has.
With ``--alone N`` below the grid's size only N configurations, spread evenly over the grid
(every len/N-th in grid order, so low and high η and every seed are sampled), are timed
alone, and the one-by-one total is estimated as their mean time × the number of
configurations. Data loading is excluded from both sides.
Like bench_train.py it runs on the processor's own BLAS kernels (``clean_blas``). Prints the
ratio, then one JSON object.
"""

from __future__ import annotations

import clean_blas  # first: re-executes without the BLAS overrides, before NumPy loads

# isort: split

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from nudgenet.init import init_params
from nudgenet.training.loop import TrainSettings, train
from nudgenet.training.sweep import Grid, SweepSpec, _arrays, chunks, log_range, run_chunk

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(MNIST), help="mini, mnist or a folder of IDX files")
    p.add_argument("--rates", type=int, default=64, help="learning rates, log-spaced 0.01–10")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--chunk", type=int, default=64, help="members per stack")
    p.add_argument("--alone", type=int, default=16, help="configurations timed one by one")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--quick", action="store_true", help="16 η × 2 seeds × 1 epoch, 4 alone")
    args = p.parse_args()
    if args.quick:
        args.rates, args.seeds, args.epochs, args.alone = 16, 2, 1, 4

    spec = SweepSpec(data=args.data, epochs=args.epochs, dtype=args.dtype)
    grid = Grid(lrs=log_range(0.01, 10, args.rates), seeds=tuple(range(args.seeds)))
    configs = grid.configs()
    X, Y, labels, X_test, test_labels = _arrays(
        spec.data, spec.dtype, spec.limit, spec.validation, spec.deskew
    )

    start = time.perf_counter()
    rows = [r for stack in chunks(configs, args.chunk) for r in run_chunk(spec, stack)]
    stacked = time.perf_counter() - start

    n_alone = min(args.alone, len(configs))
    sample = [configs[i * len(configs) // n_alone] for i in range(n_alone)]
    start = time.perf_counter()
    for c in sample:
        init_seed, shuffle_seed = np.random.SeedSequence(c.seed).spawn(2)
        theta = init_params(spec.network.layout, c.init, rng=np.random.default_rng(init_seed),
                            dtype=spec.dtype)  # fmt: skip
        settings = TrainSettings(epochs=spec.epochs, batch_size=c.batch_size, lr=c.lr,
                                 schedule=c.schedule, cost=spec.cost)  # fmt: skip
        try:
            for _ in train(spec.network, theta, X, Y, settings,
                           rng=np.random.default_rng(shuffle_seed),
                           test=(X_test, test_labels), labels=labels):  # fmt: skip
                pass
        except ArithmeticError:  # DivergenceError: `nudgenet train` would stop here too
            pass
    alone_sample = time.perf_counter() - start
    alone_total = alone_sample / n_alone * len(configs)

    print(f"BLAS: {clean_blas.blas_report()}")
    print(f"stacked {stacked:.1f} s, one by one {alone_total:.1f} s"
          + ("" if n_alone == len(configs) else f" (estimated from {n_alone})")
          + f": stacked is {alone_total / stacked:.2f}× faster")  # fmt: skip
    print(json.dumps({
        "configs": len(configs), "rates": args.rates, "seeds": args.seeds,
        "epochs": args.epochs, "dtype": args.dtype, "chunk": args.chunk,
        "data": spec.data, "train_images": len(X),
        "stacked_seconds": round(stacked, 2),
        "stacked_seconds_per_config": round(stacked / len(configs), 4),
        "alone_measured_configs": n_alone,
        "alone_measured_seconds": round(alone_sample, 2),
        "alone_seconds_per_config": round(alone_sample / n_alone, 4),
        "alone_seconds_total" + ("" if n_alone == len(configs) else "_estimated"):
            round(alone_total, 1),
        "speedup": round(alone_total / stacked, 2),
        "diverged": sum(r["diverged"] for r in rows),
        "best_final_test_accuracy": max(r["final_test_accuracy"] for r in rows),
        "machine": platform.processor() or platform.machine(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "blas": clean_blas.blas_report(),
        "load_average": os.getloadavg()[0],
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
