"""The learning rate η, too small and too large: run one problem at several rates and label each.

The lecture note warns that a learning rate too small makes learning very slow, and one too
large may overshoot and bounce around, or even diverge. This module shows it on the note's
C(w) = (w − 3)² from w = 0 and on the seed's 784-16-16-10 sigmoid network with the quadratic
cost, both trained by the same :func:`~nudgenet.descent.descend`, and names what each run did
with the one classifier of every descent, :func:`nudgenet.lessons.verdict.judge` (its module
docstring defines the verdicts slow, converges, oscillates, diverges, stalls and unbounded):

* toy: each run is a :func:`~nudgenet.lessons.toy.run_descent`, and its verdict is that run's,
  measured against the parabola's floor C* = 0 at w = 3 (exactly what ``nudgenet descend``
  says of the same rate and number of steps);
* network: the history c_k is the training cost C over the training images after epoch k
  (c₀: untrained), measured against absolute yardsticks, the constant-output cost C_const
  (0.9: the same outputs for every image) and the chance accuracy (10 %), never against the
  other rates: two rates that both saturate the sigmoids both *stall*.

On the toy every run starts from w = 0, so the rate or schedule is the only difference.
The network is trained once per seed (default 0–4) for every rate or schedule, all in one
stack (:func:`~nudgenet.training.stacked.train_stacked`): the runs of one seed share θ₀ and see the
same mini-batches in the same order, so within a seed the rate is still the only difference.
A :class:`Summary` then gathers each rate over the seeds: the verdict most seeds got, with
its count, and the final training cost and test accuracy as mean ± sample standard deviation
(ddof = 1), because one run is one draw of θ₀ and of the shuffles.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._json import finite
from ..cost import get_cost
from ..data import Dataset, load_mini, one_hot, to_inputs
from ..errors import ConfigError
from ..network import Network
from ..schedules import SCHEDULES, check_learning_rate, make_schedule
from ..training.loop import steps_per_epoch
from ..training.stacked import DIVERGENCE_FACTOR, Member, MemberResult, train_stacked
from .toy import PARABOLA, run_descent
from .verdict import VERDICTS, History, Verdict, Yardsticks, judge, network_yardsticks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REGIMES = VERDICTS
PROBLEMS = ("toy", "network")

#: Rates that show every regime: (w − 3)² has C'' = 2, so η < 0.5 creeps monotonically
#: (0.01 too slowly for 30 steps), 0.5 < η < 1 overshoots but shrinks (|1 − 2η| < 1), η = 1
#: bounces between 0 and 6 forever (|1 − 2η| = 1) and η > 1 grows (|1 − 2η| > 1).
TOY_RATES = (0.01, 0.1, 0.9, 1.0, 1.1)
#: On the network (2,000 images, 10 epochs of batch 10): 0.001 creeps, 1 learns, 10 bounces
#: (chaotically, so that rounding alone sends a seed's later epochs elsewhere), and 30
#: saturates every output to 0 within the first epoch and stalls there.
NETWORK_RATES = (0.001, 1.0, 10.0, 30.0)
#: The network's seeds: each is one draw of θ₀ and of the shuffles.
NETWORK_SEEDS = (0, 1, 2, 3, 4)
#: Starting rates for comparing schedules: too large for a constant rate, so a decaying
#: schedule visibly rescues them.
TOY_SCHEDULE_RATE = 1.05
NETWORK_SCHEDULE_RATE = 10.0
TOY_STEPS = 30
NETWORK_EPOCHS = 10
NETWORK_EXAMPLES = 2000
NETWORK_BATCH_SIZE = 10
TOY_TARGET = 3.0  # the bottom of (w − 3)²
TOY_CURVATURE = 2.0  # C'' of (w − 3)²: constant rates above 2/C'' = 1 diverge


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Run:
    """One run of a comparison: its settings, history and verdict."""

    label: str  # how the legend names it: "η = 0.1" or "cosine"
    learning_rate: float  # η (the starting η of a schedule)
    schedule: str  # constant | step | exponential | inverse-time | cosine
    costs: tuple[float, ...]  # the history c₀ … c_K (see the module docstring)
    learning_rates: tuple[float, ...]  # η_k of every update k
    verdict: Verdict
    points: tuple[float, ...] | None = None  # toy: w₀ … w_K
    slopes: tuple[float, ...] | None = None  # toy: dC/dw at w₀ … w_K
    diverged: str | None = None  # why the run was stopped, when it blew up
    seed: int | None = None  # network: the seed of θ₀ and of the batches
    test_accuracy: float | None = None  # network: after the last epoch (None if it diverged)

    @property
    def regime(self) -> str:
        """The verdict's label."""
        return self.verdict.regime

    @property
    def final_cost(self) -> float:
        """c_K, the cost at the end."""
        return self.costs[-1]

    @property
    def best_cost(self) -> float:
        """The lowest cost the run reached (NaN-safe; inf when none is finite)."""
        finite = [c for c in self.costs if math.isfinite(c)]
        return min(finite) if finite else math.inf

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values; non-finite numbers become None."""
        row: dict[str, Any] = {
            "label": self.label,
            "learning_rate": self.learning_rate,
            "schedule": self.schedule,
            "regime": self.regime,
            "verdict": self.regime,
            "reason": self.verdict.reason,
            "advice": self.verdict.advice,
            "final_cost": _finite(self.final_cost),
            "best_cost": _finite(self.best_cost),
            "costs": [_finite(c) for c in self.costs],
            "learning_rates": list(self.learning_rates),
            "diverged": self.diverged,
        }
        if self.seed is not None:
            row["seed"] = self.seed
            row["test_accuracy"] = self.test_accuracy
        if self.points is not None:
            row["w"] = [_finite(w) for w in self.points]
            row["slopes"] = [_finite(s) for s in self.slopes or ()]
        return row


@dataclass(frozen=True)
class Spread:
    """One figure over seeds: the values, their mean and sample standard deviation.

    Examples
    --------
    >>> s = Spread((0.88, 0.87, 0.89))
    >>> round(s.mean, 4), round(s.std, 4)
    (0.88, 0.01)
    >>> s.text("{:.2f}", None)
    '0.88 ± 0.01'
    >>> s.text("{:.1f}%", None, scale=100)
    '88.0% ± 1.0%'
    >>> Spread((0.88,)).text()
    '0.88'
    """

    values: tuple[float, ...]  # one per seed that has the figure

    @property
    def mean(self) -> float:
        """The mean (NaN when there is no value)."""
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float | None:
        """The sample standard deviation (ddof = 1); None for fewer than two values."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else None

    def text(self, number: str = "{:.4g}", spread: str | None = "{:.2g}", scale: float = 1.0
             ) -> str:  # fmt: skip
        """``mean ± std``, formatted by ``number`` and ``spread`` (default: as ``number``).

        The mean alone for one value, and "—" for none.
        """
        if not self.values:
            return "—"
        mean = number.format(scale * self.mean)
        if self.std is None:
            return mean
        return f"{mean} ± {(spread or number).format(scale * self.std)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"mean": _finite(self.mean), "std": self.std, "values": list(self.values)}


@dataclass(frozen=True)
class Summary:
    """One rate (or schedule) over its seeds: the runs, the commonest label, mean ± std."""

    label: str
    learning_rate: float
    schedule: str
    runs: tuple[Run, ...]  # one per seed, in the comparison's seed order

    @property
    def regimes(self) -> tuple[str, ...]:
        """Each seed's label."""
        return tuple(run.regime for run in self.runs)

    @property
    def regime(self) -> str:
        """The label most seeds got (a tie goes to the one the earlier seed got)."""
        return Counter(self.regimes).most_common(1)[0][0]

    @property
    def verdict(self) -> Verdict:
        """The verdict of the first seed that got :attr:`regime`: its reason and advice."""
        return next(run.verdict for run in self.runs if run.regime == self.regime)

    @property
    def count(self) -> int:
        """How many seeds got :attr:`regime`."""
        return self.regimes.count(self.regime)

    @property
    def agree(self) -> bool:
        """Whether every seed got the same label."""
        return self.count == len(self.runs)

    @property
    def regime_text(self) -> str:
        """The label with its count over the seeds, "oscillates (4/5)"; alone for one run."""
        return (
            self.regime if len(self.runs) == 1 else f"{self.regime} ({self.count}/{len(self.runs)})"
        )

    @property
    def final_cost(self) -> Spread:
        """The final training cost over the seeds whose run ended finite."""
        return Spread(tuple(r.final_cost for r in self.runs if math.isfinite(r.final_cost)))

    @property
    def test_accuracy(self) -> Spread:
        """The final test accuracy (a fraction) over the seeds whose run finished."""
        return Spread(tuple(r.test_accuracy for r in self.runs if r.test_accuracy is not None))

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cost history's mean, lowest and highest over the seeds at each point, (K + 1,).

        Non-finite costs and the points after a run stopped are left out; NaN where no seed
        has a finite cost.
        """
        length = max(len(r.costs) for r in self.runs)
        c = np.full((len(self.runs), length), np.nan)
        for i, run in enumerate(self.runs):
            c[i, : len(run.costs)] = run.costs
        c[~np.isfinite(c)] = np.nan
        seen = ~np.all(np.isnan(c), axis=0)
        mean, low, high = np.full(length, np.nan), np.full(length, np.nan), np.full(length, np.nan)
        mean[seen] = np.nanmean(c[:, seen], axis=0)
        low[seen], high[seen] = np.nanmin(c[:, seen], axis=0), np.nanmax(c[:, seen], axis=0)
        return mean, low, high

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values: the label count, the spreads, the curve and each seed's run."""
        mean, low, high = self.curve()
        return {
            "label": self.label,
            "learning_rate": self.learning_rate,
            "schedule": self.schedule,
            "regime": self.regime,
            "verdict": self.regime,
            "reason": self.verdict.reason,
            "advice": self.verdict.advice,
            "count": self.count,
            "seeds": [r.seed for r in self.runs],
            "agree": self.agree,
            "regimes": list(self.regimes),
            "final_cost": self.final_cost.as_dict(),
            "test_accuracy": self.test_accuracy.as_dict(),
            "mean_costs": [_finite(x) for x in mean],
            "min_costs": [_finite(x) for x in low],
            "max_costs": [_finite(x) for x in high],
            "diverged": sum(r.diverged is not None for r in self.runs),
        }


@dataclass(frozen=True)
class Comparison:
    """Several runs of one problem that differ only in η or in the schedule (and the seed)."""

    problem: str  # "toy" or "network"
    varied: str  # "rate" or "schedule"
    description: str  # the problem and budget, in words
    history: str  # what the costs are: per step or per epoch
    unit: str  # "step" or "epoch": the x axis of the history
    steps_per_unit: int  # updates per unit (1 for the toy; batches per epoch on the network)
    reference: float  # the best final cost among the runs (for reading, not for the verdicts)
    runs: tuple[Run, ...]  # toy: one per rate; network: per rate, one per seed
    yardsticks: Yardsticks = field(default_factory=Yardsticks)  # what the verdicts measure against
    seeds: tuple[int, ...] = ()  # network: the seeds every rate was trained with
    references: tuple[float, ...] = ()  # network: each seed's best final cost
    test_set: str = ""  # network: what the test accuracy is measured on

    @property
    def summaries(self) -> tuple[Summary, ...]:
        """One :class:`Summary` per rate or schedule, in the order they were given."""
        n = max(1, len(self.seeds))  # the runs are rate by rate, each rate's seeds in order
        groups = [self.runs[i : i + n] for i in range(0, len(self.runs), n)]
        return tuple(Summary(g[0].label, g[0].learning_rate, g[0].schedule, g) for g in groups)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        out: dict[str, Any] = {
            "on": self.problem,
            "compare": self.varied,
            "description": self.description,
            "history": self.history,
            "reference": _finite(self.reference),
            "yardsticks": self.yardsticks.as_dict(),
            "runs": [r.as_dict() for r in self.runs],
        }
        if self.seeds:
            out["seeds"] = list(self.seeds)
            out["references"] = [_finite(r) for r in self.references]
            out["test_set"] = self.test_set
            out["spread"] = SPREAD
            out["summaries"] = [s.as_dict() for s in self.summaries]
        return out


#: How the network's figures are summarised over seeds, in words.
SPREAD = "mean ± sample standard deviation (ddof = 1) over the seeds"


def _finite(x: float) -> float | None:
    return finite(float(x))  # a NumPy scalar becomes a plain float, then JSON-ready


@dataclass(frozen=True)
class _Raw:
    """A run before classification."""

    label: str
    learning_rate: float
    schedule: str
    costs: tuple[float, ...]
    learning_rates: tuple[float, ...]
    points: tuple[float, ...] | None = None
    slopes: tuple[float, ...] | None = None
    diverged: str | None = None
    seed: int | None = None
    test_accuracy: float | None = None
    verdict: Verdict | None = None  # toy: the verdict run_descent gave the run
    yardsticks: Yardsticks | None = None  # toy: what run_descent measured it against


def _best(costs: Sequence[float]) -> float:
    finals = [c for c in costs if math.isfinite(c)]
    return min(finals) if finals else math.inf


def _finish(raws: list[_Raw], *, unit: str, yardsticks: Yardsticks,
            seeds: tuple[int, ...] = (), **fields: Any) -> Comparison:  # fmt: skip
    """Give every run its verdict: the toy's own, or the network's against the yardsticks."""
    by_seed = {s: _best([r.costs[-1] for r in raws if r.seed == s]) for s in (seeds or (None,))}
    runs = []
    for r in raws:
        verdict = r.verdict or judge(
            History(r.costs, stopped=r.diverged, accuracy=r.test_accuracy, unit=unit), yardsticks
        )
        runs.append(Run(r.label, r.learning_rate, r.schedule, r.costs, r.learning_rates,
                        verdict, r.points, r.slopes, r.diverged, r.seed,
                        r.test_accuracy))  # fmt: skip
    return Comparison(reference=_best([r.costs[-1] for r in raws]), runs=tuple(runs), unit=unit,
                      yardsticks=yardsticks, seeds=seeds,
                      references=tuple(by_seed[s] for s in seeds), **fields)  # fmt: skip


def _toy_run(label: str, lr: float, schedule: str, steps: int) -> _Raw:
    # For the toy, inverse-time's "epoch" is a tenth of the run.
    rate = make_schedule(schedule, lr, total_steps=steps, steps_per_epoch=max(1, steps // 10))
    # tol = 0: run the whole budget (stopping only at an exactly flat slope), and no
    # divergence factor: a growing run keeps going so its blow-up is in the history.
    run = run_descent(PARABOLA, 0.0, rate, steps=steps, tol=0.0, divergence_factor=None)
    return _Raw(
        label=label,
        learning_rate=lr,
        schedule=schedule,
        costs=tuple(run.costs),
        learning_rates=tuple(s.learning_rate for s in run.steps),
        points=tuple(p[0] for p in run.points),
        slopes=tuple(s[0] for s in run.slopes),
        diverged=run.diverged,
        verdict=run.verdict,
        yardsticks=run.yardsticks,
    )


@dataclass(frozen=True)
class _NetworkProblem:
    network: Network
    X: np.ndarray  # (examples, 784)
    Y: np.ndarray  # (examples, 10)
    labels: np.ndarray  # (examples,)
    X_test: np.ndarray  # (test images, 784)
    test_labels: np.ndarray  # (test images,)
    data_name: str
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]


def _network_problem(examples: int, epochs: int, batch_size: int, seeds: Sequence[int],
                     data: Dataset | None) -> _NetworkProblem:  # fmt: skip
    data = data if data is not None else load_mini()
    n = len(data.train_labels)
    if not (isinstance(examples, int) and 1 <= examples <= n):
        raise ConfigError(
            f"examples must be between 1 and {n} (the training images of {data.name}), "
            f"got {examples!r}",
            help=f"e.g. --examples 1000; {data.name} has {n:,} training images",
        )
    return _NetworkProblem(
        network=Network(),
        X=to_inputs(data.train_images[:examples], np.float64),
        Y=one_hot(data.train_labels[:examples], dtype=np.float64),
        labels=data.train_labels[:examples],
        X_test=to_inputs(data.test_images, np.float64),
        test_labels=data.test_labels,
        data_name=data.name,
        epochs=epochs,
        batch_size=batch_size,
        seeds=_check_seeds(seeds),
    )


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    seeds = tuple(seeds)
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0]
    if not seeds or bad:
        raise ConfigError(
            f"seeds must be one or more integers ≥ 0, got {seeds!r}", help="e.g. --seeds 0-4"
        )
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"the seeds repeat a value: {seeds!r}", help="give each seed once")
    return tuple(int(s) for s in seeds)


def _network_runs(p: _NetworkProblem, settings: Sequence[tuple[str, float, str]]) -> list[_Raw]:
    """Train every (label, η, schedule) × seed in one stack and read each member's history.

    Each member sees the batches ``nudgenet train --seed s`` would show it, so the members of
    one seed share θ₀ and the batch order, and differ only in η or the schedule.
    """
    members = [Member(lr=lr, seed=seed, schedule=schedule)
               for _, lr, schedule in settings for seed in p.seeds]  # fmt: skip
    results = train_stacked(p.network, members, p.X, p.Y, epochs=p.epochs,
                            batch_size=p.batch_size, dtype="float64",
                            test=(p.X_test, p.test_labels), labels=p.labels)  # fmt: skip
    per_epoch = steps_per_epoch(len(p.X), p.batch_size)
    labels = [label for label, _, _ in settings for _ in p.seeds]
    return [_member_run(label, r, per_epoch, p.epochs)
            for label, r in zip(labels, results, strict=True)]  # fmt: skip


def _member_run(label: str, result: MemberResult, per_epoch: int, epochs: int) -> _Raw:
    m = result.member
    total = per_epoch * epochs
    schedule = make_schedule(m.schedule, m.lr, total_steps=total, steps_per_epoch=per_epoch)
    costs = [h["train_cost"] for h in result.history]
    diverged = None
    taken = total
    if result.diverged_step is not None:
        taken = result.diverged_step  # the step whose cost blew up was not taken
        costs.append(math.inf)  # the run blew up: its history ends at infinity
        limit = f"{DIVERGENCE_FACTOR:g} times its start"
        if result.divergence_limit is not None:
            limit = f"{result.divergence_limit:.4g} ({limit})"
        diverged = (
            f"at step {taken} (epoch {taken // per_epoch + 1}) the batch cost became non-finite "
            f"or more than {limit}; the run stopped there"
        )
    return _Raw(
        label=label,
        learning_rate=m.lr,
        schedule=m.schedule,
        costs=tuple(costs),
        learning_rates=tuple(float(schedule(k)) for k in range(taken)),
        diverged=diverged,
        seed=m.seed,
        test_accuracy=None if diverged else result.history[-1]["test_accuracy"],
    )


def _check_problem(on: str) -> None:
    if on not in PROBLEMS:
        raise ConfigError(
            f"unknown problem {on!r}; choose one of {', '.join(PROBLEMS)}",
            help=f"--on takes one of: {', '.join(PROBLEMS)}",
        )


def _toy_fields(steps: int, varied: str) -> dict[str, Any]:
    if not (isinstance(steps, int) and steps >= 1):
        raise ConfigError(
            f"steps must be a positive integer, got {steps!r}",
            help="e.g. --steps 30: each toy run takes that many steps",
        )
    return {
        "problem": "toy",
        "varied": varied,
        "description": f"C(w) = {PARABOLA} from w = 0, {steps} steps",
        "history": "the cost C(w_k) after every step k",
        "unit": "step",
        "steps_per_unit": 1,
    }


def _network_fields(p: _NetworkProblem, varied: str) -> dict[str, Any]:
    batch = p.batch_size or "the whole set"
    return {
        "problem": "network",
        "varied": varied,
        "description": f"784-16-16-10 sigmoid network, quadratic cost, {len(p.X):,} training "
        f"images, {p.epochs} epochs of batch {batch}, {seed_text(p.seeds)}",
        "history": "the training cost C over those images after every epoch (0: untrained)",
        "unit": "epoch",
        "steps_per_unit": steps_per_epoch(len(p.X), p.batch_size),
        "seeds": p.seeds,
        "test_set": f"the {len(p.X_test):,} test images of {p.data_name}",
        "yardsticks": network_yardsticks(
            p.Y, get_cost("quadratic", p.network.output).value, p.test_labels
        ),
    }


def _toy_yardsticks(raws: Sequence[_Raw]) -> Yardsticks:
    """The parabola's floor, as the first run that ended near it measured it."""
    found = [r.yardsticks for r in raws if r.yardsticks is not None]
    return next((y for y in found if y.floor is not None), found[0] if found else Yardsticks())


def seed_text(seeds: Sequence[int]) -> str:
    """The seeds in words: "seed 0", "seeds 0–4" (a run of consecutive ones) or "seeds 0, 3".

    Examples
    --------
    >>> seed_text([0, 1, 2, 3, 4]), seed_text([7]), seed_text([0, 2])
    ('seeds 0–4', 'seed 7', 'seeds 0, 2')
    """
    seeds = list(seeds)
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}–{seeds[-1]}"
    return "seeds " + ", ".join(map(str, seeds))


def compare_rates(
    on: str = "toy",
    rates: Sequence[float] | None = None,
    *,
    steps: int = TOY_STEPS,
    epochs: int = NETWORK_EPOCHS,
    examples: int = NETWORK_EXAMPLES,
    batch_size: int = NETWORK_BATCH_SIZE,
    seeds: Sequence[int] = NETWORK_SEEDS,
    data: Dataset | None = None,
) -> Comparison:
    """Run one problem at several constant learning rates and classify each run.

    Parameters
    ----------
    on : "toy" or "network"
        (w − 3)² from w = 0, or the seed network on the first ``examples`` training images.
    rates : sequence of float, optional
        Default :data:`TOY_RATES` or :data:`NETWORK_RATES`, one rate of each regime.
    steps : int
        Toy: the number of steps.
    epochs, examples, batch_size : int
        Network: the training budget and data.
    seeds : sequence of int
        Network: every rate is trained once per seed (θ₀ and shuffling), all in one stack;
        :attr:`Comparison.summaries` gathers each rate over them.
    data : Dataset, optional
        Network: the data (trained on its first ``examples`` images, tested on its test
        set); default the embedded ``mini`` set.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> [run.regime for run in compare_rates("toy").runs]
    ['slow', 'converges', 'converges', 'oscillates', 'diverges']
    """
    _check_problem(on)
    rates = tuple(rates) if rates is not None else TOY_RATES if on == "toy" else NETWORK_RATES
    if not rates:
        raise ConfigError(
            "give at least one learning rate to compare", help="e.g. --rates 0.01,0.1,1"
        )
    for lr in rates:
        check_learning_rate(lr)
    if on == "toy":
        fields = _toy_fields(steps, "rate")
        raws = [_toy_run(f"η = {lr:g}", lr, "constant", steps) for lr in rates]
        fields["yardsticks"] = _toy_yardsticks(raws)
    else:
        p = _network_problem(examples, epochs, batch_size, seeds, data)
        fields = _network_fields(p, "rate")
        raws = _network_runs(p, [(f"η = {lr:g}", lr, "constant") for lr in rates])
    return _finish(raws, **fields)


def compare_schedules(
    on: str = "toy",
    schedules: Sequence[str] = SCHEDULES,
    lr: float | None = None,
    *,
    steps: int = TOY_STEPS,
    epochs: int = NETWORK_EPOCHS,
    examples: int = NETWORK_EXAMPLES,
    batch_size: int = NETWORK_BATCH_SIZE,
    seeds: Sequence[int] = NETWORK_SEEDS,
    data: Dataset | None = None,
) -> Comparison:
    """Run one problem with several learning-rate schedules from the same starting η.

    A schedule starts large to travel fast and shrinks to settle: from a rate too large to
    hold constant, the decaying ones end far lower (on the toy, at the bottom).

    Parameters
    ----------
    on : "toy" or "network"
    schedules : sequence of str
        Names from :data:`nudgenet.schedules.SCHEDULES`.
    lr : float, optional
        The starting η; default :data:`TOY_SCHEDULE_RATE` or :data:`NETWORK_SCHEDULE_RATE`.
    steps, epochs, examples, batch_size, seeds, data
        As for :func:`compare_rates`.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> {run.label: run.regime for run in compare_schedules("toy", ["constant", "cosine"]).runs}
    {'constant': 'diverges', 'cosine': 'converges'}
    """
    _check_problem(on)
    if not schedules:
        raise ConfigError(
            "give at least one schedule to compare", help="e.g. --schedules constant,cosine"
        )
    for name in schedules:
        if name not in SCHEDULES:
            raise ConfigError(
                f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}",
                help="e.g. --schedules constant,step,cosine",
            )
    if lr is None:
        lr = TOY_SCHEDULE_RATE if on == "toy" else NETWORK_SCHEDULE_RATE
    check_learning_rate(lr)
    if on == "toy":
        fields = _toy_fields(steps, "schedule")
        raws = [_toy_run(name, lr, name, steps) for name in schedules]
        fields["yardsticks"] = _toy_yardsticks(raws)
    else:
        p = _network_problem(examples, epochs, batch_size, seeds, data)
        fields = _network_fields(p, "schedule")
        raws = _network_runs(p, [(name, lr, name) for name in schedules])
    return _finish(raws, **fields)


# --------------------------------------------------------------------------- the picture

_COLOURS = {
    "slow": "tab:blue",
    "converges": "tab:green",
    "oscillates": "tab:orange",
    "diverges": "tab:red",
    "stalls": "tab:purple",
    "unbounded": "tab:brown",
}


def plot_comparison(comparison: Comparison) -> Figure:
    """All cost curves in one figure (log scale): one line per rate or schedule, and its regime.

    On the network each thick line is the mean over the seeds, each thin line of its colour one
    seed (a mean smooths away the bouncing of single runs), with a band from the lowest to the
    highest seed, and the legend gives the label most seeds got with its count. Beside the
    costs: for rates on the toy, w_k against the bottom w = 3 (overshooting shows there, not
    in the cost); for schedules, η_k on the same axis as the costs.

    Runs can coincide (on (w − 3)², η = 0.1 and η = 0.9 have the same costs, since
    |1 − 2η| = 0.8 for both), so each later line is drawn above, thinner and in another dash and
    marker, and every one stays visible. A cost of exactly 0 has no place on a log axis: then
    the axis is symmetric-log, linear near 0, so the run still shows.
    """
    from .. import plots

    c = comparison
    summaries = c.summaries
    extra = c.varied == "schedule" or c.problem == "toy"
    fig, axes = plots.figure(1, 2 if extra else 1, size=(11.0, 4.6) if extra else (7.6, 4.6))
    ax = axes[0] if extra else axes
    # Rates are coloured by regime; schedules by name, the same in both panels.
    colours = [_COLOURS[s.regime] if c.varied == "rate" else f"C{i % 10}"
               for i, s in enumerate(summaries)]  # fmt: skip
    looks = _looks(len(summaries))
    seeds = len(c.seeds) > 1
    drawn = [np.asarray(r.costs, dtype=np.float64) for r in c.runs]
    linear = _linear_threshold(drawn)  # None: every cost is positive, a log axis holds them

    def shown(values: np.ndarray) -> np.ndarray:
        keep = np.isfinite(values) & ((values > 0) if linear is None else (values >= 0))
        return np.where(keep, values, np.nan)

    for s, colour, look in zip(summaries, colours, looks, strict=True):
        mean, low, high = s.curve()
        k = np.arange(len(mean))
        ax.plot(k, shown(mean), color=colour, label=f"{s.label}: {s.regime_text}", **look)
        if len(s.runs) > 1:
            ax.fill_between(k, shown(low), shown(high), color=colour, alpha=0.1, linewidth=0)
    if seeds:  # after the means, so get_lines() lists those first; drawn beneath them
        for s, colour in zip(summaries, colours, strict=True):
            for run in s.runs:
                costs = np.asarray(run.costs, dtype=np.float64)
                ax.plot(np.arange(len(costs)), shown(costs), color=colour, linewidth=0.7,
                        alpha=0.55, zorder=1.5, label=f"_{s.label}, seed {run.seed}")  # fmt: skip
    if c.problem == "network":
        # Where a huge η ends: sigmoid outputs saturated at 0 for every digit, C = 1 exactly.
        ax.axhline(1.0, color="0.5", linestyle=":", linewidth=1)
        ax.annotate("C = 1: every output 0 (saturated)", (0.5, 1.0), xycoords=("axes fraction",
                    "data"), xytext=(0, -4), textcoords="offset points", ha="center", va="top",
                    fontsize=8, color="0.4")  # fmt: skip
    if linear is None:
        ax.set_yscale("log")
        ax.set_ylabel("cost C (log scale)")
    else:
        ax.set_yscale("symlog", linthresh=linear, linscale=0.5)
        ax.set_ylabel(f"cost C (log scale; linear below {linear:.0e}, so C = 0 shows)")
    ax.set_xlabel(c.unit if c.unit == "step" else "epoch (0: untrained)")
    what = "learning rates" if c.varied == "rate" else "schedules"
    ax.set_title(f"The cost under different {what}", fontsize=11)
    n = len(c.seeds)
    legend = f"thick: mean of {n} seeds, thin: each seed; band: min–max" if n > 1 else None
    ax.legend(loc="best", fontsize=8, title=legend, title_fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(c.description, fontsize=9)
    if extra:
        _draw_side(axes[1], c, colours, looks)
    return fig


def _draw_side(side: Any, c: Comparison, colours: list[str], looks: list[dict[str, Any]]) -> None:
    """Beside the costs: η_k of each schedule, or w_k of each toy rate against the bottom."""
    summaries = c.summaries
    if c.varied == "schedule":
        for s, colour, look in zip(summaries, colours, looks, strict=True):
            rates = max((run.learning_rates for run in s.runs), key=len)  # the same for every seed
            k = np.arange(len(rates)) / c.steps_per_unit
            side.plot(k, rates, color=colour, label=s.label,
                      **{**look, "marker": None})  # fmt: skip
        side.set_xlabel(c.unit if c.unit == "step" else "epoch")
        if c.problem == "toy":
            side.axhline(2 / TOY_CURVATURE, color="0.3", linestyle="--", linewidth=1,
                         label="η = 2/C'' = 1: above it, each step overshoots more")  # fmt: skip
        side.set_ylabel("learning rate η_k")
        side.set_title("The schedules: η at each step", fontsize=11)
        side.legend(loc="best", fontsize=8)
    else:
        for s, colour, look in zip(summaries, colours, looks, strict=True):
            (run,) = s.runs  # the toy has no seeds
            assert run.points is not None
            side.plot(np.arange(len(run.points)), run.points, color=colour,
                      label=f"{run.label}: {run.regime}", **look)  # fmt: skip
        side.axhline(TOY_TARGET, color="0.3", linestyle="--", linewidth=1,
                     label=f"the bottom, w = {TOY_TARGET:g}")  # fmt: skip
        side.set_ylim(-5.0, 9.0)  # a diverging run leaves the picture
        side.set_xlabel("step")
        side.set_ylabel("w_k")
        side.set_title("Where w goes: creeping, settling, bouncing, escaping", fontsize=11)
        side.legend(loc="lower right", fontsize=8)
    side.grid(True, alpha=0.3)


_DASHES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _looks(n: int) -> list[dict[str, Any]]:
    """How each of n curves is drawn, so that curves lying on each other all stay visible.

    The i-th curve is drawn above the ones before it, thinner, with smaller markers of another
    shape and another dash: where two coincide, the earlier one shows as a border around the
    later one.

    Examples
    --------
    >>> [(look["linestyle"], look["marker"], look["linewidth"]) for look in _looks(2)]
    [('-', 'o', 3.2), ('--', 's', 1.2)]
    """
    widths = np.linspace(3.2, 1.2, n) if n > 1 else np.array([1.6])
    sizes = np.linspace(5.5, 3.0, n) if n > 1 else np.array([3.0])
    return [
        {
            "linestyle": _DASHES[i % len(_DASHES)],
            "marker": _MARKERS[i % len(_MARKERS)],
            "linewidth": round(float(widths[i]), 3),
            "markersize": round(float(sizes[i]), 3),
            "zorder": 2.0 + i / max(n, 1),
        }
        for i in range(n)
    ]


def _linear_threshold(histories: Sequence[np.ndarray]) -> float | None:
    """Where a symmetric-log cost axis turns linear, or None when every cost is positive.

    Only a run that hits C = 0 exactly needs one: below the smallest positive cost, rounded
    down to a power of ten, the axis is linear, so 0 sits just under every other point.

    Examples
    --------
    >>> _linear_threshold([np.array([9.0, 0.0]), np.array([9.0, 3.2e-5])])
    1e-05
    >>> _linear_threshold([np.array([9.0, 1.0])]) is None
    True
    """
    values = np.concatenate([np.asarray(h, dtype=np.float64).ravel() for h in histories])
    values = values[np.isfinite(values)]
    if not np.any(values == 0):
        return None
    positive = values[values > 0]
    smallest = float(positive.min()) if len(positive) else 1.0
    return float(10.0 ** np.floor(np.log10(smallest)))
