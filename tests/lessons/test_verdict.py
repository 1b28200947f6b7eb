"""One verdict for every descent: the rules, checked against runs whose behaviour is known exactly.

On (w − 3)² every step multiplies w − 3 by r = 1 − ηC'' = 1 − 2η, so w_k − 3 = −3r^k: the
oracle below says from r alone what each run must be called, and each test checks the
numbers it relies on against the run itself.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nudgenet import ConfigError
from nudgenet.cost import quadratic
from nudgenet.lessons.formula import parse_cost
from nudgenet.lessons.toy import landmarks, run_descent
from nudgenet.lessons.verdict import (
    REACH,
    VERDICTS,
    History,
    Yardsticks,
    advice,
    chance_accuracy,
    constant_output_cost,
    cost_rises,
    falls_without_limit,
    hill_crossing,
    judge,
    sign_flips,
)

QUARTIC = "w**4 - 3*w**2 + w"  # two valleys, at w ≈ −1.3008 (the deepest) and w ≈ 1.1309
HILL = 0.16994  # the hilltop between them, where 4w³ − 6w + 1 = 0 and C'' < 0


def oracle(eta: float, steps: int, tol: float) -> str:
    """The verdict of descent on (w − 3)² from w = 0, from r = 1 − 2η alone.

    |r| > 1: each step farther (diverges); |r| = 1: the same distance forever (oscillates);
    |r| < 1: converges once C − C* = 9r^(2k) is within 10⁻⁴ of the start's 9 (or the slope
    6|r|^k within tol) inside the budget, else oscillates when r < 0 (the steps flip), slow
    when r > 0.
    """
    r = 1 - 2 * eta
    if abs(r) > 1:
        return "diverges"
    if abs(r) == 1:
        return "oscillates"
    reached = abs(r) ** (2 * steps) <= REACH or 6 * abs(r) ** steps <= tol
    if reached:
        return "converges"
    return "oscillates" if r < 0 else "slow"


# --------------------------------------------------------------------------- the parabola


@pytest.mark.parametrize("eta", [0.01, 0.1, 0.5, 0.9, 0.99, 1.0, 1.05, 1.1])
@pytest.mark.parametrize(("steps", "tol"), [(100, 1e-6), (30, 0.0)])  # descend; learning-rate
def test_the_parabola_follows_the_exact_analysis(eta: float, steps: int, tol: float) -> None:
    run = run_descent("(w-3)**2", 0.0, eta, steps=steps, tol=tol, divergence_factor=None)
    r = 1 - 2 * eta
    k = len(run.steps)
    # The closed form the oracle rests on: w_k − 3 = −3r^k.
    np.testing.assert_allclose(run.final_point[0] - 3, -3 * r**k, rtol=1e-9, atol=1e-12)
    assert run.verdict.regime == oracle(eta, steps, tol)


def test_the_rates_of_the_lesson() -> None:
    expected = {0.1: "converges", 0.5: "converges", 0.9: "converges", 1.0: "oscillates",
                1.05: "diverges", 1.1: "diverges"}  # fmt: skip
    got = {eta: run_descent("(w-3)**2", 0.0, eta).verdict.regime for eta in expected}
    assert got == expected


def test_eta_one_bounces_between_0_and_6_forever() -> None:
    run = run_descent("(w-3)**2", 0.0, 1.0)
    ws = [p[0] for p in run.points]
    assert ws == [0.0, 6.0] * 50 + [0.0]  # 100 steps, |1 − ηC''| = 1 exactly
    assert set(run.costs) == {9.0}  # never lower
    assert {abs(s[0]) for s in run.slopes} == {6.0}  # the slope never dies out
    v = run.verdict
    assert v.regime == "oscillates"
    assert "49 times in the last 50" in v.reason
    assert "never comes closer: C − C* stays 9" in v.reason
    assert v.advice.startswith("use a smaller η: below 2/C'' = 1 the bounces shrink")


def test_eta_0_9_overshoots_every_step_and_converges() -> None:
    run = run_descent("(w-3)**2", 0.0, 0.9)
    offsets = [p[0] - 3 for p in run.points]
    assert all(a * b < 0 for a, b in itertools.pairwise(offsets))  # every step over
    ratios = [abs(b / a) for a, b in itertools.pairwise(offsets)]
    np.testing.assert_allclose(ratios, 0.8, rtol=1e-6)  # |1 − 0.9·2| = 0.8
    assert run.verdict.regime == "converges"
    assert "flipped direction 34 times in the last 35" in run.verdict.reason
    assert run.verdict.advice is None


def test_eta_0_99_shrinks_too_slowly_and_oscillates() -> None:
    run = run_descent("(w-3)**2", 0.0, 0.99)  # |1 − 1.98| = 0.98: 3·0.98¹⁰⁰ = 0.398 left
    assert abs(run.final_point[0] - 3) == pytest.approx(3 * 0.98**100)
    assert run.verdict.regime == "oscillates"
    assert "×0.98 per step" in run.verdict.reason


def test_the_diverging_advice_names_the_limit() -> None:
    for eta in (1.05, 1.1):
        v = run_descent("(w-3)**2", 0.0, eta).verdict
        assert v.regime == "diverges"
        assert v.advice.startswith("use a smaller η (below 2/C'' = 1,")


# --------------------------------------------------------------------------- two valleys


def test_the_quartics_landmarks() -> None:
    marks = landmarks(parse_cost(QUARTIC))
    assert [p.kind for p in marks.critical] == ["minimum", "maximum", "minimum"]
    (hill,) = marks.hills
    assert hill == pytest.approx(HILL, abs=1e-5)
    assert 4 * hill**3 - 6 * hill + 1 == pytest.approx(0, abs=1e-9)  # C'(hill) = 0
    assert 12 * hill**2 - 6 < 0  # C'' < 0: a hilltop
    assert marks.bounded is True  # w⁴ rises both ways


@pytest.mark.parametrize(("start", "valley"), [(0.0, -1.3008), (0.5, 1.1309)])
def test_the_start_decides_when_no_step_crosses_the_hill(start: float, valley: float) -> None:
    run = run_descent(QUARTIC, start, 0.1)
    ws = [p[0] for p in run.points]
    assert all((w - HILL) * (start - HILL) > 0 for w in ws)  # every w on the start's side
    assert run.final_point[0] == pytest.approx(valley, abs=1e-4)
    assert run.verdict.regime == "converges"
    assert run.verdict.crossing is None


def test_a_step_over_the_hill_means_the_step_size_decided() -> None:
    run = run_descent(QUARTIC, 2.0, 0.1)
    first = run.steps[0]
    assert first.slope[0] == pytest.approx(21.0)  # 4·8 − 12 + 1
    assert first.new_point[0] == pytest.approx(-0.1)  # 2 − 0.1·21: over the hill at 0.17
    v = run.verdict
    assert v.regime == "converges"
    assert run.final_point[0] == pytest.approx(-1.3008, abs=1e-4)
    assert (v.crossing.step, v.crossing.length) == (0, pytest.approx(2.1))
    assert v.crossing.hill == pytest.approx(HILL, abs=1e-5)
    assert "step 0, 2.1 long, jumped over the hill at w ≈ 0.1699" in v.reason
    assert "the step size decided" in v.reason


def test_stable_bounces_between_two_valleys_oscillate() -> None:
    # (w² − 1)² with η = 0.4 from 1.5: 1.5 − 0.4·(4·1.5³ − 4·1.5) = −1.5, and back.
    run = run_descent("(w**2-1)**2", 1.5, 0.4)
    assert [p[0] for p in run.points[:4]] == [1.5, -1.5, 1.5, -1.5]
    assert set(run.costs) == {1.5625}  # (2.25 − 1)², every step
    v = run.verdict
    assert v.regime == "oscillates"
    assert "between the valleys, over the hill at w ≈ 0" in v.reason
    assert "below 2/C'' = 0.25" in v.advice  # C'' = 12w² − 4 = 8 at the floors w = ±1


# --------------------------------------------------------------------------- no minimum


def test_a_line_has_no_floor() -> None:
    run = run_descent("w", 0.0, 0.1)
    drops = -np.diff(run.costs)
    np.testing.assert_allclose(drops, 0.1, rtol=1e-9)  # η·1 every step: linear, no levelling
    assert run.final_cost == pytest.approx(-10.0)
    assert run.verdict.regime == "unbounded"
    assert run.verdict.advice == "this cost has no minimum: descent can only go down forever"


def test_an_upside_down_parabola_runs_away_faster_and_faster() -> None:
    run = run_descent("-(w-3)**2", 0.0, 0.1)
    slopes = [abs(s[0]) for s in run.slopes]
    np.testing.assert_allclose(np.array(slopes[1:]) / slopes[:-1], 1.2, rtol=1e-9)  # 1 + 2η
    assert run.verdict.regime == "unbounded"
    assert landmarks(parse_cost("-(w-3)**2")).bounded is False
    top = run_descent("-(w-3)**2", 3.0, 0.1)  # on the hilltop itself: flat, and no step
    assert len(top.steps) == 0
    assert top.verdict.regime == "stalls"
    assert "a hilltop (a maximum)" in top.verdict.reason


def test_a_saddle() -> None:
    assert landmarks(parse_cost("x**2 - y**2")).bounded is False
    still = run_descent("x**2 - y**2", [0.0, 0.0], 0.1)
    assert (len(still.steps), still.final_slope) == (0, (0.0, -0.0))
    assert still.verdict.regime == "stalls"
    assert "a saddle" in still.verdict.reason
    assert "C has no minimum at all" in still.verdict.reason
    along = run_descent("x**2 - y**2", [1.0, 0.0], 0.1)  # y = 0 exactly: into the saddle
    assert along.converged  # flat, ...
    assert along.final_point[1] == 0.0
    assert along.verdict.regime == "stalls"  # ... but not at a minimum
    assert along.verdict.advice.startswith("the slope vanished before the minimum")
    away = run_descent("x**2 - y**2", [1.0, 1.0], 0.1)
    ys = [p[1] for p in away.points]
    np.testing.assert_allclose(np.array(ys[1:]) / ys[:-1], 1.2)  # y grows by 1 + 2η
    assert away.verdict.regime == "unbounded"


def test_the_zig_zag_of_a_narrow_valley() -> None:
    # x² + 10y²: λ = 20 along y, so η = 0.1 makes 1 − ηλ = −1 and y bounces ±1 forever.
    zig = run_descent("x**2+10*y**2", [1.0, 1.0], 0.1)
    assert [p[1] for p in zig.points[:5]] == [1.0, -1.0, 1.0, -1.0, 1.0]
    assert zig.final_cost == pytest.approx(10.0)  # the x part gone, 10y² = 10 left
    assert zig.verdict.regime == "oscillates"
    assert "below 2/λ = 0.1 the bounces shrink" in zig.verdict.advice
    calm = run_descent("x**2+10*y**2", [1.0, 1.0], 0.09)  # 1 − 0.09·20 = −0.8
    assert calm.verdict.regime == "converges"


def test_boundedness_from_the_leading_terms() -> None:
    cases = {"(w-3)**2": True, "w": False, "w**3": False, "-(w-3)**2": False, QUARTIC: True,
             "x**2 - y**2": False, "x**2+10*y**2": True, "(x**2-1)**2 + y**2": True,
             "exp(-w)": True, "sin(w)": None}  # fmt: skip
    assert {text: landmarks(parse_cost(text)).bounded for text in cases} == cases


# --------------------------------------------------------------------------- the rules


def test_the_facts() -> None:
    assert sign_flips([[0.0], [6.0], [0.0], [6.0], [0.0], [6.0], [0.0]]) == (2, 2)
    assert sign_flips([[0.0]]) == (0, 0)
    assert cost_rises([1.0, 0.5, 0.4, 0.3, 0.2, 0.201, 0.15, 0.151, 0.1])[0] == 0  # 0.5%: noise
    assert falls_without_limit([0.0, -1.0, -2.0, -3.0, -4.0])  # linear
    assert not falls_without_limit([4.0, 2.0, 1.0, 0.5, 0.25])  # levelling off
    assert hill_crossing([[2.0], [-0.1]], [HILL]).step == 0
    assert hill_crossing([[0.0], [-0.6]], [HILL]) is None


NETWORK = Yardsticks(bounded=True, constant_cost=0.9, chance=0.1)


@pytest.mark.parametrize(
    ("costs", "accuracy", "regime"),
    [
        ([2.47, 0.81, 0.46, 0.23, 0.14, 0.089], 0.88, "converges"),  # ≤ 0.9/5 = 0.18
        ([2.47, 0.81, 0.46, 0.23, 0.14, 0.089], 0.12, "slow"),  # low cost, but chance accuracy
        ([2.47, 2.43, 2.40, 2.37, 2.33, 2.30], 0.10, "slow"),  # η = 0.0001: creeping
        ([2.47, 1.0, 1.0, 1.0, 1.0, 1.0], 0.10, "stalls"),  # saturated: C = 1
        ([2.47, 0.9, 0.898, 0.898, 0.898, 0.898], 0.20, "stalls"),  # stuck at C_const
        ([2.47, 0.70, 0.47, 0.51, 0.35, 0.52, 0.29, 0.37, 0.27], 0.79, "oscillates"),
        ([2.47, 0.5, 0.3, math.inf], None, "diverges"),
        ([2.47, 2.6, 2.9, 3.3], 0.1, "diverges"),  # ended higher than it began
        ([2.565, 2.6, 2.6, 2.6, 2.6, 2.6], 0.1, "stalls"),  # rose once, then dead ReLUs
        ([2.33, 2.3026, 2.3026, 2.3026, 2.3026], 0.1, "stalls"),  # softmax stuck at ln 10
    ],
)
def test_network_histories(costs: list[float], accuracy: float | None, regime: str) -> None:
    v = judge(History(costs, accuracy=accuracy, unit="epoch"), NETWORK)
    assert v.regime == regime
    assert v.regime in VERDICTS


def test_a_rise_then_a_flat_cost_is_a_stall_not_a_divergence() -> None:
    v = judge(History([2.565, 2.6, 2.6, 2.6, 2.6, 2.6], accuracy=0.1, unit="epoch"), NETWORK)
    assert v.regime == "stalls"
    assert "after rising from 2.565" in v.reason
    assert judge(History([2.47, 2.6, 2.9, 3.3], unit="epoch"), NETWORK).regime == "diverges"


def test_the_network_never_converges_at_chance() -> None:
    # Two saturated runs are not "converged" because each is as good as the other.
    for costs in ([2.47, 1.0, 1.0, 1.0], [2.94, 1.0, 1.0, 1.0]):
        v = judge(History(costs, accuracy=0.1, unit="epoch"), NETWORK)
        assert v.regime == "stalls"
        assert "chance 10.0%" in v.reason


def test_the_network_yardsticks() -> None:
    Y = np.eye(10)[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0]]  # 3 zeros, one of each other digit
    p = Y.mean(axis=0)
    assert constant_output_cost(Y, quadratic) == pytest.approx(1 - np.sum(p**2))
    assert chance_accuracy(np.argmax(Y, axis=1)) == pytest.approx(3 / 12)


def test_without_yardsticks_only_the_shape_counts() -> None:
    assert judge(History([9.0, 5.0, 3.0, 10.0])).regime == "diverges"
    assert judge(History([9.0, 6.0, 4.5, 3.6, 3.1])).regime == "slow"  # levelling, no floor
    # Falling by the same amount every step, with nothing known of a floor: no floor.
    assert judge(History([9.0, 8.0, 7.0, 6.0, 5.0])).regime == "unbounded"
    with pytest.raises(ConfigError, match="non-empty"):
        judge(History([]))


@pytest.mark.parametrize(
    ("regime", "words"),
    [
        ("slow", "take more steps or use a larger η"),
        ("oscillates", "use a smaller η"),
        ("diverges", "use a smaller η (below 2/C'' = 1,"),
        ("unbounded", "this cost has no minimum: descent can only go down forever"),
        ("stalls", "the slope vanished before the minimum"),
    ],
)
def test_each_verdict_has_its_advice(regime: str, words: str) -> None:
    y = Yardsticks(floor=0.0, minimum=(3.0,), bounded=False, curvature=2.0)
    assert advice(regime, y).startswith(words)
    assert advice("converges", y) is None
    with pytest.raises(ConfigError, match="unknown verdict"):
        advice("wobbles", y)
