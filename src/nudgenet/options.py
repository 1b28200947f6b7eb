"""Every choice and every numeric range of training, declared once.

The library's dataclasses (:class:`~nudgenet.training.loop.TrainSettings`, the stacked
members, the sweep's grid), the command line's argparse flags and the web page's pydantic
schemas all read this table, so that a name allowed in one place is allowed in all of them
and an out-of-range number is refused with the same words everywhere (scikit-learn's
parameter-constraint table is the model). The choice lists themselves come from the modules
that define what they name: the activations from :mod:`nudgenet.activations`, the costs from
:mod:`nudgenet.cost`, and so on.

A value is checked at the boundary it enters by (argparse as it parses, the web's schemas,
the library's dataclasses), always by these same objects, and the engines below trust it:
:meth:`Choice.check` and :meth:`Range.check` raise :class:`~nudgenet.errors.ConfigError`
naming the option, what is allowed, what was got, and what to do.
"""

from __future__ import annotations

from ._types import DTYPES
from .activations import ACTIVATIONS, OUTPUTS
from .constraints import Choice, Range
from .cost import COSTS
from .init import INITS
from .layout import LAYER_SIZE as LAYER_SIZE  # the caps on a layout live beside it
from .layout import MAX_PARAMS as MAX_PARAMS
from .schedules import LEARNING_RATE as LEARNING_RATE  # η's range lives beside the schedules
from .schedules import SCHEDULES

ACTIVATION = Choice("activation", tuple(ACTIVATIONS), "activation of the hidden layers")
OUTPUT = Choice("output", tuple(OUTPUTS), "activation of the output layer")
COST = Choice("cost", COSTS, "quadratic: the seed's Σ(a−y)² averaged over examples")
INIT = Choice("init", INITS, "how θ starts")
SCHEDULE = Choice("schedule", SCHEDULES, "how η changes over training")
DTYPE = Choice("dtype", tuple(DTYPES), "floating-point precision of θ and the data")
ENGINE = Choice(
    "engine",
    ("auto", "reference", "fast", "blas"),
    "how to take the steps: the compiled fast engine, the readable reference one, the BLAS "
    "one for wide networks, or auto (fast for small networks, blas for wide ones, where they "
    "can run); same results",
)
DEVICE = Choice(
    "device",
    ("cpu", "cuda", "torch-cpu"),
    "where a sweep trains: cpu (nudgenet's own engines), cuda (PyTorch on an NVIDIA GPU) or "
    "torch-cpu (the PyTorch back end on the CPU, to check it); same results",
)
AUGMENT = Choice(
    "augment",
    ("none", "affine", "elastic", "both"),
    "distort the training digits afresh every epoch: affine (shift, rotation, scale, shear), "
    "elastic (Simard's smooth random displacements), both, or none",
)

MOMENTUM = Range("momentum", 0.0, 1.0, "classical momentum μ (0: off)", high_open=True)
L2 = Range("l2", 0.0, None, "L2 weight decay λ (0: off)")
BATCH_SIZE = Range(
    "batch-size",
    0,
    None,
    "examples per step (0: the whole training set)",
    integer=True,
    label="batch size",
    must="a non-negative integer",
    hint="0 means the whole training set in every step (full-batch descent)",
)
MAX_EPOCHS = 100_000
"""Most passes over the training set one run may ask for: each epoch keeps a record (and,
with snapshots, a copy of θ), so the count bounds what a run holds; the recipes need 100."""
EPOCHS = Range(
    "epochs",
    1,
    MAX_EPOCHS,
    "passes over the training set",
    integer=True,
    must=f"a positive integer up to {MAX_EPOCHS:,}",
)
SEED = Range(
    "seed",
    0,
    2**32 - 1,
    "seed for initialisation and shuffling",
    integer=True,
    hint="seeds are whole numbers from 0 to 4294967295",
)
LIMIT = Range(
    "limit",
    1,
    None,
    "train on the first N training images only",
    integer=True,
    must="a positive integer",
    hint="--limit N trains on the first N training images; leave it out to train on them all",
)
VALIDATION = Range(
    "validation",
    1,
    None,
    "hold out the last N training images and measure on them instead of the test set, to "
    "choose settings without looking at the test set",
    integer=True,
    must="a positive integer, fewer than the training images",
    hint="e.g. --validation 10000 keeps 50,000 of MNIST's 60,000 to train on",
)
