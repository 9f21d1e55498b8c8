// The recording player: a two-lane waveform (caller above, agent below)
// drawn from the server's cached peaks, with the call's events and the
// annotations marked on it.  Audio streams with HTTP Range, so seeking in
// a long file is immediate.
import { mmss, t } from "/static/common/i18n.js";

export const EVENT_COLOURS = {
  queued: "#8d96a0", ringing: "#d29922", answered: "#1a7f37", hold: "#bf3989",
  unhold: "#8250df", transfer: "#1f6feb", hangup: "#cf222e",
};
const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
const MARK_H = 16; // marker strip above the lanes

export class Player {
  constructor(root) {
    this.audio = root.querySelector("#audio");
    this.canvas = root.querySelector("#wave");
    this.playBtn = root.querySelector("#play");
    this.speed = root.querySelector("#speed");
    this.now = root.querySelector("#t-now");
    this.total = root.querySelector("#t-total");
    this.peaks = null;
    this.events = [];
    this.notes = [];
    this.duration = 0;
    this.onTime = () => {};
    root.querySelector("#back5").onclick = () => this.skip(-5);
    root.querySelector("#fwd5").onclick = () => this.skip(5);
    this.playBtn.onclick = () => this.toggle();
    this.speed.onchange = () => { this.audio.playbackRate = Number(this.speed.value); };
    this.canvas.addEventListener("click", (e) => {
      const r = this.canvas.getBoundingClientRect();
      this.seek(((e.clientX - r.left) / r.width) * this.length());
    });
    this.hover = null;
    this.canvas.addEventListener("mousemove", (e) => { this.hover = e.clientX - this.canvas.getBoundingClientRect().left; this.draw(); });
    this.canvas.addEventListener("mouseleave", () => { this.hover = null; this.draw(); });
    this.audio.addEventListener("timeupdate", () => this.tick());
    this.audio.addEventListener("seeked", () => this.tick());
    this.audio.addEventListener("loadedmetadata", () => { if (!this.duration) this.duration = this.audio.duration; this.tick(); });
    this.audio.addEventListener("play", () => this.label());
    this.audio.addEventListener("pause", () => this.label());
    this.audio.addEventListener("ended", () => this.label());
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    // colours come from the theme: redraw when it changes
    new MutationObserver(() => this.draw()).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    document.addEventListener("keydown", (e) => this.key(e));
  }

  load(src, peaks, events, notes) {
    this.audio.pause();
    this.peaks = peaks;
    this.duration = peaks ? peaks.duration_s : 0;
    this.events = events;
    this.notes = notes;
    this.audio.playbackRate = Number(this.speed.value);
    if (src) this.audio.src = src; else this.audio.removeAttribute("src");
    this.label();
    this.tick();
  }

  setNotes(notes) { this.notes = notes; this.draw(); }
  length() { return this.duration || this.audio.duration || 0; }
  time() { return this.audio.currentTime || 0; }

  seek(s) {
    if (!this.audio.src) return;
    this.audio.currentTime = Math.max(0, Math.min(this.length(), s));
    this.tick();
  }

  skip(d) { this.seek(this.time() + d); }

  toggle() {
    if (!this.audio.src) return;
    if (this.audio.paused) this.audio.play().catch(() => {}); else this.audio.pause();
  }

  changeSpeed(dir) {
    const i = SPEEDS.indexOf(Number(this.speed.value));
    const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i + dir))];
    this.speed.value = String(next);
    this.audio.playbackRate = next;
  }

  key(e) {
    const tag = (e.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select"].includes(tag) || e.target.isContentEditable) return;
    if (document.getElementById("view-call").classList.contains("hidden")) return;
    const step = e.shiftKey ? 1 : 5;
    const keys = {
      " ": () => this.toggle(),
      ArrowLeft: () => this.skip(-step),
      ArrowRight: () => this.skip(step),
      ArrowUp: () => this.changeSpeed(1),
      ArrowDown: () => this.changeSpeed(-1),
      Home: () => this.seek(0),
      n: () => document.getElementById("note-text")?.focus(),
      N: () => document.getElementById("note-text")?.focus(),
    };
    if (keys[e.key] && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      keys[e.key]();
    }
  }

  label() {
    this.playBtn.textContent = this.audio.paused ? `▶ ${t("qa.play")}` : `⏸ ${t("qa.pause")}`;
  }

  tick() {
    this.now.textContent = mmss(this.time());
    this.total.textContent = mmss(this.length());
    this.onTime(this.time());
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const line = css.getPropertyValue("--line").trim() || "#ddd";
    const muted = css.getPropertyValue("--muted").trim() || "#888";
    const len = this.length();
    const x = (s) => (len ? (s / len) * w : 0);
    const lanes = this.peaks ? this.peaks.peaks : [];
    const laneH = (h - MARK_H) / Math.max(2, lanes.length || 2);
    const played = x(this.time());
    const colours = ["#1f6feb", "#1a7f37"];
    // lanes
    for (let l = 0; l < Math.max(2, lanes.length); l++) {
      const top = MARK_H + l * laneH, mid = top + laneH / 2;
      g.fillStyle = l % 2 ? "rgba(26,127,55,0.04)" : "rgba(31,111,235,0.04)";
      g.fillRect(0, top, w, laneH);
      g.strokeStyle = line;
      g.beginPath(); g.moveTo(0, top + laneH - 0.5); g.lineTo(w, top + laneH - 0.5); g.stroke();
      const p = lanes[l];
      if (!p) continue;
      const per = p.length / w;
      for (let px = 0; px < w; px++) {
        let m = 0;
        const a = Math.floor(px * per), b = Math.max(a + 1, Math.floor((px + 1) * per));
        for (let i = a; i < b && i < p.length; i++) if (p[i] > m) m = p[i];
        const amp = Math.max(0.5, (m / 100) * (laneH / 2 - 3));
        g.fillStyle = px <= played ? colours[l % 2] : colours[l % 2] + "66";
        g.fillRect(px, mid - amp, 1, amp * 2);
      }
    }
    // event markers (events before the recording began sit at 0)
    g.font = "10px " + (css.getPropertyValue("--font") || "sans-serif");
    for (const e of this.events) {
      const ex = Math.max(1, Math.min(w - 1, x(Math.max(0, e.at_s))));
      g.strokeStyle = EVENT_COLOURS[e.kind] || muted;
      g.lineWidth = 1.5;
      g.setLineDash([3, 3]);
      g.beginPath(); g.moveTo(ex, MARK_H - 4); g.lineTo(ex, h); g.stroke();
      g.setLineDash([]);
      g.fillStyle = EVENT_COLOURS[e.kind] || muted;
      g.beginPath(); g.moveTo(ex - 4, 2); g.lineTo(ex + 4, 2); g.lineTo(ex, MARK_H - 4); g.fill();
    }
    // annotations: yellow flags at the bottom
    for (const n of this.notes) {
      const nx = x(n.at_s);
      g.fillStyle = "#d29922";
      g.beginPath(); g.moveTo(nx, h); g.lineTo(nx - 5, h - 9); g.lineTo(nx + 5, h - 9); g.fill();
    }
    // where a click would seek to
    if (this.hover != null && len) {
      g.strokeStyle = muted;
      g.beginPath(); g.moveTo(this.hover, MARK_H); g.lineTo(this.hover, h); g.stroke();
      const label = mmss((this.hover / w) * len);
      const tw = g.measureText(label).width + 8;
      const lx = Math.min(w - tw, this.hover + 4);
      g.fillStyle = css.getPropertyValue("--panel").trim() || "#fff";
      g.fillRect(lx, MARK_H, tw, 14);
      g.fillStyle = css.getPropertyValue("--text").trim() || "#000";
      g.fillText(label, lx + 4, MARK_H + 11);
    }
    // playhead
    g.strokeStyle = "#cf222e";
    g.lineWidth = 2;
    g.beginPath(); g.moveTo(played, 0); g.lineTo(played, h); g.stroke();
    g.lineWidth = 1;
  }
}
