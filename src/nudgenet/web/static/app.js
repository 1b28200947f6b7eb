// nudgenet's page: five panels over the JSON API of `nudgenet serve`.
//
// The page computes nothing about the network itself: every activation, probability,
// gradient and descent step comes from the server, which calls the same library functions
// as the command line. The modules in js/ only draw: a pad for the digit, an SVG diagram
// of the layers, canvas charts, and weight images (blue negative, white zero, red positive).
//
// This module starts the panels, one module each, and wires them together: the tabs, the
// training job's event stream (which two panels follow), the drawing Nudges works on, and
// what happens when the server stops and comes back (js/connection.js).

import { api } from "./js/api.js";
import { backprop } from "./js/backprop.js";
import { connection } from "./js/connection.js";
import { $ } from "./js/dom.js";
import { descend } from "./js/descend.js";
import { draw } from "./js/draw.js";
import { experiments } from "./js/experiments.js";
import { learn } from "./js/learn.js";
import { nudges } from "./js/nudges.js";
import { testset } from "./js/testset.js";

const PANELS = ["draw", "backprop", "learn", "descend", "nudges", "test"];
const TERMINAL = new Set(["finished", "stopped", "failed"]);

// ------------------------------------------------------------------------ tabs

function showPanel() {
  const name = PANELS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "draw";
  for (const panel of PANELS) {
    const section = $(`#${panel}`);
    const tab = $(`.tabs a[data-tab="${panel}"]`);
    if (!section || !tab) continue;
    section.hidden = panel !== name;
    if (panel === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  // Canvases size themselves to their boxes, which only exist once shown.
  if (name === "learn") learn.redraw();
  if (name === "descend") descend.show();
  if (name === "nudges") nudges.show();
  if (name === "backprop") backprop.show();
  if (name === "test") testset.show();
}

// ------------------------------------------------------------------------ training events

const stream = { source: null, job: null, lastId: -1 };

// Follow a training job from its first event, by server-sent events (an EventSource, which
// reconnects by itself while the server is up). Learn charts them; Draw asks the network
// again as its θ moves. When the server stops, the stream is closed (no retries every two
// seconds) and opened again from the last event seen once the server is back.
function followTraining(status) {
  learn.reset(status);
  stream.job = status.job;
  stream.lastId = -1;
  openStream();
}

function openStream() {
  if (stream.source) stream.source.close();
  const events = new EventSource(`/api/train/events?since=${stream.lastId + 1}`);
  stream.source = events;
  const on = (name, handle) => events.addEventListener(name, (e) => {
    stream.lastId = Number(e.lastEventId);
    handle(JSON.parse(e.data));
  });
  on("state", (state) => {
    learn.showState(state);
    if (TERMINAL.has(state.state)) {
      events.close(); // no more events: stop reconnecting
      stream.source = null;
    }
    draw.trainingMoved();
  });
  on("steps", (steps) => learn.addSteps(steps));
  on("epoch", (epoch) => learn.addEpoch(epoch));
  on("weights", (weights) => {
    learn.showWeights(weights);
    draw.trainingMoved();
  });
  events.addEventListener("error", () => {
    // Closed by the server, or no server: ask once; api() tells connection.js which.
    fetch("/api/train", { cache: "no-store" }).then(() => connection.answered(), () => {
      events.close();
      stream.source = null;
      connection.lost();
    });
  });
}

// The server is back: the same job goes on from the last event seen; a server started
// afresh has another job, or none.
connection.onChange(async (up) => {
  if (!up) return;
  try {
    const status = await api("/api/train");
    if (status.job !== null && status.job === stream.job) {
      learn.showState({ ...learn.job, ...status });
      if (!TERMINAL.has(status.state) && !stream.source) openStream();
    } else if (status.job !== null) {
      followTraining(status);
    } else {
      stream.job = null;
      learn.reset(status);
    }
  } catch {
    // Gone again: connection.js keeps asking.
  }
});

// ------------------------------------------------------------------------ start

// Module scripts run once the document is parsed, so the panels' elements are all there.
draw.init({ onPrediction: () => nudges.drawingChanged() });
experiments.init({ draw });
learn.init({ follow: followTraining });
descend.init();
nudges.init();
backprop.init();
testset.init({ use: (index) => {
  location.hash = "#draw";
  draw.useTestImage(index);
} });
window.addEventListener("hashchange", showPanel);
showPanel();
const start = new URLSearchParams(location.search).get("image");
if (start !== null && /^\d+$/.test(start)) {
  $("#test-image").value = start;
  draw.useTestImage(Number(start));
}

// A module's names are not globals: put the panels on window, so that their state can be
// looked at from the browser's console (the browser tests read it too).
Object.assign(window, { draw, learn, descend, nudges, backprop, testset, connection, experiments });
