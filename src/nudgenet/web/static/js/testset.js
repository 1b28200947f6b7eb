// The Test panel: the real test images with their labels, what the network says of each,
// the ones it gets wrong, and the confusion matrix; and the model as a file, to download
// (the .npz of `nudgenet train --out`) or to load and serve instead.

import { api, explain } from "./api.js";
import { $, count } from "./dom.js";
import { drawGrey } from "./images.js";

const PAGE = 40;

export const testset = {
  use: null, // use(index): give the network this test image on the Draw panel
  start: 0,
  summary: null,
  page: null,

  init({ use }) {
    this.use = use;
    const again = () => {
      this.start = 0;
      this.show();
    };
    $("#test-network").addEventListener("change", again);
    $("#test-wrong").addEventListener("change", again);
    $("#test-label").addEventListener("change", again);
    $("#test-prev").addEventListener("click", () => this.turn(-1));
    $("#test-next").addEventListener("click", () => this.turn(1));
    $("#download-model").addEventListener("click", () => {
      location.href = `/api/model/download?network=${$("#test-network").value}`;
    });
    $("#model-file").addEventListener("change", () => this.upload());
  },

  network() {
    return $("#test-network").value;
  },

  turn(direction) {
    const total = this.page ? this.page.total : 0;
    this.start = Math.max(0, Math.min(this.start + direction * PAGE, Math.max(0, total - 1)));
    this.showImages();
  },

  async show() {
    try {
      this.summary = await api(`/api/test-set?network=${this.network()}`);
      this.renderSummary();
      await this.showImages();
      this.message("");
    } catch (error) {
      this.message(explain(error), true);
    }
  },

  message(text, isError = false) {
    const element = $("#test-message");
    element.textContent = text;
    element.classList.toggle("error", isError);
  },

  renderSummary() {
    const s = this.summary;
    $("#test-accuracy").textContent =
      `${(100 * s.accuracy).toFixed(1)}% right on the ${count(s.size)} test images of ${s.data}: ` +
      `${count(s.wrong)} wrong. It never trained on these.`;
    const biggest = Math.max(1, ...s.confusion.flat());
    const head = `<tr><th scope="col">label ↓ guess →</th>${s.confusion.map((_, j) => `<th scope="col">${j}</th>`).join("")}</tr>`;
    const rows = s.confusion.map((row, i) => `<tr><th scope="row">${i}</th>${row.map((n, j) => {
      const shade = (n / biggest) ** 0.5;
      const colour = i === j ? `rgba(15,118,110,${shade.toFixed(2)})` : `rgba(178,24,43,${Math.min(1, 3 * shade).toFixed(2)})`;
      const dark = shade > 0.5 ? " dark" : "";
      return `<td class="cell${dark}" style="background:${n ? colour : "transparent"}" ` +
        `title="label ${i}, guessed ${j}: ${n}">${n || ""}</td>`;
    }).join("")}</tr>`);
    $("#confusion").innerHTML = `<thead>${head}</thead><tbody>${rows.join("")}</tbody>`;
  },

  async showImages() {
    const wrong = $("#test-wrong").checked;
    const digit = $("#test-label").value;
    const query = `network=${this.network()}&start=${this.start}&count=${PAGE}&wrong=${wrong}` +
      (digit === "" ? "" : `&label=${digit}`);
    this.page = await api(`/api/test-images?${query}`);
    const grid = $("#test-grid");
    grid.replaceChildren(...this.page.images.map((image) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "test-image" + (image.label === image.guess ? "" : " wrong");
      button.dataset.index = image.index;
      const words = image.label === image.guess ? `guessed ${image.guess}, right` : `guessed ${image.guess}, wrong`;
      button.setAttribute("aria-label", `test image ${image.index}: a ${image.label}, ${words}; show it in Draw`);
      button.innerHTML = `<canvas width="28" height="28" class="pixels" aria-hidden="true"></canvas>` +
        `<span>#${image.index}: <b>${image.label}</b> → ${image.guess}</span>`;
      drawGrey($("canvas", button), image.pixels);
      button.addEventListener("click", () => this.use(image.index));
      return button;
    }));
    const last = Math.min(this.start + PAGE, this.page.total);
    $("#test-range").textContent = this.page.total
      ? `${count(this.start + 1)}–${count(last)} of ${count(this.page.total)}` : "none";
    $("#test-prev").disabled = this.start === 0;
    $("#test-next").disabled = last >= this.page.total;
  },

  // Read the chosen file and send it; the server checks it as `nudgenet predict` would.
  async upload() {
    const file = $("#model-file").files[0];
    if (!file) return;
    if (file.size > 650_000) {
      this.message(`${file.name} is ${count(file.size)} bytes: the page loads model files of at most 650,000 bytes.`, true);
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    try {
      const info = await api("/api/model", { npz_base64: btoa(binary) });
      this.message(`Now serving ${file.name}: ${info.sizes.join("-")}, ${info.activation}.`);
      window.dispatchEvent(new CustomEvent("nudgenet:served-model"));
      $("#test-network").value = "served";
      this.start = 0;
      await this.show();
      this.message(`Now serving ${file.name}: ${info.sizes.join("-")}, ${info.activation}.`);
    } catch (error) {
      this.message(`${file.name}: ${explain(error)}`, true);
    }
  },
};
