// The Nudges panel: for the drawing on the Draw panel and a digit the learner wants it to
// be, which way backpropagation says each weight and bias should move, and how much.

import { api, explain } from "./api.js";
import { $, fmt } from "./dom.js";
import { draw } from "./draw.js";
import { drawGrey, drawOverlay, figureGrid, maxAbs } from "./images.js";

export const nudges = {
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

  // A new drawing or guess: ask again now if the panel is shown, else when it opens.
  drawingChanged() {
    this.stale = true;
    if (!$("#nudges").hidden) this.show();
  },

  choose(digit) {
    this.pressed(digit);
    this.stale = true;
    this.show();
  },

  // Show which target button is down, for the eye and for screen readers (aria-pressed).
  pressed(digit) {
    this.target = digit;
    [...$("#targets").children].forEach((b, d) => b.setAttribute("aria-pressed", String(d === digit)));
  },

  async show() {
    const p = draw.prediction;
    if (!p || (!draw.drawing && draw.testImage === null)) {
      $("#nudge-guess").innerHTML = 'Draw a digit in <a href="#draw">Draw</a> first.';
      return;
    }
    drawGrey($("#nudge-seen"), p.image);
    $("#nudge-seen").setAttribute("aria-label", `your drawing as the network sees it; it guesses ${p.guess}`);
    $("#nudge-guess").textContent = `The network guesses ${p.guess}. Pick the digit it should say:`;
    if (this.target === null) this.pressed(p.guess === 3 ? 8 : 3);
    if (!this.stale) return;
    this.stale = false;
    try {
      this.result = await api("/api/nudges", {
        ...draw.input(), target: this.target, network: draw.network(), top: 12,
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
    // One scale for all the neurons' nudges, so that their sizes compare.
    const layer = r.first_layer;
    const [n, nIn] = layer.shape;
    const nudgeScale = maxAbs(layer.nudges);
    figureGrid($("#nudge-grid"), n).forEach((canvas, j) => {
      const row = (values) => values.slice(j * nIn, (j + 1) * nIn);
      drawOverlay(canvas, row(layer.weights), row(layer.nudges), nudgeScale);
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `first-layer neuron ${j}: its weights in grey, the nudges on top`);
    });
  },
};
