"""The web page: draw digits, look inside the network, watch it learn (``nudgenet serve``).

:func:`create_app` builds the FastAPI application; :mod:`nudgenet.web.jobs` runs one
training job at a time in the background. The page itself is plain HTML, CSS and
JavaScript in ``static/``, with no build step.
"""

from .app import create_app, seed_model

__all__ = ["create_app", "seed_model"]
