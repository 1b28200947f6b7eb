// The Descend panel: gradient descent on one parameter w, for a cost C(w) the learner
// types in. The server takes all the steps at once; the page shows them one by one.

import { api, explain } from "./api.js";
import { lineChart } from "./chart.js";
import { $, fmt } from "./dom.js";
import { readParams, writeParams } from "./urlstate.js";

export const descend = {
  result: null, // the server's run: points w₀, w₁, … with C and C′ at each
  shown: 0, // how many steps have been taken on screen
  timer: null,
  fetchTimer: null,
  fetched: false, // whether the run was asked for (the panel was shown)

  init() {
    const form = $("#descend-form");
    this.fromParams();
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", () => {
      this.showRate();
      this.toParams();
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
    this.showRate();
  },

  // The first time the panel is shown, take the run (not before: SymPy's first reading
  // costs the server a moment that a learner on another panel has no use for).
  show() {
    if (!this.fetched) {
      this.fetched = true;
      this.fetch();
    } else this.redraw();
  },

  // The slider moves the exponent; what it says, on screen and to a screen reader, is η.
  showRate() {
    const eta = fmt(this.learningRate());
    $("#lr-value").textContent = eta;
    $("#lr-slider").setAttribute("aria-valuetext", `η = ${eta}`);
  },

  // The formula, w₀ and η in the address (f, w0, eta), so that a link gives the same run.
  fromParams() {
    const params = readParams();
    const form = $("#descend-form");
    if (params.has("f")) form.elements.expression.value = params.get("f");
    if (params.has("w0") && Number.isFinite(Number(params.get("w0")))) form.elements.start.value = params.get("w0");
    const eta = Number(params.get("eta"));
    if (params.has("eta") && eta > 0) $("#lr-slider").value = String(Math.log10(eta));
  },

  toParams() {
    const form = $("#descend-form");
    writeParams({ f: form.elements.expression.value, w0: form.elements.start.value, eta: this.learningRate() });
  },

  learningRate() {
    // The slider is logarithmic, from 0.001 to 2.
    return Number((10 ** Number($("#lr-slider").value)).toPrecision(2));
  },

  async fetch() {
    this.stopRunning();
    const form = new FormData($("#descend-form"));
    const state = $("#descend-state");
    if (String(form.get("start")).trim() === "" || !Number.isFinite(Number(form.get("start")))) {
      this.result = null;
      this.redraw();
      state.dataset.state = "failed";
      state.textContent = "start w₀: enter a number, e.g. 0.";
      return;
    }
    if (String(form.get("expression")).trim() === "") {
      this.result = null;
      this.redraw();
      state.dataset.state = "failed";
      state.textContent = "C(w): write a cost, e.g. (w - 3)^2.";
      return;
    }
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
      label: `The curve C(w) = ${r.expression} from w = ${fmt(lo)} to ${fmt(hi)}, with the ball ` +
        `at step ${current.k}: w = ${fmt(current.w, 6)}, C(w) = ${fmt(current.cost, 4)}`,
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

  // What the last step did, while stepping; at the end, the server's verdict of the whole run
  // (the one `nudgenet descend` prints), its reason and its advice: never the page's own.
  showState(points) {
    const r = this.result;
    const state = $("#descend-state");
    const current = points[points.length - 1];
    let text = "start: press Step to move w against the slope";
    let kind = "";
    if (points.length >= 2) {
      const before = points[points.length - 2];
      const jumped = before.slope !== null && current.slope !== null && before.slope * current.slope < 0;
      const across = jumped ? "jumped across the bottom and " : "";
      if (current.cost === null || current.cost > before.cost) {
        text = `uphill: the step ${across}landed higher than it started`;
        kind = "uphill";
      } else if (current.cost === before.cost) {
        text = `level: the step ${across}landed just as high as it started`;
      } else if (jumped) {
        text = "overshooting: the step jumped across the bottom, landing lower";
      } else {
        text = "descending: the step went downhill";
      }
    }
    if (this.shown === this.last()) {
      text = `${r.verdict}: ${r.reason}` + (r.why ? `. Why: ${r.why}` : "") + (r.advice ? `. Help: ${r.advice}` : "");
      kind = r.verdict;
    }
    state.dataset.state = kind;
    state.dataset.verdict = this.shown === this.last() ? r.verdict : "";
    state.textContent = `step ${current.k}: w = ${fmt(current.w, 6)}, C(w) = ${fmt(current.cost, 4)} — ${text}.`;
  },
};
