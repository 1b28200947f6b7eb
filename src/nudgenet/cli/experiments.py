"""``nudgenet features``, ``noise``, ``dream`` and ``memorize``: the video's claims, measured.

Each command computes with a lesson module (:mod:`nudgenet.lessons.features`,
:mod:`~nudgenet.lessons.noise`, :mod:`~nudgenet.lessons.dream`,
:mod:`~nudgenet.lessons.memorize`) and renders the result: a text report on stdout, or one
JSON object with ``--json``, and figures in ``--plot DIR`` (``--svg`` adds SVG copies).

Given a MODEL, ``features``, ``noise`` and ``dream`` look at that network; without one they
train the seed network with ``nudgenet train``'s recipe for each of ``--seeds`` (default
0–4, a fraction of a second each on the embedded set) and report the mean ± sample standard
deviation over the seeds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import options
from ..constraints import Range
from ..data import Dataset, load_dataset, to_inputs
from ..errors import ConfigError
from ..init import init_params
from ..lessons import dream as dreams
from ..lessons import features as feats
from ..lessons import memorize as mem
from ..lessons import noise as noises
from ..lessons.pictures import weights_figure
from ..lessons.seeds import SeedNetwork, check_seeds, mean_std, seed_networks
from ..model import Model
from ..training.recipe import check_fits, seed_streams
from .common import (
    add_data,
    add_json,
    add_option,
    add_output,
    check_output_folder,
    parse_seeds,
    print_json,
    save_figure,
)
from .pictures import _own_data

IMAGES = Range(
    "images",
    1,
    noises.MAX_IMAGES,
    "non-digit images of each kind per network",
    integer=True,
    label="--images",
    must=f"a whole number from 1 to {noises.MAX_IMAGES:,}",
    hint="1,000 images give the distribution to ~3%",
)
STEPS = Range(
    "steps",
    1,
    dreams.MAX_STEPS,
    "pixel updates",
    integer=True,
    label="--steps",
    must=f"a whole number from 1 to {dreams.MAX_STEPS:,}",
    hint="2,000 steps are enough to fool the network",
)
PIXEL_RATE = Range(
    "lr",
    0.0,
    1e4,
    "learning rate η of the pixel steps",
    low_open=True,
    label="--lr",
    must="a positive number up to 1e4",
    hint="e.g. --lr 1",
)
SMOOTH = Range(
    "smooth",
    0.0,
    1e4,
    "λ of the smoothness term Σ(x_p − x_q)² over neighbours",
    label="--smooth",
    hint="0 is off; λ·η under 0.1 stays stable",
)
RANGE_TERM = Range(
    "range",
    0.0,
    1e4,
    "μ of the term Σ out(x_p)² keeping pixels in [0, 1]",
    label="--range",
    hint="0 is off; 1 keeps the pixels near [0, 1]",
)
FIT = Range(
    "fit-accuracy",
    0.0,
    1.0,
    "training accuracy at which a run counts as fitted",
    low_open=True,
    label="--fit-accuracy",
    hint="e.g. 0.9",
)


def register(commands: Any) -> None:
    """Add ``features``, ``noise``, ``dream`` and ``memorize`` to ``commands``."""
    _add_features(commands)
    _add_noise(commands)
    _add_dream(commands)
    _add_memorize(commands)


def _common(p: argparse.ArgumentParser, figures: str, *, model: bool = True) -> None:
    if model:
        p.add_argument(
            "model",
            type=Path,
            nargs="?",
            metavar="MODEL",
            help="a model saved by `nudgenet train`; none: train the seed network "
            "for each of --seeds",
        )
        add_data(
            p,
            "the data whose images to use (and, without MODEL, to train on)",
            default=None,
            otherwise="the model's own training data, or mini",
        )
    p.add_argument(
        "--seeds",
        type=parse_seeds,
        default="0-4",  # argparse reads a string default through the type
        metavar="0-4|0,1,2",
        help="seeds of the networks to train" if model else "seeds to train with",
    )
    add_output(p, "--plot", metavar="DIR", help=f"folder for {figures}")
    p.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    add_json(p)


def _add_features(commands: Any) -> None:
    p = commands.add_parser(
        "features",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="what the hidden neurons look for: edges, loops, or neither (trained vs random)",
        description="Draw what each hidden neuron responds to: the first layer's weights, and "
        "for the second its effective pattern (∂z²/∂x at the mean test image), its preferred "
        "input (gradient ascent on the pixels, ‖x‖ ≤ the mean test image's norm) and the test "
        "images that activate it most; measure how smooth, edge-like and loop-like each "
        "pattern is, trained against the same network at its random start.",
    )
    _common(p, "features-layer1.png, features-layer2.png, features-top.png, features-measures.png")
    p.set_defaults(run=run_features)


def _add_noise(commands: Any) -> None:
    p = commands.add_parser(
        "noise",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="is the network confident on noise, blank pages and scribbles?",
        description="Feed random-noise images, blank (one grey level) images and random "
        "scribbles to the network and compare its largest output with what it gives the "
        "test digits.",
    )
    _common(p, "noise.png")
    add_option(p, IMAGES, 1000, flag="--images")
    p.set_defaults(run=run_noise)


def _add_dream(commands: Any) -> None:
    p = commands.add_parser(
        "dream",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="'draw me a 5': gradient descent on the pixels, θ fixed",
        description="Descend on the 784 pixels with θ fixed, through the same descend "
        "routine that trains the network, with the cost 'output DIGIT should be 1, the "
        "others 0', and measure how much the result resembles real DIGITs (its correlation "
        "with each digit's mean image).",
    )
    p.add_argument(
        "model",
        type=Path,
        nargs="?",
        metavar="MODEL",
        help="a model saved by `nudgenet train`; none: train the seed network for each of --seeds",
    )
    p.add_argument("digit", type=int, metavar="DIGIT", help="the digit to dream, 0-9")
    add_data(
        p,
        "the data whose images to start from and compare with",
        default=None,
        otherwise="the model's own training data, or mini",
    )
    p.add_argument(
        "--start",
        nargs="+",
        default=["noise"],
        metavar="START",
        help="noise (random pixels), blank (an empty page), or test-image N (a real digit)",
    )
    add_option(p, STEPS, dreams.STEPS, flag="--steps")
    add_option(p, PIXEL_RATE, dreams.LEARNING_RATE, flag="--lr")
    add_option(p, SMOOTH, 0.0, flag="--smooth")
    add_option(p, RANGE_TERM, 0.0, flag="--range")
    p.add_argument(
        "--seeds",
        type=parse_seeds,
        default="0-4",  # argparse reads a string default through the type
        metavar="0-4|0,1,2",
        help="seeds of the networks (and of the noise starts)",
    )
    add_output(p, "--plot", metavar="DIR", help="folder for dream.png")
    p.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    add_json(p)
    p.set_defaults(run=run_dream)


def _add_memorize(commands: Any) -> None:
    p = commands.add_parser(
        "memorize",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="true against shuffled labels: learning digits or memorising images",
        description="Train the recipe on the true labels and on shuffled ones, for each seed, "
        "and compare the training cost and the training and test accuracy per epoch.",
    )
    add_data(p, "the data to train and test on")
    add_option(p, mem.MEMORIZE_EPOCHS, 30)
    add_option(
        p,
        options.LIMIT,
        None,
        help="train on the first N training images only (a small N lets the network memorise)",
    )
    add_option(p, FIT, mem.FIT_ACCURACY, flag="--fit-accuracy")
    _common(p, "memorize.png", model=False)
    p.set_defaults(run=run_memorize)


# --------------------------------------------------------------------------- shared


def _prepare(
    args: argparse.Namespace, check: Callable[[Dataset], Any] | None = None
) -> tuple[list[SeedNetwork], Dataset, str]:
    """The networks to look at, the data, and where they came from, in words; ``check``
    is asked about the data before any network is trained."""
    if args.plot is not None:
        check_output_folder(args.plot, "--plot")
    seeds = check_seeds(args.seeds)
    if args.model is None:
        data = load_dataset(args.data or "mini")
        if check is not None:
            check(data)
        nets = seed_networks(data, seeds)
        return nets, data, f"the seed network trained on {data.name}, {_seed_words(seeds)}"
    model = Model.load(args.model)
    data = load_dataset(args.data) if args.data else _own_data(model)
    check_fits(model.network, data, help="choose the data the model was trained on with --data")
    if check is not None:
        check(data)
    initial = Model(model.network, _initial_theta(model), model.cost, dict(model.settings))
    nets = [SeedNetwork(s, initial, model) for s in seeds]
    return nets, data, f"the model {args.model}"


def _initial_theta(model: Model) -> np.ndarray:
    """θ₀ as ``nudgenet train`` started this model: its init and seed (xavier, 0 if unsaid)."""
    seed, init = model.settings.get("seed", 0), model.settings.get("init", "xavier")
    options.SEED.check(seed)  # a model file is not trusted: its words are checked too
    options.INIT.check(init)
    init_rng, _ = seed_streams(int(seed))
    return init_params(model.network.layout, init, rng=init_rng, dtype=model.theta.dtype)


def _seeds(seeds: Any) -> str:
    return ", ".join(map(str, seeds))


def _seed_words(seeds: Any) -> str:
    return f"seed{'s' * (len(seeds) != 1)} {_seeds(seeds)}"


def _save(args: argparse.Namespace, name: str, draw: Any, *inputs: Any) -> list[Path]:
    path = None if args.plot is None else args.plot / f"{name}.png"
    if path is not None:
        args.plot.mkdir(parents=True, exist_ok=True)
    return save_figure(path, args.svg, draw, *inputs)


def _pm(entry: dict[str, Any], scale: float = 1.0, digits: int = 3) -> str:
    return f"{scale * entry['mean']:.{digits}f} ± {scale * entry['std']:.{digits}f}"


def _report_files(written: list[Path]) -> None:
    for path in written:
        print(f"wrote {path}")


# --------------------------------------------------------------------------- features


def run_features(args: argparse.Namespace) -> int:
    """``nudgenet features``: what each hidden layer looks for, measured."""
    nets, data, source = _prepare(args)
    X = to_inputs(data.test_images, np.float64)
    result = feats.features(nets, X)
    written = _save(args, "features-layer1", weights_figure, nets[0].trained)
    written += _save(args, "features-layer2", feats.layer_two_figure, result, X)
    written += _save(args, "features-top", feats.top_images_figure, result, X)
    written += _save(args, "features-measures", feats.measures_figure, result)
    if args.json:
        print_json(
            {
                "networks": source,
                "data": data.name,
                **result.as_dict(),
                "figures": [str(p) for p in written],
            }
        )
        return 0
    print(f"What the hidden neurons look for: {source}; mean over neurons, mean ± std over seeds")
    summary = result.summary()
    print(f"\n{'pattern':<20}{'':<10}" + "".join(f"{m:>18}" for m in feats.MEASURES))
    for family in feats.FAMILIES:
        for state in ("trained", "initial"):
            name = family if state == "trained" else ""
            row = "".join(f"{_pm(summary[family][state][m]):>18}" for m in feats.MEASURES)
            print(f"{name:<20}{state:<10}{row}")
    print()
    for name, values in feats.reference_measures().items():
        row = "".join(f"{values[m]:>18.3f}" for m in feats.MEASURES)
        print(f"{'a reference ' + name:<30}{row}")
    _report_files(written)
    return 0


# --------------------------------------------------------------------------- noise


def run_noise(args: argparse.Namespace) -> int:
    """``nudgenet noise``: the largest output on non-digits against the test digits."""
    nets, data, source = _prepare(args)
    X = to_inputs(data.test_images, np.float64)
    result = noises.confidence_on_noise(nets, X, images=args.images)
    written = _save(args, "noise", noises.noise_figure, result)
    varies = "the images only (one model)" if args.model else "the network and the images"
    if args.json:
        print_json(
            {
                "networks": source,
                "data": data.name,
                "seeds_vary": varies,
                **result.as_dict(),
                "figures": [str(p) for p in written],
            }
        )
        return 0
    print(
        f"Confidence on non-digits: {source}; {args.images:,} images of each kind per seed; "
        f"the seeds vary {varies}"
    )
    print(
        f"\n{'images':<12}{'largest output share':>24}{'largest activation':>22}"
        f"{'share ≥ ' + str(noises.CONFIDENT):>16}"
    )
    for kind in result.readings:
        print(
            f"{kind:<12}{_pm(result.over_seeds(kind)):>24}"
            f"{_pm(result.over_seeds(kind, 'mean_max_activation')):>22}"
            f"{_pm(result.over_seeds(kind, 'share_confident')):>16}"
        )
    print("\n(mean over the images of each seed, then mean ± std over the seeds)")
    _report_files(written)
    return 0


# --------------------------------------------------------------------------- dream


def _start_index(words: list[str], data: Dataset) -> int | None:
    """``--start noise | blank | test-image N`` checked: the test image's index, or None."""
    kind = words[0]
    if kind not in dreams.STARTS or len(words) > (2 if kind == "test-image" else 1):
        raise ConfigError(
            f"--start takes noise, blank or test-image N, got {' '.join(words)!r}",
            help="e.g. --start noise, or --start test-image 0 to begin from a real digit",
        )
    if kind != "test-image":
        return None
    n = len(data.test_labels)
    try:
        index = int(words[1]) if len(words) == 2 else 0
    except ValueError:
        index = -1
    if not 0 <= index < n:
        raise ConfigError(
            f"--start test-image needs an index from 0 to {n - 1}, got {words[1]!r}",
            help=f"{data.name} has {n:,} test images, numbered from 0",
        )
    return index


def _start_images(args: argparse.Namespace, data: Dataset, seeds: list[int]) -> list[np.ndarray]:
    """Each seed's start image: noise drawn from the seed, a blank page, or a test image."""
    index = _start_index(args.start, data)
    if args.start[0] == "noise":
        return [np.random.default_rng(s).random(784) for s in seeds]
    if index is None:
        return [np.zeros(784) for _ in seeds]
    image = to_inputs(data.test_images[index : index + 1], np.float64)[0]
    return [image.copy() for _ in seeds]


def run_dream(args: argparse.Namespace) -> int:
    """``nudgenet dream``: descend on the pixels until the network reads DIGIT."""
    if not 0 <= args.digit <= 9:
        raise ConfigError(
            f"DIGIT must be 0 to 9, got {args.digit}", help="e.g. nudgenet dream model.npz 5"
        )
    nets, data, source = _prepare(args, lambda data: _start_index(args.start, data))
    if args.model is not None and args.start[0] != "noise":
        nets = nets[:1]  # one model from one start: every seed would dream the same image
    starts = _start_images(args, data, [n.seed for n in nets])
    means = dreams.class_means(to_inputs(data.train_images, np.float64), data.train_labels)
    runs = [
        dreams.dream(
            n.trained.network,
            n.trained.theta,
            args.digit,
            x0,
            learning_rate=args.lr,
            steps=args.steps,
            smooth=args.smooth,
            range_weight=args.range,
        )
        for n, x0 in zip(nets, starts, strict=True)
    ]
    result = _dream_summary(args, data, nets, runs, means)
    title = (
        f"Dreaming a {args.digit} from {' '.join(args.start)}: {args.steps} steps of "
        f"η = {args.lr:g}, λ = {args.smooth:g}, μ = {args.range:g} ({source})"
    )
    real = result["real_digits"]["target_correlation"]["mean"]
    labels = [f"seed {n.seed}" for n in nets[:3]]
    written = _save(args, "dream", _dream_figure, runs[:3], means, title, labels, real)
    if args.json:
        print_json(
            {"networks": source, "data": data.name, **result, "figures": [str(p) for p in written]}
        )
        return 0
    o = result["over_seeds"]
    print(
        f"Dreaming a {args.digit}: {source}, from {' '.join(args.start)}, {args.steps} steps "
        f"of η = {args.lr:g} (smooth λ = {args.smooth:g}, range μ = {args.range:g})"
    )
    print(
        f"  the network's share for {args.digit}: {_pm(o['final_probability'])} "
        f"(from {_pm(o['start_probability'])} at the start)"
    )
    print(
        f"  correlation with the mean {args.digit}: {_pm(o['target_correlation'])}; with the "
        f"closest other digit's mean: {_pm(o['best_other_correlation'])}"
    )
    print(
        f"  a real test {args.digit} correlates with the mean {args.digit} at "
        f"{_pm(result['real_digits']['target_correlation'])}"
    )
    _report_files(written)
    return 0


def _dream_figure(
    runs: list[dreams.Dream], means: np.ndarray, title: str, labels: list[str], real: float
) -> Any:
    return dreams.dream_figure(runs, means, title, labels=labels, real=real)


def _dream_summary(
    args: argparse.Namespace,
    data: Dataset,
    nets: list[SeedNetwork],
    runs: list[dreams.Dream],
    means: np.ndarray,
) -> dict[str, Any]:
    """The first run's dream in full, every run in short, and means ± std over the seeds."""
    short = []
    for net, d in zip(nets, runs, strict=True):
        m = net.trained
        p0 = m.probabilities(d.start[None].astype(m.theta.dtype))[0, d.target]
        r = dreams.resemblance(d.image, means, d.target)
        short.append(
            {
                "seed": net.seed,
                "final_probability": d.final_probability,
                "start_probability": float(p0),
                "guess": int(np.argmax(d.activations)),
                **{
                    k: r[k]
                    for k in ("target_correlation", "best_other_correlation", "closest_digit")
                },
            }
        )
    test = to_inputs(data.test_images[data.test_labels == args.digit], np.float64)
    real = [dreams.resemblance(x, means, args.digit)["target_correlation"] for x in test]
    keys = (
        "final_probability",
        "start_probability",
        "target_correlation",
        "best_other_correlation",
    )
    return {
        **runs[0].as_dict(),
        "start": " ".join(args.start),
        "seeds": [n.seed for n in nets],
        "resemblance": dreams.resemblance(runs[0].image, means, args.digit),
        "start_resemblance": dreams.resemblance(runs[0].start, means, args.digit),
        "runs": short,
        "over_seeds": {k: mean_std([s[k] for s in short]) for k in keys},
        "real_digits": {"images": len(test), "target_correlation": mean_std(real)},
    }


# --------------------------------------------------------------------------- memorize


def run_memorize(args: argparse.Namespace) -> int:
    """``nudgenet memorize``: true against shuffled labels, per epoch, over seeds."""
    if args.plot is not None:
        check_output_folder(args.plot, "--plot")
    seeds = check_seeds(args.seeds)
    data = load_dataset(args.data)
    result = mem.memorize(
        data, seeds, epochs=args.epochs, train_size=args.limit, fit_accuracy=args.fit_accuracy
    )
    written = _save(args, "memorize", mem.memorize_figure, result)
    out = result.as_dict()
    if args.json:
        print_json({**out, "figures": [str(p) for p in written]})
        return 0
    print(
        f"True against shuffled labels: {result.train_size:,} training images of {data.name}, "
        f"{args.epochs} epochs, {_seed_words(seeds)} (mean over seeds)"
    )
    print(f"\n{'labels':<10}{'epoch':>6}{'train cost':>12}{'train acc.':>12}{'test acc.':>11}")
    shown = sorted({0, 1, args.epochs // 4, args.epochs // 2, args.epochs})
    for labels in mem.LABELS:
        e = out[labels]
        for k in shown:
            print(
                f"{labels if k == 0 else '':<10}{k:>6}{e['train_cost'][k]:>12.4f}"
                f"{100 * e['train_accuracy'][k]:>11.1f}%{100 * e['test_accuracy'][k]:>10.1f}%"
            )
    for labels in mem.LABELS:
        e = out[labels]
        fitted = (
            f"after {e['mean_epochs_to_fit']:.1f} epochs on average ({e['fitted_seeds']} "
            f"of {len(seeds)} seeds)"
            if e["fitted_seeds"]
            else "never, in these epochs"
        )
        print(
            f"{labels} labels reach {100 * args.fit_accuracy:g}% training accuracy {fitted}; "
            f"{_pm(e['seconds'], digits=2)} s per run"
        )
    _report_files(written)
    return 0
