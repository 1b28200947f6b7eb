// nudgenet's page: four panels over the JSON API of `nudgenet serve`.
//
// The page computes nothing about the network itself: every activation, probability,
// gradient and descent step comes from the server, which calls the same library functions
// as the command line. This file only draws: a pad for the digit, an SVG diagram of the
// layers, canvas charts, and weight images (blue negative, white zero, red positive).
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const TERMINAL = new Set(["finished", "stopped", "failed"]);

// ------------------------------------------------------------------------ API

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: response.statusText };
  }
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    error.help = data.help;
    throw error;
  }
  return data;
}

function explain(error) {
  return error.help ? `${error.message} (${error.help})` : error.message;
}

// ------------------------------------------------------------------------ colours and images

const NEG = [33, 102, 172]; // #2166ac
const POS = [178, 24, 43]; // #b2182b

// v in [-1, 1] to an RGB triple: blue, white at 0, red.
function diverging(v) {
  const t = Math.min(1, Math.abs(v));
  const end = v < 0 ? NEG : POS;
  return end.map((c) => Math.round(255 + (c - 255) * t));
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m || 1;
}

// The side of the square grid a vector of n values is drawn on (784 → 28).
function gridSide(n) {
  return Math.ceil(Math.sqrt(n));
}

// Draw values (e.g. one neuron's incoming weights) as a diverging image, scaled by max |v|.
function drawWeights(canvas, values, scale = maxAbs(values)) {
  const side = gridSide(values.length);
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const [r, g, b] = i < values.length ? diverging(values[i] / scale) : [238, 240, 244];
    image.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

// Draw 0..255 ink levels as white on black, as the network sees them.
function drawGrey(canvas, pixels) {
  const side = gridSide(pixels.length);
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  pixels.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
  ctx.putImageData(image, 0, 0);
}

function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "—";
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  if (parent) parent.appendChild(element);
  return element;
}

// ------------------------------------------------------------------------ tabs

const PANELS = ["draw", "learn", "descend", "nudges"];

function showPanel() {
  const name = PANELS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "draw";
  for (const panel of PANELS) {
    $(`#${panel}`).hidden = panel !== name;
    const tab = $(`.tabs a[data-tab="${panel}"]`);
    if (panel === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  // Canvases size themselves to their boxes, which only exist once shown.
  if (name === "learn") learn.redraw();
  if (name === "descend") descend.redraw();
  if (name === "nudges") nudges.show();
}

// ------------------------------------------------------------------------ Draw

const draw = {
  pad: null,
  ctx: null,
  hasInk: false,
  drawing: null, // the last drawing sent, for Nudges
  prediction: null,
  inFlight: false,
  pending: false,
  weights: {}, // "network/layer" → {shape, weights, biases}
  selected: null, // [layer, index]

  init() {
    this.pad = $("#pad");
    this.ctx = this.pad.getContext("2d");
    let last = null;
    const point = (event) => {
      const box = this.pad.getBoundingClientRect();
      return [
        ((event.clientX - box.left) / box.width) * this.pad.width,
        ((event.clientY - box.top) / box.height) * this.pad.height,
      ];
    };
    const stroke = (from, to) => {
      const ctx = this.ctx;
      ctx.strokeStyle = "#111";
      ctx.fillStyle = "#111";
      ctx.lineWidth = 19;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(...from);
      ctx.lineTo(...to);
      ctx.stroke();
    };
    this.pad.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      this.pad.setPointerCapture(event.pointerId);
      last = point(event);
      stroke(last, last);
      this.hasInk = true;
      this.changed();
    });
    this.pad.addEventListener("pointermove", (event) => {
      if (last === null) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const e of events.length ? events : [event]) {
        const p = point(e);
        stroke(last, p);
        last = p;
      }
      this.changed();
    });
    const end = () => {
      if (last !== null) this.changed();
      last = null;
    };
    this.pad.addEventListener("pointerup", end);
    this.pad.addEventListener("pointercancel", end);
    $("#clear").addEventListener("click", () => this.clear());
    $("#draw-network").addEventListener("change", () => {
      this.selected = null;
      $("#neuron-card").hidden = true;
      this.changed();
    });
    this.reset();
  },

  network() {
    return $("#draw-network").value;
  },

  clear() {
    this.ctx.clearRect(0, 0, this.pad.width, this.pad.height);
    this.hasInk = false;
    this.drawing = null;
    this.prediction = null;
    this.reset();
  },

  reset() {
    $("#guess").textContent = "?";
    $("#guess-confidence").textContent = "";
    drawGrey($("#seen"), new Array(784).fill(0));
    this.renderBars(new Array(10).fill(0), -1);
    this.renderDiagram(null);
    this.message("Draw a digit in the box.");
  },

  message(text, isError = false) {
    const element = $("#draw-message");
    element.textContent = text;
    element.classList.toggle("error", isError);
  },

  // The pad's ink at 112×112 (alpha: 0 background … 255 full ink).
  pixels() {
    const side = 112;
    const small = document.createElement("canvas");
    small.width = side;
    small.height = side;
    const ctx = small.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.pad, 0, 0, side, side);
    const rgba = ctx.getImageData(0, 0, side, side).data;
    const pixels = new Array(side * side);
    for (let i = 0; i < pixels.length; i++) pixels[i] = rgba[4 * i + 3];
    return { width: side, height: side, pixels };
  },

  // Ask for a prediction; while one is on its way, remember to ask again when it lands.
  async changed() {
    if (!this.hasInk) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = true;
    const drawing = this.pixels();
    const network = this.network();
    try {
      const prediction = await api("/api/predict", { drawing, network });
      this.drawing = drawing;
      this.prediction = prediction;
      await this.render(prediction);
      this.message("");
      nudges.drawingChanged();
    } catch (error) {
      this.message(explain(error), true);
    } finally {
      this.inFlight = false;
      if (this.pending) {
        this.pending = false;
        this.changed();
      }
    }
  },

  async render(p) {
    drawGrey($("#seen"), p.image);
    $("#guess").textContent = p.guess;
    $("#guess-confidence").textContent = `${Math.round(100 * p.probabilities[p.guess])}% sure`;
    this.renderBars(p.probabilities, p.guess);
    await this.loadWeights(p.network, p.sizes);
    this.renderDiagram(p);
    if (this.selected) this.showNeuron(...this.selected);
  },

  renderBars(probabilities, guess) {
    const bars = $("#bars");
    if (!bars.children.length) {
      for (let d = 0; d < 10; d++) {
        const row = document.createElement("div");
        row.className = "bar";
        row.setAttribute("role", "listitem");
        row.innerHTML = `<span class="digit">${d}</span><span class="track"><span class="fill"></span></span><span class="pct"></span>`;
        bars.appendChild(row);
      }
    }
    [...bars.children].forEach((row, d) => {
      const p = probabilities[d];
      row.classList.toggle("top", d === guess);
      $(".fill", row).style.width = `${(100 * p).toFixed(1)}%`;
      $(".pct", row).textContent = `${(100 * p).toFixed(1)}%`;
      row.setAttribute("aria-label", `${d}: ${(100 * p).toFixed(1)}%`);
    });
  },

  // Weights of layers 2.. for the diagram's lines (layer 1's 784 fan in as one image).
  async loadWeights(network, sizes) {
    for (let layer = 1; layer < sizes.length; layer++) {
      const key = `${network}/${layer}`;
      if (!this.weights[key]) this.weights[key] = await api(`/api/weights/${layer}?network=${network}`);
    }
  },

  forget(network) {
    for (const key of Object.keys(this.weights)) {
      if (key.startsWith(`${network}/`)) delete this.weights[key];
    }
  },

  // The network as columns of neurons; brightness is activation, lines are weight × input.
  renderDiagram(p) {
    const root = $("#diagram");
    root.replaceChildren();
    const sizes = p ? p.sizes : [784, 16, 16, 10];
    const width = 640;
    const height = 360;
    const top = 28;
    const bottom = height - 14;
    const imageSize = 120;
    const imageX = 14;
    const imageY = (top + bottom) / 2 - imageSize / 2;
    const columns = sizes.length - 1;
    const xs = [];
    for (let l = 1; l <= columns; l++) xs.push(210 + ((l - 1) * (width - 270)) / Math.max(1, columns - 1));
    const ys = sizes.slice(1).map((n) => {
      const gap = Math.min(22, (bottom - top) / n);
      const start = (top + bottom) / 2 - (gap * (n - 1)) / 2;
      return Array.from({ length: n }, (_, j) => start + j * gap);
    });
    const radius = sizes.slice(1).map((n) => Math.max(1.6, Math.min(9, (bottom - top) / n / 2 - 1.5)));

    // The input: the 28×28 image, fanning into the first hidden layer.
    const lines = svg("g", {}, root);
    const seen = $("#seen");
    svg("image", {
      href: seen.toDataURL(), x: imageX, y: imageY, width: imageSize, height: imageSize,
      style: "image-rendering: pixelated",
    }, root);
    svg("rect", { x: imageX, y: imageY, width: imageSize, height: imageSize, fill: "none", stroke: "#475569" }, root);
    const label = (x, text) => {
      const t = svg("text", { x, y: 16, "text-anchor": "middle", class: "layer-label" }, root);
      t.textContent = text;
    };
    label(imageX + imageSize / 2, "784 inputs");
    for (const y of ys[0]) {
      svg("line", {
        x1: imageX + imageSize, y1: (top + bottom) / 2, x2: xs[0], y2: y,
        stroke: "#334155", "stroke-width": 0.6,
      }, lines);
    }
    // Weight lines between the layers after the input.
    if (p) {
      for (let l = 1; l < columns; l++) {
        const w = this.weights[`${p.network}/${l + 1}`];
        if (!w) continue;
        const [nOut, nIn] = w.shape;
        const a = p.activations[l - 1];
        let biggest = 0;
        const signal = new Float64Array(nOut * nIn);
        for (let j = 0; j < nOut; j++) {
          for (let k = 0; k < nIn; k++) {
            signal[j * nIn + k] = w.weights[j * nIn + k] * a[k];
            biggest = Math.max(biggest, Math.abs(signal[j * nIn + k]));
          }
        }
        for (let j = 0; j < nOut; j++) {
          for (let k = 0; k < nIn; k++) {
            const s = signal[j * nIn + k] / (biggest || 1);
            if (Math.abs(s) < 0.04) continue;
            const [r, g, b] = s < 0 ? [96, 165, 250] : [248, 113, 113];
            svg("line", {
              x1: xs[l - 1], y1: ys[l - 1][k], x2: xs[l], y2: ys[l][j],
              stroke: `rgb(${r},${g},${b})`, "stroke-opacity": Math.abs(s).toFixed(2),
              "stroke-width": (0.5 + 1.8 * Math.abs(s)).toFixed(2),
            }, lines);
          }
        }
      }
    }
    // Neurons.
    for (let l = 1; l <= columns; l++) {
      const n = sizes[l];
      const a = p ? p.activations[l - 1] : new Array(n).fill(0);
      const scale = Math.max(1, maxAbs(a));
      const isOutput = l === columns;
      label(xs[l - 1], isOutput ? `${n} outputs` : `${n} hidden`);
      for (let j = 0; j < n; j++) {
        const g = svg("g", { class: "neuron", "data-layer": l, "data-index": j, tabindex: 0 }, root);
        const v = a[j] / scale;
        const fill = v >= 0 ? `rgba(255,255,255,${v.toFixed(3)})` : `rgba(96,165,250,${(-v).toFixed(3)})`;
        const gap = n > 1 ? ys[l - 1][1] - ys[l - 1][0] : 40;
        svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: Math.max(radius[l - 1] + 2.5, gap / 2), fill: "transparent" }, g);
        svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1], fill, stroke: "#64748b", "stroke-width": 1 }, g);
        const title = svg("title", {}, g);
        title.textContent = `${isOutput ? "output" : "layer " + l} neuron ${j}: activation ${fmt(a[j])}`;
        if (this.selected && this.selected[0] === l && this.selected[1] === j) g.classList.add("selected");
        if (isOutput) {
          const t = svg("text", { x: xs[l - 1] + radius[l - 1] + 8, y: ys[l - 1][j] + 4 }, root);
          t.textContent = j;
          if (p && j === p.guess) {
            svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1] + 4, class: "guess-ring" }, root);
          }
        }
        const choose = () => {
          if (!p) return;
          this.selected = [l, j];
          this.renderDiagram(this.prediction);
          this.showNeuron(l, j);
        };
        g.addEventListener("click", choose);
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") choose();
        });
      }
    }
  },

  async showNeuron(layer, index) {
    const p = this.prediction;
    if (!p) return;
    const network = p.network;
    const key = `${network}/${layer}`;
    if (!this.weights[key]) this.weights[key] = await api(`/api/weights/${layer}?network=${network}`);
    const w = this.weights[key];
    const [, nIn] = w.shape;
    const row = w.weights.slice(index * nIn, (index + 1) * nIn);
    drawWeights($("#neuron-weights"), row);
    const isOutput = layer === p.sizes.length - 1;
    const name = isOutput ? `Output neuron ${index} (digit ${index})` : `Layer ${layer}, neuron ${index}`;
    $("#neuron-title").textContent = name;
    const from = layer === 1 ? "784 pixels, laid out as the 28×28 image" : `${nIn} neurons of layer ${layer - 1}, in a grid`;
    $("#neuron-text").innerHTML =
      `Its weighted sum z = w·a + b adds up the ${from} with these ${nIn} weights, ` +
      `plus its bias <b>b = ${fmt(w.biases[index])}</b>. ` +
      `For your drawing its activation is <b>a = ${fmt(p.activations[layer - 1][index])}</b>. ` +
      `Largest weight ${fmt(Math.max(...row))}, smallest ${fmt(Math.min(...row))}.`;
    $("#neuron-card").hidden = false;
  },
};

// ------------------------------------------------------------------------ charts

// A small line chart: series of [x, y] points, axes with round ticks, drawn for the
// canvas's on-screen size and the screen's pixel density.
function lineChart(canvas, { series, xMin = 0, xMax, yMin = 0, yMax, xLabel, yLabel = "", yFormat = fmt, marker }) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const left = 48;
  const right = 20;
  const top = 20;
  const bottom = 34;
  const w = width - left - right;
  const h = height - top - bottom;
  const X = (x) => left + ((x - xMin) / (xMax - xMin || 1)) * w;
  const Y = (y) => top + h - ((y - yMin) / (yMax - yMin || 1)) * h;
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#667085";
  ctx.strokeStyle = "#e5e7eb";
  ctx.lineWidth = 1;
  for (const y of ticks(yMin, yMax, 5)) {
    ctx.beginPath();
    ctx.moveTo(left, Y(y));
    ctx.lineTo(left + w, Y(y));
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(yFormat(y), left - 6, Y(y) + 4);
  }
  ctx.textAlign = "center";
  for (const x of ticks(xMin, xMax, Math.max(2, Math.floor(w / 80)))) {
    ctx.fillText(fmt(x), X(x), top + h + 15);
  }
  ctx.fillText(xLabel, left + w / 2, height - 3);
  ctx.textAlign = "left";
  ctx.fillText(yLabel, 6, 11);
  ctx.strokeStyle = "#98a2b3";
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, top + h);
  ctx.lineTo(left + w, top + h);
  ctx.stroke();
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top - 4, w + 4, h + 8);
  ctx.clip();
  for (const s of series) {
    if (!s.points.length) continue;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.width || 2;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
    if (s.dots) {
      for (const [x, y] of s.points) {
        ctx.beginPath();
        ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
  if (marker) marker(ctx, X, Y);
  ctx.restore();
}

// About n round numbers from lo to hi.
function ticks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

// ------------------------------------------------------------------------ Learn

const learn = {
  source: null,
  job: null, // the latest state event's data
  settings: null,
  points: [], // [step, mean batch cost]
  epochs: [], // Epoch records
  nextEvent: 0,
  weights: null,

  init() {
    $("#train-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    $("#pause").addEventListener("click", () => this.control("pause"));
    $("#resume").addEventListener("click", () => this.control("resume"));
    $("#stop").addEventListener("click", () => this.control("stop"));
    window.addEventListener("resize", () => this.redraw());
    this.restore();
  },

  // A job already under way (another tab, a reload): follow it from its first event.
  async restore() {
    try {
      const status = await api("/api/train");
      if (status.job !== null) this.follow(status);
      else this.showState(status);
    } catch (error) {
      $("#job-state").textContent = explain(error);
    }
  },

  request() {
    const form = new FormData($("#train-form"));
    const number = (name) => Number(form.get(name));
    const hidden = String(form.get("hidden")).split(/[\s,]+/).filter(Boolean).map(Number);
    return {
      hidden,
      activation: form.get("activation"),
      output: form.get("output"),
      cost: form.get("cost"),
      init: form.get("init"),
      lr: number("lr"),
      schedule: form.get("schedule"),
      batch_size: number("batch_size"),
      epochs: number("epochs"),
      seed: number("seed"),
      train_size: number("train_size"),
    };
  },

  async start() {
    try {
      const status = await api("/api/train", this.request());
      this.follow(status);
    } catch (error) {
      this.showState({ state: "failed", error: explain(error) }, true);
    }
  },

  async control(action) {
    try {
      this.showState(await api(`/api/train/${action}`, {}));
    } catch (error) {
      $("#job-state").textContent = explain(error);
    }
  },

  follow(status) {
    if (this.source) this.source.close();
    this.settings = status.settings;
    this.points = [];
    this.epochs = [];
    this.weights = null;
    this.nextEvent = 0;
    $("#weights-step").textContent = "";
    $("#weight-grid").replaceChildren();
    this.showState(status);
    this.redraw();
    const source = new EventSource(`/api/train/events?since=0`);
    this.source = source;
    source.addEventListener("state", (e) => {
      const data = JSON.parse(e.data);
      this.showState(data);
      if (TERMINAL.has(data.state)) source.close();
      draw.forget("training");
      if (draw.network() === "training") draw.changed();
    });
    source.addEventListener("steps", (e) => {
      this.points.push(...JSON.parse(e.data).points);
      this.redrawCost();
    });
    source.addEventListener("epoch", (e) => {
      this.epochs.push(JSON.parse(e.data));
      this.redraw();
    });
    source.addEventListener("weights", (e) => {
      this.weights = JSON.parse(e.data);
      this.drawWeights();
      draw.forget("training");
      if (draw.network() === "training") draw.changed();
    });
  },

  showState(s, isError = false) {
    this.job = s;
    const state = s.state;
    const element = $("#job-state");
    element.dataset.state = state;
    const progress = s.total_steps ? `epoch ${s.epoch} of ${s.epochs}, step ${s.step.toLocaleString()} of ${s.total_steps.toLocaleString()}` : "";
    const text = {
      idle: "No training yet: choose settings and press Start.",
      running: `Training: ${progress}.`,
      paused: `Paused at ${progress}.`,
      finished: `Finished: ${progress}.` + (this.lastAccuracy() ? ` Test accuracy ${this.lastAccuracy()}.` : ""),
      stopped: `Stopped at ${progress}.`,
      failed: `Failed: ${s.error || "unknown error"}`,
    }[state];
    element.textContent = isError ? `Not started: ${s.error}` : text;
    const active = state === "running" || state === "paused";
    $("#start").disabled = active;
    $("#pause").disabled = state !== "running";
    $("#resume").disabled = state !== "paused";
    $("#stop").disabled = !active;
  },

  lastAccuracy() {
    const last = this.epochs[this.epochs.length - 1];
    return last && last.test_accuracy !== null ? `${(100 * last.test_accuracy).toFixed(1)}%` : "";
  },

  redraw() {
    this.redrawCost();
    this.redrawAccuracy();
    this.drawWeights();
  },

  redrawCost() {
    const canvas = $("#cost-chart");
    const total = this.job && this.job.total_steps ? this.job.total_steps : 1000;
    const train = this.epochs.map((e) => [e.steps, e.train_cost]);
    const test = this.epochs.filter((e) => e.test_cost !== null).map((e) => [e.steps, e.test_cost]);
    const all = [...this.points.map((p) => p[1]), ...train.map((p) => p[1]), ...test.map((p) => p[1])];
    lineChart(canvas, {
      series: [
        { points: this.points, color: "#9ca3af", width: 1.2 },
        { points: train, color: "#0f766e", dots: true },
        { points: test, color: "#f59e0b", dots: true },
      ],
      xMax: total,
      yMax: all.length ? Math.max(...all) * 1.05 : 1,
      yLabel: "cost C",
      xLabel: "step (one mini-batch each)",
    });
  },

  redrawAccuracy() {
    const epochs = this.job && this.job.epochs ? this.job.epochs : 5;
    lineChart($("#accuracy-chart"), {
      series: [
        { points: this.epochs.map((e) => [e.epoch, 100 * e.train_accuracy]), color: "#0f766e", dots: true },
        {
          points: this.epochs.filter((e) => e.test_accuracy !== null).map((e) => [e.epoch, 100 * e.test_accuracy]),
          color: "#f59e0b", dots: true,
        },
      ],
      xMax: epochs,
      yMax: 100,
      yLabel: "accuracy",
      xLabel: "epoch (one pass over the training images)",
      yFormat: (y) => `${y}%`,
    });
  },

  drawWeights() {
    const w = this.weights;
    if (!w) return;
    const [n, nIn] = w.shape;
    const grid = $("#weight-grid");
    if ($("p", grid)) grid.replaceChildren(); // the placeholder before the first weights
    while (grid.children.length < n) {
      const figure = document.createElement("figure");
      figure.innerHTML = `<canvas></canvas><figcaption>${grid.children.length}</figcaption>`;
      grid.appendChild(figure);
    }
    while (grid.children.length > n) grid.lastChild.remove();
    for (let j = 0; j < n; j++) {
      drawWeights($("canvas", grid.children[j]), w.weights.slice(j * nIn, (j + 1) * nIn));
    }
    $("#weights-step").textContent = `(after step ${w.step.toLocaleString()})`;
  },
};

// ------------------------------------------------------------------------ Descend

const descend = {
  result: null, // the server's run: points w₀, w₁, … with C and C′ at each
  shown: 0, // how many steps have been taken on screen
  timer: null,
  fetchTimer: null,

  init() {
    const form = $("#descend-form");
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", () => {
      $("#lr-value").textContent = fmt(this.learningRate());
      clearTimeout(this.fetchTimer);
      this.fetchTimer = setTimeout(() => this.fetch(), 250);
    });
    $("#step").addEventListener("click", () => this.step());
    $("#run").addEventListener("click", () => this.run());
    $("#reset").addEventListener("click", () => {
      this.stopRunning();
      this.shown = 0;
      this.redraw();
    });
    window.addEventListener("resize", () => this.redraw());
    $("#lr-value").textContent = fmt(this.learningRate());
    this.fetch();
  },

  learningRate() {
    // The slider is logarithmic, from 0.001 to 2.
    return Number((10 ** Number($("#lr-slider").value)).toPrecision(2));
  },

  async fetch() {
    this.stopRunning();
    const form = new FormData($("#descend-form"));
    try {
      this.result = await api("/api/descend", {
        expression: String(form.get("expression")),
        start: Number(form.get("start")),
        learning_rate: this.learningRate(),
        steps: 100,
      });
      this.shown = 0;
      $("#derivative").textContent = `C′(w) = ${this.result.derivative.replaceAll("**", "^").replaceAll("*", "·")}`;
      this.redraw();
    } catch (error) {
      this.result = null;
      this.redraw();
      const state = $("#descend-state");
      state.dataset.state = "failed";
      state.textContent = explain(error);
    }
  },

  last() {
    return this.result ? this.result.points.length - 1 : 0;
  },

  step() {
    if (!this.result) return;
    if (this.shown < this.last()) this.shown += 1;
    this.redraw();
  },

  run() {
    if (this.timer) return this.stopRunning();
    if (!this.result) return;
    if (this.shown >= this.last()) this.shown = 0;
    $("#run").textContent = "Pause";
    // The first steps slowly enough to follow, then faster towards the end.
    const tick = () => {
      if (this.shown >= this.last()) return this.stopRunning();
      this.step();
      this.timer = setTimeout(tick, this.shown < 10 ? 250 : 50);
    };
    this.timer = setTimeout(tick, 0);
  },

  stopRunning() {
    clearTimeout(this.timer);
    this.timer = null;
    $("#run").textContent = "Run";
  },

  redraw() {
    const r = this.result;
    const canvas = $("#curve");
    const body = $("#steps tbody");
    if (!r) {
      lineChart(canvas, { series: [], xMax: 1, yMax: 1, xLabel: "w" });
      body.replaceChildren();
      return;
    }
    const points = r.points.slice(0, this.shown + 1);
    const current = points[points.length - 1];
    const lo = r.curve.w[0];
    const hi = r.curve.w[r.curve.w.length - 1];
    const finite = r.curve.cost.filter((c) => c !== null);
    const yMin = Math.min(0, ...finite);
    const yMax = Math.max(...finite) + 0.05 * (Math.max(...finite) - yMin) || 1;
    const curve = [];
    r.curve.w.forEach((w, i) => {
      if (r.curve.cost[i] !== null) curve.push([w, r.curve.cost[i]]);
    });
    const inside = (p) => p.w !== null && p.cost !== null && p.w >= lo && p.w <= hi && p.cost <= yMax;
    lineChart(canvas, {
      series: [{ points: curve, color: "#475467", width: 2 }],
      xMin: lo,
      xMax: hi,
      yMin,
      yMax,
      xLabel: "w",
      yLabel: "C(w)",
      marker: (ctx, X, Y) => {
        // The valley floors, where C′(w) = 0 and the curve bends up.
        ctx.fillStyle = "#16a34a";
        for (const [w, c] of r.valleys || []) {
          if (w < lo || w > hi) continue;
          ctx.beginPath(); // a small ▼ just above the floor
          ctx.moveTo(X(w), Y(c) - 3);
          ctx.lineTo(X(w) - 6, Y(c) - 13);
          ctx.lineTo(X(w) + 6, Y(c) - 13);
          ctx.fill();
        }
        // The trail: each step as an arrow from where it started to where it landed.
        ctx.strokeStyle = "rgba(245,158,11,0.9)";
        ctx.lineWidth = 1.5;
        for (let i = 1; i < points.length; i++) {
          const a = points[i - 1];
          const b = points[i];
          if (!inside(a) || !inside(b)) continue;
          ctx.beginPath();
          ctx.moveTo(X(a.w), Y(a.cost));
          ctx.lineTo(X(b.w), Y(b.cost));
          ctx.stroke();
        }
        points.forEach((p, i) => {
          if (!inside(p)) return;
          const isLast = i === points.length - 1;
          ctx.beginPath();
          ctx.fillStyle = isLast ? "#0f766e" : "rgba(245,158,11,0.8)";
          ctx.arc(X(p.w), Y(p.cost), isLast ? 9 : 4, 0, 2 * Math.PI);
          ctx.fill();
        });
        if (!inside(current)) {
          // Flown off the chart: an arrow at the edge, pointing where it went.
          const right = current.w === null || current.w > hi;
          const x = right ? X(hi) - 8 : X(lo) + 8;
          ctx.fillStyle = "#b2182b";
          ctx.font = "bold 13px system-ui, sans-serif";
          ctx.textAlign = right ? "right" : "left";
          ctx.fillText(`${right ? "" : "← "}off the chart: w = ${fmt(current.w)}${right ? " →" : ""}`, x, Y(yMax) + 16);
        }
      },
    });
    body.replaceChildren(...points.map((p, i) => {
      const row = document.createElement("tr");
      if (i === points.length - 1) row.className = "latest";
      const move = p.slope === null ? null : -r.learning_rate * p.slope; // from this w to the next
      const cells = [p.k, fmt(p.w, 6), fmt(p.cost, 5), fmt(p.slope, 4), fmt(move, 4)];
      row.innerHTML = cells.map((c) => `<td>${c}</td>`).join("");
      return row;
    }));
    body.closest(".table-wrap").scrollTop = 1e9;
    this.showState(points);
  },

  // What the steps so far show: creeping, overshooting, diverging or done.
  showState(points) {
    const r = this.result;
    const state = $("#descend-state");
    const current = points[points.length - 1];
    let verdict = "start: press Step to move w against the slope";
    let kind = "";
    if (points.length >= 2) {
      const before = points[points.length - 2];
      const jumped = before.slope !== null && current.slope !== null && before.slope * current.slope < 0;
      if (current.cost === null || current.cost > before.cost) {
        verdict = "diverging: the step landed higher than it started, so η is too large for this curve";
        kind = "diverging";
      } else if (jumped) {
        verdict = "overshooting: the step jumped across the bottom, but still landed lower";
      } else {
        verdict = "descending: the step went downhill";
      }
    }
    if (this.shown === this.last() && points.length > 1) {
      if (r.converged) {
        verdict = `converged: the slope is flat (|C′(w)| ≤ 10⁻⁶) after ${current.k} steps`;
        kind = "converged";
      } else if (r.diverged) {
        verdict = `diverged: ${r.diverged}` + (r.why ? `. Why: ${r.why}` : "");
        kind = "diverged";
      } else {
        verdict = `not flat yet after ${current.k} steps: a larger η would get there sooner`;
      }
    }
    state.dataset.state = kind;
    state.textContent = `step ${current.k}: w = ${fmt(current.w, 6)}, C(w) = ${fmt(current.cost, 4)} — ${verdict}.`;
  },
};

// ------------------------------------------------------------------------ Nudges

const nudges = {
  target: null,
  result: null,
  stale: true,

  init() {
    const targets = $("#targets");
    for (let d = 0; d < 10; d++) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = d;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => this.choose(d));
      targets.appendChild(button);
    }
  },

  drawingChanged() {
    this.stale = true;
    if (!$("#nudges").hidden) this.show();
  },

  choose(digit) {
    this.pressed(digit);
    this.stale = true;
    this.show();
  },

  pressed(digit) {
    this.target = digit;
    [...$("#targets").children].forEach((b, d) => b.setAttribute("aria-pressed", String(d === digit)));
  },

  async show() {
    const p = draw.prediction;
    if (!p || !draw.drawing) {
      $("#nudge-guess").innerHTML = 'Draw a digit in <a href="#draw">Draw</a> first.';
      return;
    }
    drawGrey($("#nudge-seen"), p.image);
    $("#nudge-guess").textContent = `The network guesses ${p.guess}. Pick the digit it should say:`;
    if (this.target === null) this.pressed(p.guess === 3 ? 8 : 3);
    if (!this.stale) return;
    this.stale = false;
    try {
      this.result = await api("/api/nudges", {
        drawing: draw.drawing, target: this.target, network: draw.network(), top: 12,
      });
      this.render();
      $("#nudge-message").textContent = "";
    } catch (error) {
      $("#nudge-message").textContent = explain(error);
    }
  },

  render() {
    const r = this.result;
    $("#nudge-cost").innerHTML =
      `Cost for target ${r.target}: <b>C = Σⱼ(aⱼ − yⱼ)² = ${fmt(r.cost, 4)}</b>. ` +
      `Nudging every parameter downhill lowers it: output ${r.target} brightens, the others dim.`;
    $("#top-nudges tbody").replaceChildren(...r.top.map((t) => {
      const row = document.createElement("tr");
      const arrow = t.nudge > 0 ? '<span class="up" title="should grow">↑</span>' : '<span class="down" title="should shrink">↓</span>';
      row.innerHTML = `<td>${arrow}</td><td><code>${t.name}</code></td><td class="left">${t.description}</td>` +
        `<td>${fmt(t.value)}</td><td>${fmt(t.derivative)}</td>`;
      return row;
    }));
    const wants = $("#wants");
    wants.replaceChildren(...r.outputs.map((o) => {
      const row = document.createElement("div");
      row.className = "bar" + (o.neuron === r.target ? " target" : "");
      row.setAttribute("role", "listitem");
      const arrow = o.wants === "up" ? '<span class="want up">↑</span>' : '<span class="want down">↓</span>';
      row.innerHTML = `<span class="digit">${o.neuron}</span><span class="track"><span class="fill" style="width:${(100 * o.activation).toFixed(1)}%"></span></span>` +
        `<span class="pct">${o.activation.toFixed(2)}</span>${arrow}`;
      row.setAttribute("aria-label", `output ${o.neuron}: activation ${o.activation.toFixed(2)}, wants ${o.wants}`);
      return row;
    }));
    const grid = $("#nudge-grid");
    const [n, nIn] = r.first_layer.shape;
    while (grid.children.length < n) {
      const figure = document.createElement("figure");
      figure.innerHTML = `<canvas></canvas><figcaption>${grid.children.length}</figcaption>`;
      grid.appendChild(figure);
    }
    while (grid.children.length > n) grid.lastChild.remove();
    const nudgeScale = maxAbs(r.first_layer.nudges);
    for (let j = 0; j < n; j++) {
      const w = r.first_layer.weights.slice(j * nIn, (j + 1) * nIn);
      const g = r.first_layer.nudges.slice(j * nIn, (j + 1) * nIn);
      drawOverlay($("canvas", grid.children[j]), w, g, nudgeScale);
    }
  },
};

// The weights in grey (light: positive), the nudges on top in red (grow) and blue (shrink).
function drawOverlay(canvas, weights, nudgeValues, nudgeScale) {
  const side = gridSide(weights.length);
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  const wScale = maxAbs(weights);
  for (let i = 0; i < side * side; i++) {
    if (i >= weights.length) {
      image.data.set([238, 240, 244, 255], 4 * i);
      continue;
    }
    const grey = 128 + 110 * (weights[i] / wScale);
    const t = Math.min(1, Math.sqrt(Math.abs(nudgeValues[i]) / nudgeScale));
    const end = nudgeValues[i] < 0 ? NEG : POS;
    const rgb = end.map((c) => Math.round(grey + (c - grey) * t));
    image.data.set([...rgb, 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

// ------------------------------------------------------------------------ start

window.addEventListener("DOMContentLoaded", () => {
  draw.init();
  learn.init();
  descend.init();
  nudges.init();
  window.addEventListener("hashchange", showPanel);
  showPanel();
});
