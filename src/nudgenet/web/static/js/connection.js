// Whether the server is there, for every panel at once.
//
// api() reports each answer and each request that got none. Once one gets none, the page
// says so in a banner that stays on top, panels hold their requests instead of retrying on
// every pointer move, and one probe asks again after 1, 2, 4, … up to 15 seconds, until the
// server answers; then the panels are told, and carry on.

import { $ } from "./dom.js";

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15000;

export const connection = {
  up: true,
  delay: FIRST_DELAY_MS,
  timer: null,
  probes: 0, // how many times it asked while the server was gone (the tests read it)
  listeners: [], // called with true when the server is back, false when it went

  onChange(listener) {
    this.listeners.push(listener);
  },

  lost() {
    if (!this.up) return;
    this.up = false;
    this.delay = FIRST_DELAY_MS;
    this.show();
    this.listeners.forEach((f) => f(false));
    this.schedule();
  },

  answered() {
    if (this.up) return;
    this.up = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.show();
    this.listeners.forEach((f) => f(true));
  },

  schedule() {
    clearTimeout(this.timer);
    this.show();
    this.timer = setTimeout(() => this.probe(), this.delay);
  },

  async probe() {
    this.probes += 1;
    try {
      await fetch("/api/train", { cache: "no-store" });
      this.answered();
    } catch {
      this.delay = Math.min(2 * this.delay, MAX_DELAY_MS);
      this.schedule();
    }
  },

  show() {
    const banner = $("#server-banner");
    if (!banner) return;
    banner.hidden = this.up;
    document.body.dataset.server = this.up ? "up" : "stopped";
    if (!this.up) {
      $("#server-banner-text").textContent =
        "The server has stopped: nudgenet serve is not running. Start it again; this page " +
        `asks again every ${Math.round(this.delay / 1000)} s and carries on by itself.`;
    }
  },
};
