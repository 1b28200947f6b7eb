"""The web page: draw digits, look inside the network, watch it learn (``nudgenet serve``).

The server, from the bottom up: ``schemas`` (the JSON read and written), ``errors`` (every
refusal as ``{"error", "help"}``), ``jobs`` and ``state`` (what the routes share), ``guard``
(the Host check and body limit, before any route), one module of routes per panel
(``draw``, ``backprop``, ``nudges``, ``descend``, ``learn``), ``seed`` (the network served
by default), and ``app``, which puts them together.

:func:`create_app` builds the FastAPI application; :mod:`nudgenet.web.jobs` runs one
training job at a time in the background. The page itself is plain HTML, CSS and
JavaScript modules in ``static/`` (``app.js`` starts one module per panel, in ``static/js/``),
with no build step.
"""

from .app import create_app
from .seed import seed_model

__all__ = ["create_app", "seed_model"]
