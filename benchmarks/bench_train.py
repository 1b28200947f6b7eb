"""Training speed of nudgenet against its peers, on the same machine, in the same run.

Every peer trains the same networks on full MNIST in float32: the seed's network
(784-16-16-10, sigmoid, the seed's quadratic cost, plain SGD; scikit-learn's MLP only has
softmax outputs with log-loss, the nearest it offers), and wider ones as the README's recipe
3 trains them (ReLU, softmax with cross-entropy, momentum 0.9, L2 on the weights):
784-100-10, 784-256-256-10 and 784-800-800-10. Rounds are interleaved — each round
times one epoch of every peer at every batch size — and the table reports medians over the
rounds: seconds per epoch for batch sizes 10, 32, 128 and 1000, and gradient steps per second
for full-batch descent (batch size 0), with each peer's ratio to nudgenet. It also measures a
float32 matrix-multiply peak in the same run to give the arithmetic floor (the epoch's
multiply-adds at that rate) and every peer's distance from it, and nudgenet's peak memory on
full MNIST. It runs on the BLAS kernels the processor has: ``clean_blas`` re-executes it
without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` (for every peer alike), and it prints
which kernels OpenBLAS picked. Every peer trains in a process of its own (``--same-process``
for all in this one), driven over a pipe so that the rounds stay interleaved: a user runs one
library at a time, and no library's thread pools or runtime should share a process with
another's timings.

Run from the repository root (needs the ``bench`` extra for the peers):

    pip install -e ".[bench]"
    python benchmarks/bench_train.py                    # everything, 5 rounds
    python benchmarks/bench_train.py --quick            # 1 round, nudgenet/PyTorch/JAX
    python benchmarks/bench_train.py --networks 784-800-800-10 --repeats 3
    python benchmarks/bench_train.py --peers nudgenet,torch --repeats 2 --batch-sizes 10,128

The data are read from ``<repo>/../shared/data/mnist`` (or ``--data``, or
``$NUDGENET_MNIST_DIR``). Peers that are not installed are skipped with a note.
"""

from __future__ import annotations

import clean_blas  # first: re-executes without the BLAS overrides, before NumPy loads

# isort: split

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import nudgenet as nn
from nudgenet.training.engines import choose_engine
from nudgenet.training.fast import unsupported

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from classic_loop import ClassicNetwork  # noqa: E402

FULL = 0  # batch size 0: the whole training set in every step
COOL_DOWN = 0.25  # seconds of rest before each timed epoch


@dataclass(frozen=True)
class Spec:
    """A network and how every peer trains it (η does not change the speed)."""

    sizes: tuple[int, ...]
    activation: str = "sigmoid"  # hidden layers
    output: str = "sigmoid"
    cost: str = "quadratic"  # or cross-entropy (with a softmax output)
    momentum: float = 0.0
    l2: float = 0.0  # on the weights, not the biases
    lr: float = 0.5  # η for mini-batches
    lr_full: float = 3.0  # η for full batches
    batch_sizes: tuple[int, ...] = (10, 32, 128, 1000, FULL)
    init: str = "xavier"

    @property
    def name(self) -> str:
        return "-".join(map(str, self.sizes))

    @property
    def cross_entropy(self) -> bool:
        return self.cost == "cross-entropy"


def _recipe3(sizes: tuple[int, ...], batch_sizes: tuple[int, ...]) -> Spec:
    """Trained as the README's recipe 3: ReLU, softmax with cross-entropy, momentum 0.9."""
    return Spec(sizes, "relu", "softmax", "cross-entropy", momentum=0.9, l2=1e-4, lr=0.05,
                lr_full=0.05, batch_sizes=batch_sizes, init="he")  # fmt: skip


NETWORKS = {
    "seed": Spec((784, 16, 16, 10)),
    "784-100-10": _recipe3((784, 100, 10), (10, 32, 128, 1000)),
    "784-256-256-10": _recipe3((784, 256, 256, 10), (10, 32, 128, 1000)),
    "784-800-800-10": _recipe3((784, 800, 800, 10), (64, 128)),
}


# --------------------------------------------------------------------------- peers


class Peer:
    """A way to train a network: one epoch at a time, timed by the peer itself."""

    name = "peer"
    full_steps = 10  # full-batch steps timed per round

    def epoch(self, batch_size: int) -> float:
        """Seconds for one epoch of mini-batch SGD (one step for batch size 0)."""
        raise NotImplementedError

    def warm(self, batch_size: int) -> None:
        """Compile, allocate, fill caches: whatever the first epoch would pay once."""

    def close(self) -> None:
        """Let go of what the peer holds once its rounds are done."""


Data = tuple[np.ndarray, np.ndarray, np.ndarray]  # X (n, 784), one-hot Y (n, 10), labels (n,)


class Nudgenet(Peer):
    """nudgenet's ``train``: each epoch's ``Epoch.seconds`` (its updates, not the evaluation)."""

    def __init__(self, engine: str, spec: Spec, data: Data) -> None:
        self.spec = spec
        self.X, self.Y, self.labels = data
        self.network = nn.Network(spec.sizes, spec.activation, spec.output)
        self.engine = choose_engine(engine, self.network, np.float32)
        self.name = "nudgenet" if engine == "auto" else "nudgenet reference"
        self.label = f"{self.name} ({self.engine} engine)"
        self.runs: dict[int, Any] = {}
        if engine == "reference":
            self.full_steps = 5

    def _run(self, batch_size: int) -> Any:
        if batch_size not in self.runs:
            s = self.spec
            theta = nn.init_params(
                self.network.layout, s.init, rng=np.random.default_rng(0), dtype="float32"
            )
            settings = nn.TrainSettings(
                epochs=100_000, batch_size=batch_size, lr=s.lr_full if batch_size == FULL else s.lr,
                momentum=s.momentum, l2=s.l2, cost=s.cost,
            )  # fmt: skip
            records = nn.train(
                self.network, theta, self.X, self.Y, settings, rng=np.random.default_rng(1),
                labels=self.labels, engine=self.engine,
            )  # fmt: skip
            next(records)  # epoch 0, the untrained network
            self.runs[batch_size] = records
        return self.runs[batch_size]

    def epoch(self, batch_size: int) -> float:
        for record in self._run(batch_size):
            if isinstance(record, nn.Epoch):
                return record.seconds
        raise AssertionError("training ended")

    def warm(self, batch_size: int) -> None:
        self.epoch(batch_size)


class Torch(Peer):
    """PyTorch eager on the CPU, written the usual way: nn.Sequential, optim.SGD (momentum
    and weight decay on the weights, as a parameter group), randperm."""

    def __init__(self, spec: Spec, data: Data) -> None:
        import torch

        self.torch = torch
        self.spec = spec
        torch.manual_seed(0)
        X, Y, labels = data
        self.X, self.Y = torch.from_numpy(X), torch.from_numpy(Y)
        self.labels = torch.from_numpy(labels.astype(np.int64))
        act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
        layers: list[Any] = []
        for n_in, n_out in itertools.pairwise(spec.sizes):
            layers += [torch.nn.Linear(n_in, n_out), act[spec.activation]()]
        if spec.cross_entropy:
            layers.pop()  # F.cross_entropy takes the logits: softmax and log-loss in one
        else:
            layers[-1] = act[spec.output]()
        self.model = torch.nn.Sequential(*layers)
        weights = [p for n, p in self.model.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in self.model.named_parameters() if n.endswith("bias")]
        self.optimizers = {
            lr: torch.optim.SGD(
                [{"params": weights, "weight_decay": spec.l2}, {"params": biases}],
                lr=lr, momentum=spec.momentum,
            )
            for lr in {spec.lr, spec.lr_full}
        }  # fmt: skip
        self.generator = torch.Generator().manual_seed(1)
        self.name = f"PyTorch {torch.__version__} eager"
        self.label = f"{self.name} ({torch.get_num_threads()} threads)"

    def _step(self, optimizer: Any, idx: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        x = self.X if idx is None else self.X[idx]
        if self.spec.cross_entropy:
            labels = self.labels if idx is None else self.labels[idx]
            cost = self.torch.nn.functional.cross_entropy(self.model(x), labels)
        else:
            y = self.Y if idx is None else self.Y[idx]
            cost = ((self.model(x) - y) ** 2).sum(dim=1).mean()  # the seed's C, no ½
        cost.backward()
        optimizer.step()

    def epoch(self, batch_size: int) -> float:
        start = time.perf_counter()
        n = len(self.X)
        if batch_size == FULL:
            self._step(self.optimizers[self.spec.lr_full], None)
        else:
            order = self.torch.randperm(n, generator=self.generator)
            optimizer = self.optimizers[self.spec.lr]
            for i in range(0, n, batch_size):
                self._step(optimizer, order[i : i + batch_size])
        return time.perf_counter() - start

    def warm(self, batch_size: int) -> None:
        idx = self.torch.arange(batch_size or len(self.X))
        for _ in range(3):
            self._step(self.optimizers[self.spec.lr], idx)


class Jax(Peer):
    """JAX on the CPU, jitted: either one jitted call per step, or a whole epoch in one
    jitted ``lax.scan`` over the batches (the last, partial batch one more call)."""

    def __init__(self, spec: Spec, data: Data, scan: bool) -> None:
        import jax
        import jax.numpy as jnp

        self.jax = jax
        self.scan = scan
        self.name = f"JAX {jax.__version__} jit " + (
            "(scan over the epoch)" if scan else "(per step)"
        )
        self.label = self.name
        rng = np.random.default_rng(0)
        params = [
            (
                jnp.asarray(rng.standard_normal((n_out, n_in), dtype=np.float32) / np.sqrt(n_in)),
                jnp.zeros(n_out, dtype=jnp.float32),
            )
            for n_in, n_out in itertools.pairwise(spec.sizes)
        ]
        velocity = jax.tree.map(jnp.zeros_like, params)
        self.state = (params, velocity)
        X, Y, _ = data
        self.X, self.Y = jnp.asarray(X), jnp.asarray(Y)
        self.rng = np.random.default_rng(1)
        hidden = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "tanh": jnp.tanh}[spec.activation]
        mu, decay = spec.momentum, spec.l2

        def cost(params: Any, x: Any, y: Any) -> Any:
            a = x
            for W, b in params[:-1]:
                a = hidden(a @ W.T + b)
            W, b = params[-1]
            z = a @ W.T + b
            if spec.cross_entropy:  # softmax with cross-entropy, from the logits
                C = -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z), axis=1))
            else:  # the seed's C, no ½
                C = jnp.mean(jnp.sum((jax.nn.sigmoid(z) - y) ** 2, axis=1))
            if decay:
                C += 0.5 * decay * sum(jnp.sum(W * W) for W, _ in params)
            return C

        def step(state: Any, x: Any, y: Any, lr: float) -> Any:
            params, velocity = state
            grads = jax.grad(cost)(params, x, y)
            if not mu:
                return jax.tree.map(lambda p, g: p - lr * g, params, grads), velocity
            velocity = jax.tree.map(lambda v, g: mu * v - lr * g, velocity, grads)
            return jax.tree.map(lambda p, v: p + v, params, velocity), velocity

        def batch_step(state: Any, X: Any, Y: Any, idx: Any) -> Any:
            return step(state, X[idx], Y[idx], spec.lr)

        def epoch_scan(state: Any, X: Any, Y: Any, batches: Any) -> Any:
            def body(state: Any, idx: Any) -> tuple[Any, None]:
                return batch_step(state, X, Y, idx), None

            return jax.lax.scan(body, state, batches)[0]

        self.full_step = jax.jit(lambda s, X, Y: step(s, X, Y, spec.lr_full), donate_argnums=0)
        self.batch_step = jax.jit(batch_step, donate_argnums=0)
        self.epoch_scan = jax.jit(epoch_scan, donate_argnums=0)

    def epoch(self, batch_size: int) -> float:
        start = time.perf_counter()
        n = len(self.X)
        if batch_size == FULL:
            self.state = self.full_step(self.state, self.X, self.Y)
        else:
            order = self.rng.permutation(n).astype(np.int32)
            whole = n // batch_size * batch_size
            if self.scan:
                batches = order[:whole].reshape(-1, batch_size)
                self.state = self.epoch_scan(self.state, self.X, self.Y, batches)
            else:
                for i in range(0, whole, batch_size):
                    idx = order[i : i + batch_size]
                    self.state = self.batch_step(self.state, self.X, self.Y, idx)
            if whole < n:
                self.state = self.batch_step(self.state, self.X, self.Y, order[whole:])
        self.jax.block_until_ready(self.state)
        return time.perf_counter() - start

    def warm(self, batch_size: int) -> None:
        self.epoch(batch_size)  # compiles for this batch size's shapes


class Sklearn(Peer):
    """scikit-learn's MLPClassifier, SGD, one ``partial_fit`` per epoch.

    Its output layer is softmax with log-loss (it offers no sigmoid outputs or quadratic
    cost), so for the seed's network it is the nearest configuration, not the same
    mathematics; its ``alpha`` is the L2 term's λ.
    """

    def __init__(self, spec: Spec, data: Data) -> None:
        import sklearn

        self.spec = spec
        self.X, _, self.labels = data
        self.models: dict[int, Any] = {}
        self.name = f"scikit-learn {sklearn.__version__} MLPClassifier"
        self.label = self.name

    def _model(self, batch_size: int) -> Any:
        from sklearn.neural_network import MLPClassifier

        s = self.spec
        if batch_size not in self.models:
            self.models[batch_size] = MLPClassifier(
                hidden_layer_sizes=s.sizes[1:-1],
                activation="logistic" if s.activation == "sigmoid" else s.activation,
                solver="sgd", learning_rate="constant",
                learning_rate_init=s.lr_full if batch_size == FULL else s.lr,
                momentum=s.momentum, nesterovs_momentum=False, alpha=s.l2,
                batch_size=batch_size or len(self.X), shuffle=True, random_state=0,
            )  # fmt: skip
        return self.models[batch_size]

    def epoch(self, batch_size: int) -> float:
        model = self._model(batch_size)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(self.X, self.labels, classes=np.arange(10))
        return time.perf_counter() - start

    def warm(self, batch_size: int) -> None:
        self.epoch(batch_size)


class Classic(Peer):
    """The per-example loop of the classic teaching code (benchmarks/classic_loop.py); the
    seed's network only (sigmoid, quadratic cost, plain SGD)."""

    name = label = "per-example loop (classic)"
    full_steps = 1

    def __init__(self, spec: Spec, data: Data) -> None:
        if spec != NETWORKS["seed"]:
            raise ValueError("the per-example loop trains the seed's network only")
        self.spec = spec
        self.X, self.Y, _ = data
        self.network = ClassicNetwork(spec.sizes, np.random.default_rng(0), "float32")
        self.rng = np.random.default_rng(1)

    def epoch(self, batch_size: int) -> float:
        start = time.perf_counter()
        lr = self.spec.lr_full if batch_size == FULL else self.spec.lr
        self.network.epoch(self.X, self.Y, batch_size, lr, self.rng)
        return time.perf_counter() - start


PEERS: dict[str, Callable[[Spec, Data], Peer]] = {
    "nudgenet": lambda s, d: Nudgenet("auto", s, d),
    "reference": lambda s, d: Nudgenet("reference", s, d),
    "torch": Torch,
    "jax": lambda s, d: Jax(s, d, scan=True),
    "jax-step": lambda s, d: Jax(s, d, scan=False),
    "sklearn": Sklearn,
    "classic": Classic,
}


class Isolated(Peer):
    """A peer in a process of its own, started afresh (``spawn``), answering over a pipe."""

    def __init__(self, peer: str, network: str, data: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(peer, network, data, child),
                                       daemon=True)  # fmt: skip
        self.process.start()
        child.close()
        self.name, self.label, self.full_steps = self._answer()

    def _answer(self) -> Any:
        reply = self.conn.recv()
        if isinstance(reply, Exception):
            self.process.join()
            raise reply
        return reply

    def epoch(self, batch_size: int) -> float:
        self.conn.send(("epoch", batch_size))
        return self._answer()

    def warm(self, batch_size: int) -> None:
        self.conn.send(("warm", batch_size))
        self._answer()

    def close(self) -> None:
        self.conn.send(None)
        self.process.join()


def load_data(folder: Path) -> Data:
    """Full MNIST's training set as every peer takes it."""
    data = nn.load_folder(folder)
    X = nn.to_inputs(data.train_images, np.float32)
    Y = nn.one_hot(data.train_labels, dtype=np.float32)
    return X, Y, data.train_labels.astype(np.intp)


def _serve(peer: str, network: str, folder: Path, conn: Any) -> None:
    """The child's side of :class:`Isolated`: build the peer, then run what the pipe asks."""
    try:
        served = PEERS[peer](NETWORKS[network], load_data(folder))
    except (ImportError, ValueError) as exc:
        conn.send(exc)
        return
    conn.send((served.name, served.label, served.full_steps))
    while (message := conn.recv()) is not None:
        what, batch_size = message
        conn.send(served.epoch(batch_size) if what == "epoch" else served.warm(batch_size))


# --------------------------------------------------------------------------- measuring


def matmul_peak() -> tuple[float, str]:
    """The best float32 matrix-multiply rate NumPy reaches here, in FLOP/s, and how."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    best, how = 0.0, ""
    threads = [1, os.cpu_count() or 1]
    for n in (1024, 2048, 3072):
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        for t in threads:
            with threadpool_limits(t, user_api="blas"):
                a @ b
                seconds = min(_timed(lambda a=a, b=b: a @ b) for _ in range(3))
            rate = 2 * n**3 / seconds
            if rate > best:
                best, how = rate, f"{n}×{n} @ {n}×{n}, {t} BLAS threads"
    return best, how


def _timed(f: Callable[[], object]) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def flops_per_example(sizes: tuple[int, ...]) -> int:
    """Multiply-adds ×2 of one example's forward and backward pass.

    Forward aˡ⁻¹Wˡᵀ and weight gradient δˡᵀaˡ⁻¹ for every layer, δˡWˡ for all but the first.
    """
    products = [n_in * n_out for n_in, n_out in itertools.pairwise(sizes)]
    return 2 * (2 * sum(products) + sum(products[1:]))


def peak_memory_mb(data: Path, *, compile_kernels: bool = False) -> float:
    """Peak resident memory of ``nudgenet train`` on full MNIST (float32, default engine): the
    most of one epoch at batch size 10 and one at full batch, each a fresh process that
    loads the data, trains, evaluates and saves. With ``compile_kernels`` the processes
    find no compiled kernels on disk and compile them, as the first run on a machine does.

    The child reports its own VmHWM (Linux): its ru_maxrss would count this process's
    memory at the fork too.
    """
    code = (
        "import sys\n"
        "from nudgenet.cli import main\n"
        "assert main(['train', *sys.argv[1:]]) == 0\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print('peak', int(status.split()[0]) / 1024)\n"
    )
    env = dict(os.environ)
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        if compile_kernels:
            env["NUMBA_CACHE_DIR"] = tmp  # an empty cache
        for batch_size in ("10", "0"):
            argv = ["--data", str(data), "--epochs", "1", "--batch-size", batch_size]
            argv += ["--out", f"{tmp}/m.npz"]
            out = subprocess.run(
                [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True,
                env=env,
            )  # fmt: skip
            peaks.append(float(out.stdout.split()[-1]))
    return max(peaks)


def engines_agree(
    spec: Spec, engine: str, X: np.ndarray, Y: np.ndarray, batch_size: int = 128
) -> float:
    """max |θ_engine − θ_reference| / max |θ_reference| after one float64 epoch, same seed."""
    network = nn.Network(spec.sizes, spec.activation, spec.output)
    thetas = []
    for name in ("reference", engine):
        theta = nn.init_params(network.layout, spec.init, rng=np.random.default_rng(0))
        settings = nn.TrainSettings(epochs=1, batch_size=batch_size, lr=spec.lr,
                                    momentum=spec.momentum, l2=spec.l2, cost=spec.cost)  # fmt: skip
        rng = np.random.default_rng(1)
        for _ in nn.train(network, theta, X, Y, settings, rng=rng, engine=name):
            pass
        thetas.append(theta)
    return float(np.max(np.abs(thetas[1] - thetas[0])) / np.max(np.abs(thetas[0])))


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for package in ("nudgenet", "numpy", "numba", "torch", "scikit-learn", "jax", "jaxlib"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    blas = clean_blas.blas_report()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "blas": blas,
        "versions": versions,
    }


# --------------------------------------------------------------------------- main


def default_data() -> Path:
    env = os.environ.get("NUDGENET_MNIST_DIR")
    return Path(env) if env else HERE.parent.parent / "shared" / "data" / "mnist"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--networks", default=",".join(NETWORKS),
                   help=f"comma-separated: {', '.join(NETWORKS)}")  # fmt: skip
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated: {', '.join(PEERS)}")
    p.add_argument("--batch-sizes", default=None,
                   help="0 is full batch (default: each network's own list)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds; medians reported")
    p.add_argument("--quick", action="store_true",
                   help="1 round of nudgenet, PyTorch and JAX on the seed's and the widest "
                   "network, no memory or agreement check (a few minutes)")  # fmt: skip
    p.add_argument("--data", type=Path, default=default_data(), help="folder of the MNIST files")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--no-check", action="store_true", help="skip checking that engines agree")
    p.add_argument("--same-process", action="store_true",
                   help="run every peer in this process, not each in its own")  # fmt: skip
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.no_memory, args.no_check = 1, True, True
        args.peers, args.networks = "nudgenet,torch,jax", "seed,784-800-800-10"
    names = [s for s in args.peers.split(",") if s]
    networks = [s for s in args.networks.split(",") if s]
    for given, known, what in ((names, PEERS, "peers"), (networks, NETWORKS, "networks")):
        if unknown := set(given) - set(known):
            p.error(f"unknown {what} {sorted(unknown)}; choose from {', '.join(known)}")
    if "nudgenet" in names and (reason := unsupported(nn.Network(), np.float32)):
        print(f"note: nudgenet's fast engine cannot run here ({reason}); auto would use the "
              "reference engine", file=sys.stderr)  # fmt: skip

    info = machine()
    load_before = os.getloadavg()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"NumPy BLAS: {info['blas']}")
    print(f"load average before: {load_before[0]:.2f}")
    peak, peak_how = matmul_peak()
    print(f"float32 matmul peak: {peak / 1e9:.0f} GFLOP/s ({peak_how})", flush=True)

    X, Y, labels = load_data(args.data)
    results: dict[str, Any] = {}
    for network in networks:
        spec = NETWORKS[network]
        batch_sizes = (
            [int(b) for b in args.batch_sizes.split(",")] if args.batch_sizes
            else list(spec.batch_sizes)
        )  # fmt: skip
        peers: list[Peer] = []
        for name in names:
            try:
                if args.same_process:
                    peers.append(PEERS[name](spec, (X, Y, labels)))
                else:
                    peers.append(Isolated(name, network, args.data))
            except (ImportError, ValueError) as exc:
                print(f"note: {network}: skipping {name}: {exc}", file=sys.stderr)
        times = run_rounds(peers, batch_sizes, args.repeats, network)
        for peer in peers:
            peer.close()
        medians = {
            name: {b: statistics.median(ts) for b, ts in per_batch.items()}
            for name, per_batch in times.items()
        }
        results[network] = report(spec, peers, times, medians, batch_sizes, args.repeats,
                                  peak, len(X))  # fmt: skip
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f}")
    extras = checks(args, X, Y)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": info, "load_average": [load_before[0], load_after[0]],
            "repeats": args.repeats, "same_process": args.same_process,
            "matmul_peak_flops": peak, "matmul_peak_how": peak_how,
            "networks": results, **extras,
        }, indent=2))  # fmt: skip
    return 0


def run_rounds(
    peers: list[Peer], batch_sizes: list[int], repeats: int, network: str
) -> dict[str, dict[int, list[float]]]:
    """Warm every peer at every batch size, then ``repeats`` interleaved rounds of epochs."""
    print(f"{network}: warming up (compiling, first calls) ...", file=sys.stderr)
    for peer in peers:
        for b in batch_sizes:
            peer.warm(b)
    times: dict[str, dict[int, list[float]]] = {
        peer.name: {b: [] for b in batch_sizes} for peer in peers
    }
    for round_ in range(repeats):
        order = peers[round_ % len(peers) :] + peers[: round_ % len(peers)]
        for b in batch_sizes:
            for peer in order:
                # Let the previous peer's BLAS/OpenMP threads stop spinning, so that they do
                # not take cores from this one.
                time.sleep(COOL_DOWN)
                if b == FULL:
                    times[peer.name][b].append(
                        statistics.mean(peer.epoch(b) for _ in range(peer.full_steps))
                    )
                else:
                    times[peer.name][b].append(peer.epoch(b))
        print(f"{network}: round {round_ + 1}/{repeats} done", file=sys.stderr)
    return times


def report(
    spec: Spec, peers: list[Peer], times: dict[str, dict[int, list[float]]],
    medians: dict[str, dict[int, float]], batch_sizes: list[int], repeats: int, peak: float,
    n: int,
) -> dict[str, Any]:  # fmt: skip
    """Print a network's table, its floor and every peer's distance from it; return the
    numbers for the JSON file."""
    flops = flops_per_example(spec.sizes) * n
    weights = sum(a * b for a, b in itertools.pairwise(spec.sizes))
    floor, floor6 = flops / peak, 6 * weights * n / peak
    training = (
        f"{spec.activation}, {spec.output} output, {spec.cost} cost"
        + (f", momentum {spec.momentum:g}, L2 {spec.l2:g}" if spec.momentum or spec.l2 else "")
    )  # fmt: skip
    print()
    print(f"## {spec.name} ({training}), float32, {n:,} images")
    print()
    print(render(medians, batch_sizes, repeats, peers))
    print()
    print(
        f"arithmetic floor: {flops / 1e9:.2f} GFLOP per epoch at the measured float32 matmul "
        f"peak of {peak / 1e9:.0f} GFLOP/s = {1e3 * floor:.1f} ms per epoch "
        f"({1 / floor:.0f} full-batch steps/s); counting 6 FLOP per weight per example "
        f"(the first layer's δ too): {1e3 * floor6:.1f} ms"
    )
    for peer in peers:
        m = medians[peer.name]
        distances = ", ".join(f"batch {b or 'full'} {m[b] / floor:.2f}×" for b in batch_sizes)
        print(f"  {peer.name}: time / floor: {distances}")
    return {
        "spec": {k: getattr(spec, k) for k in spec.__dataclass_fields__},
        "peers": {peer.name: peer.label for peer in peers},
        "seconds": {name: {str(b): ts for b, ts in pb.items()} for name, pb in times.items()},
        "median_seconds": {name: {str(b): t for b, t in m.items()} for name, m in medians.items()},
        "flops_per_epoch": flops,
        "floor_seconds": floor,
        "floor_seconds_6_flop_per_weight": floor6,
    }


def checks(args: argparse.Namespace, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """nudgenet's peak memory, and how far its engines are from the reference engine."""
    out: dict[str, Any] = {}
    if not args.no_memory:
        memory = (peak_memory_mb(args.data), peak_memory_mb(args.data, compile_kernels=True))
        out["peak_rss_mb"] = memory
        print(
            "nudgenet train peak memory (RSS), full MNIST in float32, batch 10 and full: "
            f"{memory[0]:.0f} MB ({memory[1]:.0f} MB on a first run, which compiles the kernels)"
        )
    if not args.no_check and unsupported(nn.Network(), np.float64) is None:
        X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
        fast = engines_agree(NETWORKS["seed"], "fast", X64, Y64)
        blas = engines_agree(NETWORKS["784-256-256-10"], "blas", X64[:10_000], Y64[:10_000])
        out["engines_relative_difference"] = {"fast": fast, "blas": blas}
        print(
            "engines vs the reference engine, one float64 epoch at batch 128 from the same "
            f"seed, max |Δθ| / max |θ|: fast (seed network, 60,000 images) {fast:.1e}, blas "
            f"(784-256-256-10, 10,000 images) {blas:.1e}"
        )
    return out


def render(
    medians: dict[str, dict[int, float]], batch_sizes: list[int], repeats: int, peers: list[Peer]
) -> str:
    """A Markdown table: seconds per epoch (full batch: steps/s), and the ratio to nudgenet."""
    ours = medians.get("nudgenet")
    head = [f"batch {b}" if b else "full batch" for b in batch_sizes]
    lines = [
        f"median of {repeats} rounds; seconds per epoch of 60,000 examples (full batch: "
        "gradient steps per second); × = the peer's time / nudgenet's (full batch: nudgenet's "
        "steps/s / the peer's)",
        "",
        "| | " + " | ".join(head) + " |",
        "| --- |" + " ---: |" * len(batch_sizes),
    ]
    for peer in peers:
        m = medians[peer.name]
        cells = []
        for b in batch_sizes:
            value = f"{1 / m[b]:.1f} steps/s" if b == FULL else f"{m[b]:.3f} s"
            if ours and peer.name != "nudgenet":
                value += f" ({m[b] / ours[b]:.2f}×)"
            cells.append(value)
        lines.append(f"| {peer.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
