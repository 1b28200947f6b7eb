// The Backprop panel: one example's forward pass and backward pass on the diagram, frame by
// frame, with every number from the server (POST /api/backprop, the library's walk).
//
// Frames: the input; the forward pass, one layer at a time; the output error; then the
// backward pass, δ carried from the outputs down to the first layer. The diagram is built
// once per answer and each frame only changes colours, which CSS animates.

import { api, explain } from "./api.js";
import { $, fmt, svg } from "./dom.js";
import { draw } from "./draw.js";
import { drawGrey, drawWeights, maxAbs } from "./images.js";

const WIDTH = 640;
const HEIGHT = 360;
const TOP = 30;
const BOTTOM = HEIGHT - 14;
const IMAGE = { x: 14, size: 120 };
const PLAY_MS = 900;
const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const sup = (n) => String(n).split("").map((d) => SUP[d]).join("");
const precise = (x) => Number(x.toPrecision(6)).toString();

// A colour for a signed value v in [-1, 1]: red positive, blue negative, alpha |v|.
function signed(v) {
  const t = Math.min(1, Math.sqrt(Math.abs(v)));
  return v >= 0 ? `rgba(248,113,113,${t.toFixed(3)})` : `rgba(96,165,250,${t.toFixed(3)})`;
}

export const backprop = {
  result: null, // the current walk, as /api/backprop sent it
  baseline: null, // the walk before any nudge, for "before → after"
  example: { image: 0 }, // {image: N} or {drawing}
  target: null,
  nudges: 0,
  frame: 0,
  selected: null, // {kind: "neuron", layer, index} or {kind: "edge", layer, j, k}
  batch: null,
  timer: null,
  loading: null,

  init() {
    const targets = $("#bp-targets");
    for (let d = 0; d < 10; d++) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = d;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => this.chooseTarget(d));
      targets.appendChild(button);
    }
    $("#bp-image").addEventListener("change", () => this.chooseImage());
    $("#bp-use-drawing").addEventListener("click", () => this.useDrawing());
    $("#bp-next").addEventListener("click", () => this.step(1));
    $("#bp-back").addEventListener("click", () => this.step(-1));
    $("#bp-play").addEventListener("click", () => this.play());
    $("#bp-apply").addEventListener("click", () => this.applyNudge());
    $("#bp-reset").addEventListener("click", () => this.load({ nudges: 0 }));
    $("#bp-edge-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const layer = Number($("#bp-edge-layer").value);
      this.select({ kind: "edge", layer, j: Number($("#bp-edge-j").value), k: Number($("#bp-edge-k").value) });
    });
    $("#bp-edge-layer").addEventListener("change", () => this.edgeBounds());
    // The arrow keys step through the frames while the diagram (or a neuron in it) has focus.
    $("#bp-diagram").addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        event.preventDefault();
        this.step(event.key === "ArrowRight" ? 1 : -1);
      }
    });
    $("#bp-batch-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.loadBatch();
    });
  },

  // The weight form offers the layers after the first (layer 1's weights fan in from the
  // image) and bounds j and k by the sizes of the two layers a weight joins.
  edgeOptions() {
    const sizes = this.sizes();
    const select = $("#bp-edge-layer");
    const chosen = select.value;
    const L = sizes.length - 1;
    select.replaceChildren(...Array.from({ length: L - 1 }, (_, i) => {
      const option = document.createElement("option");
      option.value = L - i;
      option.textContent = L - i === L ? `${L} (output)` : String(L - i);
      return option;
    }));
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    this.edgeBounds();
  },

  edgeBounds() {
    const sizes = this.sizes();
    const layer = Number($("#bp-edge-layer").value);
    $("#bp-edge-j").max = sizes[layer] - 1;
    $("#bp-edge-k").max = sizes[layer - 1] - 1;
  },

  sizes() {
    return this.result ? this.result.sizes : [784, 16, 16, 10];
  },

  // The panel opened: the drawing button follows Draw, and the first walk is fetched once.
  show() {
    $("#bp-use-drawing").disabled = !draw.drawing;
    if (!this.result && !this.loading) this.load({ nudges: 0 });
    if (!this.batch) this.loadBatch();
  },

  message(text, isError = false) {
    const element = $("#bp-message");
    element.textContent = text;
    element.classList.toggle("error", isError);
  },

  chooseImage() {
    const input = $("#bp-image");
    const n = Number(input.value);
    if (input.value === "" || !Number.isInteger(n) || n < 0) {
      this.message("The test image is a whole number from 0.", true);
      return;
    }
    this.example = { image: n };
    this.target = null; // its own label, until another digit is chosen
    this.load({ nudges: 0 });
  },

  useDrawing() {
    if (!draw.drawing) return;
    this.example = { drawing: draw.drawing };
    if (this.target === null) this.target = draw.prediction ? draw.prediction.guess : 0;
    this.load({ nudges: 0 });
  },

  chooseTarget(digit) {
    this.target = digit;
    this.load({ nudges: 0 });
  },

  applyNudge() {
    return this.load({ nudges: this.nudges + 1 });
  },

  // Ask for the walk after `nudges` nudges; the frame and the selection stay where they are.
  async load({ nudges }) {
    const eta = Number($("#bp-lr").value);
    if (!(eta > 0 && eta <= 10)) {
      this.message("η must be a number above 0 and at most 10.", true);
      return;
    }
    const body = { ...this.example, nudges, learning_rate: eta };
    if (this.target !== null) body.target = this.target;
    const request = api("/api/backprop", body);
    this.loading = request;
    try {
      const result = await request;
      if (this.loading !== request) return; // a newer request was made meanwhile
      if (nudges === 0) this.baseline = result;
      this.nudges = nudges;
      this.result = result;
      this.target = result.target;
      this.message("");
      this.render();
    } catch (error) {
      if (this.loading === request) this.message(explain(error), true);
    } finally {
      if (this.loading === request) this.loading = null;
    }
  },

  // ---------------------------------------------------------------- frames

  frames() {
    const L = this.sizes().length - 1;
    const list = [{ kind: "input" }];
    for (let l = 1; l <= L; l++) list.push({ kind: "forward", layer: l });
    list.push({ kind: "error", layer: L });
    for (let l = L; l >= 1; l--) list.push({ kind: "backward", layer: l });
    return list;
  },

  step(by) {
    const last = this.frames().length - 1;
    this.frame = Math.max(0, Math.min(last, this.frame + by));
    this.showFrame();
  },

  play() {
    if (this.timer) {
      this.stopPlaying();
      return;
    }
    if (this.frame === this.frames().length - 1) this.frame = -1;
    $("#bp-play").textContent = "Pause";
    const tick = () => {
      this.step(1);
      if (this.frame === this.frames().length - 1) this.stopPlaying();
    };
    tick();
    this.timer = setInterval(tick, PLAY_MS);
  },

  stopPlaying() {
    clearInterval(this.timer);
    this.timer = null;
    $("#bp-play").textContent = "Play";
  },

  // What the current frame says, in words, with its numbers.
  describe(frame) {
    const r = this.result;
    const L = r.sizes.length - 1;
    const name = (l) => (l === L ? "the output layer" : `layer ${l}`);
    if (frame.kind === "input") return `Input: the 784 pixels of the example, a⁰ = x, from 0 (blank) to 1 (ink).`;
    if (frame.kind === "forward") {
      const a = r.layers[frame.layer - 1].a;
      const top = a.indexOf(Math.max(...a));
      const extra = frame.layer === L ? ` The guess is ${r.guess}.` : "";
      return `Forward, ${name(frame.layer)}: z${sup(frame.layer)} = W${sup(frame.layer)}a${sup(frame.layer - 1)} + b${sup(frame.layer)}, ` +
        `a${sup(frame.layer)} = σ(z). Most active: neuron ${top}, a = ${fmt(a[top])}.${extra}`;
    }
    if (frame.kind === "error") {
      const why = r.cost_function === "quadratic" ? "∂C/∂a = 2(a − y)" : "∂C/∂a of the cross-entropy";
      return `Output error: the cost Cₓ = ${fmt(r.cost, 4)} compares the outputs with the target ${r.target}; ` +
        `${why} says which way each output should go (blue: up, red: down).`;
    }
    const f = r.layers[frame.layer - 1];
    const big = maxAbs(f.delta);
    const from = frame.layer === L ? "the output error" : `(W${sup(frame.layer + 1)})ᵀδ${sup(frame.layer + 1)}, passed back`;
    return `Backward, ${name(frame.layer)}: δ${sup(frame.layer)} = ∂C/∂a ⊙ σ′(z), with ∂C/∂a from ${from}. ` +
      `Largest |δ| = ${fmt(big)}; every weight into it gets ∂C/∂w = δ · a_in.`;
  },

  showFrame() {
    if (!this.result) return;
    const frames = this.frames();
    const frame = frames[this.frame];
    const text = this.describe(frame);
    $("#bp-frame").textContent = `Frame ${this.frame + 1} of ${frames.length}. ${text}`;
    $("#bp-frame").dataset.kind = frame.kind;
    $("#bp-phase").textContent = frame.kind === "backward" || frame.kind === "error" ? "(backward pass)" : "(forward pass)";
    $("#bp-diagram").setAttribute("aria-label", `network diagram, frame ${this.frame + 1}: ${text}`);
    $("#bp-back").disabled = this.frame === 0;
    $("#bp-next").disabled = this.frame === frames.length - 1;
    this.paint(frame);
  },

  // ---------------------------------------------------------------- the diagram

  // Neuron positions: one column per layer after the input, spread evenly.
  geometry(sizes) {
    const columns = sizes.length - 1;
    const xs = [];
    for (let l = 1; l <= columns; l++) xs.push(210 + ((l - 1) * (WIDTH - 270)) / Math.max(1, columns - 1));
    const ys = sizes.slice(1).map((n) => {
      const gap = Math.min(22, (BOTTOM - TOP) / n);
      const start = (TOP + BOTTOM) / 2 - (gap * (n - 1)) / 2;
      return Array.from({ length: n }, (_, j) => start + j * gap);
    });
    const radius = sizes.slice(1).map((n) => Math.max(1.6, Math.min(9, (BOTTOM - TOP) / n / 2 - 1.5)));
    return { xs, ys, radius };
  },

  build() {
    const r = this.result;
    const root = $("#bp-diagram");
    root.replaceChildren();
    const { xs, ys, radius } = this.geometry(r.sizes);
    const imageY = (TOP + BOTTOM) / 2 - IMAGE.size / 2;
    const label = (x, text) => {
      svg("text", { x, y: 16, "text-anchor": "middle", class: "layer-label" }, root).textContent = text;
    };
    const lines = svg("g", {}, root);
    this.fan = ys[0].map((y) => svg("line", {
      x1: IMAGE.x + IMAGE.size, y1: (TOP + BOTTOM) / 2, x2: xs[0], y2: y, class: "bp-fan",
    }, lines));
    svg("image", {
      href: $("#bp-seen").toDataURL(), x: IMAGE.x, y: imageY, width: IMAGE.size, height: IMAGE.size,
      style: "image-rendering: pixelated",
    }, root);
    svg("rect", { x: IMAGE.x, y: imageY, width: IMAGE.size, height: IMAGE.size, fill: "none", stroke: "#475569" }, root);
    label(IMAGE.x + IMAGE.size / 2, "784 inputs");
    this.edges = {};
    for (let l = 2; l < r.sizes.length; l++) {
      const [nOut, nIn] = r.layers[l - 1].shape;
      this.edges[l] = [];
      for (let j = 0; j < nOut; j++) {
        for (let k = 0; k < nIn; k++) {
          const line = svg("line", {
            x1: xs[l - 2], y1: ys[l - 2][k], x2: xs[l - 1], y2: ys[l - 1][j],
            class: "bp-edge", "data-layer": l, "data-j": j, "data-k": k,
          }, lines);
          line.addEventListener("click", () => this.select({ kind: "edge", layer: l, j, k }));
          this.edges[l].push(line);
        }
      }
    }
    this.neurons = [];
    const L = r.sizes.length - 1;
    for (let l = 1; l <= L; l++) {
      label(xs[l - 1], l === L ? `${r.sizes[l]} outputs` : `layer ${l}: ${r.sizes[l]}`);
      const column = [];
      for (let j = 0; j < r.sizes[l]; j++) {
        const g = svg("g", {
          class: "neuron", "data-layer": l, "data-index": j, tabindex: 0, role: "button",
          "aria-label": `${l === L ? "output" : "layer " + l} neuron ${j}`,
        }, root);
        svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1] + 3, fill: "transparent" }, g);
        const dot = svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1], class: "bp-dot" }, g);
        const choose = () => this.select({ kind: "neuron", layer: l, index: j });
        g.addEventListener("click", choose);
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            choose();
          }
        });
        column.push({ g, dot });
        if (l === L) {
          svg("text", { x: xs[l - 1] + radius[l - 1] + 8, y: ys[l - 1][j] + 4 }, root).textContent = j;
          if (j === r.target) {
            svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1] + 4, class: "bp-target" }, root);
          }
        }
      }
      this.neurons.push(column);
    }
  },

  // Colour the diagram for one frame: activations up to the forward layer, δ down to the
  // backward layer, and the lines as signals (forward) or slopes ∂C/∂w (backward).
  paint(frame) {
    const r = this.result;
    const L = r.sizes.length - 1;
    const forwardTo = frame.kind === "input" ? 0 : frame.kind === "forward" ? frame.layer : L;
    const backFrom = frame.kind === "backward" ? frame.layer : L + 1;
    for (let l = 1; l <= L; l++) {
      const f = r.layers[l - 1];
      const column = this.neurons[l - 1];
      const showDelta = l >= backFrom;
      const showError = frame.kind === "error" && l === L;
      const values = showDelta ? f.delta : showError ? f.cost_wrt_a : f.a;
      const scale = maxAbs(values);
      column.forEach(({ g, dot }, j) => {
        let fill = "rgba(255,255,255,0.04)";
        if (showDelta || showError) fill = signed(values[j] / scale);
        else if (l <= forwardTo) fill = `rgba(255,255,255,${Math.min(1, Math.max(0.04, f.a[j])).toFixed(3)})`;
        dot.setAttribute("fill", fill);
        const selected = this.selected && this.selected.kind === "neuron" && this.selected.layer === l && this.selected.index === j;
        g.classList.toggle("selected", Boolean(selected));
      });
    }
    this.fan.forEach((line, j) => {
      const delta = r.layers[0].delta;
      if (backFrom <= 1) line.setAttribute("stroke", signed(delta[j] / maxAbs(delta)));
      else line.setAttribute("stroke", forwardTo >= 1 ? "rgba(203,213,225,0.35)" : "rgba(203,213,225,0.08)");
    });
    for (let l = 2; l <= L; l++) {
      const f = r.layers[l - 1];
      const [, nIn] = f.shape;
      const backward = l >= backFrom;
      const a = r.layers[l - 2].a;
      const values = backward ? f.grad_W : f.weights.map((w, i) => w * a[i % nIn]);
      const scale = maxAbs(values);
      this.edges[l].forEach((line, i) => {
        const on = backward || l <= forwardTo;
        const v = values[i] / scale;
        line.setAttribute("stroke", on ? signed(v) : "rgba(148,163,184,0.06)");
        line.setAttribute("stroke-width", on ? (0.6 + 2.2 * Math.abs(v)).toFixed(2) : 0.6);
        const s = this.selected;
        line.classList.toggle("selected", Boolean(s && s.kind === "edge" && s.layer === l && s.j * nIn + s.k === i));
        // δ flows back along the weights of the layer above the one this frame reaches.
        line.classList.toggle("flow", frame.kind === "backward" && l === frame.layer + 1);
      });
    }
  },

  render() {
    const r = this.result;
    drawGrey($("#bp-seen"), r.image);
    const what = r.image_index === null ? "your drawing" : `test image ${r.image_index}, a ${r.label}`;
    const before = this.baseline && this.nudges > 0 ? ` (before the nudges: ${this.baseline.guess})` : "";
    $("#bp-example").textContent = `${what}; the network guesses ${r.guess}${before}.`;
    if (r.image_index !== null) $("#bp-image").value = r.image_index;
    [...$("#bp-targets").children].forEach((b, d) => b.setAttribute("aria-pressed", String(d === r.target)));
    this.build();
    this.edgeOptions();
    this.showFrame();
    this.renderNudge();
    if (this.selected) this.select(this.selected);
  },

  // ---------------------------------------------------------------- details

  // Show a neuron's or a weight's numbers; the focus stays where the choice was made.
  select(choice) {
    const r = this.result;
    if (!r) return;
    const L = r.sizes.length - 1;
    const title = $("#bp-detail-title");
    const detail = $("#bp-detail");
    const canvas = $("#bp-row");
    canvas.hidden = true;
    if (choice.kind === "edge") {
      const f = r.layers[choice.layer - 1];
      if (!f || choice.layer < 2 || choice.j < 0 || choice.j >= f.shape[0] || choice.k < 0 || choice.k >= f.shape[1]) {
        this.message(`There is no weight to layer ${choice.layer} neuron ${choice.j} from neuron ${choice.k}.`, true);
        return;
      }
      this.selected = choice;
      const { j, k } = choice;
      const aIn = r.layers[choice.layer - 2].a[k];
      const grad = f.grad_W[j * f.shape[1] + k];
      const to = choice.layer === L ? `output ${j}` : `layer-${choice.layer} neuron ${j}`;
      title.textContent = `Weight w${sup(choice.layer)}[${j}, ${k}]: to ${to} from layer-${choice.layer - 1} neuron ${k}`;
      const chain = f.sigma_prime
        ? `a_in · σ′(z_out) · ∂C/∂a_out = ${precise(aIn)} × ${precise(f.sigma_prime[j])} × ${precise(f.cost_wrt_a[j])}`
        : `a_in · δ_out = ${precise(aIn)} × ${precise(f.delta[j])} (softmax couples the outputs: no single σ′)`;
      detail.innerHTML = `<p class="chain">∂C/∂w = ${chain} = <b id="bp-grad" data-value="${grad}">${precise(grad)}</b></p>` +
        `<p class="note">Its weight is w = ${precise(f.weights[j * f.shape[1] + k])}. A positive slope means raising w raises the cost, ` +
        `so the nudge −η·∂C/∂w lowers it.</p>`;
    } else {
      const f = r.layers[choice.layer - 1];
      if (!f || choice.index >= f.a.length) return;
      this.selected = choice;
      const j = choice.index;
      const name = choice.layer === L ? `Output neuron ${j}` : `Layer ${choice.layer}, neuron ${j}`;
      title.textContent = name;
      const asked = choice.layer === L
        ? (r.cost_function === "quadratic" ? `2(a − y) = 2(${precise(f.a[j])} − ${j === r.target ? 1 : 0})` : "the cost's slope")
        : `Σᵢ W${sup(choice.layer + 1)}ᵢⱼ δ${sup(choice.layer + 1)}ᵢ, what layer ${choice.layer + 1} passes back`;
      const product = f.sigma_prime
        ? `∂C/∂a · σ′(z) = ${precise(f.cost_wrt_a[j])} × ${precise(f.sigma_prime[j])}`
        : "aⱼ (gⱼ − Σₖ gₖ aₖ), softmax's coupled slope";
      detail.innerHTML = `<p>z = ${precise(f.z[j])}, a = σ(z) = ${precise(f.a[j])}` +
        (f.sigma_prime ? `, σ′(z) = ${precise(f.sigma_prime[j])}` : "") + `.</p>` +
        `<p>∂C/∂a = ${asked} = ${precise(f.cost_wrt_a[j])}.</p>` +
        `<p class="chain">δ = ∂C/∂z = ${product} = <b id="bp-delta" data-value="${f.delta[j]}">${precise(f.delta[j])}</b> = ∂C/∂b.</p>`;
      if (choice.layer === 1) {
        const row = f.grad_W.slice(j * 784, (j + 1) * 784);
        drawWeights(canvas, row);
        canvas.hidden = false;
        detail.innerHTML += `<p class="note">Its 784 slopes ∂C/∂W¹ = δ · x, as the image: only pixels with ink get one.</p>`;
      }
    }
    this.paint(this.frames()[this.frame]);
  },

  // ---------------------------------------------------------------- the nudge

  renderNudge() {
    const r = this.result;
    const b = this.baseline || r;
    const n = this.nudges;
    const cost = $("#bp-cost");
    cost.dataset.nudges = n;
    cost.textContent = n === 0
      ? `Cost of this example: Cₓ = ${fmt(r.cost, 4)}. One nudge of η = ${fmt(r.learning_rate)} would make it ${fmt(r.after.cost, 4)}.`
      : `After ${n} nudge${n > 1 ? "s" : ""} of η = ${fmt(r.learning_rate)}: Cₓ = ${fmt(b.cost, 4)} → ${fmt(r.cost, 4)}; ` +
        `output ${r.target} went from ${fmt(b.outputs[r.target])} to ${fmt(r.outputs[r.target])}.`;
    const bars = $("#bp-outputs");
    bars.replaceChildren(...r.outputs.map((a, d) => {
      const row = document.createElement("div");
      row.className = "bar bp-bar" + (d === r.target ? " target" : "");
      row.setAttribute("role", "listitem");
      row.setAttribute("aria-label", `output ${d}: ${fmt(b.outputs[d])} before, ${fmt(a)} now; target ${d === r.target ? 1 : 0}`);
      row.innerHTML = `<span class="digit">${d}</span><span class="track"><span class="fill before" style="width:${(100 * Math.min(1, b.outputs[d])).toFixed(1)}%"></span>` +
        `<span class="fill now" style="width:${(100 * Math.min(1, a)).toFixed(1)}%"></span></span><span class="pct">${a.toFixed(3)}</span>`;
      return row;
    }));
  },

  // ---------------------------------------------------------------- the mini-batch

  async loadBatch() {
    const start = Number($("#bp-batch-start").value);
    const count = Number($("#bp-batch-count").value);
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || count > 32) {
      $("#bp-batch-note").textContent = "Give a first test image from 0 and a count from 1 to 32.";
      return;
    }
    try {
      this.batch = await api("/api/backprop/batch", { start, count });
      this.renderBatch();
    } catch (error) {
      $("#bp-batch-note").textContent = explain(error);
    }
  },

  renderBatch() {
    const b = this.batch;
    const scale = Math.max(maxAbs(b.average.wants), ...b.examples.map((e) => maxAbs(e.wants)));
    const head = document.createElement("tr");
    head.innerHTML = "<th>image</th><th>label</th><th>Cₓ</th>" + [...Array(10).keys()].map((d) => `<th>${d}</th>`).join("");
    $("#bp-batch thead").replaceChildren(head);
    const cells = (wants, label) => wants.map((w, d) =>
      `<td style="background:${signed(w / scale)}"` +
      `${d === label ? ' class="own"' : ""}>${(Math.abs(w) < 0.005 ? 0 : w).toFixed(2)}</td>`).join("");
    const rows = b.examples.map((e) => {
      const row = document.createElement("tr");
      row.innerHTML = `<td>#${e.index}</td><td>${e.label}</td><td>${fmt(e.cost, 3)}</td>${cells(e.wants, e.label)}`;
      return row;
    });
    const average = document.createElement("tr");
    average.className = "average";
    average.innerHTML = `<td>average</td><td></td><td>${fmt(b.average.cost, 3)}</td>${cells(b.average.wants, -1)}`;
    $("#bp-batch tbody").replaceChildren(...rows, average);
    const each = b.examples.reduce((s, e) => s + e.gradient_norm, 0) / b.examples.length;
    $("#bp-batch-note").textContent =
      `Each cell is an example's wish for an output bias, −∂Cₓ/∂b (red: up, blue: down). ` +
      `The examples' own gradients average ‖∇Cₓ‖ = ${fmt(each)}, their average only ‖∇C‖ = ${fmt(b.average.gradient_norm)}: ` +
      `opposite wishes cancel. It equals backpropagation on the whole batch (largest difference ${fmt(b.batch.largest_difference)}).`;
  },
};
