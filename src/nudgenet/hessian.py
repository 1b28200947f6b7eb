"""Curvature: exact products of the cost's Hessian with a direction, by the R-operator.

The gradient ∇C says which way is downhill; the Hessian H = ∇²C (13,002 × 13,002 for the
seed) says how the slope itself changes, and so how far a step of η can go: along an
eigenvector of H with eigenvalue λ, one step of gradient descent multiplies the distance to
the bottom by 1 − ηλ, which grows in size once η > 2/λ.

H is never needed whole. Pearlmutter's R-operator (1994), R{f} = d/dt f(θ + t·v) at t = 0,
applied to every line of the forward pass and of backpropagation, gives Hv = R{∇C} exactly
(not by finite differences) for the cost of about one more forward and backward pass:

    R{zˡ} = R{aˡ⁻¹} Wˡᵀ + aˡ⁻¹ Vˡᵀ + cˡ          R{aˡ} = σ′(zˡ) ⊙ R{zˡ}      (R{a⁰} = 0)
    R{δᴸ} = ∂²C/∂zᴸ² · R{zᴸ}                     (from the cost and output layer)
    R{δˡ} = (R{δˡ⁺¹} Wˡ⁺¹ + δˡ⁺¹ Vˡ⁺¹) ⊙ σ′(zˡ) + (δˡ⁺¹ Wˡ⁺¹) ⊙ σ″(zˡ) ⊙ R{zˡ}
    R{∂C/∂Wˡ} = R{δˡ}ᵀ aˡ⁻¹ + δˡᵀ R{aˡ⁻¹}          R{∂C/∂bˡ} = Σ_x R{δˡ}

where the direction v holds (Vˡ, cˡ) in θ's layout and δˡ = ∂C/∂zˡ as in
:mod:`nudgenet.backprop`. Everything is vectorised over the examples and over a block of k
directions at once (shapes (k, m, n)), in float64. Every activation, output layer and cost
nudgenet trains with is covered; ReLU's σ″ is 0 away from its kink at z = 0, where C has no
second derivative at all.

:func:`hessian_operator` keeps the forward and backward pass at θ, so that each product
costs only the R-passes (for Lanczos, which asks for hundreds at the same θ);
:func:`top_eigenpairs` runs Lanczos (ARPACK's ``eigsh``) on it; :func:`full_hessian` builds
H column block by column block and :func:`spectrum` gives all its eigenvalues, within
:data:`MAX_FULL_PARAMS` and the memory this machine has free.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._types import Matrix, Vector
from .activations import SECOND_DERIVATIVES
from .backprop import check_targets, output_error
from .cost import get_cost
from .errors import ConfigError
from .network import Network, _forward

MAX_FULL_PARAMS = 20_000
"""Most parameters whose full Hessian :func:`full_hessian` builds: 20,000² floats are 3.2 GB
in float64 (the seed's 13,002² are 1.35 GB), and the eigenvalues take minutes beyond that."""
MAX_TOP = 100
"""Most eigenpairs :func:`top_eigenpairs` computes: Lanczos keeps about 2k vectors of θ's
size and its work grows with k²; the largest few are what the learning rate meets."""
MAX_RESTARTS = 1000
"""Most restarts Lanczos may take (each is up to ~2k products): far more than the top of
the seed network's spectrum needs (one run of 40–60 products), a bound on a run that stalls."""
BLOCK_FLOATS = 4_000_000
"""How many floats (32 MB) one layer's R-pass, or one block of directions, may hold: the
block size of :func:`full_hessian` is chosen to keep within it."""


def second_derivative_bytes(n_params: int) -> int:
    """Bytes of the full n × n Hessian in float64.

    >>> second_derivative_bytes(13002) / 1e9  # the seed network
    1.352416032
    """
    return 8 * n_params * n_params


# --------------------------------------------------------------------------- the R-passes


@dataclass(frozen=True)
class _Point:
    """Everything the R-passes read at θ: one forward and backward pass, kept."""

    network: Network
    weights: list[Matrix]  # Wˡ, (n_out, n_in)
    activations: list[Matrix]  # [a⁰ = X, a¹, …, aᴸ], (m, n_l)
    slopes: list[Matrix]  # σ′(zˡ) of the hidden layers, (m, n_l); index l − 1
    bends: list[Matrix]  # σ″(zˡ) of the hidden layers
    deltas: list[Matrix]  # δˡ = ∂C/∂zˡ, (m, n_l); index l − 1
    back: list[Matrix]  # δˡ⁺¹ Wˡ⁺¹, the error before ⊙ σ′(zˡ); index l − 1
    output_curvature: Callable[[Matrix], Matrix]  # R{zᴸ} (k, m, n) → R{δᴸ}
    l2: float


def _point(network: Network, theta: Vector, X: Matrix, Y: Matrix, cost: str, l2: float) -> _Point:
    """The forward pass and backpropagation at θ, kept for the R-passes (float64)."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    activations, _ = _forward(network, theta, X)
    weights = [W for W, _ in network.layout.views(theta)]
    a = activations[-1]
    c = get_cost(cost, network.output)
    matching = c.matching_output == network.output
    if not matching and c.name != "quadratic":  # pragma: no cover - no such cost exists yet
        raise ConfigError(
            f"no Hessian for the {c.name} cost with a {network.output} output layer",
            help="the Hessian covers the quadratic cost and cross-entropy",
        )
    delta = output_error(network, cost, a, Y)  # δᴸ, exactly as backpropagation has it
    deltas, back = [delta], []
    hidden = network.hidden
    slopes = [hidden.derivative(x) for x in activations[1:-1]]  # type: ignore[misc]
    bends = [SECOND_DERIVATIVES[hidden.name](x) for x in activations[1:-1]]
    for l in range(len(weights) - 1, 0, -1):
        e = deltas[0] @ weights[l]  # (m, n_out) @ (n_out, n_in) -> (m, n_in)
        back.insert(0, e)
        deltas.insert(0, e * slopes[l - 1])
    return _Point(
        network,
        weights,
        activations,
        slopes,
        bends,
        deltas,
        back,
        _output_curvature(matching, network.output, a, Y),
        l2,
    )


def _output_curvature(
    matching: bool, output: str, a: Matrix, Y: Matrix
) -> Callable[[Matrix], Matrix]:
    """R{zᴸ} ↦ R{δᴸ}: the per-example Hessian of C in zᴸ, applied to a block (k, m, n)."""
    m = len(a)

    def r_output(rz: Matrix) -> Matrix:  # R{aᴸ} = σ′ ⊙ R{zᴸ}, or the softmax Jacobian's J R{zᴸ}
        if output == "softmax":
            return a * (rz - np.sum(a * rz, axis=-1, keepdims=True))
        return a * (1.0 - a) * rz

    if matching:  # δᴸ = (a − y)/m, so R{δᴸ} = R{aᴸ}/m
        return lambda rz: r_output(rz) / m
    if output == "sigmoid":  # δᴸ = (2/m)(a − y)σ′: R{δᴸ} = (2/m)(σ′² + (a − y)σ″) R{zᴸ}
        s1 = a * (1.0 - a)
        weight = (2.0 / m) * (s1 * s1 + (a - Y) * SECOND_DERIVATIVES["sigmoid"](a))
        return lambda rz: weight * rz
    g = 2.0 * (a - Y) / m  # softmax with the quadratic cost: δᴸ = a ⊙ (g − Σ g a)
    s = np.sum(g * a, axis=-1, keepdims=True)

    def softmax_quadratic(rz: Matrix) -> Matrix:
        ra = r_output(rz)
        rg = (2.0 / m) * ra
        rs = np.sum(rg * a + g * ra, axis=-1, keepdims=True)
        return ra * (g - s) + a * (rg - rs)

    return softmax_quadratic


def _layer_views(network: Network, V: Matrix) -> list[tuple[Matrix, Matrix]]:
    """Per-layer (Vˡ, cˡ) views of a block of directions V (k, n_params): (k, n_out, n_in)
    and (k, n_out)."""
    layout = network.layout
    out = []
    for ((n_out, n_in), _), start in zip(layout.shapes, layout.offsets[:-1], strict=True):
        n_w = n_out * n_in
        out.append(
            (
                V[:, start : start + n_w].reshape(len(V), n_out, n_in),
                V[:, start + n_w : start + n_w + n_out],
            )
        )
    return out


def _shared_times(a: Matrix, V: Matrix) -> Matrix:
    """a Vᵀ for each of k matrices V (k, n_out, n_in) and one a (m, n_in): (k, m, n_out),
    as one matrix product."""
    k, n_out, n_in = V.shape
    return (a @ V.reshape(k * n_out, n_in).T).reshape(len(a), k, n_out).transpose(1, 0, 2)


def _apply(p: _Point, V: Matrix) -> Matrix:
    """HV for a block of directions V (k, n_params): the R-forward then the R-backward pass."""
    directions = _layer_views(p.network, V)
    k, L = len(V), len(p.weights)
    acts = p.activations
    HV = np.empty_like(V)
    out = _layer_views(p.network, HV)
    ra: Matrix | None = None  # R{aˡ⁻¹}; R{a⁰} = 0: the inputs do not depend on θ
    rzs, ras = [], []
    for l in range(L):
        Vl, cl = directions[l]
        rz = _shared_times(acts[l], Vl)  # aˡ⁻¹ Vˡᵀ, (k, m, n_out)
        if ra is not None:
            rz += ra @ p.weights[l].T  # (k, m, n_in) @ (n_in, n_out)
        rz += cl[:, None, :]
        ras.append(ra)
        rzs.append(rz)
        if l < L - 1:
            ra = p.slopes[l] * rz  # R{aˡ} = σ′(zˡ) ⊙ R{zˡ}
    rdelta = p.output_curvature(rzs[-1])  # R{δᴸ}, (k, m, n_out)
    for l in range(L - 1, -1, -1):
        dW, db = out[l]
        m_out = rdelta.shape[2]
        # R{δˡ}ᵀ aˡ⁻¹ for all k at once: (k·n_out, m) @ (m, n_in)
        dW[...] = (rdelta.transpose(0, 2, 1).reshape(k * m_out, -1) @ acts[l]).reshape(dW.shape)
        if ras[l] is not None:
            dW += np.matmul(p.deltas[l].T, ras[l])  # δˡᵀ R{aˡ⁻¹}: (n_out, m) @ (k, m, n_in)
        db[...] = rdelta.sum(axis=1)
        if l > 0:
            Vl = directions[l][0]
            spread = rdelta @ p.weights[l] + np.matmul(p.deltas[l], Vl)  # (k, m, n_in)
            rdelta = spread * p.slopes[l - 1] + p.back[l - 1] * p.bends[l - 1] * rzs[l - 1]
    if p.l2:
        for (Vl, _), (dW, _) in zip(directions, out, strict=True):
            dW += p.l2 * Vl  # the Hessian of (λ/2)‖W‖² is λ on the weights
    return HV


# --------------------------------------------------------------------------- public products


def _checked_point(
    network: Network, theta: Vector, X: Matrix, Y: Matrix, cost: str, l2: float
) -> _Point:
    network.layout.check(theta)
    network.check_inputs(X)
    check_targets(network, X, Y, cost)
    if not (np.isfinite(l2) and l2 >= 0):
        raise ConfigError(f"l2 must be a number ≥ 0, got {l2}", help="0 turns weight decay off")
    return _point(network, theta, X, Y, cost, l2)


def hessian_operator(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    cost: str = "quadratic",
    *,
    l2: float = 0.0,
) -> Callable[[Matrix], Matrix]:
    """v ↦ Hv at θ, with the forward and backward pass done once, for many products.

    Parameters
    ----------
    network, theta, X, Y, cost, l2
        As for :func:`~nudgenet.backprop.cost_and_gradient`; H is the Hessian of the cost
        it returns (with the L2 term when ``l2`` > 0).

    Returns
    -------
    callable
        Takes v of shape (n_params,) or a block of directions (k, n_params), returns Hv of
        the same shape, in float64.

    Examples
    --------
    >>> net = Network((1, 1))  # C = (σ(w·1 + b) − 1)², at w = b = 0: a = 1/2
    >>> H = hessian_operator(net, np.zeros(2), np.array([[1.0]]), np.array([[1.0]]))
    >>> H(np.array([1.0, 0.0])).tolist()  # 2(σ′² + (a − y)σ″) = 2/16 and σ″(0) = 0
    [0.125, 0.125]
    """
    p = _checked_point(network, theta, X, Y, cost, l2)
    n = network.n_params

    def product(v: Matrix) -> Matrix:
        v = np.asarray(v, dtype=np.float64)
        if v.shape[-1:] != (n,) or v.ndim not in (1, 2):
            raise ConfigError(
                f"a direction must have shape ({n},) or (k, {n}), got {v.shape}",
                help="give one number per weight and bias, laid out as θ is",
            )
        block = v[None, :] if v.ndim == 1 else v
        out = _apply(p, np.ascontiguousarray(block))
        return out[0] if v.ndim == 1 else out

    return product


def hessian_vector_product(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    v: Vector,
    cost: str = "quadratic",
    *,
    l2: float = 0.0,
) -> Vector:
    """Hv, the Hessian of C at θ times the direction v, exactly, by the R-operator.

    It is the directional derivative of the gradient, d/dt ∇C(θ + t·v) at t = 0, computed
    with one forward and backward pass and their R-passes (see the module docstring).

    Examples
    --------
    >>> net = Network((1, 1))
    >>> X, Y = np.array([[1.0]]), np.array([[1.0]])
    >>> hessian_vector_product(net, np.zeros(2), X, Y, np.array([0.0, 1.0])).tolist()
    [0.125, 0.125]
    """
    return hessian_operator(network, theta, X, Y, cost, l2=l2)(v)


def full_hessian(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    cost: str = "quadratic",
    *,
    l2: float = 0.0,
) -> Matrix:
    """The whole Hessian H (n_params × n_params), a block of columns He₁ … He_k at a time.

    Symmetrised, (H + Hᵀ)/2, which only moves rounding errors: exact products are symmetric.
    Refused beyond :data:`MAX_FULL_PARAMS` parameters or when the machine has not the
    memory free (:func:`check_full_hessian`).
    """
    check_full_hessian(network.n_params)
    H = hessian_operator(network, theta, X, Y, cost, l2=l2)
    n = network.n_params
    widest = max(network.sizes[1:])
    # Directions per block: its R-passes (k, m, width) and the block itself (k, n) stay
    # within BLOCK_FLOATS, so that H is the only large array.
    k = int(max(1, min(n, BLOCK_FLOATS // max(1, len(X) * widest), BLOCK_FLOATS // n)))
    out = np.empty((n, n))
    for start in range(0, n, k):
        stop = min(n, start + k)
        block = np.zeros((stop - start, n))
        block[np.arange(stop - start), np.arange(start, stop)] = 1.0
        out[start:stop] = H(block)  # rows of H are its columns: H is symmetric
    for start in range(0, n, k):  # (H + Hᵀ)/2 a band at a time: no second n × n array
        stop = min(n, start + k)
        band = 0.5 * (out[start:stop, start:] + out[start:, start:stop].T)
        out[start:stop, start:] = band
        out[start:, start:stop] = band.T
    return out


def check_full_hessian(n_params: int, available: int | None = None) -> None:
    """Refuse a full Hessian that is too large to build, or to fit in the free memory.

    H is the one large array: it is built in place and LAPACK finds its eigenvalues in it;
    a quarter more is asked for the blocks and the work around it (``available``: bytes
    free; default: what the system reports).
    """
    need = second_derivative_bytes(n_params)
    if n_params > MAX_FULL_PARAMS:
        raise ConfigError(
            f"the full Hessian of {n_params:,} parameters would be {n_params:,} × {n_params:,} "
            f"floats, {need / 1e9:.1f} GB in float64: more than this command builds (at most "
            f"{MAX_FULL_PARAMS:,} parameters, {second_derivative_bytes(MAX_FULL_PARAMS) / 1e9:.1f}"
            " GB)",
            help="leave out --full: Lanczos finds the top eigenvalues without building H",
        )
    free = available_memory() if available is None else available
    if free is not None and need + need // 4 > free:
        raise ConfigError(
            f"the full Hessian needs {need / 1e9:.2f} GB, and a quarter more for the work "
            f"around it, but only {free / 1e9:.2f} GB of memory is free",
            help="free some memory, or leave out --full: Lanczos needs only a few vectors",
        )


def available_memory() -> int | None:
    """Bytes of memory the system says are available (Linux's MemAvailable); None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


# --------------------------------------------------------------------------- eigenvalues


def top_eigenpairs(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    k: int = 1,
    cost: str = "quadratic",
    *,
    rng: np.random.Generator,
    l2: float = 0.0,
    tol: float = 1e-8,
    v0: Vector | None = None,
) -> tuple[Vector, Matrix]:
    """The k largest eigenvalues of H (descending) and their unit eigenvectors, by Lanczos.

    ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``, ``which="LA"``)
    needs only products Hv. Its start vector is drawn from ``rng`` (or is ``v0``, e.g. the
    previous eigenvector when θ has moved a little), so a seed gives the same numbers.

    Returns
    -------
    (values, vectors) : ndarrays of shapes (k,) and (k, n_params); vectors[i] belongs to
        values[i], with its sign chosen so that its largest component is positive.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    n = network.n_params
    if not (isinstance(k, int | np.integer) and 1 <= k <= min(MAX_TOP, n - 1)):
        raise ConfigError(
            f"k must be a whole number from 1 to {min(MAX_TOP, n - 1)} (fewer than the "
            f"{n:,} parameters, at most {MAX_TOP}), got {k!r}",
            help="the top 5 or 10 eigenvalues show what the learning rate meets",
        )
    H = hessian_operator(network, theta, X, Y, cost, l2=l2)
    op = LinearOperator((n, n), matvec=H, matmat=lambda V: H(V.T).T, dtype=np.float64)
    start = rng.standard_normal(n) if v0 is None else np.asarray(v0, dtype=np.float64)
    try:
        values, vectors = eigsh(op, k=int(k), which="LA", v0=start, tol=tol, maxiter=MAX_RESTARTS)
    except ArpackNoConvergence as exc:
        raise ConfigError(
            f"Lanczos did not converge to the top {k} eigenvalues",
            help="ask for fewer with --top, or use more examples",
        ) from exc
    order = np.argsort(values)[::-1]
    vectors = vectors[:, order].T.copy()
    for v in vectors:
        if v[np.argmax(np.abs(v))] < 0:
            v *= -1
    return values[order], vectors


def spectrum(H: Matrix) -> Vector:
    """Every eigenvalue of a full symmetric Hessian, ascending (LAPACK; H is overwritten)."""
    from scipy.linalg import eigh

    # H is symmetric, so Hᵀ is H; given as Hᵀ, a C-ordered H is the Fortran-ordered array
    # LAPACK works in, and it is not copied (1.35 GB for the seed network).
    return eigh(H.T, eigvals_only=True, overwrite_a=True, check_finite=False)


def zero_tolerance(values: Vector) -> float:
    """How close to 0 an eigenvalue of a computed Hessian is indistinguishable from 0:
    n·ε·max|λ|, the rounding a symmetric eigensolver allows itself.

    >>> bool(zero_tolerance(np.array([-1.0, 2.0])) == 2 * 2 * np.finfo(float).eps)
    True
    """
    return float(len(values) * np.finfo(np.float64).eps * np.max(np.abs(values)))
