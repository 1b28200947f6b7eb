// The page's state in its address: the panel (#learn) and, in the query, the settings
// that reproduce what is on screen: the training form, the speed, the formula, w₀ and η of
// Descend, and the test image on the pad. A teacher copies the address; whoever opens it
// gets the same settings, and with the same seed the same run, number for number.

export function readParams() {
  return new URLSearchParams(location.search);
}

// Set (or, with null, remove) some parameters, keeping the others and the panel.
export function writeParams(updates) {
  const params = readParams();
  for (const [key, value] of Object.entries(updates)) {
    if (value === null || value === undefined || value === "") params.delete(key);
    else params.set(key, String(value));
  }
  const query = params.toString();
  history.replaceState(null, "", `${location.pathname}${query ? "?" + query : ""}${location.hash}`);
}
