"""Write docs/tutorial.ipynb, the lecture note run cell by cell, and render it to Markdown.

The notebook's text and code live here, so that they can be reviewed as a diff; running

    python scripts/build_tutorial.py

writes ``docs/tutorial.ipynb`` (without outputs), executes it, and writes the executed
Markdown rendering ``docs/tutorial.md`` with its figures in ``docs/tutorial_files/``. The test
suite executes the notebook too (tests/test_tutorial.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import ExecutePreprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

DOCS = Path(__file__).resolve().parents[1] / "docs"

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# How a neural network learns: the lecture note, run

This notebook follows the lecture note on gradient descent (3Blue1Brown's neural networks,
chapter 2) section by section. Every idea in it is computed here, on the real network, with
nudgenet's public API. It runs in about a minute on a laptop, using the small MNIST subset
that ships inside the package.""",
    ),
    (
        "code",
        """%matplotlib inline
import numpy as np

import nudgenet as nn
from nudgenet import landscape, nudges, pictures, regimes, symmetry, toy

data = nn.load_mini()
X, Y = nn.to_inputs(data.train_images), nn.one_hot(data.train_labels)
X_test = nn.to_inputs(data.test_images)
print(data, X.shape, Y.shape)""",
    ),
    (
        "md",
        """## What should learning optimise?

The network is a function: 784 pixels in, 10 numbers out. What it computes is decided by its
**parameters**, every weight and bias, 13,002 of them for the 784-16-16-10 network. nudgenet
keeps them all in one flat vector θ, and each layer's W and b are views into it.""",
    ),
    (
        "code",
        """network = nn.Network((784, 16, 16, 10))  # sigmoid hidden and output layers
rng = np.random.default_rng(0)
theta = nn.init_params(network.layout, "normal", rng=rng, dtype="float32")
print("parameters:", network.n_params, "=", theta.shape)
(W1, b1), (W2, b2), (W3, b3) = network.layout.views(theta)
print("W1", W1.shape, "b1", b1.shape, "W2", W2.shape, "W3", W3.shape)
print("W1 is a view into θ:", np.shares_memory(W1, theta))""",
    ),
    (
        "md",
        """## The cost function

For one example the cost is the squared error summed over the 10 outputs,
Σ_j (a_j − y_j)², where y is 1 for the right digit and 0 elsewhere. The cost C is its average
over all training examples: one number that says how bad the network is. A random network is
bad, and its guesses are no better than chance.""",
    ),
    (
        "code",
        """a = nn.feedforward(network, theta, X[:1])[-1][0]
print("label:", data.train_labels[0])
print("outputs:", np.round(a, 2))
print("this example's cost:", float(np.sum((a - Y[0]) ** 2)))
print("C over all 10,000 training examples:", nn.evaluate_cost(network, theta, X, Y))
print("accuracy:", nn.accuracy(network, theta, X_test, data.test_labels))""",
    ),
    (
        "md",
        """## The derivative, and one-parameter gradient descent (Example 1)

Take a cost of one weight, C(w) = (w − 3)². Its derivative, the slope, is 2w − 6 (the power
rule). Start at w = 0 with learning rate η = 0.1 and step against the slope: the slope is −6,
so w moves to 0 − 0.1·(−6) = 0.6; there the slope is −4.8, so w moves to 1.08; and on to 3,
where the curve is flat and the slope is 0. `toy.run_descent` uses `nn.descend`, the same
routine that trains the network below.""",
    ),
    (
        "code",
        """run = toy.run_descent("(w-3)**2", start=0.0, learning_rate=0.1)
print("dC/dw =", run.function.derivative_text)
print(" k      w      C(w)   slope   new w")
for s in run.steps[:4]:
    print(f"{s.step:2d} {s.point[0]:6.3f} {s.cost:9.4f} {s.slope[0]:7.3f} {s.new_point[0]:7.3f}")
w = run.final_point[0]
print(f"... after {len(run.steps)} steps w = {w:.6f}, converged: {run.converged}")""",
    ),
    ("code", """toy.plot_descent(run)"""),
    (
        "md",
        """## Gradient descent on a landscape

With two parameters the cost is a landscape of hills and valleys, and the gradient points
uphill the steepest way; gradient descent walks the other way. Where there are several
valleys, the start decides which one the ball rolls into.""",
    ),
    (
        "code",
        """bowl = toy.run_descent("x**2 + 3*y**2", start=(2.0, 1.0), learning_rate=0.1)
print("gradient:", bowl.function.derivative_text, "-> ends at", np.round(bowl.final_point, 4))
for w0 in (-2.0, 2.0):
    valley = toy.run_descent("w**4 - 3*w**2 + w", start=w0, learning_rate=0.01, steps=2000)
    print(f"start w = {w0:+}: rolls into the valley at w = {valley.final_point[0]:.3f}")
toy.plot_descent(bowl)""",
    ),
    (
        "md",
        """## The update rule on the real network

The same step on all 13,002 parameters at once: θ ← θ − η∇C, with ∇C computed by
backpropagation. It agrees with the definition of the derivative (finite differences), and one
small step lowers the cost by what the gradient predicts, ΔC ≈ −η‖∇C‖².""",
    ),
    (
        "code",
        """check = nn.check_gradient(rng=np.random.default_rng(0))
print(f"backprop vs finite differences: max relative error {check.max_relative_error:.1e}")
Xs, Ys = X[:1000].astype(np.float64), Y[:1000].astype(np.float64)
theta64 = theta.astype(np.float64)
C, grad = nn.cost_and_gradient(network, theta64, Xs, Ys)
step = nudges.first_order_check(network, theta64, Xs, Ys, learning_rate=0.05, gradient=grad)
print(f"C = {C:.4f}; predicted change {step.predicted_change:.5f}, actual {step.actual_change:.5f}")
new_theta = nn.gradient_step(theta64, grad, 0.05)  # θ − η∇C, as the note writes it
print("C after the step:", nn.evaluate_cost(network, new_theta, Xs, Ys))""",
    ),
    (
        "md",
        """## Why the gradient? The nudges (Example 2)

Each component of ∇C says how sensitive the cost is to one parameter. A positive derivative
means increasing that weight increases the cost, so the step decreases it; a negative one, the
opposite. Some weights matter far more than others.""",
    ),
    (
        "code",
        """for n in nudges.largest_nudges(network.layout, grad, learning_rate=1.0, k=5):
    print(
        f"{n.name:>12}  dC/dθ = {n.derivative:+.4f} -> {n.direction} "
        f"({n.times_median:.0f}× the median)  {n.description}"
    )
print("components:", grad.size)""",
    ),
    (
        "md",
        """## Backpropagation, frame by frame

Backpropagation is how that gradient is computed. For one example, the output layer's error is
∂C/∂a = 2(a − y); each layer's δ = ∂C/∂z is what it is asked times its activation's slope,
∂C/∂a ⊙ σ′(z); it passes (Wᵀδ) back to the layer below; and each weight's slope is the chain rule
∂C/∂w = a_in · σ′(z_out) · ∂C/∂a_out. `walk_example` keeps every one of these numbers, and
`check_layers` checks each layer against finite differences. `nudgenet backprop` prints the
same walk, and the page's Backprop panel animates it.""",
    ),
    (
        "code",
        """from nudgenet.lessons import walk as frames

walk = frames.walk_example(network, theta64, Xs[0], Ys[0])
print(f"label {data.train_labels[0]}: this example's cost {walk.cost:.4f}")
for f in reversed(walk.layers):  # the backward pass meets the output layer first
    j, k, slope = f.largest()
    print(
        f"layer {f.layer}: largest |δ| {np.abs(f.delta).max():.3g}; largest slope "
        f"W{f.layer}[{j}, {k}] = {slope:+.3g} = a_in {f.a_in[k]:.3g} × σ′ {f.sigma_prime[j]:.3g}"
        f" × dC/da {f.cost_wrt_a[j]:+.3g}"
    )
errors = frames.check_layers(walk, theta64)
print("each layer against finite differences:", ", ".join(f"{e:.1e}" for e in errors))""",
    ),
    (
        "md",
        """The cost of a mini-batch is the average of its examples' costs, and so is its gradient.
Each example wants its own label's output up and the other nine down; the step follows their
average, in which opposite wishes partly cancel.""",
    ),
    (
        "code",
        """batch = frames.walk_batch(network, theta64, Xs[:8], Ys[:8])
wants = -np.array([w.layers[-1].delta for w in batch.walks])  # each example's bias nudges
labels = data.train_labels[:8]
print("labels:", labels.tolist())
print("each example wants its label's output up:", bool(np.all(wants[np.arange(8), labels] > 0)))
_, batch_grad = nn.cost_and_gradient(network, theta64, Xs[:8], Ys[:8])
print("the average is the batch's gradient:", np.allclose(batch.gradient, batch_grad))
print(
    f"mean length of the examples' gradients {np.linalg.norm(batch.gradients, axis=1).mean():.3f},"
    f" length of their average {np.linalg.norm(batch.gradient):.3f}"
)""",
    ),
    (
        "md",
        """## The learning rate

Too small and learning crawls; too large and it overshoots, bounces, or flies off. The same
problem at four rates, each run labelled from its cost history.""",
    ),
    (
        "code",
        """comparison = regimes.compare_rates("toy", [0.01, 0.1, 0.9, 1.1])
for r in comparison.runs:
    print(f"{r.label:>9}: {r.regime:>10}   final cost {r.final_cost:.3g}")
regimes.plot_comparison(comparison)""",
    ),
    (
        "md",
        """## Why random initialisation?

If all weights start equal, every neuron of a layer computes the same thing, gets the same
gradient, and stays its twin forever. Random starting values break the symmetry. Train twice,
from constant and from random weights, and count the distinct hidden neurons.""",
    ),
    (
        "code",
        """settings = nn.TrainSettings(epochs=2, batch_size=10, lr=1.0)
subset = (X[:3000], Y[:3000])
const, rand = symmetry.compare_initialisations(
    network, *subset, settings, seed=0, test=(X_test, data.test_labels)
)
for r in (const, rand):
    print(
        f"{r.init:>8}: distinct neurons per hidden layer {r.distinct}, "
        f"test accuracy {r.test_accuracy:.1%}"
    )""",
    ),
    (
        "md",
        """## Learning: gradient descent on the digits

Now train the network by mini-batch stochastic gradient descent: each step estimates ∇C on a
batch of 10 images and nudges θ against it. Epoch 0 is the untrained network.""",
    ),
    (
        "code",
        """seeds = np.random.SeedSequence(0).spawn(2)  # as `nudgenet train --seed 0` does
rng_init, rng_shuffle = (np.random.default_rng(s) for s in seeds)
theta = nn.init_params(network.layout, "xavier", rng=rng_init, dtype="float32")
settings = nn.TrainSettings(epochs=5, batch_size=10, lr=1.0, schedule="cosine")
history, step_costs = [], []
for record in nn.train(
    network, theta, X, Y, settings, rng=rng_shuffle, test=(X_test, data.test_labels)
):
    if isinstance(record, nn.Epoch):
        history.append(record.as_dict())
        print(
            f"epoch {record.epoch}: cost {record.train_cost:.4f}, "
            f"test accuracy {record.test_accuracy:.1%}"
        )
    else:
        step_costs.append(record.cost)
model = nn.Model(
    network, theta, settings=settings.as_dict(), history=history, step_costs=np.array(step_costs)
)""",
    ),
    ("code", """pictures.cost_figure(model)"""),
    (
        "md",
        """## What the first layer learned

Each of the 16 hidden neurons of the first layer weighs the 784 pixels; drawn as a 28×28
image (red positive, blue negative), its weights show the pattern of ink it responds to.""",
    ),
    ("code", """pictures.weights_figure(model)"""),
    (
        "md",
        """## The cost landscape of the real network

Along the direction of the gradient, the cost of the real network falls at first with slope
−‖∇C‖, which is why a small step of η goes downhill.""",
    ),
    (
        "code",
        """Xl, Yl = X[:500].astype(np.float64), Y[:500].astype(np.float64)
line = landscape.line_slice(
    network, theta.astype(np.float64), Xl, Yl, np.linspace(-2, 2, 41), learning_rate=1.0
)
landscape.draw_line(line)""",
    ),
    (
        "md",
        """## Why a learning rate is too large: the curvature

On the note's C(w) = (w − 3)², one step maps w − 3 to (1 − ηC″)(w − 3), so descent diverges
exactly when η > 2/C″. The network has 13,002 directions, and the curvature of the cost along
each is an eigenvalue λ of its Hessian H = ∇²C. Along the sharpest one a full-batch step
multiplies the offset from the bottom by 1 − ηλ_max, so descent near θ is stable only for
η < 2/λ_max. nudgenet computes products Hv exactly (the R-operator, one more forward and
backward pass) and finds the top eigenvalues by Lanczos, without ever building H.""",
    ),
    (
        "code",
        """from nudgenet.lessons import curvature

Xc, Yc = X[:500].astype(np.float64), Y[:500].astype(np.float64)
trained = theta.astype(np.float64)  # the network trained above
reading = curvature.read_curvature(network, trained, Xc, Yc, top=5, rng=np.random.default_rng(0))
print("top eigenvalues of H:", np.round(reading.top_eigenvalues, 4))
print(f"λ_max = {reading.lambda_max:.4f}: critical η = 2/λ_max = {reading.critical_lr:.2f}")
curvature.draw_line(reading)""",
    ),
    ("code", """curvature.draw_eigenvectors(reading, network, limit=4)"""),
    (
        "md",
        """Is 2/λ_max really where descent breaks? From the trained point, run full-batch descent
at η for 30 steps and call it diverged when the cost ends above where it started; bisection on
η finds the threshold. Then, from a fresh start, descend with a fixed η = 5 and watch the
sharpness λ_max against 2/η: Cohen et al. (ICLR 2021) found that it rises until it reaches 2/η
and hovers there, the *edge of stability*.""",
    ),
    (
        "code",
        """low, high, trials = curvature.measure_threshold(
    network, trained, Xc, Yc, reading.critical_lr, steps=30, bisections=4
)
measured = float(np.sqrt(low * high))
print(
    f"predicted 2/λ_max = {reading.critical_lr:.2f}, measured {measured:.2f} "
    f"(between {low:.2f} and {high:.2f}), ratio {measured / reading.critical_lr:.2f}"
)
start = nn.init_params(network.layout, "xavier", rng=np.random.default_rng(1), dtype="float64")
sharpening = curvature.track_sharpness(network, start, Xc, Yc, 5.0, steps=300, every=20)
peak, at = sharpening.peak()
print(
    f"η = 5, 2/η = 0.4: λ_max peaks at {peak:.2f}× 2/η (step {at}), "
    f"within 0.75–1.33× of it at steps {sharpening.near_edge()}"
)
threshold = curvature.Threshold(0, reading.cost, reading.lambda_max, low, high, trials)
curvature.draw_link(
    curvature.Link(len(Xc), data.name, "the training above", 30, (threshold,), (sharpening,))
)""",
    ),
    (
        "md",
        """## What the note states without showing

A few of the note's ideas are named, not shown: the power rule, why the cost is squared, why
the *negative* gradient, Example 2 on a real weight, schedules, the high-dimensional view, and
what comes after the learning rate's regions. Each is computed here; each is also a command
(`nudgenet power-rule`, `why-squared`, `steepest`, `one-weight`, `momentum`).

### The power rule

d/dw wⁿ = n·wⁿ⁻¹, and for a power of a·w + b, n·(a·w + b)ⁿ⁻¹·a. So (w − 3)² has slope
2(w − 3) = 2w − 6. The derivative is the limit of the difference quotient
(C(w + h) − C(w))/h as h → 0; for (w − 3)² at w = 0 the quotient is exactly h − 6.""",
    ),
    (
        "code",
        """from nudgenet.lessons import momentum, one_weight, power_rule, steepest, why_squared
from nudgenet.lessons.real import RealNetwork
from nudgenet.schedules import SCHEDULES

for rule in (power_rule.power_rule("(w-3)**2", 0.0), power_rule.power_rule("w**3", 2.0)):
    print(
        f"C = {rule.text}: power rule {rule.rule_text}, SymPy {rule.sympy_text}, "
        f"slope at w = {rule.point:g}: {rule.slope:g}"
    )
    for row in rule.rows[::2]:
        print(f"   h = {row.h:<7g} quotient {row.quotient:.8f}  off by {row.error:.1e}")
power_rule.draw_power_rule(power_rule.power_rules())""",
    ),
    (
        "md",
        """### Why the cost is squared

The note's two reasons, on the real outputs of the network before and after the training
above, on the test images: signed errors Σ(a − y) cancel (a wrong answer can sum to about 0),
and squaring weighs large errors more than |a − y| does.""",
    ),
    (
        "code",
        """theta_trained = theta.astype(np.float64)
untrained_theta = nn.init_params(network.layout, "xavier", rng=np.random.default_rng(0))
labels = data.test_labels
results = []
for name, th in (("untrained", untrained_theta), ("trained", theta_trained)):
    real = RealNetwork(network, th, name, name, nn.accuracy(network, th, X_test, labels))
    results.append(why_squared.squared_errors(real, X_test, labels))
for r in results:
    e = r.cancelled_example()
    big, small = r.top_share()
    print(
        f"{r.name}: cost {np.mean(r.squared):.4f}, signed {np.mean(r.signed):+.4f}, "
        f"|a - y| {np.mean(r.absolute):.4f}"
    )
    print(
        f"   image {e.index}, a {e.label} read as {e.guess}: signed {e.signed:+.4f}, "
        f"squared {e.squared:.4f}"
    )
    print(
        f"   the largest 1% of errors carry {big:.1%} of the squared cost, "
        f"{small:.1%} of the absolute one"
    )
why_squared.draw_why_squared(results)""",
    ),
    (
        "md",
        """### Why the negative gradient

Along a unit direction u the cost changes at the rate ∇C·u, at most ‖∇C‖ in size
(Cauchy–Schwarz), and exactly −‖∇C‖ along −∇C/‖∇C‖. On the trained network, 1,000 random
unit directions against −∇C, and the slope along −∇C checked by a finite difference:""",
    ),
    (
        "code",
        """Xs, Ys = X[:1000].astype(np.float64), Y[:1000].astype(np.float64)
s = steepest.steepest(network, theta_trained, Xs, Ys, np.random.default_rng(0))
print(
    f"‖∇C‖ = {s.gradient_norm:.5f}; along −∇C/‖∇C‖: {s.checks[0].slope:.5f}, "
    f"finite difference {s.checks[0].finite_difference:.5f}"
)
print(
    f"steepest of {s.slopes.size} random directions: {s.steepest_random:.5f} "
    f"({s.ratio:.0f}× less steep); none steeper: {s.none_steeper}"
)
steepest.draw_steepest(s)""",
    ),
    (
        "md",
        """### Example 2 on one real weight

new value = old value − η × ∂C/∂w, for the weight the cost is most sensitive to, stepped
alone:""",
    ),
    (
        "code",
        """w = one_weight.step_one_weight(network, theta_trained, Xs, Ys, learning_rate=1.0)
print(f"{w.name} ({w.description}): ∂C/∂w = {w.slope:+.6f}")
print(f"new = {w.old:+.6f} − 1·({w.slope:+.6f}) = {w.new:+.6f}")
print(f"C: {w.cost_before:.6f} → {w.cost_after:.6f} (predicted change {w.predicted_change:+.2e})")
one_weight.draw_one_weight(w)""",
    ),
    (
        "md",
        """### Schedules

The note says practical training needs a learning-rate schedule: start large to travel, shrink
to settle. Each schedule is a function from the step to η, drawn here over 3 epochs of 200
steps from η = 10, and then trained (3 epochs on 2,000 images, seed 0). At a constant η = 10
the cost bounces from epoch to epoch (the learning-rate section); in this run the step
schedule ends with the lowest cost, and the exponential one, which shrinks η early, with the
highest: shrinking too soon is slow too.""",
    ),
    (
        "code",
        """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 3.5))
for name in SCHEDULES:
    schedule = nn.make_schedule(name, 10.0, total_steps=600, steps_per_epoch=200)
    ax.plot([schedule(k) for k in range(600)], label=name)
ax.set_xlabel("step k"), ax.set_ylabel("η_k"), ax.legend()
ax.set_title("η over the steps, from η = 10")
runs = regimes.compare_schedules("network", SCHEDULES, lr=10.0, seeds=[0], epochs=3, examples=2000)
for summary in runs.summaries:
    print(
        f"{summary.label:>12}: final cost {summary.final_cost.text()}, "
        f"test accuracy {summary.test_accuracy.text('{:.1f}', None, scale=100)}%"
    )""",
    ),
    ("code", """regimes.plot_comparison(runs)"""),
    (
        "md",
        """### The high-dimensional view

We cannot picture 13,002 dimensions, but descent does not need a picture: the update
θ ← θ − η∇C is the same arithmetic in 1, 2 or 13,002 coordinates, and −∇C is the steepest way
down in all of them. What changes is intuition: in 13,002 dimensions almost every direction
is nearly perpendicular to ∇C (the random slopes above have |cos| about √(2/(πn)) ≈ 0.007), so
a random nudge barely changes the cost, and a plane drawn through θ (the landscape section)
shows only a sliver of the space.""",
    ),
    (
        "code",
        """cosines = np.abs(s.slopes) / s.gradient_norm
print(
    f"n = {s.n_params}: mean |cos(u, ∇C)| = {cosines.mean():.5f}, "
    f"√(2/(πn)) = {np.sqrt(2 / (np.pi * s.n_params)):.5f}"
)
for n in (2, 13_002):
    u = steepest.random_unit_directions(n, 1000, np.random.default_rng(1))
    g = steepest.random_unit_directions(n, 1, np.random.default_rng(2))[0]
    print(
        f"in {n:>6} dimensions, a random unit direction's mean |cos| with a fixed one: "
        f"{np.abs(u @ g).mean():.4f}"
    )""",
    ),
    (
        "md",
        """### Momentum, the next step

On one parameter each step multiplies the distance to the bottom by 1 − ηC''. A bowl with two
curvatures, x² + 10y² (C'' = 2 and 20), has two such factors and one η for both: η must stay
below 2/20 for y, where x then creeps, while y zig-zags (1 − 20η < 0). Momentum,
v ← μv − η∇C, θ ← θ + v, carries speed along the valley and damps the zig-zag; Gabriel Goh's
"Why Momentum Really Works" (Distill, 2017) explains why. Same η, the same `descend`:""",
    ),
    (
        "code",
        """m = momentum.compare_momentum()
print(f"η = {m.learning_rate}: factors {np.round(m.factors, 3)}, best μ = {m.best[0]:.3f}")
for r in m.runs:
    print(f"{r.label:>20}: {r.steps} steps to ‖∇C‖ ≤ 1e-6, factor {r.rate:.3f} per step")
momentum.draw_momentum(m)""",
    ),
    ("code", """momentum.draw_factors(m)"""),
    (
        "md",
        """## The video's experiments, measured

The video behind the note makes claims about this very network that it only illustrates:
that its hidden neurons do not find edges and loops, that it answers noise with confidence,
that its "ideal" digit looks like noise, and that it can memorise labels that mean nothing.
Each is measured below on the seed network as `nudgenet train` trains it (here on three
seeds; the commands `nudgenet features`, `noise`, `dream` and `memorize` use five).""",
    ),
    (
        "code",
        """from nudgenet.lessons import dream, features, memorize, noise
from nudgenet.lessons.seeds import seed_networks

nets = seed_networks(data, (0, 1, 2))  # the recipe of `nudgenet train --seed s`, and θ₀
X_test64 = nn.to_inputs(data.test_images, np.float64)
print([f"seed {n.seed}: {n.trained.history[-1]['test_accuracy']:.1%}" for n in nets])""",
    ),
    (
        "md",
        """### What the hidden neurons look for

Three measures of each neuron's 28×28 pattern: *smoothness* (the correlation of the pattern
with itself shifted by one pixel), *edge-ness* (how much of the gradient has one local
orientation) and *loop-ness* (how much of it points to the pattern's centre, as on a ring).
For layer 2 the pattern is its effective input, ∂z²/∂x at the mean test image, and its
preferred input, found by gradient ascent on the pixels. Training makes them smooth; neither
edge-like nor loop-like, as the reference edge and ring show.""",
    ),
    (
        "code",
        """looked = features.features(nets, X_test64)
features.measures_figure(looked)""",
    ),
    (
        "md",
        """### Confident on noise

The network has never seen anything but digits, and its outputs cannot say "none of these".
Random noise, blank grey pages and random scribbles get answers almost as sure as real digits.""",
    ),
    (
        "code",
        """heard = noise.confidence_on_noise(nets, X_test64, images=300)
for kind in heard.readings:
    m = heard.over_seeds(kind)
    print(f"{kind:>9}: largest output share {m['mean']:.2f} ± {m['std']:.2f} over seeds")
noise.noise_figure(heard)""",
    ),
    (
        "md",
        """### Draw me a 5

With θ fixed, descend on the pixels with the cost "output 5 should be 1, the others 0",
through the same `descend` that trains the network. From noise the network soon reads a 5
that correlates with the mean 5 no more than noise does; from a blank page a little more;
from a real 7 a small change fools it while the 7 stays a 7 (on some seeds; on others the
descent stalls where a saturated sigmoid has no slope left).""",
    ),
    (
        "code",
        """model1 = nets[1].trained  # seed 1
means = dream.class_means(nn.to_inputs(data.train_images, np.float64), data.train_labels)
fives = X_test64[data.test_labels == 5]
real = np.mean([dream.resemblance(x, means, 5)["target_correlation"] for x in fives])
print(f"a real 5 correlates with the mean 5 at {real:.2f} on average")
starts = {
    "from noise": np.random.default_rng(1).random(784),  # as `nudgenet dream 5` draws seed 1's
    "from a blank page": np.zeros(784),
    "from test image 0 (a 7)": X_test64[0],
}
dreams = [dream.dream(model1.network, model1.theta, 5, x0) for x0 in starts.values()]
for name, d in zip(starts, dreams, strict=True):
    r = dream.resemblance(d.image, means, 5)
    print(
        f"{name}: {d.final_probability:.0%} '5', correlation with the mean 5 "
        f"{r['target_correlation']:.2f}"
    )
dream.dream_figure(dreams, means, labels=list(starts), real=real)""",
    ),
    (
        "md",
        """### Random labels

Shuffle the training labels and train again: the training cost can still fall, by
memorising, while the test accuracy stays near chance. On 300 images the network has room
to memorise: it fits the true labels in about 20 epochs, while after 60 the shuffled ones
are still being learned by heart (`nudgenet memorize --limit 500 --epochs 200` takes about
120 epochs to reach 90%; on all 10,000 images it barely starts in 30). Zhang et al. (2017)
measured the same on networks of millions of parameters.""",
    ),
    (
        "code",
        """learned = memorize.memorize(data, (0, 1), epochs=60, train_size=300)
out = learned.as_dict()
for labels in ("true", "shuffled"):
    e = out[labels]
    print(
        f"{labels:>8}: cost {e['train_cost'][-1]:.3f}, train {e['train_accuracy'][-1]:.0%}, "
        f"test {e['test_accuracy'][-1]:.0%}, fitted at epochs {e['epochs_to_fit']}"
    )
memorize.memorize_figure(learned)""",
    ),
    (
        "md",
        """## Summary

* Learning is an optimisation problem: define a cost, compute its gradient, step against it.
* The negative gradient is the direction of steepest decrease; backpropagation computes it for
  all 13,002 parameters in one backward pass.
* The learning rate sets the step: too small is slow, too large overshoots or diverges.
* Random initialisation breaks the symmetry between neurons.
* The curvature sets the largest stable step: full-batch descent near θ needs η < 2/λ_max.

From the command line, the same lessons are `nudgenet descend`, `nudgenet learning-rate`,
`nudgenet symmetry`, `nudgenet nudges`, `nudgenet landscape`, `nudgenet curvature`,
`nudgenet critical-rate`, `nudgenet train`, `nudgenet plot`, `nudgenet power-rule`,
`nudgenet why-squared`, `nudgenet steepest`, `nudgenet one-weight` and `nudgenet momentum`.""",
    ),
]


def build_notebook() -> nbformat.NotebookNode:
    """The tutorial as a notebook without outputs."""
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel (in the notebook's folder); raises on the first error."""
    ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": str(DOCS)}}
    )
    # A library's warning about the build machine's own installation (it names its paths) is
    # not part of the lesson: leave it out of the rendering.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                out for out in cell.get("outputs", [])
                if not (out.get("name") == "stderr" and "site-packages" in out.get("text", ""))
            ]  # fmt: skip
    return nb


def main() -> None:
    """Write the notebook and its executed Markdown rendering."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    nb = build_notebook()
    nbformat.write(nb, DOCS / "tutorial.ipynb")
    executed = execute(nb)
    body, resources = MarkdownExporter().from_notebook_node(
        executed, resources={"output_files_dir": "tutorial_files"}
    )
    (DOCS / "tutorial.md").write_text(body)
    for name, data in resources.get("outputs", {}).items():
        path = DOCS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


if __name__ == "__main__":
    main()
