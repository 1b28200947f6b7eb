"""The web page: draw digits, look inside the network, watch it learn (``nudgenet serve``).

:func:`create_app` builds the FastAPI application; :mod:`nudgenet.web.jobs` runs one
training job at a time in the background. The page itself is plain HTML, CSS and
JavaScript modules in ``static/`` (``app.js`` starts one module per panel, in ``static/js/``),
with no build step.
"""

from .app import create_app, seed_model

__all__ = ["create_app", "seed_model"]
