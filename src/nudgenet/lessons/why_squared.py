"""Why the cost is squared: the note's two reasons, on the real network's outputs.

For one example with outputs a (10 numbers) and targets y (1 for the label, 0 elsewhere) the
note's cost is Σ_j (a_j − y_j)², and it gives two reasons for the square:

1. **Errors don't cancel.** The signed sum Σ_j (a_j − y_j) adds the label's negative error
   (a < 1) to the others' positive ones (a > 0), so a wrong answer can sum to almost 0; and
   averaged over examples, the positive and negative sums cancel further. A square (or an
   absolute value) is never negative, so nothing cancels.
2. **Large errors weigh more.** |a − y| counts an error of 0.9 nine times one of 0.1; the
   square counts it 81 times. So the squared cost is dominated by the worst outputs, it ranks
   an example with one badly wrong output above one with many slightly wrong ones, and its
   slope 2(a − y) pushes hardest on the worst outputs, where the slope of |a − y| is ±1 for
   every output alike.

Each is measured here on real outputs: the seed network's outputs on test images, untrained
and trained a little (:mod:`nudgenet.lessons.real`). Notation: e_j = a_j − y_j; per example,
signed s = Σ_j e_j, absolute A = Σ_j |e_j|, squared S = Σ_j e_j².
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Matrix
from ..network import output
from .real import RealNetwork

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP = 0.01
"""The share of the largest output errors whose share of each cost is compared (1 %)."""
PAIR_POOL = 2000
"""Images searched for a pair the two costs rank differently (every pair: 2000² = 4M)."""


@dataclass(frozen=True)
class Example:
    """One test image's ten errors e_j = a_j − y_j and the three sums of them."""

    index: int  # in the test set
    label: int
    guess: int
    errors: tuple[float, ...]  # e_0 … e_9
    signed: float  # Σ e_j
    absolute: float  # Σ |e_j|
    squared: float  # Σ e_j²

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "index": self.index,
            "label": self.label,
            "guess": self.guess,
            "errors": list(self.errors),
            "signed": self.signed,
            "absolute": self.absolute,
            "squared": self.squared,
        }


@dataclass(frozen=True)
class Squared:
    """The three costs of one network's outputs, and what each of the note's reasons shows."""

    name: str  # "untrained" or "trained"
    description: str
    test_accuracy: float
    errors: np.ndarray  # (m, 10): e = a − y on the test images
    labels: np.ndarray  # (m,)

    # ------------------------------------------------------------------ per example

    @property
    def signed(self) -> np.ndarray:
        """(m,): Σ_j e_j."""
        return self.errors.sum(axis=1)

    @property
    def absolute(self) -> np.ndarray:
        """(m,): Σ_j |e_j|."""
        return np.abs(self.errors).sum(axis=1)

    @property
    def squared(self) -> np.ndarray:
        """(m,): Σ_j e_j², the note's cost of each example."""
        return (self.errors**2).sum(axis=1)

    def example(self, i: int) -> Example:
        """Test image i's errors and sums."""
        e = self.errors[i]
        y = int(self.labels[i])
        return Example(
            index=int(i), label=y, guess=int(np.argmax(e + np.eye(10)[y])),  # a = e + y
            errors=tuple(float(x) for x in e), signed=float(e.sum()),
            absolute=float(np.abs(e).sum()), squared=float((e**2).sum()),
        )  # fmt: skip

    # ------------------------------------------------------------------ reason 1: cancelling

    @property
    def hidden_share(self) -> float:
        """1 − mean |s| / mean A: the share of the error the signed sum hides, per example."""
        return 1.0 - float(np.mean(np.abs(self.signed)) / np.mean(self.absolute))

    def cancelled_example(self) -> Example:
        """The wrongly read image whose signed sum is nearest 0, compared with its size.

        It is the clearest case of the first reason: the network gets it wrong, and the
        signed sum says it is nearly perfect. (Among all images when none is wrong.)
        """
        a = self.errors + np.eye(10)[self.labels]
        wrong = np.flatnonzero(np.argmax(a, axis=1) != self.labels)
        pool = wrong if len(wrong) else np.arange(len(self.labels))
        ratio = np.abs(self.signed[pool]) / np.maximum(self.absolute[pool], 1e-300)
        return self.example(int(pool[np.argmin(ratio)]))

    # ------------------------------------------------------------------ reason 2: weighing

    def top_share(self, top: float = TOP) -> tuple[float, float]:
        """The share of the squared and of the absolute cost held by the largest ``top`` of
        the output errors: (squared share, absolute share); squared's is larger."""
        sizes = np.sort(np.abs(self.errors).ravel())[::-1]
        k = max(1, round(top * sizes.size))
        return float((sizes[:k] ** 2).sum() / (sizes**2).sum()), float(
            sizes[:k].sum() / sizes.sum()
        )

    def disagreeing_pair(self) -> tuple[Example, Example] | None:
        """Two images the costs rank in opposite orders: (spread, peaked).

        ``spread`` has the larger absolute error A, spread over many outputs; ``peaked`` has
        the smaller A but a larger squared error S, its error held by fewer, larger outputs.
        Of all such pairs among the first :data:`PAIR_POOL` images, the one where both
        differences are largest (relative to the peaked image's A and S); None if every
        pair is ranked alike.
        """
        S, A = self.squared[:PAIR_POOL], self.absolute[:PAIR_POOL]
        more_absolute = (A[:, None] - A[None, :]) / np.maximum(A[None, :], 1e-300)  # (i, j)
        less_squared = (S[None, :] - S[:, None]) / np.maximum(S[None, :], 1e-300)
        score = np.minimum(more_absolute, less_squared)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[i, j] <= 0:
            return None
        return self.example(int(i)), self.example(int(j))

    def push_ratio(self) -> float:
        """How much harder the squared cost's slope pushes the largest error than the median
        one: max |2e| / median |2e| (for |a − y| the slope is ±1, the ratio 1)."""
        sizes = np.abs(self.errors).ravel()
        return float(sizes.max() / np.median(sizes))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values: the costs and both reasons' numbers."""
        squared_share, absolute_share = self.top_share()
        pair = self.disagreeing_pair()
        return {
            "network": self.name,
            "description": self.description,
            "test_accuracy": self.test_accuracy,
            "images": len(self.labels),
            "squared_cost": float(np.mean(self.squared)),
            "absolute_cost": float(np.mean(self.absolute)),
            "signed_cost": float(np.mean(self.signed)),
            "signed_cost_if_every_output_were_0": -1.0,
            "mean_abs_signed": float(np.mean(np.abs(self.signed))),
            "hidden_share": self.hidden_share,
            "cancelled_example": self.cancelled_example().as_dict(),
            "top": TOP,
            "top_share_squared": squared_share,
            "top_share_absolute": absolute_share,
            "disagreeing_pair": None if pair is None else [e.as_dict() for e in pair],
            "push_ratio": self.push_ratio(),
        }


def squared_errors(real: RealNetwork, X: Matrix, labels: np.ndarray) -> Squared:
    """The errors a − y of one network on images X with ``labels``, for both reasons."""
    a = output(real.network, real.theta, np.asarray(X, dtype=np.float64))  # (m, 10)
    labels = np.asarray(labels, dtype=np.int64)
    return Squared(
        name=real.name,
        description=real.description,
        test_accuracy=real.test_accuracy,
        errors=a - np.eye(a.shape[1])[labels],
        labels=labels,
    )


def draw_why_squared(results: Sequence[Squared]) -> Figure:
    """Left: each image's signed sum against its absolute error (cancelled errors sit near
    the horizontal line). Right: the share of each cost held by the largest output errors."""
    from ..plots import figure

    fig, (left, right) = figure(1, 2, size=(11.0, 4.4))
    for i, r in enumerate(results):
        left.scatter(r.absolute, r.signed, s=4, alpha=0.4, color=f"C{i}",
                     label=f"{r.name}: mean signed {np.mean(r.signed):+.3f}, "
                     f"mean |a − y| {np.mean(r.absolute):.3f}")  # fmt: skip
        e = r.cancelled_example()
        left.plot([e.absolute], [e.signed], "*", ms=13, mec="black", color=f"C{i}",
                  label=f"{r.name}, image {e.index}: a {e.label} read as {e.guess}, "
                  f"signed {e.signed:+.3f}, squared {e.squared:.3f}")  # fmt: skip
        sizes = np.sort(np.abs(r.errors).ravel())[::-1]
        share = np.arange(1, sizes.size + 1) / sizes.size
        right.plot(share, np.cumsum(sizes**2) / np.sum(sizes**2), color=f"C{i}", lw=2,
                   label=f"{r.name}: squared (a − y)²")  # fmt: skip
        right.plot(share, np.cumsum(sizes) / np.sum(sizes), color=f"C{i}", lw=1.2, ls="--",
                   label=f"{r.name}: absolute |a − y|")  # fmt: skip
    left.axhline(0, color="0.4", lw=0.8)
    left.set_xlabel("Σ |a_j − y_j| (one test image)")
    left.set_ylabel("Σ (a_j − y_j), the signed sum")
    left.set_title("Signed errors cancel: wrong answers that sum to ≈ 0", fontsize=11)
    left.legend(fontsize=7, loc="upper left")
    right.set_xscale("log")
    right.set_xlabel("the largest share of the output errors (log scale)")
    right.set_ylabel("share of the cost they carry")
    right.set_title("Squaring gives the large errors more weight", fontsize=11)
    right.legend(fontsize=8, loc="lower right")
    right.grid(True, which="both", alpha=0.3)
    return fig
