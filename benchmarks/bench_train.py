"""Training speed of nudgenet against its peers, on the same machine, in the same run.

Every peer trains the seed's network (784-16-16-10, sigmoid, float32) on full MNIST with
plain SGD; all but scikit-learn use the seed's quadratic cost (scikit-learn's MLP only has
softmax outputs with log-loss, the nearest it offers). Rounds are interleaved — each round
times one epoch of every peer at every batch size — and the table reports medians over the
rounds: seconds per epoch for batch sizes 10, 32, 128 and 1000, and gradient steps per second
for full-batch descent (batch size 0), with each peer's ratio to nudgenet. It also measures a
float32 matrix-multiply peak to give the arithmetic floor (the epoch's multiply-adds at that
rate) and nudgenet's distance from it, and nudgenet's peak memory on full MNIST.

Run from the repository root (needs the ``bench`` extra for the peers):

    pip install -e ".[bench]"
    python benchmarks/bench_train.py                    # everything, 5 rounds
    python benchmarks/bench_train.py --peers nudgenet,torch --repeats 2 --batch-sizes 10,128

The data are read from ``<repo>/../shared/data/mnist`` (or ``--data``, or
``$NUDGENET_MNIST_DIR``). Peers that are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import nudgenet as nn
from nudgenet.training.fast import unsupported

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from classic_loop import ClassicNetwork  # noqa: E402

SIZES = (784, 16, 16, 10)
LR = 0.5  # η for mini-batches; the value does not change the speed
LR_FULL = 3.0
FULL = 0  # batch size 0: the whole training set in every step
COOL_DOWN = 0.25  # seconds of rest before each timed epoch


# --------------------------------------------------------------------------- peers


class Peer:
    """A way to train the seed network: one epoch at a time, timed by the peer itself."""

    name = "peer"
    full_steps = 10  # full-batch steps timed per round

    def epoch(self, batch_size: int) -> float:
        """Seconds for one epoch of mini-batch SGD (one step for batch size 0)."""
        raise NotImplementedError

    def warm(self, batch_size: int) -> None:
        """Compile, allocate, fill caches: whatever the first epoch would pay once."""


class Nudgenet(Peer):
    """nudgenet's ``train``: each epoch's ``Epoch.seconds`` (its updates, not the evaluation)."""

    def __init__(self, engine: str, X: np.ndarray, Y: np.ndarray, labels: np.ndarray) -> None:
        self.engine = engine
        self.name = "nudgenet" if engine == "fast" else "nudgenet reference"
        self.X, self.Y, self.labels = X, Y, labels
        self.network = nn.Network(SIZES)
        self.runs: dict[int, Any] = {}
        if engine == "reference":
            self.full_steps = 5

    def _run(self, batch_size: int) -> Any:
        if batch_size not in self.runs:
            theta = nn.init_params(
                self.network.layout, "xavier", rng=np.random.default_rng(0), dtype="float32"
            )
            settings = nn.TrainSettings(
                epochs=10**6, batch_size=batch_size, lr=LR_FULL if batch_size == FULL else LR
            )
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
    """PyTorch eager on the CPU, written the usual way: nn.Sequential, optim.SGD, randperm."""

    def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
        import torch

        self.torch = torch
        torch.manual_seed(0)
        self.X, self.Y = torch.from_numpy(X), torch.from_numpy(Y)
        layers: list[Any] = []
        for n_in, n_out in itertools.pairwise(SIZES):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.Sigmoid()]
        self.model = torch.nn.Sequential(*layers)
        self.optimizers = {
            lr: torch.optim.SGD(self.model.parameters(), lr=lr) for lr in (LR, LR_FULL)
        }
        self.generator = torch.Generator().manual_seed(1)
        self.name = f"PyTorch {torch.__version__} eager ({torch.get_num_threads()} threads)"

    def _step(self, optimizer: Any, x: Any, y: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        cost = ((self.model(x) - y) ** 2).sum(dim=1).mean()  # the seed's C, no ½
        cost.backward()
        optimizer.step()

    def epoch(self, batch_size: int) -> float:
        start = time.perf_counter()
        n = len(self.X)
        if batch_size == FULL:
            self._step(self.optimizers[LR_FULL], self.X, self.Y)
        else:
            order = self.torch.randperm(n, generator=self.generator)
            for i in range(0, n, batch_size):
                idx = order[i : i + batch_size]
                self._step(self.optimizers[LR], self.X[idx], self.Y[idx])
        return time.perf_counter() - start

    def warm(self, batch_size: int) -> None:
        idx = self.torch.arange(batch_size or len(self.X))
        for _ in range(3):
            self._step(self.optimizers[LR], self.X[idx], self.Y[idx])


class Jax(Peer):
    """JAX on the CPU, jitted: either one jitted call per step, or a whole epoch in one
    jitted ``lax.scan`` over the batches (the last, partial batch one more call)."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, scan: bool) -> None:
        import jax
        import jax.numpy as jnp

        self.jax = jax
        self.scan = scan
        self.name = f"JAX {jax.__version__} jit " + (
            "(scan over the epoch)" if scan else "(per step)"
        )
        rng = np.random.default_rng(0)
        self.params = [
            (
                jnp.asarray(rng.standard_normal((n_out, n_in), dtype=np.float32) / np.sqrt(n_in)),
                jnp.zeros(n_out, dtype=jnp.float32),
            )
            for n_in, n_out in itertools.pairwise(SIZES)
        ]
        self.X, self.Y = jnp.asarray(X), jnp.asarray(Y)
        self.rng = np.random.default_rng(1)

        def cost(params: Any, x: Any, y: Any) -> Any:
            a = x
            for W, b in params:
                a = jax.nn.sigmoid(a @ W.T + b)
            return jnp.mean(jnp.sum((a - y) ** 2, axis=1))  # the seed's C, no ½

        def step(params: Any, x: Any, y: Any, lr: float) -> Any:
            grads = jax.grad(cost)(params, x, y)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads)

        def batch_step(params: Any, X: Any, Y: Any, idx: Any) -> Any:
            return step(params, X[idx], Y[idx], LR)

        def epoch_scan(params: Any, X: Any, Y: Any, batches: Any) -> Any:
            def body(params: Any, idx: Any) -> tuple[Any, None]:
                return batch_step(params, X, Y, idx), None

            return jax.lax.scan(body, params, batches)[0]

        self.full_step = jax.jit(lambda p, X, Y: step(p, X, Y, LR_FULL), donate_argnums=0)
        self.batch_step = jax.jit(batch_step, donate_argnums=0)
        self.epoch_scan = jax.jit(epoch_scan, donate_argnums=0)

    def epoch(self, batch_size: int) -> float:
        start = time.perf_counter()
        n = len(self.X)
        if batch_size == FULL:
            self.params = self.full_step(self.params, self.X, self.Y)
        else:
            order = self.rng.permutation(n).astype(np.int32)
            whole = n // batch_size * batch_size
            if self.scan:
                batches = order[:whole].reshape(-1, batch_size)
                self.params = self.epoch_scan(self.params, self.X, self.Y, batches)
            else:
                for i in range(0, whole, batch_size):
                    idx = order[i : i + batch_size]
                    self.params = self.batch_step(self.params, self.X, self.Y, idx)
            if whole < n:
                self.params = self.batch_step(self.params, self.X, self.Y, order[whole:])
        self.jax.block_until_ready(self.params)
        return time.perf_counter() - start

    def warm(self, batch_size: int) -> None:
        self.epoch(batch_size)  # compiles for this batch size's shapes


class Sklearn(Peer):
    """scikit-learn's MLPClassifier, SGD without momentum, one ``partial_fit`` per epoch.

    Its output layer is softmax with log-loss (it offers no sigmoid outputs or quadratic
    cost), so it is the nearest configuration, not the same mathematics.
    """

    def __init__(self, X: np.ndarray, labels: np.ndarray) -> None:
        import sklearn

        self.X, self.labels = X, labels
        self.models: dict[int, Any] = {}
        self.name = f"scikit-learn {sklearn.__version__} MLPClassifier"

    def _model(self, batch_size: int) -> Any:
        from sklearn.neural_network import MLPClassifier

        if batch_size not in self.models:
            self.models[batch_size] = MLPClassifier(
                hidden_layer_sizes=SIZES[1:-1], activation="logistic", solver="sgd",
                learning_rate="constant", learning_rate_init=LR_FULL if batch_size == FULL else LR,
                momentum=0.0, nesterovs_momentum=False, alpha=0.0,
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
    """The per-example loop of the classic teaching code (benchmarks/classic_loop.py)."""

    name = "per-example loop (classic)"
    full_steps = 1

    def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.X, self.Y = X, Y
        self.network = ClassicNetwork(SIZES, np.random.default_rng(0), "float32")
        self.rng = np.random.default_rng(1)

    def epoch(self, batch_size: int) -> float:
        start = time.perf_counter()
        lr = LR_FULL if batch_size == FULL else LR
        self.network.epoch(self.X, self.Y, batch_size, lr, self.rng)
        return time.perf_counter() - start


PEERS = {
    "nudgenet": lambda d: Nudgenet("fast", *d),
    "reference": lambda d: Nudgenet("reference", *d),
    "torch": lambda d: Torch(d[0], d[1]),
    "jax": lambda d: Jax(d[0], d[1], scan=True),
    "jax-step": lambda d: Jax(d[0], d[1], scan=False),
    "sklearn": lambda d: Sklearn(d[0], d[2]),
    "classic": lambda d: Classic(d[0], d[1]),
}


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


def engines_agree(X: np.ndarray, Y: np.ndarray, batch_size: int = 128) -> float:
    """max |θ_fast − θ_reference| / max |θ_reference| after one float64 epoch, same seed."""
    network = nn.Network(SIZES)
    thetas = []
    for engine in ("reference", "fast"):
        theta = nn.init_params(network.layout, "xavier", rng=np.random.default_rng(0))
        settings = nn.TrainSettings(epochs=1, batch_size=batch_size, lr=LR)
        rng = np.random.default_rng(1)
        for _ in nn.train(network, theta, X, Y, settings, rng=rng, engine=engine):
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
    from threadpoolctl import threadpool_info

    blas = ", ".join(
        f"{i['internal_api']} {i.get('version', '')} ({i.get('architecture', '')}, "
        f"{i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )
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
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated: {', '.join(PEERS)}")
    p.add_argument("--batch-sizes", default="10,32,128,1000,0", help="0 is full batch")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds; medians reported")
    p.add_argument("--data", type=Path, default=default_data(), help="folder of the MNIST files")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--no-check", action="store_true", help="skip checking that both engines agree")
    args = p.parse_args(argv)
    names = [s for s in args.peers.split(",") if s]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    unknown = set(names) - set(PEERS)
    if unknown:
        p.error(f"unknown peers {sorted(unknown)}; choose from {', '.join(PEERS)}")
    if "nudgenet" in names and (reason := unsupported(nn.Network(), np.float32)):
        print(f"note: nudgenet's fast engine cannot run here ({reason}); auto would use the "
              "reference engine", file=sys.stderr)  # fmt: skip

    info = machine()
    load_before = os.getloadavg()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"NumPy BLAS: {info['blas']}")
    print(f"load average before: {load_before[0]:.2f}")

    data = nn.load_folder(args.data)
    X = nn.to_inputs(data.train_images, np.float32)
    Y = nn.one_hot(data.train_labels, dtype=np.float32)
    labels = data.train_labels.astype(np.intp)
    peers: list[Peer] = []
    for name in names:
        try:
            peers.append(PEERS[name]((X, Y, labels)))
        except ImportError as exc:
            print(f"note: skipping {name}: {exc}", file=sys.stderr)

    print("warming up (compiling, first calls) ...", file=sys.stderr)
    for peer in peers:
        for b in batch_sizes:
            peer.warm(b)

    times: dict[str, dict[int, list[float]]] = {
        peer.name: {b: [] for b in batch_sizes} for peer in peers
    }
    for round_ in range(args.repeats):
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
        print(f"round {round_ + 1}/{args.repeats} done", file=sys.stderr)
    load_after = os.getloadavg()

    peak, peak_how = matmul_peak()
    per_epoch_flops = flops_per_example(SIZES) * len(X)
    floor = per_epoch_flops / peak
    medians = {
        name: {b: statistics.median(ts) for b, ts in per_batch.items()}
        for name, per_batch in times.items()
    }
    memory = None
    if not args.no_memory:
        memory = (peak_memory_mb(args.data), peak_memory_mb(args.data, compile_kernels=True))
    agreement = None
    if not args.no_check and unsupported(nn.Network(), np.float64) is None:
        agreement = engines_agree(X.astype(np.float64), Y.astype(np.float64))

    print(f"load average after: {load_after[0]:.2f}")
    print()
    print(render(medians, batch_sizes, args.repeats, peers))
    print()
    print(
        f"arithmetic floor: {per_epoch_flops / 1e9:.2f} GFLOP per epoch at the measured float32 "
        f"matmul peak of {peak / 1e9:.0f} GFLOP/s ({peak_how}) = {1e3 * floor:.1f} ms per epoch "
        f"({1 / floor:.0f} full-batch steps/s)"
    )
    ours = medians.get("nudgenet")
    if ours:
        distances = ", ".join(f"batch {b or 'full'}: {ours[b] / floor:.1f}×" for b in batch_sizes)
        print(f"nudgenet's distance from the floor (time / floor): {distances}")
    if memory is not None:
        print(
            "nudgenet train peak memory (RSS), full MNIST in float32, batch 10 and full: "
            f"{memory[0]:.0f} MB ({memory[1]:.0f} MB on a first run, which compiles the kernels)"
        )
    if agreement is not None:
        print(
            "fast vs reference engine, one float64 epoch at batch 128 from the same seed: "
            f"max |Δθ| / max |θ| = {agreement:.1e}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "load_average": [load_before[0], load_after[0]],
                    "repeats": args.repeats,
                    "seconds": {
                        name: {str(b): ts for b, ts in per_batch.items()}
                        for name, per_batch in times.items()
                    },
                    "median_seconds": {
                        name: {str(b): t for b, t in m.items()} for name, m in medians.items()
                    },
                    "matmul_peak_flops": peak,
                    "flops_per_epoch": per_epoch_flops,
                    "floor_seconds": floor,
                    "peak_rss_mb": memory,
                    "engines_relative_difference": agreement,
                },
                indent=2,
            )
        )
    return 0


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
                value += f" ({m[b] / ours[b]:.1f}×)"
            cells.append(value)
        lines.append(f"| {peer.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
