"""nudgenet: how a neural network learns, from scratch in NumPy.

The seed's network (784 pixels → 16 → 16 → 10 digits, 13,002 weights and biases) learns by
gradient descent: the cost C(θ) is made smaller by repeated steps θ ← θ − η∇C, with the
gradient ∇C computed by backpropagation. Everything a learner needs is importable here.
"""

from ._version import __version__
from .activations import relu, sigmoid, softmax, tanh
from .backprop import cost_and_gradient, evaluate_cost
from .cost import get_cost, one_hot, quadratic
from .data import (
    Dataset,
    download,
    load_dataset,
    load_folder,
    load_image,
    load_images,
    load_mini,
    preprocess,
    read_idx,
    to_inputs,
)
from .descent import Step, descend, gradient_step, momentum_step
from .errors import (
    ConfigError,
    DataError,
    DivergenceError,
    DownloadError,
    ImageError,
    MissingDependencyError,
    ModelFileError,
    NudgenetError,
    OutputError,
    ShapeError,
)
from .gradcheck import check_gradient, numerical_gradient, relative_error
from .hessian import hessian_vector_product, top_eigenpairs
from .init import init_params
from .layout import Layout
from .lessons import (  # the lessons, by topic
    curvature,
    landscape,
    nudges,
    pictures,
    regimes,
    symmetry,
    toy,
)
from .lessons.formula import parse_cost
from .lessons.pictures import draw_all
from .lessons.toy import run_descent
from .model import Model
from .network import Network, accuracy, feedforward, predict, probabilities
from .schedules import make_schedule
from .training.loop import Epoch, TrainSettings, minibatches, train

__all__ = [
    "ConfigError",
    "DataError",
    "Dataset",
    "DivergenceError",
    "DownloadError",
    "Epoch",
    "ImageError",
    "Layout",
    "MissingDependencyError",
    "Model",
    "ModelFileError",
    "Network",
    "NudgenetError",
    "OutputError",
    "ShapeError",
    "Step",
    "TrainSettings",
    "__version__",
    "accuracy",
    "check_gradient",
    "cost_and_gradient",
    "curvature",
    "descend",
    "download",
    "draw_all",
    "evaluate_cost",
    "feedforward",
    "get_cost",
    "gradient_step",
    "hessian_vector_product",
    "init_params",
    "landscape",
    "load_dataset",
    "load_folder",
    "load_image",
    "load_images",
    "load_mini",
    "make_schedule",
    "minibatches",
    "momentum_step",
    "nudges",
    "numerical_gradient",
    "one_hot",
    "parse_cost",
    "pictures",
    "predict",
    "preprocess",
    "probabilities",
    "quadratic",
    "read_idx",
    "regimes",
    "relative_error",
    "relu",
    "run_descent",
    "sigmoid",
    "softmax",
    "symmetry",
    "tanh",
    "to_inputs",
    "top_eigenpairs",
    "toy",
    "train",
]
