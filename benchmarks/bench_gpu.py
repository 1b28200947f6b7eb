"""Network-epochs per second of a stack on an NVIDIA GPU: nudgenet's PyTorch back end against
plain PyTorch batched products, on the same GPU, in the same run.

    python benchmarks/bench_gpu.py                 # K = 1, 64, 1024, 4096 × batch 128, 1000
    python benchmarks/bench_gpu.py --quick         # K = 1, 64 × batch 128, fewer steps

K copies of the seed's network (784-16-16-10, sigmoid, quadratic cost, plain SGD, float32)
train on full MNIST, each with its own learning rate and its own shuffle (as ``nudgenet sweep
--device cuda`` trains them). Each measurement times ``--steps`` mini-batch steps after
warming up and scales them to the epoch's 60,000 images: network-epochs/s = K × (steps /
steps per epoch) / seconds. The evaluation after each epoch is left out of both sides.

* **nudgenet**: ``nudgenet.training.torch_stack.epochs``, the back end of ``--device cuda``;
* **plain PyTorch**: the same network written directly: per-member weights as (K, n_out,
  n_in) tensors, ``torch.baddbmm`` forward, autograd backward, an in-place SGD step.

Without a CUDA GPU it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import nudgenet as nn
from nudgenet.training import torch_stack
from nudgenet.training.recipe import seed_streams
from nudgenet.training.stacked import Member, MemberResult

SIZES = (784, 16, 16, 10)
MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def nudgenet_steps(X: np.ndarray, Y: np.ndarray, K: int, batch: int, steps: int) -> float:
    """Seconds for ``steps`` steps of K networks through the back end of --device cuda."""
    import torch

    network = nn.Network(SIZES)
    Theta = np.stack([nn.init_params(network.layout, rng=seed_streams(k)[0], dtype="float32")
                      for k in range(K)])  # fmt: skip
    lrs = np.geomspace(0.01, 10, K)
    schedules = [lambda s, lr=lr: lr for lr in lrs]
    results = [MemberResult(Member(lr=lr)) for lr in lrs]
    n = steps * batch  # only the first `steps` batches of the order
    epoch = torch_stack.epochs(
        "cuda", network, Theta, X[:n], Y[:n], batch, "quadratic", np.zeros(K), np.zeros(K),
        np.full(K, 1e30), schedules, results, np.ones(K, dtype=bool),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    orders = np.stack([rng.permutation(n) for _ in range(K)])
    epoch(0, orders, np.arange(K))  # warm: kernels, allocator
    torch.cuda.synchronize()
    start = time.perf_counter()
    epoch(0, orders, np.arange(K))
    torch.cuda.synchronize()
    return time.perf_counter() - start


def plain_steps(X: np.ndarray, Y: np.ndarray, K: int, batch: int, steps: int) -> float:
    """Seconds for ``steps`` steps of K networks written directly in PyTorch."""
    import torch

    dev = torch.device("cuda")
    gen = torch.Generator(device="cpu").manual_seed(0)
    params = []
    for n_in, n_out in itertools.pairwise(SIZES):
        W = torch.randn(K, n_out, n_in, generator=gen) / n_in**0.5
        params += [W.to(dev).requires_grad_(), torch.zeros(K, n_out, device=dev).requires_grad_()]
    lr = torch.tensor(np.geomspace(0.01, 10, K), dtype=torch.float32, device=dev)
    X_t, Y_t = torch.tensor(X, device=dev), torch.tensor(Y, device=dev)
    orders = torch.stack([torch.randperm(len(X), generator=gen) for _ in range(K)]).to(dev)

    def step(i: int) -> None:
        idx = orders[:, i * batch : (i + 1) * batch]
        a = X_t[idx]  # (K, batch, 784)
        for l in range(0, len(params), 2):
            a = torch.sigmoid(torch.baddbmm(params[l + 1][:, None, :], a,
                                            params[l].transpose(1, 2)))  # fmt: skip
        cost = ((a - Y_t[idx]) ** 2).sum(dim=(1, 2)) / batch  # (K,): the seed's C
        cost.sum().backward()
        with torch.no_grad():
            for p in params:
                p -= lr.view(-1, *([1] * (p.dim() - 1))) * p.grad
                p.grad = None

    for i in range(3):
        step(i)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=MNIST, help="a folder of the MNIST files")
    p.add_argument("--stacks", default="1,64,1024,4096", help="values of K")
    p.add_argument("--batch-sizes", default="128,1000")
    p.add_argument("--steps", type=int, default=40, help="steps timed per measurement")
    p.add_argument("--quick", action="store_true", help="K = 1, 64 at batch 128, 10 steps")
    args = p.parse_args(argv)
    if args.quick:
        args.stacks, args.batch_sizes, args.steps = "1,64", "128", 10
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing measured (pip install torch)")
        return 0
    if not torch.cuda.is_available():
        print("no CUDA GPU on this machine: nothing measured (GPU figures need an NVIDIA GPU)")
        return 0
    data = nn.load_folder(args.data)
    X = nn.to_inputs(data.train_images, np.float32)
    Y = nn.one_hot(data.train_labels, dtype=np.float32)
    rows: list[dict[str, Any]] = []
    print(f"GPU: {torch.cuda.get_device_name()}, PyTorch {torch.__version__}")
    print("| K | batch | nudgenet (network-epochs/s) | plain PyTorch (network-epochs/s) | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        steps = min(args.steps, len(X) // batch - 3)
        per_epoch = -(-len(X) // batch)
        for K in (int(k) for k in args.stacks.split(",")):
            ours = K * steps / per_epoch / nudgenet_steps(X, Y, K, batch, steps)
            plain = K * steps / per_epoch / plain_steps(X, Y, K, batch, steps)
            rows.append({"K": K, "batch": batch, "steps": steps, "nudgenet": ours,
                         "plain_pytorch": plain})  # fmt: skip
            print(f"| {K:,} | {batch} | {ours:,.0f} | {plain:,.0f} | {ours / plain:.2f}× |",
                  flush=True)  # fmt: skip
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
