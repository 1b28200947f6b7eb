// The Learn panel: train a fresh network with the chosen settings, and watch it learn: the
// cost and accuracy, the network diagram with its weights as lines that change, and the
// first-layer weights as images, as the training job reports them. A job can be slowed
// down, paused and stepped one mini-batch at a time; each run ends with the verdict of
// nudgenet.lessons.verdict, as `nudgenet learning-rate` gives it.

import { api, explain } from "./api.js";
import { lineChart } from "./chart.js";
import { connection } from "./connection.js";
import { drawNetwork } from "./diagram.js";
import { $, count, fmt } from "./dom.js";
import { form, label } from "./form.js";
import { drawWeights, figureGrid, maxAbs } from "./images.js";

const TERMINAL = new Set(["finished", "stopped", "failed"]);
const POLL_MS = 3000; // how often an idle page asks whether a job has started elsewhere

export const learn = {
  job: null, // the latest state of the job on screen (a status, or a state event's data)
  settings: null,
  points: [], // [step, mean batch cost], null where it blew up
  epochs: [], // Epoch records
  weights: null, // the latest weights event: {step, layers: [{shape, weights, biases}]}
  follow: null, // follow(status): reset for this job and subscribe to its events
  linked: false, // the address carried settings: they, not the last job's, fill the form
  ready: false, // the job on the server (if any) is on screen
  restoring: null, // the promise of restore(): a start waits for it
  refusal: null, // why the last Start did not start a job: shown until a job is followed

  // The caller opens the job's event stream (see app.js): other panels listen to it too.
  init({ follow }) {
    this.follow = follow;
    form.init();
    this.linked = form.fromParams();
    form.loadBounds();
    $("#train-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    $("#pause").addEventListener("click", () => this.control("pause"));
    $("#resume").addEventListener("click", () => this.control("resume"));
    $("#stop").addEventListener("click", () => this.control("stop"));
    $("#step-once").addEventListener("click", () => this.control("step"));
    $("#speed").addEventListener("change", () => {
      form.toParams();
      if (this.active()) this.control("speed", { speed: Number($("#speed").value) });
    });
    connection.onChange((up) => {
      if (!up && this.job) this.showState(this.job);
    });
    window.addEventListener("resize", () => this.redraw());
    this.restoring = this.restore();
    setInterval(() => this.poll(), POLL_MS);
  },

  active() {
    return this.job && (this.job.state === "running" || this.job.state === "paused");
  },

  // A job already under way (another tab, a reload): follow it from its first event.
  async restore() {
    try {
      const status = await api("/api/train");
      if (status.job !== null) {
        if (!this.linked && !form.touched) form.fill(status.settings);
        this.follow(status);
      } else this.showState(status);
    } catch (error) {
      $("#job-state").textContent = explain(error);
    }
    this.ready = true;
  },

  // A job started in another tab (or by the API) is followed here too, once it starts.
  async poll() {
    if (!connection.up || document.hidden) return;
    const current = this.job ? this.job.job : null;
    if (this.job && !TERMINAL.has(this.job.state) && this.job.state !== "idle") return;
    try {
      const status = await api("/api/train");
      if (status.job !== null && status.job !== current) {
        form.fill(status.settings);
        this.follow(status);
      }
    } catch {
      // connection.js says the server has stopped; the next poll asks again.
    }
  },

  async start() {
    // A job found on loading is shown first, so that it cannot overwrite this one's outcome.
    await this.restoring;
    const { request, error, field } = form.read();
    form.flag(field);
    if (error) return this.refuse(error);
    try {
      const status = await api("/api/train", request);
      this.linked = false;
      this.follow(status);
    } catch (e) {
      if (e.status === 409) return this.refuse("a training job is already running, maybe in another tab: wait for it, or press Stop first.");
      this.refuse(explain(e, label));
    }
  },

  // The last job's events may still be arriving (a page opened after it ran replays them):
  // they must not write over the reason this Start was refused.
  refuse(text) {
    this.refusal = text;
    this.showState(this.job || { state: "idle" });
  },

  async control(action, body = {}) {
    try {
      this.showState(await api(`/api/train/${action}`, body));
    } catch (error) {
      $("#job-state").textContent = explain(error);
    }
  },

  // Forget the last job's curves and weights, ready for this one's events.
  reset(status) {
    this.refusal = null;
    this.settings = status.settings;
    this.points = [];
    this.epochs = [];
    this.weights = null;
    $("#weights-step").textContent = "";
    $("#weight-grid").replaceChildren();
    if (status.speed !== undefined) $("#speed").value = String(status.speed);
    this.showState(status);
    this.redraw();
  },

  addSteps(batch) {
    this.points.push(...batch.points);
    if (this.job) this.showState({ ...this.job, step: batch.step, epoch: batch.epoch, cost: batch.cost });
    this.redrawCost();
  },

  addEpoch(epoch) {
    this.epochs.push(epoch);
    this.redraw();
  },

  showWeights(weights) {
    this.weights = weights;
    this.renderWeights();
    this.renderDiagram();
  },

  showState(s) {
    this.job = s;
    const state = s.state;
    const element = $("#job-state");
    const progress = s.total_steps
      ? `epoch ${s.epoch} of ${s.epochs}, step ${count(s.step)} of ${count(s.total_steps)}` +
        (s.cost !== null && s.cost !== undefined ? ` (batch cost ${fmt(s.cost, 4)})` : "")
      : "";
    // The server's verdict of the finished (or diverged) run, with its reason and advice.
    const v = s.verdict;
    const verdict = v ? ` Verdict: ${v.verdict}: ${v.reason}.` + (v.advice ? ` Help: ${v.advice}.` : "") : "";
    const accuracy = this.lastAccuracy() ? ` Test accuracy ${this.lastAccuracy()}.` : "";
    let text = {
      idle: "No training yet: choose settings and press Start.",
      running: `Training: ${progress}.`,
      paused: `Paused at ${progress}. Step takes one mini-batch.`,
      finished: `Finished: ${progress}.${accuracy}${verdict}`,
      stopped: `Stopped at ${progress}.`,
      failed: `Failed: ${s.error || "unknown error"}.${verdict}`,
    }[state];
    if (!connection.up && !TERMINAL.has(state)) {
      text = `The server has stopped: the job was at ${progress || "its start"} when it went.`;
    }
    const refused = this.refusal !== null;
    if (refused) {
      const why = /[.!?)]$/.test(this.refusal) ? this.refusal : `${this.refusal}.`;
      text = `Not started: ${why}` + (state === "idle" ? "" : ` On screen: ${text}`);
    }
    element.dataset.state = connection.up && !refused ? state : "failed";
    element.dataset.verdict = v && !refused ? v.verdict : "";
    element.textContent = text;
    if (state === "failed") this.redrawCost(); // its text alternative says it blew up
    const active = connection.up && (state === "running" || state === "paused");
    $("#start").disabled = active || !connection.up;
    $("#pause").disabled = !active || state !== "running";
    $("#resume").disabled = !active || state !== "paused";
    $("#step-once").disabled = !active || state !== "paused";
    $("#stop").disabled = !active;
  },

  lastAccuracy() {
    const last = this.epochs[this.epochs.length - 1];
    return last && last.test_accuracy !== null ? `${(100 * last.test_accuracy).toFixed(1)}%` : "";
  },

  redraw() {
    this.redrawCost();
    this.redrawAccuracy();
    this.renderWeights();
    this.renderDiagram();
  },

  redrawCost() {
    const total = this.job && this.job.total_steps ? this.job.total_steps : 1000;
    const train = this.epochs.map((e) => [e.steps, e.train_cost]);
    const test = this.epochs.filter((e) => e.test_cost !== null).map((e) => [e.steps, e.test_cost]);
    const all = [...this.points.map((p) => p[1]), ...train.map((p) => p[1]), ...test.map((p) => p[1])]
      .filter((y) => y !== null && Number.isFinite(y));
    const last = this.epochs[this.epochs.length - 1];
    const blew = this.points.some((p) => p[1] === null) ||
      Boolean(this.job && this.job.verdict && this.job.state === "failed");
    lineChart($("#cost-chart"), {
      series: [
        { points: this.points, color: "#9ca3af", width: 1.2 },
        { points: train, color: "#0f766e", dots: true },
        { points: test, color: "#f59e0b", dots: true },
      ],
      xMax: total,
      yMax: all.length ? Math.max(...all) * 1.05 : 1,
      yLabel: "cost C",
      xLabel: "step (one mini-batch each)",
      xFormat: count,
      label: `Cost chart: ${count(this.points.length)} batch-cost points` +
        (this.job && this.job.state === "failed" && this.points.length ? `, the last at step ${count(this.points[this.points.length - 1][0])}` : "") +
        (last ? `; training cost ${fmt(last.train_cost, 4)} after epoch ${last.epoch}` : "") +
        (blew ? "; the cost blew up (red cross)" : ""),
    });
  },

  redrawAccuracy() {
    const epochs = this.job && this.job.epochs ? this.job.epochs : 5;
    const last = this.epochs[this.epochs.length - 1];
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
      xFormat: count,
      yFormat: (y) => `${y}%`,
      label: last ? `Accuracy chart: ${this.lastAccuracy()} on the test set after epoch ${last.epoch}` : "Accuracy chart: no epoch yet",
    });
  },

  // One small image per first-layer neuron: its 784 incoming weights as 28×28.
  renderWeights() {
    const w = this.weights;
    if (!w) return;
    const [n, nIn] = w.layers[0].shape;
    const grid = $("#weight-grid");
    if ($("p", grid)) grid.replaceChildren(); // the placeholder before the first weights
    figureGrid(grid, n).forEach((canvas, j) => {
      drawWeights(canvas, w.layers[0].weights.slice(j * nIn, (j + 1) * nIn));
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `first-layer neuron ${j}: its ${nIn} weights as an image`);
    });
    $("#weights-step").textContent = `(after step ${count(w.step)})`;
  },

  // The network while it trains: each weight of the later layers a line, red positive,
  // blue negative, as strong as |w| against the layer's largest; each neuron lit by its bias.
  renderDiagram() {
    const root = $("#learn-diagram");
    const w = this.weights;
    const sizes = w ? [w.layers[0].shape[1], ...w.layers.map((l) => l.shape[0])] : (this.settings ? this.settings.sizes : [784, 16, 16, 10]);
    const scale = w ? w.layers.map((l) => ({ w: maxAbs(l.weights), b: maxAbs(l.biases) })) : [];
    drawNetwork(root, {
      sizes,
      image: null,
      note: "W¹: one image\na neuron, below",
      neuron: (l, j) => (w ? w.layers[l - 1].biases[j] / scale[l - 1].b : 0),
      edge: (l, j, k) => (w ? w.layers[l - 1].weights[j * sizes[l - 1] + k] / scale[l - 1].w : 0),
      title: (l, j) => `${l === sizes.length - 1 ? "output" : "layer " + l} neuron ${j}` +
        (w ? `: bias ${fmt(w.layers[l - 1].biases[j])}` : ""),
    });
    root.setAttribute("aria-label", w
      ? `The network ${sizes.join("-")} after step ${count(w.step)}: its weights between the hidden and output layers as lines, red positive, blue negative`
      : "The network diagram: its weights appear as lines when training starts");
  },
};
