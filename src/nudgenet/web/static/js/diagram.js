// The network as columns of neurons, on an SVG: the Draw panel shows what one drawing does
// to it, the Learn panel how its weights change while it trains.
//
// drawNetwork(root, {sizes, image, neuron, edge, selected, onChoose, note}) draws the 28×28
// input (a data: URL, or lines of text in its place) fanning into the first hidden layer, one circle per later neuron, and a line
// per weight between the later layers (of a wide layer, only the strongest MAX_LINES):
//   neuron(l, j) → a value in [-1, 1]: white for positive, blue for negative;
//   edge(l, j, k) → a value in [-1, 1] for the line from neuron k of layer l − 1 to neuron j
//     of layer l (l ≥ 2): red positive, blue negative, its strength as opacity and width;
//   title(l, j) → the neuron's text alternative;
//   onChoose(l, j), if given, makes the neurons buttons (click, Enter or Space); the chosen
//     one keeps the keyboard focus when the diagram is drawn again.

import { svg } from "./dom.js";

const WIDTH = 640;
const HEIGHT = 360;
const MAX_LINES = 2000; // per layer: the 16 × 16 of the seed network is 256

export function drawNetwork(root, { sizes, image, neuron, edge, title, selected = null, guess = null, onChoose = null, note = "" }) {
  const focused = document.activeElement && root.contains(document.activeElement)
    ? [document.activeElement.dataset.layer, document.activeElement.dataset.index] : null;
  root.replaceChildren();
  const top = 28;
  const bottom = HEIGHT - 14;
  const imageSize = 120;
  const imageX = 14;
  const imageY = (top + bottom) / 2 - imageSize / 2;
  const columns = sizes.length - 1;
  const xs = [];
  for (let l = 1; l <= columns; l++) xs.push(210 + ((l - 1) * (WIDTH - 270)) / Math.max(1, columns - 1));
  const ys = sizes.slice(1).map((n) => {
    const gap = Math.min(22, (bottom - top) / n);
    const start = (top + bottom) / 2 - (gap * (n - 1)) / 2;
    return Array.from({ length: n }, (_, j) => start + j * gap);
  });
  const radius = sizes.slice(1).map((n) => Math.max(1.6, Math.min(9, (bottom - top) / n / 2 - 1.5)));

  const lines = svg("g", {}, root);
  if (image) {
    svg("image", {
      href: image, x: imageX, y: imageY, width: imageSize, height: imageSize,
      style: "image-rendering: pixelated",
    }, root);
  }
  svg("rect", { x: imageX, y: imageY, width: imageSize, height: imageSize, fill: "none", stroke: "#475569" }, root);
  note.split("\n").forEach((line, i) => {
    const t = svg("text", { x: imageX + imageSize / 2, y: imageY + imageSize / 2 - 6 + 16 * i, "text-anchor": "middle", class: "layer-label" }, root);
    t.textContent = line;
  });
  const label = (x, text) => {
    const t = svg("text", { x, y: 16, "text-anchor": "middle", class: "layer-label" }, root);
    t.textContent = text;
  };
  label(imageX + imageSize / 2, `${sizes[0]} inputs`);
  for (const y of ys[0]) {
    svg("line", {
      x1: imageX + imageSize, y1: (top + bottom) / 2, x2: xs[0], y2: y,
      stroke: "#334155", "stroke-width": 0.6,
    }, lines);
  }
  for (let l = 2; l <= columns && edge; l++) {
    // A wide layer has more weights than lines a page can draw: only its strongest show.
    const strengths = [];
    for (let j = 0; j < sizes[l]; j++) {
      for (let k = 0; k < sizes[l - 1]; k++) strengths.push(Math.abs(edge(l, j, k)) || 0);
    }
    const floor = strengths.length > MAX_LINES
      ? Math.max(0.04, strengths.sort((a, b) => b - a)[MAX_LINES - 1]) : 0.04;
    for (let j = 0; j < sizes[l]; j++) {
      for (let k = 0; k < sizes[l - 1]; k++) {
        const s = edge(l, j, k);
        if (!(Math.abs(s) >= floor)) continue;
        svg("line", {
          x1: xs[l - 2], y1: ys[l - 2][k], x2: xs[l - 1], y2: ys[l - 1][j],
          stroke: s < 0 ? "rgb(96,165,250)" : "rgb(248,113,113)",
          "stroke-opacity": Math.min(1, Math.abs(s)).toFixed(2),
          "stroke-width": (0.5 + 1.8 * Math.min(1, Math.abs(s))).toFixed(2),
          class: "edge", "data-layer": l, "data-to": j, "data-from": k,
        }, lines);
      }
    }
  }
  for (let l = 1; l <= columns; l++) {
    const n = sizes[l];
    const isOutput = l === columns;
    label(xs[l - 1], isOutput ? `${n} outputs` : `${n} hidden`);
    for (let j = 0; j < n; j++) {
      const attributes = { class: "neuron", "data-layer": l, "data-index": j };
      if (onChoose) Object.assign(attributes, { tabindex: 0, role: "button" });
      const g = svg("g", attributes, root);
      const v = Math.max(-1, Math.min(1, neuron(l, j) || 0));
      const fill = v >= 0 ? `rgba(255,255,255,${v.toFixed(3)})` : `rgba(96,165,250,${(-v).toFixed(3)})`;
      const gap = n > 1 ? ys[l - 1][1] - ys[l - 1][0] : 40;
      svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: Math.max(radius[l - 1] + 2.5, gap / 2), fill: "transparent" }, g);
      svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1], fill, stroke: "#64748b", "stroke-width": 1 }, g);
      const text = title(l, j);
      svg("title", {}, g).textContent = text;
      if (onChoose) g.setAttribute("aria-label", text);
      if (selected && selected[0] === l && selected[1] === j) g.classList.add("selected");
      if (isOutput) {
        svg("text", { x: xs[l - 1] + radius[l - 1] + 8, y: ys[l - 1][j] + 4 }, root).textContent = j;
        if (j === guess) svg("circle", { cx: xs[l - 1], cy: ys[l - 1][j], r: radius[l - 1] + 4, class: "guess-ring" }, root);
      }
      if (onChoose) {
        g.addEventListener("click", () => onChoose(l, j));
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            onChoose(l, j);
          }
        });
      }
    }
  }
  // Drawing again replaced the element that had the focus: give it to its successor.
  const keep = selected ? [String(selected[0]), String(selected[1])] : focused;
  if (focused && keep) {
    const again = root.querySelector(`.neuron[data-layer="${keep[0]}"][data-index="${keep[1]}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}
