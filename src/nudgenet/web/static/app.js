// nudgenet's page: four panels over the JSON API of `nudgenet serve`.
//
// The page computes nothing about the network itself: every activation, probability,
// gradient and descent step comes from the server, which calls the same library functions
// as the command line. The modules in js/ only draw: a pad for the digit, an SVG diagram
// of the layers, canvas charts, and weight images (blue negative, white zero, red positive).
//
// This module starts the panels, one module each, and wires them together: the tabs, the
// training job's event stream (which two panels follow) and the drawing Nudges works on.

import { $ } from "./js/dom.js";
import { descend } from "./js/descend.js";
import { draw } from "./js/draw.js";
import { experiments } from "./js/experiments.js";
import { learn } from "./js/learn.js";
import { nudges } from "./js/nudges.js";

const PANELS = ["draw", "learn", "descend", "nudges"];
const TERMINAL = new Set(["finished", "stopped", "failed"]);

// ------------------------------------------------------------------------ tabs

function showPanel() {
  const name = PANELS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "draw";
  for (const panel of PANELS) {
    $(`#${panel}`).hidden = panel !== name;
    const tab = $(`.tabs a[data-tab="${panel}"]`);
    if (panel === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  // Canvases size themselves to their boxes, which only exist once shown.
  if (name === "learn") learn.redraw();
  if (name === "descend") descend.redraw();
  if (name === "nudges") nudges.show();
}

// ------------------------------------------------------------------------ training events

let source = null;

// Follow a training job from its first event, by server-sent events (an EventSource, which
// reconnects by itself). Learn charts them; Draw asks the network again as its θ moves.
function followTraining(status) {
  if (source) source.close();
  learn.reset(status);
  const events = new EventSource("/api/train/events?since=0");
  source = events;
  const on = (name, handle) => events.addEventListener(name, (e) => handle(JSON.parse(e.data)));
  on("state", (state) => {
    learn.showState(state);
    if (TERMINAL.has(state.state)) events.close(); // no more events: stop reconnecting
    draw.trainingMoved();
  });
  on("steps", (steps) => learn.addSteps(steps.points));
  on("epoch", (epoch) => learn.addEpoch(epoch));
  on("weights", (weights) => {
    learn.showWeights(weights);
    draw.trainingMoved();
  });
}

// ------------------------------------------------------------------------ start

// Module scripts run once the document is parsed, so the panels' elements are all there.
draw.init({ onPrediction: () => nudges.drawingChanged() });
experiments.init({ draw });
learn.init({ follow: followTraining });
descend.init();
nudges.init();
window.addEventListener("hashchange", showPanel);
showPanel();

// A module's names are not globals: put the panels on window, so that their state can be
// looked at from the browser's console (the browser tests read it too).
Object.assign(window, { draw, learn, descend, nudges, experiments });
