// The video's experiments in the Draw panel: a "noise" button that shows the network an
// image that is no digit (random pixels, a blank grey page or a scribble), and a Dream card
// that descends on the pixels, θ fixed, until the network reads the chosen digit.
//
// The server draws the images and computes every number (POST /api/noise, /api/dream, as
// `nudgenet noise` and `nudgenet dream` do); the answers have the shape of a prediction, so
// Draw shows them as it shows a drawing. The controls are built here, inside the Draw panel,
// so that the page's HTML needs no change for them.

import { api, explain } from "./api.js";
import { $, fmt } from "./dom.js";
import { drawGrey } from "./images.js";

function element(tag, attributes = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function select(id, label, values) {
  const wrap = element("label", { class: "inline" }, `${label} `);
  const s = element("select", { id });
  for (const [value, text] of values) s.appendChild(element("option", { value }, text));
  wrap.appendChild(s);
  return wrap;
}

export const experiments = {
  draw: null,
  seed: 0, // each click draws a new image: the seed counts the clicks
  last: null, // the last answer shown, for the console and the browser tests

  init({ draw }) {
    this.draw = draw;
    const row = element("div", { class: "row", id: "noise-row" });
    row.appendChild(select("noise-kind", "show it", [
      ["noise", "random noise"], ["blank", "a blank grey page"], ["scribble", "a scribble"],
    ]));
    const button = element("button", { id: "noise", type: "button" }, "Noise");
    button.addEventListener("click", () => this.noise());
    row.appendChild(button);
    $("#draw .pad-card").appendChild(row);

    const card = element("div", { class: "card dream-card", id: "dream-card" });
    card.appendChild(element("h3", {}, "Dream a digit"));
    card.appendChild(element("p", { class: "note" },
      "Gradient descent on the 784 pixels, θ fixed, with the cost “output d should be 1, " +
      "the others 0”. Does the network's ideal digit look like one?"));
    const controls = element("div", { class: "row" });
    controls.appendChild(select("dream-digit", "digit", [...Array(10).keys()].map((d) => [d, d])));
    controls.appendChild(select("dream-start", "from", [["noise", "noise"], ["blank", "a blank page"]]));
    controls.appendChild(select("dream-smooth", "smoothness λ", [["0", "0"], ["0.05", "0.05"], ["0.2", "0.2"]]));
    const go = element("button", { id: "dream", type: "button" }, "Dream");
    go.addEventListener("click", () => this.dream());
    controls.appendChild(go);
    card.appendChild(controls);
    card.appendChild(element("canvas", {
      id: "dream-image", width: 28, height: 28, class: "pixels", role: "img",
      "aria-label": "the dreamed image, 28 by 28 pixels",
    }));
    card.appendChild(element("p", { id: "dream-text" }));
    $("#draw .draw-grid").appendChild(card);
    $("#dream-digit").value = "5";
  },

  // Show an answer in Draw as if it were a drawing's prediction.
  async show(answer) {
    this.draw.clear();
    this.draw.prediction = answer;
    await this.draw.render(answer);
    this.last = answer;
  },

  async noise() {
    const kind = $("#noise-kind").value;
    this.seed += 1;
    try {
      const p = await api("/api/noise", { kind, seed: this.seed, network: this.draw.network() });
      await this.show(p);
      const sure = Math.round(100 * p.probabilities[p.guess]);
      this.draw.message(`${$("#noise-kind").selectedOptions[0].text} (seed ${p.seed}): ` +
        `the network says ${p.guess}, ${sure}% sure, though it is no digit at all. ` +
        "It was only ever shown digits, so it has no way to say “none of them”.");
    } catch (error) {
      this.draw.message(explain(error), true);
    }
  },

  async dream() {
    const digit = Number($("#dream-digit").value);
    this.seed += 1;
    const body = {
      digit, start: $("#dream-start").value, seed: this.seed,
      smooth: Number($("#dream-smooth").value), network: this.draw.network(),
    };
    $("#dream-text").textContent = "dreaming…";
    try {
      const d = await api("/api/dream", body);
      await this.show(d);
      drawGrey($("#dream-image"), d.image);
      const others = d.correlations.filter((_, k) => k !== digit);
      $("#dream-text").textContent =
        `After ${d.steps} steps the network says ${digit} with ${Math.round(100 * d.final_probability)}%. ` +
        `Correlation with the mean ${digit}: ${fmt(d.correlations[digit], 2)}, with the closest ` +
        `other digit's mean: ${fmt(Math.max(...others), 2)}; a real ${digit} reaches ` +
        `${fmt(d.real_correlation, 2)}.`;
      this.draw.message(`The dreamed ${digit} is in “What the network sees”.`);
    } catch (error) {
      $("#dream-text").textContent = explain(error);
    }
  },
};
