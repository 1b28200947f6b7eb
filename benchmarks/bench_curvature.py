"""Speed of the curvature: Hessian-vector products and the top eigenvalues, on the seed network.

On the seed network 784-16-16-10 (sigmoid, quadratic cost, float64) at a trained point (the
recipe's ``train --seed 0``, 3 epochs on the embedded set), with the cost averaged over the
10,000 training images of the embedded set, BLAS limited to 2 threads, it prints:

* one gradient, ``cost_and_gradient`` (median of the rounds);
* one Hessian-vector product, ``hessian_vector_product`` (its own forward and backward pass
  included), and one product of a ``hessian_operator`` (the passes at θ kept, as Lanczos
  uses it), each with its ratio to the gradient (target: at most 3×);
* the top 10 eigenvalues by Lanczos, ``top_eigenpairs(k=10)``, from building the operator to
  the sorted values (target: at most 30 s), and how many products that took.

Run from the repository root, on an otherwise idle machine (the load average is printed):

    python benchmarks/bench_curvature.py
    python benchmarks/bench_curvature.py --repeats 20 --threads 1 --json curvature.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import nudgenet as nn
from nudgenet import hessian
from nudgenet.hessian import hessian_operator, hessian_vector_product, top_eigenpairs
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit

EIGEN_TARGET_S = 30.0
PRODUCT_TARGET = 3.0


def timed(functions: list[Callable[[], Any]], repeats: int) -> list[float]:
    """The median seconds of each function over ``repeats`` interleaved rounds (one call of
    each per round, so that a slow moment of the machine hits all of them), after a warm-up."""
    for f in functions:
        f()
    seconds: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for f, kept in zip(functions, seconds, strict=True):
            start = time.perf_counter()
            f()
            kept.append(time.perf_counter() - start)
    return [statistics.median(kept) for kept in seconds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="training images")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads")
    parser.add_argument("--repeats", type=int, default=10, help="rounds of each product")
    parser.add_argument("--top", type=int, default=10, help="eigenvalues to find")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    data = nn.load_mini()
    n = min(args.examples, len(data.train_labels))
    network = nn.Network()
    model = fit(Recipe(network, TrainSettings(epochs=3)), data)  # a trained point
    theta = model.theta.astype(np.float64)
    X = nn.to_inputs(data.train_images[:n], np.float64)
    Y = nn.one_hot(data.train_labels[:n], dtype=np.float64)
    v = np.random.default_rng(1).standard_normal(network.n_params)
    load_before = os.getloadavg()[0]
    with threadpool_limits(args.threads):
        H = hessian_operator(network, theta, X, Y)
        gradient, product, kept = timed(
            [
                lambda: nn.cost_and_gradient(network, theta, X, Y),
                lambda: hessian_vector_product(network, theta, X, Y, v),
                lambda: H(v),
            ],
            args.repeats,
        )
        calls = [0]
        apply = hessian._apply

        def counted(p: Any, V: np.ndarray) -> np.ndarray:
            calls[0] += len(V)
            return apply(p, V)

        hessian._apply = counted
        start = time.perf_counter()
        values, _ = top_eigenpairs(network, theta, X, Y, args.top, rng=np.random.default_rng(0))
        eigen = time.perf_counter() - start
        hessian._apply = apply
    load_after = os.getloadavg()[0]
    figures = {
        "examples": n,
        "threads": args.threads,
        "gradient_s": gradient,
        "product_s": product,
        "product_ratio": product / gradient,
        "kept_product_s": kept,
        "kept_product_ratio": kept / gradient,
        "top": args.top,
        "eigen_s": eigen,
        "eigen_products": calls[0],
        "top_eigenvalues": values.tolist(),
        "load_before": load_before,
        "load_after": load_after,
    }
    print(
        f"seed network 784-16-16-10, float64, {n:,} images, {args.threads} BLAS threads; "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(f"gradient (cost_and_gradient)        {1e3 * gradient:8.1f} ms")
    verdict = "≤" if product / gradient <= PRODUCT_TARGET else ">"
    print(
        f"Hessian-vector product (one-shot)   {1e3 * product:8.1f} ms  "
        f"{product / gradient:.2f}× the gradient ({verdict} {PRODUCT_TARGET:g}×)"
    )
    print(
        f"product with the passes at θ kept   {1e3 * kept:8.1f} ms  "
        f"{kept / gradient:.2f}× the gradient"
    )
    verdict = "≤" if eigen <= EIGEN_TARGET_S else ">"
    print(
        f"top {args.top} eigenvalues (Lanczos)        {eigen:8.2f} s   "
        f"({verdict} {EIGEN_TARGET_S:g} s; {calls[0]} products)"
    )
    print("  λ: " + "  ".join(f"{x:.4g}" for x in values))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
