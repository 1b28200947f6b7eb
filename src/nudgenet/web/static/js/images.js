// Pixel images on canvases: ink as the network sees it, and weights in a diverging
// palette (blue negative, white zero, red positive), one pixel per value.

import { $ } from "./dom.js";

const NEG = [33, 102, 172]; // #2166ac
const POS = [178, 24, 43]; // #b2182b
const PADDING = [238, 240, 244]; // the unused cells when n is not a square

// v in [-1, 1] to an RGB triple: blue, white at 0, red.
function diverging(v) {
  const t = Math.min(1, Math.abs(v));
  const end = v < 0 ? NEG : POS;
  return end.map((c) => Math.round(255 + (c - 255) * t));
}

export function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m || 1;
}

// The side of the square grid a vector of n values is drawn on (784 → 28).
function gridSide(n) {
  return Math.ceil(Math.sqrt(n));
}

// Size the canvas to the square for n values, let colour(i) fill each pixel, and show it.
function paint(canvas, n, colour) {
  const side = gridSide(n);
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    image.data.set([...(i < n ? colour(i) : PADDING), 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

// Draw values (e.g. one neuron's incoming weights) as a diverging image, scaled by max |v|.
export function drawWeights(canvas, values, scale = maxAbs(values)) {
  paint(canvas, values.length, (i) => diverging(values[i] / scale));
}

// Draw 0..255 ink levels as white on black, as the network sees them.
export function drawGrey(canvas, pixels) {
  paint(canvas, pixels.length, (i) => [pixels[i], pixels[i], pixels[i]]);
}

// The weights in grey (light: positive), the nudges on top in red (grow) and blue (shrink).
// The square root lets small nudges show beside the few large ones.
export function drawOverlay(canvas, weights, nudges, nudgeScale) {
  const wScale = maxAbs(weights);
  paint(canvas, weights.length, (i) => {
    const grey = 128 + 110 * (weights[i] / wScale);
    const t = Math.min(1, Math.sqrt(Math.abs(nudges[i]) / nudgeScale));
    const end = nudges[i] < 0 ? NEG : POS;
    return end.map((c) => Math.round(grey + (c - grey) * t));
  });
}

// Grow or shrink a grid to n numbered figures, each with a canvas; returns the canvases.
export function figureGrid(grid, n) {
  while (grid.children.length < n) {
    const figure = document.createElement("figure");
    figure.innerHTML = `<canvas></canvas><figcaption>${grid.children.length}</figcaption>`;
    grid.appendChild(figure);
  }
  while (grid.children.length > n) grid.lastChild.remove();
  return [...grid.children].map((figure) => $("canvas", figure));
}
