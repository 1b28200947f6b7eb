"""A model as an ONNX graph, for onnxruntime and every other ONNX runtime.

Each layer of the network is two nodes, the equation of :mod:`nudgenet.network` spelled in
ONNX's operators:

    zˡ = Gemm(aˡ⁻¹, Wˡ, bˡ, transB=1) = aˡ⁻¹ Wˡᵀ + bˡ      aˡ = Sigmoid | Tanh | Relu | Softmax(zˡ)

W is stored as nudgenet holds it, (n_out, n_in), and ``transB`` reads it transposed, so the
weights are θ's numbers unchanged, named as in PyTorch's state_dict ("0.weight", …). The
input ``input`` is (batch, n_in) and the output ``output`` is (batch, n_out), in θ's dtype
(float or double), the batch size left free. The model's description (sizes, activations,
cost, settings, history) is kept in the graph's metadata under ``"nudgenet"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._version import __version__
from ..files import atomic_write
from ..model import Model
from .state import require, to_state

INSTALL = "pip install onnx (and onnxruntime to run the graph)"
OPSET = 17  # Gemm, Sigmoid, Tanh, Relu and Softmax(axis=-1) as used here are all in 13+
IR_VERSION = 8  # the IR of opset 17, which every onnxruntime since 1.11 reads
INPUT, OUTPUT = "input", "output"
_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax"}


def to_onnx(model: Model) -> Any:
    """The model as a checked ``onnx.ModelProto``."""
    onnx = require("onnx", "exporting to ONNX", INSTALL)
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    network = model.network
    elem = {"float32": onnx.TensorProto.FLOAT, "float64": onnx.TensorProto.DOUBLE}
    elem_type = elem[str(model.theta.dtype)]
    state = to_state(network, model.theta)
    names = list(state)
    nodes, a = [], INPUT
    for l in range(1, network.layout.n_layers + 1):
        weight, bias = names[2 * l - 2], names[2 * l - 1]
        last = l == network.layout.n_layers
        z, out = f"z{l}", OUTPUT if last else f"a{l}"
        nodes.append(helper.make_node("Gemm", [a, weight, bias], [z], name=f"linear{l}",
                                      transB=1))  # fmt: skip
        name = network.output if last else network.activation
        extra = {"axis": -1} if name == "softmax" else {}
        nodes.append(helper.make_node(_OPS[name], [z], [out], name=f"{name}{l}", **extra))
        a = out
    graph = helper.make_graph(
        nodes,
        "nudgenet-" + "-".join(map(str, network.sizes)),
        [helper.make_tensor_value_info(INPUT, elem_type, ["batch", network.sizes[0]])],
        [helper.make_tensor_value_info(OUTPUT, elem_type, ["batch", network.sizes[-1]])],
        initializer=[numpy_helper.from_array(array, name) for name, array in state.items()],
    )
    proto = helper.make_model(
        graph,
        producer_name="nudgenet",
        producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, {"nudgenet": json.dumps(model.describe(), sort_keys=True)})
    onnx.checker.check_model(proto)
    return proto


def save_onnx(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write the model as an ONNX file at ``path`` (conventionally ``.onnx``), atomically."""
    path = Path(path)
    data = to_onnx(model).SerializeToString()
    with atomic_write(path) as f:
        f.write(data)
    return path
