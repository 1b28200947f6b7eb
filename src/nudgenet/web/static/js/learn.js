// The Learn panel: train a fresh network with the chosen settings, and watch its cost,
// accuracy and first-layer weights change as the training job reports them.

import { api, explain } from "./api.js";
import { lineChart } from "./chart.js";
import { $ } from "./dom.js";
import { drawWeights, figureGrid } from "./images.js";

export const learn = {
  job: null, // the latest state event's data
  settings: null,
  points: [], // [step, mean batch cost]
  epochs: [], // Epoch records
  weights: null,
  follow: null, // follow(status): reset for this job and subscribe to its events

  // The caller opens the job's event stream (see app.js): other panels listen to it too.
  init({ follow }) {
    this.follow = follow;
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

  // Forget the last job's curves and weights, ready for this one's events.
  reset(status) {
    this.settings = status.settings;
    this.points = [];
    this.epochs = [];
    this.weights = null;
    $("#weights-step").textContent = "";
    $("#weight-grid").replaceChildren();
    this.showState(status);
    this.redraw();
  },

  addSteps(points) {
    this.points.push(...points);
    this.redrawCost();
  },

  addEpoch(epoch) {
    this.epochs.push(epoch);
    this.redraw();
  },

  showWeights(weights) {
    this.weights = weights;
    this.renderWeights();
  },

  showState(s, isError = false) {
    this.job = s;
    const state = s.state;
    const element = $("#job-state");
    element.dataset.state = state;
    const progress = s.total_steps ? `epoch ${s.epoch} of ${s.epochs}, step ${s.step.toLocaleString()} of ${s.total_steps.toLocaleString()}` : "";
    // The server's verdict of the finished (or diverged) run, with its reason and advice.
    const v = s.verdict;
    const verdict = v ? ` Verdict: ${v.verdict}: ${v.reason}.` + (v.advice ? ` Help: ${v.advice}.` : "") : "";
    const text = {
      idle: "No training yet: choose settings and press Start.",
      running: `Training: ${progress}.`,
      paused: `Paused at ${progress}.`,
      finished: `Finished: ${progress}.` + (this.lastAccuracy() ? ` Test accuracy ${this.lastAccuracy()}.` : "") + verdict,
      stopped: `Stopped at ${progress}.`,
      failed: `Failed: ${s.error || "unknown error"}` + verdict,
    }[state];
    element.dataset.verdict = v ? v.verdict : "";
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
    this.renderWeights();
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

  // One small image per first-layer neuron: its 784 incoming weights as 28×28.
  renderWeights() {
    const w = this.weights;
    if (!w) return;
    const [n, nIn] = w.shape;
    const grid = $("#weight-grid");
    if ($("p", grid)) grid.replaceChildren(); // the placeholder before the first weights
    figureGrid(grid, n).forEach((canvas, j) => {
      drawWeights(canvas, w.weights.slice(j * nIn, (j + 1) * nIn));
    });
    $("#weights-step").textContent = `(after step ${w.step.toLocaleString()})`;
  },
};
