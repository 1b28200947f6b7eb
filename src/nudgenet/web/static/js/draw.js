// The Draw panel: a pad to draw a digit on, what the network sees of it, its guess, and
// a diagram of every layer's activations; clicking a neuron shows its incoming weights.

import { api, explain } from "./api.js";
import { $, fmt, svg } from "./dom.js";
import { drawGrey, drawWeights, maxAbs } from "./images.js";

export const draw = {
  pad: null,
  ctx: null,
  hasInk: false,
  drawing: null, // the last drawing sent, for Nudges
  prediction: null,
  inFlight: false,
  pending: false,
  weights: {}, // "network/layer" → {shape, weights, biases}
  selected: null, // [layer, index]
  onPrediction: () => {}, // called after each new prediction is shown

  init({ onPrediction } = {}) {
    if (onPrediction) this.onPrediction = onPrediction;
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
    // Pointer events serve mouse, pen and touch alike; capture keeps a stroke that leaves
    // the pad going until the button or finger is lifted.
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
      // A fast stroke brings several points per event: draw through all of them.
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
      this.onPrediction();
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

  // The training job's θ moved: its cached weights are stale, and if the drawing is shown
  // through that network, ask it again.
  trainingMoved() {
    this.forget("training");
    if (this.network() === "training") this.changed();
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
