"""``nudgenet power-rule``, ``why-squared``, ``steepest``, ``one-weight`` and ``momentum``.

The note's ideas that it states without showing, each computed: the power rule by rule and as
a limit (:mod:`nudgenet.lessons.power_rule`), the two reasons for squaring on the real
network's outputs (:mod:`~nudgenet.lessons.why_squared`), −∇C against random directions
(:mod:`~nudgenet.lessons.steepest`), Example 2 on one real weight
(:mod:`~nudgenet.lessons.one_weight`) and momentum on a narrow valley
(:mod:`~nudgenet.lessons.momentum`). Each prints a report, or one JSON object with
``--json``, and saves its figures into ``--plot DIR`` (``--svg`` adds SVG copies).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import options
from ..data import load_dataset, to_inputs
from ..errors import ConfigError
from ..lessons import momentum as momentum_lesson
from ..lessons import power_rule as power_lesson
from ..lessons.one_weight import WeightStep, draw_one_weight, step_one_weight
from ..lessons.real import real_networks
from ..lessons.steepest import DIRECTIONS, Steepest, draw_steepest, steepest
from ..lessons.why_squared import TOP, Squared, draw_why_squared, squared_errors
from ..training.recipe import check_fits
from .common import (
    Finite,
    add_data,
    add_json,
    add_option,
    add_output,
    check_figure,
    check_output_folder,
    float_list,
    print_json,
    save_figure,
)
from .inside import STEP_RATE, TRAINED_ON, _add_model_options, _examples, _network_and_theta


def register(commands: Any) -> None:
    """Add the five lessons of the note's remaining ideas to the ``nudgenet`` subcommands."""
    _add_power_rule(commands)
    _add_why_squared(commands)
    _add_steepest(commands)
    _add_one_weight(commands)
    _add_momentum(commands)


def _parser(commands: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=help, description=description,
                               formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip


def _add_outputs(p: argparse.ArgumentParser, figures: str) -> None:
    add_output(p, "--plot", metavar="DIR", help=f"save {figures} into the folder DIR (PNG)")
    p.add_argument("--svg", action="store_true", help="with --plot: also save SVG")
    add_json(p)


def _add_power_rule(commands: Any) -> None:
    p = _parser(commands, "power-rule",
                "the power rule d/dw wⁿ = n·wⁿ⁻¹: by rule, by SymPy, and as a limit",
                "Differentiate each cost term by term with the power rule, compare with "
                "SymPy's derivative, and show the difference quotient (C(w+h) − C(w))/h "
                "closing in on the slope as h → 0.")  # fmt: skip
    p.add_argument("costs", nargs="*", metavar="EXPR", default=list(power_lesson.EXAMPLES),
                   help="costs in w, sums of terms c*(a*w+b)**n")  # fmt: skip
    p.add_argument("--at", type=float, action=Finite, default=power_lesson.POINT,
                   help="the w where the slopes are read")  # fmt: skip
    _add_outputs(p, "power-rule.png")
    p.set_defaults(run=run_power_rule)


def _add_why_squared(commands: Any) -> None:
    p = _parser(commands, "why-squared",
                "why the cost is squared: errors don't cancel, large errors weigh more",
                "The note's two reasons for Σ(a − y)², measured on the seed network's outputs "
                "on the test images, untrained and trained a little, against Σ|a − y| and the "
                "signed Σ(a − y).")  # fmt: skip
    add_data(p, "the data to train (a little) and test on")
    add_option(p, options.SEED, 0, help="as `nudgenet train --seed`")
    add_option(p, options.EPOCHS, 1,
               help="epochs of the trained network (η = 1 constant, batch 10)")  # fmt: skip
    _add_outputs(p, "why-squared.png")
    p.set_defaults(run=run_why_squared)


def _add_steepest(commands: Any) -> None:
    p = _parser(commands, "steepest",
                "why the negative gradient: −∇C against 1,000 random directions",
                "Compare the slope of the cost along many random unit directions with "
                "‖∇C‖, the slope along −∇C/‖∇C‖, and check the slopes by finite "
                "differences. Without MODEL, θ is a freshly initialised network, where "
                "learning starts.")  # fmt: skip
    _add_model_options(p, "seed of the fresh network and of the random directions")
    p.add_argument("--directions", type=int, default=DIRECTIONS, help="random unit directions")
    add_option(p, STEP_RATE, 1.0, help="η of the one step compared along −∇C and the best "
               "random direction")  # fmt: skip
    _add_outputs(p, "steepest.png")
    p.set_defaults(run=run_steepest)


def _add_one_weight(commands: Any) -> None:
    p = _parser(commands, "one-weight",
                "the note's Example 2 on one real weight: old − η·∂C/∂w = new",
                "Take one weight of the network, its real ∂C/∂w by backpropagation, step it "
                "alone, w ← w − η·∂C/∂w, and measure the cost before and after. By default "
                "the weight with the largest |∂C/∂w|. Without MODEL, θ is a freshly "
                "initialised network.")  # fmt: skip
    _add_model_options(p, "seed of the fresh network, as `nudgenet train --seed`")
    add_option(p, STEP_RATE, 1.0, help="η of the step (nudgenet train's default)")
    p.add_argument("--index", type=int, default=None,
                   help="the entry of θ to step (default: the weight with the largest "
                   "|∂C/∂w|; `nudgenet nudges` lists names and entries)")  # fmt: skip
    _add_outputs(p, "one-weight.png (the cost as a function of that weight, and the step)")
    p.set_defaults(run=run_one_weight)


def _add_momentum(commands: Any) -> None:
    p = _parser(commands, "momentum",
                "momentum after |1 − ηC''|: the zig-zag of x² + 10y², and what μ does to it",
                "Descend a quadratic bowl at one η, plainly and with momentum (v ← μv − η∇C, "
                "θ ← θ + v), through the same descend routine; count the steps to the bottom "
                "and compare them with the factor per step the curvatures predict.")  # fmt: skip
    p.add_argument("expression", nargs="?", default=momentum_lesson.VALLEY, metavar="EXPR",
                   help="a quadratic cost with a bottom, in x and y (or w)")  # fmt: skip
    p.add_argument("--start", type=float_list, action=Finite, default=momentum_lesson.START,
                   metavar="X,Y",
                   help="θ₀; write --start=-8,1 when it begins with a minus")  # fmt: skip
    add_option(p, options.LEARNING_RATE, momentum_lesson.LEARNING_RATE,
               help="η, the same for every run")  # fmt: skip
    p.add_argument("--momentum", type=float_list, action=Finite, default=None,
                   metavar="MU,...", help="the μ to compare with plain descent (default: the "
                   "best μ at this η, and 0.9)")  # fmt: skip
    p.add_argument("--steps", type=int, default=momentum_lesson.MAX_STEPS,
                   help="the most steps per run")  # fmt: skip
    _add_outputs(p, "momentum.png (paths and costs) and momentum-factors.png (|1 − ηC''|)")
    p.set_defaults(run=run_momentum)


# --------------------------------------------------------------------------- shared


def _check_plot(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Refuse now a --plot DIR that could not take ``names``, or --svg without it."""
    if args.svg and args.plot is None:
        raise ConfigError("--svg needs --plot DIR", help="e.g. --plot figures --svg")
    if args.plot is None:
        return
    check_output_folder(args.plot, "--plot")
    if args.plot.is_dir():  # else it is created, where check_output_folder found it can be
        for name in names:
            check_figure(args.plot / name, args.svg)


def _save(
    args: argparse.Namespace, name: str, draw: Callable[..., Any], *inputs: Any
) -> list[Path]:
    if args.plot is None:
        return []
    args.plot.mkdir(parents=True, exist_ok=True)
    return save_figure(args.plot / name, args.svg, draw, *inputs)


def _finish(args: argparse.Namespace, result: dict[str, Any], lines: list[str],
            written: list[Path]) -> int:  # fmt: skip
    if args.json:
        print_json({**result, "figures": [str(p) for p in written]})
        return 0
    for line in lines:
        print(line)
    for path in written:
        print(f"figure saved to {path}")
    return 0


# --------------------------------------------------------------------------- power-rule


def run_power_rule(args: argparse.Namespace) -> int:
    """``nudgenet power-rule``: the rule, SymPy and the limit table for each cost."""
    _check_plot(args, ("power-rule.png",))
    if len(args.costs) > 10:
        raise ConfigError(f"at most 10 costs at once, got {len(args.costs)}",
                          help="e.g. nudgenet power-rule 'w**3' '(w-3)**2'")  # fmt: skip
    rules = power_lesson.power_rules(args.costs, args.at)
    written = _save(args, "power-rule.png", power_lesson.draw_power_rule, rules)
    lines = ["the power rule: d/dw wⁿ = n·wⁿ⁻¹, and for (a·w + b)ⁿ, n·(a·w + b)ⁿ⁻¹·a", ""]
    for r in rules:
        lines += _power_lines(r)
    return _finish(args, {"w": args.at, "costs": [r.as_dict() for r in rules]}, lines, written)


def _power_lines(r: power_lesson.PowerRule) -> list[str]:
    terms = "; ".join(f"{t.text} → {t.slope_text}" for t in r.terms)
    verdict = "the same" if r.agree else "DIFFERENT"
    lines = [
        f"C(w) = {r.text}",
        f"  term by term (n = {', '.join(f'{t.exponent:g}' for t in r.terms)}): {terms}",
        f"  power rule: dC/dw = {r.rule_text};  SymPy: {r.sympy_text}  ({verdict})",
        f"  at w = {r.point:g}: dC/dw = {r.slope:.10g}, and the difference quotient",
        f"  {'h':>8}  {'(C(w+h) − C(w))/h':>20}  {'off by':>10}",
    ]
    lines += [f"  {row.h:>8g}  {row.quotient:>20.10g}  {row.error:>10.2e}" for row in r.rows]
    tends = "shrinks at every smaller h" if r.converges else "does NOT shrink at every h"
    return [*lines, f"  the error {tends}: the quotient tends to the slope.", ""]


# --------------------------------------------------------------------------- why-squared


def run_why_squared(args: argparse.Namespace) -> int:
    """``nudgenet why-squared``: the two reasons for the square on real outputs."""
    _check_plot(args, ("why-squared.png",))
    data = load_dataset(args.data)
    networks = real_networks(data, args.seed, args.epochs)
    X = to_inputs(data.test_images, np.float64)
    results = [squared_errors(n, X, data.test_labels) for n in networks]
    written = _save(args, "why-squared.png", draw_why_squared, results)
    lines = _squared_lines(results, data.name)
    result = {"data": data.name, "seed": args.seed, "epochs": args.epochs,
              "networks": {r.name: r.as_dict() for r in results}}  # fmt: skip
    return _finish(args, result, lines, written)


def _squared_lines(results: list[Squared], data: str) -> list[str]:
    m = len(results[0].labels)
    lines = [
        "per test image: squared Σ(a_j − y_j)² (the note's cost), absolute Σ|a_j − y_j|, "
        "signed Σ(a_j − y_j)",
        f"on the {m:,} test images of {data}:",
        *(f"  {r.name}: {r.description}, test accuracy {100 * r.test_accuracy:.1f}%"
          for r in results),
        "",
        f"  {'mean over images':<22}" + "".join(f"{r.name:>12}" for r in results),
    ]  # fmt: skip
    rows = (("squared (the cost)", "squared"), ("absolute", "absolute"), ("signed", "signed"))
    for label, field in rows:
        lines.append(f"  {label:<22}" + "".join(
            f"{float(np.mean(getattr(r, field))):>12.4f}" for r in results))  # fmt: skip
    lines.append(f"  {'|signed|':<22}" + "".join(
        f"{float(np.mean(np.abs(r.signed))):>12.4f}" for r in results))  # fmt: skip
    lines += ["", "reason 1: errors don't cancel"]
    for r in results:
        e = r.cancelled_example()
        lines.append(
            f"  {r.name}: image {e.index}, a {e.label} read as a {e.guess}: signed sum "
            f"{e.signed:+.6f}, but absolute {e.absolute:.4f} and squared {e.squared:.4f}; "
            f"the signed sums hide {100 * r.hidden_share:.1f}% of the error "
            "(1 − mean|signed| / mean absolute)"
        )
    lines.append(
        "  an output of 0 for every digit would score a signed cost of −1.0000, below a perfect "
        "network's 0: the signed sum has no floor at the right answer"
    )
    lines += ["", "reason 2: large errors weigh more"]
    for r in results:
        sq, ab = r.top_share()
        lines.append(
            f"  {r.name}: the largest {100 * TOP:g}% of the output errors carry "
            f"{100 * sq:.1f}% of the squared cost and {100 * ab:.1f}% of the absolute one; "
            f"the slope 2(a − y) pushes the largest error {r.push_ratio():.1f}× as hard as the "
            "median one (the slope of |a − y| is ±1 for each)"
        )
        pair = r.disagreeing_pair()
        if pair is not None:
            spread, peaked = pair
            lines.append(
                f"    image {spread.index} (a {spread.label}): absolute {spread.absolute:.4f}, "
                f"squared {spread.squared:.4f}; image {peaked.index} (a {peaked.label}): "
                f"absolute {peaked.absolute:.4f}, squared {peaked.squared:.4f}, largest error "
                f"{max(abs(x) for x in peaked.errors):.3f}: |a − y| ranks {spread.index} "
                f"worse, the square ranks {peaked.index} worse"
            )
    return lines


# --------------------------------------------------------------------------- steepest


def run_steepest(args: argparse.Namespace) -> int:
    """``nudgenet steepest``: random unit directions against −∇C."""
    _check_plot(args, ("steepest.png",))
    network, theta, cost, source, _ = _network_and_theta(args)
    if cost != "quadratic":
        raise ConfigError(f"the steepest lesson uses the note's quadratic cost; {source} uses "
                          f"{cost}", help="train the model with --cost quadratic")  # fmt: skip
    data = load_dataset(args.data)
    check_fits(network, data, help=TRAINED_ON)
    X, Y = _examples(data, args.examples)
    s = steepest(network, theta, X, Y, np.random.default_rng(args.seed),
                 directions=args.directions, learning_rate=args.lr)  # fmt: skip
    title = f"{source}; C over {len(X):,} training images of {data.name}"
    written = _save(args, "steepest.png", draw_steepest, s, title)
    result = {"theta": source, "data": data.name, "examples": len(X), **s.as_dict()}
    return _finish(args, result, _steepest_lines(s, title), written)


def _steepest_lines(s: Steepest, title: str) -> list[str]:
    n = s.slopes.size
    lines = [
        title,
        f"  C(θ) = {s.cost:.6f}, ‖∇C‖ = {s.gradient_norm:.6f} over {s.n_params:,} parameters",
        f"  along −∇C/‖∇C‖ the slope is {s.checks[0].slope:.6f} = −‖∇C‖",
        f"  along {n:,} random unit directions u: slopes ∇C·u from {s.slopes.min():.6f} to "
        f"{s.slopes.max():.6f}; the steepest, |∇C·u| = {s.largest_random:.6f}, is "
        f"{s.ratio:.1f}× less steep than −∇C",
        f"  {'none' if s.none_steeper else 'SOME'} of them is steeper than −∇C "
        "(|∇C·u| ≤ ‖∇C‖‖u‖, Cauchy–Schwarz)",
        f"  mean |cos(u, ∇C)| = {np.mean(np.abs(s.slopes)) / s.gradient_norm:.5f} "
        f"(1/√n-sized: {np.sqrt(2 / (np.pi * s.n_params)):.5f} expected): in "
        f"{s.n_params:,} dimensions a random direction is nearly perpendicular to ∇C",
        "",
        f"  slopes checked by central differences (C(θ + h·u) − C(θ − h·u))/2h, h = {s.h:g}:",
    ]
    for c in s.checks:
        lines.append(f"    {c.name:<12} backprop {c.slope:>+.9f}  finite difference "
                     f"{c.finite_difference:>+.9f}  relative error "
                     f"{c.relative_error:.1e}")  # fmt: skip
    lines += [
        "",
        f"  one step of length η‖∇C‖ = {s.step_length:.4f} (η = {s.learning_rate:g}): along "
        f"−∇C the cost goes {s.cost:.6f} → {s.step_cost:.6f}; along the steepest random "
        f"direction {s.cost:.6f} → {s.random_step_cost:.6f}",
    ]
    return lines


# --------------------------------------------------------------------------- one-weight


def run_one_weight(args: argparse.Namespace) -> int:
    """``nudgenet one-weight``: the note's Example 2, w ← w − η·∂C/∂w, on one real weight."""
    _check_plot(args, ("one-weight.png",))
    network, theta, cost, source, _ = _network_and_theta(args)
    if cost != "quadratic":
        raise ConfigError(f"the one-weight lesson uses the note's quadratic cost; {source} "
                          f"uses {cost}", help="train the model with --cost quadratic")  # fmt: skip
    data = load_dataset(args.data)
    check_fits(network, data, help=TRAINED_ON)
    X, Y = _examples(data, args.examples)
    step = step_one_weight(network, theta, X, Y, args.lr, index=args.index)
    written = _save(args, "one-weight.png", draw_one_weight, step)
    result = {"theta": source, "data": data.name, "examples": len(X), **step.as_dict()}
    return _finish(args, result, _weight_lines(step, source, data.name, len(X)), written)


def _weight_lines(s: WeightStep, source: str, data: str, m: int) -> list[str]:
    fell = "fell" if s.change < 0 else "did not fall"
    return [
        f"{source}; C over {m:,} training images of {data}",
        f"  the weight: {s.name} (entry {s.index} of θ), the {s.description}",
        f"  why this one: {s.chosen}",
        f"  ∂C/∂w = {s.slope:+.9f} (backpropagation)",
        f"  new = old − η·∂C/∂w = {s.old:+.9f} − {s.learning_rate:g}·({s.slope:+.9f}) "
        f"= {s.new:+.9f}",
        f"  the sign rule: w moves {s.direction}",
        f"  the cost with only this weight moved: {s.cost_before:.9f} → {s.cost_after:.9f} "
        f"(ΔC = {s.change:+.3e}; −η·(∂C/∂w)² predicted {s.predicted_change:+.3e}): it {fell}",
    ]


# --------------------------------------------------------------------------- momentum


def run_momentum(args: argparse.Namespace) -> int:
    """``nudgenet momentum``: plain descent against momentum on a narrow valley."""
    _check_plot(args, ("momentum.png", "momentum-factors.png"))
    m = momentum_lesson.compare_momentum(args.expression, args.start, args.lr,
                                         args.momentum, steps=args.steps)  # fmt: skip
    written = _save(args, "momentum.png", momentum_lesson.draw_momentum, m)
    written += _save(args, "momentum-factors.png", momentum_lesson.draw_factors, m)
    return _finish(args, m.as_dict(), _momentum_lines(m), written)


def _momentum_lines(m: momentum_lesson.Momentum) -> list[str]:
    curv = " and ".join(f"{c:g}" for c in m.curvatures)
    factors = ", ".join(f"1 − {m.learning_rate:g}·{c:g} = {f:+.3f}"
                        for c, f in zip(m.curvatures, m.factors, strict=True))  # fmt: skip
    lines = [
        f"C = {m.function.text}: curvatures {curv}; η = {m.learning_rate:g} for every run",
        f"  plain descent multiplies each direction's distance by {factors} per step "
        f"(stable only for η < 2/{max(m.curvatures):g} = {2 / max(m.curvatures):.3g}); "
        "a negative factor zig-zags",
        f"  the best momentum at this η: μ = {m.best[0]:.3f}, factor {m.best[1]:.3f} per step",
        "",
        f"  {'run':<22}{'steps':>7}{'predicted':>11}{'factor':>9}{'crossings':>11}  arrived",
    ]
    for r in m.runs:
        d = r.as_dict()
        predicted = "-" if d["predicted_steps"] is None else str(d["predicted_steps"])
        lines.append(f"  {r.label:<22}{r.steps:>7}{predicted:>11}{r.rate:>9.3f}{r.flips:>11}  "
                     f"{r.outcome}")  # fmt: skip
    plain = m.runs[0]
    for r in m.runs[1:]:
        if r.arrived and plain.arrived:
            word = "fewer" if r.steps < plain.steps else "more"
            lines.append(f"  {r.label}: {r.steps} steps, {word} than plain descent's "
                         f"{plain.steps} at the same η")  # fmt: skip
    return [*lines, f"  (arrived: ‖∇C‖ ≤ {momentum_lesson.TOL:g}; predicted: "
            "⌈ln(tol/‖∇C(θ₀)‖)/ln factor⌉; crossings: steps across the valley floor along "
            "its steepest direction, the zig-zags)"]  # fmt: skip
