// Small helpers for the page's elements and numbers.

export const $ = (selector, root = document) => root.querySelector(selector);

const SVG_NS = "http://www.w3.org/2000/svg";

// An SVG element with these attributes, appended to parent if one is given.
export function svg(tag, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  if (parent) parent.appendChild(element);
  return element;
}

// A number for people: a few significant digits, exponents only when very large or small,
// and a dash for a value the server could not compute (null).
export function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "—";
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

// A count for people: 200,000 rather than 2.00e+5 (steps, images).
export function count(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—";
}
