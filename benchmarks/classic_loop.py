"""A per-example training loop in the classic teaching style, as a benchmark peer.

This is how the network is usually first written: column vectors, one example at a time,
the gradient of each example accumulated over the mini-batch, then one update. It is
written fresh here for the benchmark, with the seed's conventions so that it computes the
same thing as nudgenet: the quadratic cost Σ_j (a_j − y_j)² *without* a ½ (so ∂C/∂a is
2(a − y)), averaged over the batch, and the step θ ← θ − η∇C. Shuffling draws an index
order; the data set is never copied.
"""

from __future__ import annotations

import itertools

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)); clipped so e^(−z) never overflows."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


class ClassicNetwork:
    """784-16-16-10 sigmoid network with per-layer weight matrices and bias columns."""

    def __init__(self, sizes: tuple[int, ...], rng: np.random.Generator, dtype: str) -> None:
        self.dtype = np.dtype(dtype)
        self.weights = [
            (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(self.dtype)
            for n_in, n_out in itertools.pairwise(sizes)
        ]
        self.biases = [np.zeros((n_out, 1), dtype=self.dtype) for n_out in sizes[1:]]

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        """Gradient of (a − y)² summed over the outputs, for one example x (column)."""
        activation = x
        activations = [x]  # aˡ, layer by layer
        for W, b in zip(self.weights, self.biases, strict=True):
            activation = sigmoid(W @ activation + b)
            activations.append(activation)
        a = activations[-1]
        delta = 2.0 * (a - y) * a * (1.0 - a)  # δᴸ = ∂C/∂a ⊙ σ′(zᴸ), no ½ in C
        nabla_w = [np.empty_like(W) for W in self.weights]
        nabla_b = [np.empty_like(b) for b in self.biases]
        nabla_w[-1] = delta @ activations[-2].T
        nabla_b[-1] = delta
        for l in range(2, len(self.weights) + 1):
            a_l = activations[-l]
            delta = (self.weights[-l + 1].T @ delta) * a_l * (1.0 - a_l)
            nabla_w[-l] = delta @ activations[-l - 1].T
            nabla_b[-l] = delta
        return nabla_w, nabla_b

    def update_mini_batch(self, X: np.ndarray, Y: np.ndarray, idx: np.ndarray, eta: float) -> None:
        """One step on the examples idx: the average of their gradients, one at a time."""
        sum_w = [np.zeros_like(W) for W in self.weights]
        sum_b = [np.zeros_like(b) for b in self.biases]
        for i in idx:
            nabla_w, nabla_b = self.backprop(X[i][:, None], Y[i][:, None])
            for gw, nw in zip(sum_w, nabla_w, strict=True):
                gw += nw
            for gb, nb in zip(sum_b, nabla_b, strict=True):
                gb += nb
        scale = eta / len(idx)
        for W, gw in zip(self.weights, sum_w, strict=True):
            W -= scale * gw
        for b, gb in zip(self.biases, sum_b, strict=True):
            b -= scale * gb

    def epoch(
        self, X: np.ndarray, Y: np.ndarray, batch_size: int, eta: float, rng: np.random.Generator
    ) -> None:
        """One pass over the data in shuffled mini-batches (batch_size 0: the whole set)."""
        n = len(X)
        if batch_size == 0 or batch_size >= n:
            self.update_mini_batch(X, Y, np.arange(n), eta)
            return
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            self.update_mini_batch(X, Y, order[start : start + batch_size], eta)
