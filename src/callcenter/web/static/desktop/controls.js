// Which desktop buttons work in which agent state, the pending-pause
// indicator, and the keyboard shortcuts.  A button that would only earn a
// 409 is disabled; its shortcut does nothing.
import { t } from "/static/common/i18n.js";

const BUSY = ["ringing", "on_call", "on_hold", "wrap_up"];

/** The ids of the buttons that work now. */
export function enabledButtons(agent, { hasInterface, wantedQueues }) {
  const on = new Set();
  if (!hasInterface) return on;
  const state = agent ? agent.state : "logged_out";
  const inQueues = new Set(((agent && agent.queues) || []).map((q) => q.queue));
  const missing = wantedQueues.some((q) => !inQueues.has(q));
  if (missing) on.add("login-btn");
  if (inQueues.size) on.add("logout-btn-q");
  if (state === "paused" || (pendingPause(agent) && state !== "wrap_up")) on.add("ready-btn");
  if (inQueues.size && state !== "logged_out") on.add("pause-btn");
  if (["logged_out", "available", "paused"].includes(state)) on.add("dial-btn");
  if (state === "on_call") on.add("hold-btn");
  if (state === "on_hold") on.add("unhold-btn");
  if (state === "on_call" || state === "on_hold") {
    on.add("hangup-btn");
    on.add("xfer-btn");
  }
  if (state === "wrap_up") on.add("wrap-submit");
  return on;
}

/** Paused in every queue while still busy: the pause starts when the call and wrap-up are over. */
export function pendingPause(agent) {
  if (!agent || !BUSY.includes(agent.state) || !(agent.queues || []).length) return false;
  return agent.queues.every((q) => q.paused);
}

export const isBusy = (agent) => !!agent && BUSY.includes(agent.state);

export const SHORTCUTS = [
  ["F2", "ready-btn", "desk.ready"],
  ["F3", "pause-btn", "desk.pause"],
  ["F4", ["hold-btn", "unhold-btn"], "keys.hold"],
  ["F6", "xfer-btn", "ctl.doTransfer"],
  ["F7", "dial-btn", "ctl.dial"],
  ["F8", "hangup-btn", "ctl.hangup"],
  ["F9", "login-btn", "desk.login"],
  ["Ctrl+Enter", "wrap-submit", "wrap.submitShort"],
];

/** Shortcuts click the button they stand for, when it is enabled.  F6 and
 * F7 first put the cursor in the empty target/number field. */
export function installShortcuts(doc = document) {
  doc.addEventListener("keydown", (e) => {
    const combo = (e.ctrlKey ? "Ctrl+" : "") + e.key;
    const hit = SHORTCUTS.find(([k]) => k === combo);
    if (!hit) return;
    e.preventDefault();
    const ids = Array.isArray(hit[1]) ? hit[1] : [hit[1]];
    const field = { "xfer-btn": "xfer-target", "dial-btn": "dial-number" }[ids[0]];
    if (field && !doc.getElementById(field).value.trim()) {
      doc.getElementById(field).focus();
      return;
    }
    const button = ids.map((id) => doc.getElementById(id)).find((b) => b && !b.disabled);
    if (button) button.click();
  });
  for (const b of doc.querySelectorAll("button[data-key]")) b.setAttribute("aria-keyshortcuts", b.dataset.key.replace("Ctrl+", "Control+"));
}

/** The shortcut list shown on the page. */
export function shortcutHelp(list) {
  list.replaceChildren(...SHORTCUTS.map(([key, , label]) => {
    const li = document.createElement("li");
    const k = document.createElement("kbd");
    k.textContent = key;
    k.translate = false;
    const s = document.createElement("span");
    s.dataset.i18n = label;
    s.textContent = t(label);
    li.append(k, " ", s);
    return li;
  }));
}
