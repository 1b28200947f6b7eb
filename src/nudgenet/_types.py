"""Array aliases used across nudgenet's signatures.

Shapes are written in docstrings; these aliases only say "a floating NumPy array".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]
Vector = Array  # 1-D: the flat parameter vector θ or its gradient ∇C
Matrix = Array  # 2-D: a batch of examples (rows) or a weight matrix
DTYPES = {"float32": np.float32, "float64": np.float64}
