// The Draw panel: a pad to draw a digit on (or a test image chosen by its number), what
// the network sees of it, its guess, and a diagram of every layer's activations; choosing
// a neuron shows its incoming weights.

import { api, explain } from "./api.js";
import { connection } from "./connection.js";
import { drawNetwork } from "./diagram.js";
import { $, fmt } from "./dom.js";
import { writeParams } from "./urlstate.js";
import { drawGrey, drawWeights, maxAbs } from "./images.js";

export const draw = {
  pad: null,
  ctx: null,
  hasInk: false,
  drawing: null, // the last drawing sent, for Nudges
  prediction: null,
  inFlight: false,
  pending: false,
  testImage: null, // the test image's index, when the input is one instead of a drawing
  weights: {}, // "network/layer" → {shape, weights, biases}
  selected: null, // [layer, index]
  onPrediction: () => {}, // called after each new prediction is shown

  init({ onPrediction } = {}) {
    if (onPrediction) this.onPrediction = onPrediction;
    this.pad = $("#pad");
    this.ctx = this.pad.getContext("2d");
    const last = new Map(); // pointerId → the last point of that pointer's stroke
    const point = (event) => {
      const box = this.pad.getBoundingClientRect();
      return [
        ((event.clientX - box.left) / box.width) * this.pad.width,
        ((event.clientY - box.top) / box.height) * this.pad.height,
      ];
    };
    // Pointer events serve mouse, pen and touch alike, each finger with its own pointerId
    // and so its own stroke; capture keeps a stroke that leaves the pad going until the
    // button or finger is lifted. A press alone leaves a dot.
    this.pad.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      this.pad.setPointerCapture(event.pointerId);
      const p = point(event);
      last.set(event.pointerId, p);
      this.dot(p);
      this.inked();
    });
    this.pad.addEventListener("pointermove", (event) => {
      if (!last.has(event.pointerId)) return;
      // A fast stroke brings several points per event: draw through all of them.
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const e of events.length ? events : [event]) {
        const p = point(e);
        this.line(last.get(event.pointerId), p);
        last.set(event.pointerId, p);
      }
      this.inked();
    });
    const end = (event) => {
      if (last.delete(event.pointerId)) this.inked();
    };
    this.pad.addEventListener("pointerup", end);
    this.pad.addEventListener("pointercancel", end);
    $("#clear").addEventListener("click", () => this.clear());
    $("#draw-network").addEventListener("change", () => {
      this.selected = null;
      $("#neuron-card").hidden = true;
      this.changed();
    });
    $("#test-image-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const field = $("#test-image");
      if (!/^\d+$/.test(field.value.trim())) {
        this.message("test image: enter its number, a whole number from 0.", true);
        field.focus();
        return;
      }
      this.useTestImage(Number(field.value));
    });
    // A model file was loaded in the Test panel: the served network is another one now.
    window.addEventListener("nudgenet:served-model", () => {
      this.forget("served");
      this.changed();
    });
    // While the server is gone nothing is sent; once it is back, the latest drawing is.
    connection.onChange((up) => {
      if (up && this.pending) {
        this.pending = false;
        this.changed();
      }
    });
    this.reset();
  },

  line(from, to) {
    const ctx = this.ctx;
    ctx.strokeStyle = "#111";
    ctx.lineWidth = 19;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
  },

  // A round dot where the pen came down: a line of no length draws nothing in a canvas.
  dot([x, y]) {
    this.ctx.fillStyle = "#111";
    this.ctx.beginPath();
    this.ctx.arc(x, y, 9.5, 0, 2 * Math.PI);
    this.ctx.fill();
  },

  // Ink went on the pad: it is the network's input from now on.
  inked() {
    this.hasInk = true;
    if (this.testImage !== null) writeParams({ image: null });
    this.testImage = null;
    this.changed();
  },

  // Give the network test image `index` as it is (no mouse needed): the pad shows it.
  async useTestImage(index) {
    this.clear();
    this.testImage = index;
    writeParams({ image: index });
    this.hasInk = true;
    await this.changed();
    const p = this.prediction;
    if (!p || p.test_image !== index) return;
    const small = document.createElement("canvas");
    small.width = 28;
    small.height = 28;
    const image = small.getContext("2d").createImageData(28, 28);
    p.image.forEach((v, i) => image.data.set([17, 17, 17, v], 4 * i));
    small.getContext("2d").putImageData(image, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(small, 0, 0, this.pad.width, this.pad.height);
    this.drawing = this.pixels();
    this.describePad();
  },

  // What the network is given: the test image chosen, or the pad's drawing.
  input() {
    return this.testImage !== null ? { test_image: this.testImage } : { drawing: this.drawing };
  },

  network() {
    return $("#draw-network").value;
  },

  clear() {
    this.ctx.clearRect(0, 0, this.pad.width, this.pad.height);
    this.hasInk = false;
    this.testImage = null;
    writeParams({ image: null });
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
    this.message("Draw a digit in the box, or give it a test image by its number.");
    this.describePad();
  },

  // The canvases' text alternatives, kept up to date for screen readers.
  describePad() {
    const p = this.prediction;
    const what = this.testImage !== null ? `test image ${this.testImage}` : "your drawing";
    $("#pad").setAttribute("aria-label", p
      ? `Drawing pad showing ${what}; the network guesses ${p.guess}`
      : "Drawing pad, empty: draw a digit with the mouse, a pen or a finger");
    $("#seen").setAttribute("aria-label", p
      ? `What the network sees of ${what}: 28 by 28 pixels, centred as in MNIST`
      : "What the network sees: nothing yet");
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
  // An empty pad is never sent (the server would refuse it: no ink); nor is anything while
  // the server is gone: the latest drawing goes once it is back.
  async changed() {
    if (!this.hasInk) return;
    if (this.inFlight || !connection.up) {
      this.pending = true;
      return;
    }
    this.inFlight = true;
    const network = this.network();
    const input = this.testImage !== null ? { test_image: this.testImage } : { drawing: this.pixels() };
    try {
      const prediction = await api("/api/predict", { ...input, network });
      if (input.drawing) this.drawing = input.drawing;
      this.prediction = { ...prediction, test_image: input.test_image ?? null };
      await this.render(this.prediction);
      this.message(input.test_image !== undefined ? `Test image ${input.test_image}.` : "");
      this.describePad();
      this.onPrediction();
    } catch (error) {
      if (error.offline) this.pending = true;
      this.message(explain(error), true);
    } finally {
      this.inFlight = false;
      if (this.pending && connection.up) {
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
    const sizes = p ? p.sizes : [784, 16, 16, 10];
    const signals = {}; // layer → (weight × input) / the largest of that layer, row-major
    for (let l = 2; p && l < sizes.length; l++) {
      const w = this.weights[`${p.network}/${l}`];
      if (!w) continue;
      const [nOut, nIn] = w.shape;
      const a = p.activations[l - 2];
      const signal = new Float64Array(nOut * nIn);
      for (let j = 0; j < nOut; j++) {
        for (let k = 0; k < nIn; k++) signal[j * nIn + k] = w.weights[j * nIn + k] * a[k];
      }
      const biggest = maxAbs(signal);
      signals[l] = { nIn, values: signal.map((v) => v / biggest) };
    }
    const scale = p ? p.activations.map((a) => Math.max(1, maxAbs(a))) : [];
    const output = sizes.length - 1;
    drawNetwork($("#diagram"), {
      sizes,
      image: $("#seen").toDataURL(),
      neuron: (l, j) => (p ? p.activations[l - 1][j] / scale[l - 1] : 0),
      edge: (l, j, k) => (signals[l] ? signals[l].values[j * signals[l].nIn + k] : 0),
      title: (l, j) => `${l === output ? "output" : "layer " + l} neuron ${j}` +
        (p ? `: activation ${fmt(p.activations[l - 1][j])}` : ""),
      selected: this.selected,
      guess: p ? p.guess : null,
      onChoose: (l, j) => {
        if (!this.prediction) return;
        this.selected = [l, j];
        this.renderDiagram(this.prediction);
        this.showNeuron(l, j);
      },
    });
    $("#diagram").setAttribute("aria-label", p
      ? `Network diagram: ${sizes.join("-")}, lit by ${p.test_image !== null && p.test_image !== undefined ? "test image " + p.test_image : "your drawing"}; the brightest output is ${p.guess}. Each neuron is a button that shows its weights.`
      : "Network diagram: 784 inputs, then 16, 16 and 10 neurons; draw a digit to light it up");
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
    $("#neuron-weights").setAttribute("aria-label", `the ${nIn} incoming weights of this neuron, as a ${Math.ceil(Math.sqrt(nIn))}-wide image: red positive, blue negative`);
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
