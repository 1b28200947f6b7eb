// The Learn panel's settings form: what it asks, within which ranges, and in which words.
//
// The ranges are the server's: /openapi.json documents each field's bounds (the option
// table's, narrowed by web/schemas.py's caps), and the form takes them from there, so the
// page refuses what the server would, before sending it, naming the field as the form does.
// An empty field is refused, never read as 0.

import { $ } from "./dom.js";
import { readParams, writeParams } from "./urlstate.js";

// Request field → the form's label for it (hidden's index: which hidden layer).
const LABELS = {
  hidden: "hidden layers", activation: "activation", output: "output", cost: "cost",
  init: "initialisation", lr: "learning rate η", schedule: "schedule", momentum: "momentum",
  l2: "L2", batch_size: "batch size", epochs: "epochs", seed: "seed",
  train_size: "training images", speed: "speed",
};
const NUMBERS = ["lr", "momentum", "l2", "batch_size", "epochs", "seed", "train_size"];
const CHOICES = ["activation", "output", "cost", "init", "schedule"];
const URL_KEYS = ["hidden", ...CHOICES, ...NUMBERS, "speed"];

export function label(field, index) {
  const name = LABELS[field] || field;
  return field === "hidden" && index !== undefined ? `${name}, layer ${Number(index) + 1},` : name;
}

export const form = {
  element: null,
  bounds: {}, // field → {min, max, exclusiveMin, exclusiveMax}, from /openapi.json
  touched: false, // the learner has typed in the form since the page loaded

  init() {
    this.element = $("#train-form");
    this.fromParams();
    const edited = () => {
      this.touched = true;
      this.toParams();
    };
    this.element.addEventListener("input", edited);
    this.element.addEventListener("change", edited);
  },

  // The server's ranges, onto the inputs' min and max (and so the browser's own checks).
  async loadBounds() {
    try {
      const spec = await (await fetch("/openapi.json")).json();
      const props = spec.components.schemas.TrainRequest.properties;
      for (const [field, p] of Object.entries(props)) {
        const range = field === "hidden" ? p.items : p;
        this.bounds[field] = {
          min: range.minimum ?? range.exclusiveMinimum, max: range.maximum ?? range.exclusiveMaximum,
          exclusiveMin: range.exclusiveMinimum !== undefined, exclusiveMax: range.exclusiveMaximum !== undefined,
        };
        const input = this.element.elements[field];
        if (input && input.type === "number") {
          if (this.bounds[field].min !== undefined) input.min = this.bounds[field].min;
          if (this.bounds[field].max !== undefined && !this.bounds[field].exclusiveMax) input.max = this.bounds[field].max;
        }
      }
    } catch {
      // Without the ranges the server still checks every field, and says which one.
    }
  },

  field(name) {
    return this.element.elements[name];
  },

  // The request, or {error, field} naming the first field that cannot be sent.
  read() {
    const request = {};
    const hidden = this.field("hidden").value.trim();
    if (hidden !== "" && !/^\d+(\s*,\s*\d+)*$/.test(hidden)) {
      return { error: "hidden layers: write whole numbers separated by commas, e.g. 16,16 (empty: none)", field: "hidden" };
    }
    request.hidden = hidden === "" ? [] : hidden.split(",").map((t) => Number(t.trim()));
    const b = this.bounds.hidden || {};
    const bad = request.hidden.findIndex((n) => (b.min !== undefined && n < b.min) || (b.max !== undefined && n > b.max));
    if (bad >= 0) {
      return { error: `${label("hidden", bad)} must be from ${b.min} to ${b.max} neurons, got ${request.hidden[bad]}`, field: "hidden" };
    }
    for (const name of CHOICES) request[name] = this.field(name).value;
    for (const name of NUMBERS) {
      const text = this.field(name).value.trim();
      if (text === "") return { error: `${label(name)}: enter a number${this.rangeText(name)}`, field: name };
      const x = Number(text);
      if (!Number.isFinite(x)) return { error: `${label(name)}: "${text}" is not a number`, field: name };
      const wrong = this.outside(name, x);
      if (wrong) return { error: `${label(name)} ${wrong}, got ${text}`, field: name };
      request[name] = x;
    }
    request.speed = Number($("#speed").value);
    return { request };
  },

  rangeText(name) {
    const r = this.bounds[name];
    if (!r || r.min === undefined || r.max === undefined) return "";
    return ` from ${r.min}${r.exclusiveMin ? " (excluded)" : ""} to ${r.max}${r.exclusiveMax ? " (excluded)" : ""}`;
  },

  // Why x is out of the field's range ("must be at most 20"), or "" when it is in it.
  outside(name, x) {
    const r = this.bounds[name] || {};
    const input = this.field(name);
    if (input.step === "1" && !Number.isInteger(x)) return "must be a whole number";
    if (r.min !== undefined && (r.exclusiveMin ? x <= r.min : x < r.min)) {
      return r.exclusiveMin ? `must be above ${r.min}` : `must be at least ${r.min}`;
    }
    if (r.max !== undefined && (r.exclusiveMax ? x >= r.max : x > r.max)) {
      return r.exclusiveMax ? `must be below ${r.max}` : `must be at most ${r.max}`;
    }
    return "";
  },

  // Mark the field that was refused for the eye and for screen readers, and go to it.
  flag(name) {
    for (const input of this.element.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    if (!name || !this.field(name)) return;
    this.field(name).setAttribute("aria-invalid", "true");
    this.field(name).focus();
  },

  // Show a job's settings (from its status), so that the form says what is on screen.
  fill(settings) {
    if (!settings) return;
    this.field("hidden").value = settings.sizes.slice(1, -1).join(",");
    for (const name of [...CHOICES, ...NUMBERS]) {
      if (settings[name] !== undefined) this.field(name).value = settings[name];
    }
    this.toParams();
  },

  fromParams() {
    const params = readParams();
    for (const key of URL_KEYS) {
      if (!params.has(key)) continue;
      const input = key === "speed" ? $("#speed") : this.field(key);
      let value = params.get(key);
      if (key === "hidden" && value === "none") value = ""; // no hidden layer at all
      if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === value)) continue;
      input.value = value;
    }
    return URL_KEYS.some((key) => params.has(key));
  },

  toParams() {
    const updates = {};
    for (const key of URL_KEYS) updates[key] = key === "speed" ? $("#speed").value : this.field(key).value;
    if (updates.hidden.trim() === "") updates.hidden = "none"; // an empty value would drop the key
    writeParams(updates);
  },
};
