// A small line chart on a canvas, drawn by hand. The page needs only lines, dots, round
// ticks and a hook to draw on top (the Descend panel's ball and trail). A charting library
// such as uPlot would save a few dozen lines here but ship 50-145 KB more, want all series
// on one shared x array (Learn's batch and epoch points are not), and change the look.
// A point whose y is null (a cost that blew up past what JSON can carry) breaks its line
// and is marked by a red ✕ at the top of the chart, where it went.

import { fmt } from "./dom.js";

const MARGIN = { left: 48, right: 20, top: 20, bottom: 34 };

// Draw series of [x, y] points ({points, color, width, dots}) on axes from (xMin, yMin)
// to (xMax, yMax) with round ticks. The canvas is sized to its on-screen box at the
// screen's pixel density, so the chart stays sharp; a hidden canvas (no box) is left alone.
// marker(ctx, X, Y), if given, draws last, with X and Y mapping data to canvas coordinates.
// label, if given, becomes the canvas's text alternative (aria-label).
export function lineChart(canvas, { series, xMin = 0, xMax, yMin = 0, yMax, xLabel, yLabel = "", yFormat = fmt, xFormat = fmt, marker, label }) {
  if (label) canvas.setAttribute("aria-label", label);
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const { left, right, top, bottom } = MARGIN;
  const w = width - left - right;
  const h = height - top - bottom;
  const X = (x) => left + ((x - xMin) / (xMax - xMin || 1)) * w;
  const Y = (y) => top + h - ((y - yMin) / (yMax - yMin || 1)) * h;

  // Grid lines and tick labels, then the axes' names and lines.
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#667085";
  ctx.strokeStyle = "#e5e7eb";
  ctx.lineWidth = 1;
  for (const y of ticks(yMin, yMax, 5)) {
    ctx.beginPath();
    ctx.moveTo(left, Y(y));
    ctx.lineTo(left + w, Y(y));
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(yFormat(y), left - 6, Y(y) + 4);
  }
  ctx.textAlign = "center";
  for (const x of ticks(xMin, xMax, Math.max(2, Math.floor(w / 80)))) {
    ctx.fillText(xFormat(x), X(x), top + h + 15);
  }
  ctx.fillText(xLabel, left + w / 2, height - 3);
  ctx.textAlign = "left";
  ctx.fillText(yLabel, 6, 11);
  ctx.strokeStyle = "#98a2b3";
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, top + h);
  ctx.lineTo(left + w, top + h);
  ctx.stroke();

  // The data, clipped to the plot (with room for the dots at its edges).
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top - 4, w + 4, h + 8);
  ctx.clip();
  for (const s of series) {
    if (!s.points.length) continue;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.width || 2;
    ctx.beginPath();
    let pen = false; // whether the line goes on from the point before
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        blownUp(ctx, X(x), top);
        continue;
      }
      if (pen) ctx.lineTo(X(x), Y(y));
      else ctx.moveTo(X(x), Y(y));
      pen = true;
    }
    ctx.stroke();
    if (s.dots) {
      for (const [x, y] of s.points.filter(([, y]) => y !== null)) {
        ctx.beginPath();
        ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
  if (marker) marker(ctx, X, Y);
  ctx.restore();
}

// A red ✕ at the top of the chart: here the cost blew up.
function blownUp(ctx, x, top) {
  ctx.save();
  ctx.strokeStyle = "#b2182b";
  ctx.lineWidth = 2.5;
  ctx.beginPath();
  ctx.moveTo(x - 5, top + 1);
  ctx.lineTo(x + 5, top + 11);
  ctx.moveTo(x + 5, top + 1);
  ctx.lineTo(x - 5, top + 11);
  ctx.stroke();
  ctx.restore();
}

// About n round numbers (steps of 1, 2, 2.5 or 5 times a power of ten) from lo to hi.
export function ticks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}
