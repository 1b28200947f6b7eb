"""``nudgenet descend`` and ``nudgenet learning-rate``: gradient descent you can watch.

``descend`` minimises a cost you type (default the lecture note's (w − 3)²) step by step and
prints the table of every step; ``learning-rate`` runs the parabola or the digit network at
several learning rates (or schedules) and names what each did. Both render what
:mod:`nudgenet.lessons.toy` and :mod:`nudgenet.lessons.regimes` compute, on a cost read by
:mod:`nudgenet.lessons.formula`; every verdict and every ``help:`` line after a run comes
from :mod:`nudgenet.lessons.verdict`, so they name a run as the web page and the Python API do.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from .. import options
from ..constraints import Range
from ..errors import ConfigError
from ..lessons.formula import ALLOWED, parse_cost
from ..lessons.regimes import (
    NETWORK_BATCH_SIZE,
    NETWORK_EPOCHS,
    NETWORK_EXAMPLES,
    NETWORK_RATES,
    NETWORK_SCHEDULE_RATE,
    NETWORK_SEEDS,
    PROBLEMS,
    SPREAD,
    TOY_RATES,
    TOY_SCHEDULE_RATE,
    TOY_STEPS,
    Comparison,
    compare_rates,
    compare_schedules,
    plot_comparison,
    seed_text,
)
from ..lessons.toy import (
    PARABOLA,
    Descent,
    check_derivative,
    divergence_reason,
    flat_point_kind,
    plot_descent,
    run_descent,
    valleys,
)
from ..lessons.verdict import RULES, crossing_text
from .common import (
    Finite,
    add_choices,
    add_json,
    add_option,
    add_output,
    check_figure,
    float_list,
    parse_seeds,
    print_json,
    save_figure,
)

# Every step is kept for the table and the figure: more than this fills the memory, and
# a descent that needs more is better shown with a larger --lr.
MAX_STEPS = 100_000
DESCEND_STEPS = Range("steps", 0, MAX_STEPS, "the most steps to take", integer=True,
                      hint=f"up to {MAX_STEPS:,} steps; a slow descent shows as well with a "
                      "larger --lr")  # fmt: skip
TOY_RUN_STEPS = Range("steps", 1, MAX_STEPS, "toy: steps per run", integer=True,
                      hint=f"from 1 to {MAX_STEPS:,} steps per run")  # fmt: skip
HEAD_ROWS = 6  # rows shown before "…" in a long table
TAIL_ROWS = 4  # rows shown after it
REGIME_RULES = RULES  # how every run is named: the verdict module's rules


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the epilog's line breaks; show defaults, except those that mean "not given"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def register(commands: Any) -> None:
    """Add ``descend`` and ``learning-rate`` to the ``nudgenet`` subcommands."""
    _add_descend_parser(commands)
    _add_learning_rate_parser(commands)


def _add_descend_parser(commands: Any) -> None:
    p = commands.add_parser(
        "descend",
        help="watch gradient descent minimise a cost you write, step by step",
        description="Minimise a cost of one variable w (or two, x and y) by gradient descent,\n"
        "w ← w − η·dC/dw, with the slope found symbolically, checked by a finite difference,\n"
        "and a table of every step. It is the same descend routine that trains the network.",
        epilog="examples:\n"
        "  nudgenet descend                          # the lecture note's (w-3)**2 from w = 0\n"
        "  nudgenet descend --lr 1.1                 # too large a step: it diverges\n"
        "  nudgenet descend 'w**4 - 3*w**2 + w' --w0 -1   # two valleys: the start decides\n"
        "  nudgenet descend 'x**2 + 3*y**2' --start 2,1 --plot path.png\n\n"
        f"a cost may use {ALLOWED}.",
        formatter_class=_Help,
    )
    p.add_argument("expression", nargs="?", default=PARABOLA, metavar="EXPR",
                   help="the cost, in w or in x and y; quote it for the shell, and put -- "
                   "before it when it begins with a minus: -- '-w**2'")  # fmt: skip
    p.add_argument("--w0", type=float, action=Finite, default=None,
                   help="the starting w (default 0)")  # fmt: skip
    p.add_argument("--start", type=float_list, action=Finite, default=None, metavar="X,Y",
                   help="the starting point, one number per variable (default 0 each); "
                   "write --start=-1,2 when it begins with a minus")  # fmt: skip
    add_option(p, options.LEARNING_RATE, 0.1)
    add_option(p, DESCEND_STEPS, 100)
    p.add_argument("--tol", type=float, action=Finite, default=1e-6,
                   help="stop when the slope is this flat: |dC/dw| ≤ tol")  # fmt: skip
    p.add_argument("--all", action="store_true", help="print every step, not a summary")
    _add_figure(p, "the cost with the path of descent drawn on it")
    add_json(p)
    p.set_defaults(run=run_descend)


def _add_learning_rate_parser(commands: Any) -> None:
    p = commands.add_parser(
        "learning-rate",
        help="the same problem at several learning rates or schedules: slow, converges, "
        "oscillates, diverges, stalls or unbounded",
        description="Run the lecture note's (w − 3)² (--on toy) or the 784-16-16-10 digit network\n"
        "(--on network) at several constant learning rates, or with several schedules from\n"
        "one starting rate; label what each run did and draw the cost curves.\n"
        "Toy history: C(w_k) after every step. Network history: the training cost over the\n"
        "training images after every epoch (epoch 0: untrained). The network trains every\n"
        "rate once per seed (--seeds), all in one stack; each run is judged on its own,\n"
        "against absolute yardsticks (not the other rates), and each rate gets the verdict\n"
        "most seeds got, with its count, and the final cost and test accuracy as mean ±\n"
        "sample standard deviation (ddof = 1) over the seeds.",
        epilog=REGIME_RULES,
        formatter_class=_Help,
    )
    p.add_argument("--on", choices=PROBLEMS, default="toy",
                   help="toy: (w-3)**2 from w = 0; network: the seed network on mini")  # fmt: skip
    p.add_argument("--rates", type=float_list, action=Finite, default=None, metavar="R1,R2,...",
                   help=f"constant learning rates to compare (default: toy "
                   f"{_join(TOY_RATES)}; network {_join(NETWORK_RATES)})")  # fmt: skip
    add_choices(p, options.SCHEDULE, None, flag="--schedules",
                help="compare schedules that all start at --lr, instead of rates")  # fmt: skip
    add_option(p, options.LEARNING_RATE, None,
               help=f"the starting η of --schedules (default: toy {TOY_SCHEDULE_RATE:g}, "
               f"network {NETWORK_SCHEDULE_RATE:g}: too large to hold constant)")  # fmt: skip
    add_option(p, TOY_RUN_STEPS, None, help=f"toy: steps per run (default {TOY_STEPS})")
    add_option(p, options.EPOCHS, None,
               help=f"network: epochs per run (default {NETWORK_EPOCHS})")  # fmt: skip
    p.add_argument("--examples", type=int, default=None,
                   help=f"network: images to train on (default {NETWORK_EXAMPLES:,})")  # fmt: skip
    add_option(p, options.BATCH_SIZE, None,
               help=f"network: examples per step (default {NETWORK_BATCH_SIZE})")  # fmt: skip
    p.add_argument("--seeds", type=parse_seeds, default=None, metavar="0-4|0,1,2",
                   help="network: the seeds of θ₀ and shuffling; every rate is trained with "
                   "each, and the figures are over them "
                   f"(default {_seed_range(NETWORK_SEEDS)})")  # fmt: skip
    _add_figure(p, "all cost curves in one figure, regimes in the legend")
    add_json(p)
    p.set_defaults(run=run_learning_rate)


def _add_figure(p: argparse.ArgumentParser, what: str) -> None:
    add_output(p, "--plot", default=None, metavar="FILE", help=f"save a PNG: {what}")
    p.add_argument("--svg", action="store_true", help="also save the figure as SVG")


def _seed_range(seeds: Any) -> str:
    seeds = list(seeds)
    return f"{seeds[0]}-{seeds[-1]}"


def _join(values: Any) -> str:
    return ",".join(f"{v:g}" for v in values)


# --------------------------------------------------------------------------- descend


def run_descend(args: argparse.Namespace) -> int:
    """``nudgenet descend``: the table of every step of gradient descent on a typed cost."""
    if not _is_text(args.expression):
        raise ConfigError(
            f"the cost {args.expression!r} holds characters that are not text",
            help="type the cost in letters, digits and operators, e.g. '(w-3)**2'",
        )
    function = parse_cost(args.expression)
    if args.svg and args.plot is None:
        raise ConfigError("--svg needs --plot FILE", help="e.g. --plot descent.png --svg")
    if args.w0 is not None and args.start is not None:
        raise ConfigError(
            "give the start with --w0 or with --start, not both",
            help="--w0 for a cost of w alone, --start X,Y for one of several variables",
        )
    if args.w0 is not None and function.n != 1:
        raise ConfigError(
            f"--w0 sets w, but {function.text!r} is a cost of {' and '.join(function.variables)}",
            help="give one number per variable with --start, e.g. --start 2,1",
        )
    check_figure(args.plot, args.svg)
    start = [args.w0] if args.w0 is not None else args.start or [0.0] * function.n
    run = run_descent(function, start, args.lr, steps=args.steps, tol=args.tol)
    check = check_derivative(function, run.start)
    figures = save_figure(args.plot, args.svg, plot_descent, run)
    minima = valleys(function)
    flat = flat_point_kind(function, run.final_point) if run.converged else None
    # The curvature that explains a blow-up is read at the last point descend stepped from.
    last = run.steps[-1].point if run.steps else run.start
    why = divergence_reason(function, args.lr, last) if run.regime == "diverges" else None
    if args.json:
        print_json(_descent_json(run, check, minima, flat, why, figures))
        return 0
    for line in _descent_report(run, check, minima, flat, why, show_all=args.all):
        print(line)
    for path in figures:
        print(f"figure saved to {path}")
    return 0


def _is_text(text: str) -> bool:
    """Whether ``text`` is real text: argv holds undecodable bytes as lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _names_of(run: Descent) -> tuple[str, str, str]:
    """How to write C, its slope and θ for this cost: 'C(w)', 'dC/dw', 'w'."""
    v = run.function.variables
    if len(v) == 1:
        return f"C({v[0]})", f"dC/d{v[0]}", v[0]
    return f"C({', '.join(v)})", "∇C", f"({', '.join(v)})"


def _point(values: Any) -> str:
    values = list(values)
    text = ", ".join(f"{x:.8g}" for x in values)
    return text if len(values) == 1 else f"({text})"


def _descent_report(run: Descent, check: Any, minima: Any, flat: str | None,
                    why: str | None, *, show_all: bool) -> list[str]:  # fmt: skip
    f = run.function
    cost_name, slope_name, theta_name = _names_of(run)
    slope_def = (
        slope_name if f.n == 1 else "∇C = (" + ", ".join(f"∂C/∂{v}" for v in f.variables) + ")"
    )
    start = ", ".join(f"{v} = {x:g}" for v, x in zip(f.variables, run.start, strict=True))
    numerical = ", ".join(f"{x:.9g}" for x in check.numerical)
    numerical = numerical if f.n == 1 else f"({numerical})"
    verdict = "agrees" if check.relative_error < 1e-5 else "DISAGREES"
    lines = [
        f"cost   {cost_name} = {f.text}",
        f"slope  {slope_def} = {f.derivative_text}   (by SymPy)",
        f"check  at {start}: the central difference {_difference(f)} with h = {check.h:g} "
        f"gives {numerical}; {slope_name} = {_point(check.symbolic)}: {verdict} (relative "
        f"difference {check.relative_error:.1e})",
        f"rule   {theta_name} ← {theta_name} − η·{slope_name} with η = {run.learning_rate:g}, "
        f"from {start}, until {_size(slope_name, f.n)} ≤ {run.tol:g} "
        f"(at most {run.max_steps} steps)",
        "",
    ]
    lines += _table(run, show_all)
    lines.append("")
    last = len(run.steps)
    norm = math.hypot(*run.final_slope)
    where = ", ".join(f"{v} = {x:.8g}" for v, x in zip(f.variables, run.final_point, strict=True))
    v = run.verdict
    size = _size(slope_name, f.n)
    if run.diverged and v.regime == "diverges":
        lines.append(f"DIVERGED: {run.diverged}; the steps grew instead of settling.")
    elif run.diverged:
        lines.append(f"stopped: {run.diverged}.")
    elif run.converged and v.regime == "converges":
        lines.append(
            f"converged after {_plural(last, 'step')}: the slope is flat, {size} = {norm:.3g} "
            f"≤ {run.tol:g}, at {where} (C = {run.final_cost:.6g})"
        )
    elif run.converged:
        lines.append(
            f"the slope went flat after {_plural(last, 'step')}: {size} = {norm:.3g} ≤ "
            f"{run.tol:g}, at {where} (C = {run.final_cost:.6g})"
        )
    else:
        lines.append(
            f"stopped after {_plural(last, 'step')}, the budget, with {size} = {norm:.3g} > "
            f"{run.tol:g} at {where} (C = {run.final_cost:.6g})"
        )
    if flat is not None:
        lines.append(f"this flat point is {flat}.")
    lines.append(f"verdict: {v.regime} — {v.reason}.")
    if why is not None:
        lines.append(f"why: {why}.")
    if v.advice is not None:
        lines.append(f"help: {v.advice}")
    if minima and len(minima) > 1:
        w = f.variables[0]
        spots = " and ".join(f"{w} ≈ {m:.4f} (C = {c:.4g})" for m, c in minima)
        reached = [(m, c) for m, c in minima if abs(m - run.final_point[0]) < 1e-3]
        ending = ";" if reached and v.regime == "converges" else "."
        lines.append(f"C has {len(minima)} valleys, at {spots}{ending}")
        if ending == ";":
            (m, c), lowest = reached[0], min(cost for _, cost in minima)
            deepest = (
                "the deepest" if c == lowest else f"not the deepest (that has C = {lowest:.4g})"
            )
            if v.crossing is not None:
                lines.append(
                    f"from {w} = {run.start[0]:g} the ball ended in the one at {w} ≈ {m:.4f}, "
                    f"{deepest}: the step size decided, not the start "
                    f"({crossing_text(v.crossing, w)})."
                )
            else:
                lines.append(
                    f"from {w} = {run.start[0]:g} the ball rolled into the one at {w} ≈ "
                    f"{m:.4f}, {deepest}: where descent starts decides which valley it ends in."
                )
    return lines


def _size(slope_name: str, n: int) -> str:
    return f"|{slope_name}|" if n == 1 else f"‖{slope_name}‖"


def _difference(f: Any) -> str:
    if f.n == 1:
        v = f.variables[0]
        return f"(C({v}+h) − C({v}−h))/2h"
    return "(C(θ + h·e_i) − C(θ − h·e_i))/2h along each axis i"


def _table(run: Descent, show_all: bool) -> list[str]:
    f = run.function
    v = f.variables
    if f.n == 1:
        header = ["step", v[0], f"C({v[0]})", f"dC/d{v[0]}", f"−η·dC/d{v[0]}", f"new {v[0]}"]
    else:
        header = ["step", *v, f"C({', '.join(v)})"]
        header += [f"∂C/∂{x}" for x in v] + [f"−η·∂C/∂{x}" for x in v] + [f"new {x}" for x in v]
    rows = [
        [
            str(s.step),
            *(f"{x:.8g}" for x in s.point),
            *(f"{x:.6g}" for x in (s.cost, *s.slope, *s.update)),
            *(f"{x:.8g}" for x in s.new_point),
        ]
        for s in run.steps
    ]
    lines = [_cells(header)]
    shown: list[list[str] | None] = list(rows)
    if not show_all and len(rows) > HEAD_ROWS + TAIL_ROWS + 1:
        shown = [*rows[:HEAD_ROWS], None, *rows[-TAIL_ROWS:]]
    for row in shown:
        if row is None:
            hidden = len(rows) - HEAD_ROWS - TAIL_ROWS
            lines.append(f"  ... {hidden} more steps (--all prints them) ...")
            continue
        lines.append(_cells(row))
    if not rows:
        lines.append("  (no step: the slope is already flat at the start)")
    return lines


def _cells(row: list[str]) -> str:
    return f"{row[0]:>5}" + "".join(f" {c:>13}" for c in row[1:])


def _descent_json(run: Descent, check: Any, minima: Any, flat: str | None, why: str | None,
                  figures: list[Path]) -> dict[str, Any]:  # fmt: skip
    f = run.function
    result: dict[str, Any] = {
        "cost": f.text,
        "variables": list(f.variables),
        "derivative": f.derivative_text,
        "gradient": [str(g) for g in f.gradient],
        "derivative_check": {
            "point": list(check.point),
            "h": check.h,
            "symbolic": list(check.symbolic),
            "numerical": list(check.numerical),
            "relative_error": check.relative_error,
        },
        "start": list(run.start),
        "learning_rate": run.learning_rate,
        "tol": run.tol,
        "steps": [s.as_dict(f.variables) for s in run.steps],
        "n_steps": len(run.steps),
        **_verdict_json(run),
        "converged": run.converged,
        "diverged": run.diverged is not None,
        "divergence": run.diverged,
        "why": why,
        "final_point": list(run.final_point),
        "final_cost": run.final_cost,
        "final_slope": list(run.final_slope),
        "flat_point": flat,
        "valleys": None if minima is None else [{"w": m, "cost": c} for m, c in minima],
        "figures": [str(p) for p in figures],
    }
    if f.n == 1:
        result["final_w"] = run.final_point[0]
    return result


def _verdict_json(run: Descent) -> dict[str, Any]:
    """The verdict's fields: ``verdict``, ``verdict_reason``, ``advice`` and ``crossing``."""
    v = run.verdict.as_dict()
    return {"verdict": v["verdict"], "verdict_reason": v["reason"], "advice": v["advice"],
            "crossing": v["crossing"], "yardsticks": run.yardsticks.as_dict()}  # fmt: skip


# --------------------------------------------------------------------------- learning-rate


def run_learning_rate(args: argparse.Namespace) -> int:
    """``nudgenet learning-rate``: one problem at several rates or schedules, labelled."""
    if args.svg and args.plot is None:
        raise ConfigError("--svg needs --plot FILE", help="e.g. --plot rates.png --svg")
    check_figure(args.plot, args.svg)
    toy_only = {"--steps": args.steps}
    network_only = {"--epochs": args.epochs, "--examples": args.examples,
                    "--batch-size": args.batch_size, "--seeds": args.seeds}  # fmt: skip
    wrong = network_only if args.on == "toy" else toy_only
    given = [flag for flag, value in wrong.items() if value is not None]
    if given:
        other = "network" if args.on == "toy" else "toy"
        raise ConfigError(
            f"{', '.join(given)} only applies with --on {other}",
            help="toy runs are measured in --steps; network runs in --epochs"
            + ("; the toy starts at w = 0 and has no seed" if args.seeds is not None else ""),
        )
    budget = {
        "steps": args.steps if args.steps is not None else TOY_STEPS,
        "epochs": args.epochs if args.epochs is not None else NETWORK_EPOCHS,
        "examples": args.examples if args.examples is not None else NETWORK_EXAMPLES,
        "batch_size": args.batch_size if args.batch_size is not None else NETWORK_BATCH_SIZE,
        "seeds": args.seeds if args.seeds is not None else NETWORK_SEEDS,
    }
    if args.schedules is not None:
        if args.rates is not None:
            raise ConfigError(
                "compare either --rates or --schedules, not both",
                help="--schedules compares schedules that all start at --lr",
            )
        comparison = compare_schedules(args.on, args.schedules, args.lr, **budget)
    else:
        if args.lr is not None:
            raise ConfigError(
                "--lr is the starting rate of --schedules",
                help="to compare constant rates, list them with --rates",
            )
        comparison = compare_rates(args.on, args.rates, **budget)
    figures = save_figure(args.plot, args.svg, plot_comparison, comparison)
    if args.json:
        print_json({**comparison.as_dict(), "figures": [str(p) for p in figures]})
        return 0
    for line in _comparison_report(comparison):
        print(line)
    for path in figures:
        print(f"figure saved to {path}")
    return 0


def _comparison_report(c: Comparison) -> list[str]:
    if c.seeds:
        return _seeds_report(c)
    what = "learning rates"
    if c.varied == "schedule":
        what = f"schedules from η = {c.runs[0].learning_rate:g}"
    lines = [
        f"{what} on {c.description}",
        f"history: {c.history}; {_yardsticks_text(c)}",
        "",
    ]
    first = "η" if c.varied == "rate" else "schedule"
    width = max(len(first), *(len(_first_column(c, r)) for r in c.runs))
    lines.append(f"{first:>{width}}  {'verdict':<11}{'final cost':>11}{'best cost':>11}  why")
    for run in c.runs:
        lines.append(
            f"{_first_column(c, run):>{width}}  {run.regime:<11}{run.final_cost:>11.4g}"
            f"{run.best_cost:>11.4g}  {run.verdict.reason}"
        )
    return lines + _help_lines([run.verdict for run in c.runs])


def _yardsticks_text(c: Comparison) -> str:
    """What the verdicts were measured against, in words."""
    y = c.yardsticks
    if y.constant_cost is not None:
        chance = f", chance accuracy {100 * y.chance:.1f}%" if y.chance is not None else ""
        return (
            f"each run judged on its own against C_const = {y.constant_cost:.3g}, the cost of "
            f"the same outputs for every image (arrived: C ≤ C_const/5 = "
            f"{y.constant_cost / 5:.3g}){chance}"
        )
    if y.floor is not None:
        where = "" if y.minimum is None else f" at w = {y.minimum[0]:g}"
        return (
            f"each run judged against the floor C* = {y.floor:g}{where} (arrived: C − C* ≤ "
            f"10⁻⁴ of the way from C_0)"
        )
    return "each run judged on its own"


def _help_lines(verdicts: list[Any]) -> list[str]:
    """One ``help:`` line per verdict that has advice, in the order they first appear."""
    seen: dict[str, str] = {}
    for v in verdicts:
        if v.advice is not None and v.regime not in seen:
            seen[v.regime] = v.advice
    if not seen:
        return []
    width = max(len(regime) for regime in seen)
    return ["", *(f"help: {regime:<{width}}  {advice}" for regime, advice in seen.items())]


def _seeds_report(c: Comparison) -> list[str]:
    """Each rate over the seeds: its commonest label and count, mean ± std, and why."""
    what = "learning rates"
    if c.varied == "schedule":
        what = f"schedules from η = {c.runs[0].learning_rate:g}"
    n = len(c.seeds)
    lines = [
        f"{what} on {c.description}",
        f"history: {c.history}; {_yardsticks_text(c)}",
    ]
    if n > 1:
        lines.append(f"figures: {SPREAD.replace('the seeds', f'the {n} seeds')}; test accuracy "
                     f"on {c.test_set}")  # fmt: skip
    else:
        lines.append(f"figures: one seed, so no spread; test accuracy on {c.test_set}")
    lines.append("")
    first = "η" if c.varied == "rate" else "schedule"
    rows = [
        (_first_column(c, s), s.regime_text, s.final_cost.text(),
         s.test_accuracy.text("{:.2f}", None, scale=100))
        for s in c.summaries
    ]  # fmt: skip
    header = (first, "verdict", "final cost", "test accuracy (%)")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines.append(f"{header[0]:>{widths[0]}}  {header[1]:<{widths[1]}}  "
                 f"{header[2]:<{widths[2]}}  {header[3]}")  # fmt: skip
    for row in rows:
        lines.append(f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  "
                     f"{row[2]:<{widths[2]}}  {row[3]}")  # fmt: skip
    lines += ["", f"why ({seed_text(c.seeds)}; for each verdict, the reason of its first seed):"]
    disagree = []
    names = [f"{'η = ' if c.varied == 'rate' else ''}{_first_column(c, s)}" for s in c.summaries]
    width = max(len(name) for name in names)
    for s, name in zip(c.summaries, names, strict=True):
        labels = sorted(set(s.regimes), key=lambda r: (-s.regimes.count(r), s.regimes.index(r)))
        for i, regime in enumerate(labels):
            runs = [r for r in s.runs if r.regime == regime]
            who = f"all {n} seeds; " if len(runs) == n > 1 else ""
            if len(runs) > 1 and len(runs) < n:
                who = f"{seed_text([r.seed for r in runs])}; "
            lines.append(f"  {name if i == 0 else '':<{width}}  {regime:<10}  {who}"
                         f"seed {runs[0].seed}: {runs[0].verdict.reason}")  # fmt: skip
        if not s.agree:
            counts = ", ".join(f"{s.regimes.count(r)} {r}" for r in labels)
            disagree.append(f"{name} ({counts})")
    if disagree:
        lines += ["", f"the seeds disagree at {'; '.join(disagree)}."]
    elif n > 1:
        lines += ["", f"all {n} seeds agree on every verdict."]
    return lines + _help_lines([s.verdict for s in c.summaries])


def _first_column(c: Comparison, run: Any) -> str:
    return f"{run.learning_rate:g}" if c.varied == "rate" else run.schedule


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
