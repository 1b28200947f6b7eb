"""Random initialisation: where θ starts, and why it must not start symmetric.

If every weight starts equal, every neuron of a layer computes the same thing, gets the same
gradient, and stays its twin forever; random starting values break that symmetry. Schemes
(W has shape (n_out, n_in); biases as noted):

* ``normal``   W, b ~ N(0, 1): the seed's and the classic teaching code's choice
* ``scaled``   W ~ N(0, 1/n_in), b ~ N(0, 1): keeps z of order 1 so sigmoids don't saturate
* ``xavier``   W ~ N(0, 2/(n_in + n_out)), b = 0 (Glorot & Bengio, 2010)
* ``he``       W ~ N(0, 2/n_in), b = 0 (He et al., 2015), made for ReLU
* ``constant`` every weight and bias = ``value``: the symmetric start, for showing the problem
"""

from __future__ import annotations

import numpy as np

from ._types import DTYPES, Vector
from .errors import ConfigError
from .layout import Layout

INITS = ("normal", "scaled", "xavier", "he", "constant")


def init_params(
    layout: Layout,
    scheme: str = "normal",
    *,
    rng: np.random.Generator,
    dtype: str | type = "float64",
    value: float = 0.5,
) -> Vector:
    """A fresh θ for ``layout``, drawn with ``rng``.

    Parameters
    ----------
    layout : Layout
    scheme : one of "normal", "scaled", "xavier", "he", "constant"
    rng : numpy.random.Generator, the only source of randomness
    dtype : "float32" or "float64"
    value : the weight and bias value for the "constant" scheme

    Returns
    -------
    ndarray of shape (layout.n_params,)

    Examples
    --------
    >>> theta = init_params(Layout((784, 16, 16, 10)), rng=np.random.default_rng(0))
    >>> theta.shape
    (13002,)
    """
    if scheme not in INITS:
        raise ConfigError(
            f"unknown initialisation {scheme!r}; choose one of {', '.join(INITS)}",
            help=f"--init takes one of: {', '.join(INITS)}",
        )
    dtype = np.dtype(DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)
    if dtype not in (np.float32, np.float64):
        raise ConfigError(
            f"dtype must be float32 or float64, got {dtype}",
            help="--dtype takes float32 (fast) or float64 (exact)",
        )
    theta = np.empty(layout.n_params, dtype=np.float64)
    if scheme == "constant":
        theta[:] = value
        return theta.astype(dtype)
    for W, b in layout.views(theta):
        n_out, n_in = W.shape
        std = {
            "normal": 1.0,
            "scaled": 1.0 / np.sqrt(n_in),
            "xavier": np.sqrt(2.0 / (n_in + n_out)),
            "he": np.sqrt(2.0 / n_in),
        }[scheme]
        W[:] = rng.normal(0.0, std, size=W.shape)
        b[:] = rng.normal(0.0, 1.0, size=b.shape) if scheme in ("normal", "scaled") else 0.0
    return theta.astype(dtype)
