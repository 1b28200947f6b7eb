"""JSON-ready values: JSON has no number for NaN or ±inf, so every layer that writes JSON
(the lessons' ``as_dict``, the web's responses, the command line's ``--json``) turns them
into null the same way."""

from __future__ import annotations

import math
from typing import Any


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinity, however deep, replaced by None.

    Examples
    --------
    >>> finite({"cost": float("nan"), "costs": [1.0, float("inf")]})
    {'cost': None, 'costs': [1.0, None]}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj
