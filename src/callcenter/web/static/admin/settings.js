// Pause reasons with their limits, and the wallboard's colour bands and
// alert limits.  Open desktops and wallboards are told at once (the hub's
// "settings" message) and fetch them again.
import { api } from "/static/common/api.js";
import { el, field, input, rowsEditor, saveBar, select, tx } from "./ui.js";

export async function renderPauseReasons(view, state) {
  const ro = !state.canEdit;
  const rows = state.config.pause_reasons.map((r) => ({ ...r, max_min: r.max_s ? Math.round((r.max_s / 60) * 10) / 10 : 0 }));
  const editor = rowsEditor(
    [{ key: "code", label: "adm.p.code" }, { key: "zh", label: "adm.p.zh" }, { key: "en", label: "adm.p.en" },
      { key: "max_min", label: "adm.p.max", type: "number", attrs: { min: 0, max: 1440, step: "0.5" } }],
    rows, { readOnly: ro, blank: { code: "", zh: "", en: "", max_min: 15 } });
  view.append(el("h2", {}, tx("adm.s.pause")), tx("adm.p.help", null, "p"), editor.element,
    ro ? "" : saveBar(async () => {
      const reasons = editor.rows().map((r) => ({ code: r.code, zh: r.zh, en: r.en, max_s: Math.round((r.max_min || 0) * 60) }));
      await api("/api/realtime/pause-reasons", { method: "PUT", body: { reasons } });
      await state.reload();
    }));
  view.querySelector("p").className = "muted";
}

// KPI -> shown as a percentage (fractions on the wire) or in seconds.
const KPIS = [["service_level", "pct"], ["abandon_rate", "pct"], ["asa_s", "s"], ["longest_wait_s", "s"], ["aht_s", "s"]];
const DEFAULT_BAND = { aht_s: { excellent: 180, target: 240, warning: 300, higher_is_better: false } };

export async function renderThresholds(view, state) {
  const ro = !state.canEdit;
  const th = state.config.thresholds;
  const inputs = {};
  const enabled = {};
  const rows = KPIS.map(([kpi, unit]) => {
    const band = th.kpi[kpi] || DEFAULT_BAND[kpi];
    enabled[kpi] = input({ type: "checkbox", checked: !!th.kpi[kpi], disabled: ro, "data-kpi": kpi });
    inputs[kpi] = {};
    const cells = ["excellent", "target", "warning"].map((level) => {
      const v = unit === "pct" ? Math.round(band[level] * 1000) / 10 : band[level];
      inputs[kpi][level] = input({ type: "number", step: "any", value: v, disabled: ro, "data-level": level });
      return el("td", {}, inputs[kpi][level]);
    });
    return el("tr", { "data-kpi": kpi }, el("td", {}, enabled[kpi]), el("th", {}, tx("adm.w.kpi." + kpi)), ...cells,
      el("td", {}, tx(unit === "pct" ? "adm.w.unitPct" : "adm.w.unitS")), el("td", {}, tx(band.higher_is_better ? "adm.w.higher" : "adm.w.lower")));
  });
  const a = th.alerts;
  const alert = {
    longest_wait_s: input({ type: "number", min: 1, max: 3600, value: a.longest_wait_s, disabled: ro, name: "longest_wait_s" }),
    wrap_up_over_s: input({ type: "number", min: 0, max: 3600, value: a.wrap_up_over_s, disabled: ro, name: "wrap_up_over_s" }),
    default_pause_max_s: input({ type: "number", min: 0, max: 86400, value: a.default_pause_max_s, disabled: ro, name: "default_pause_max_s" }),
  };
  const win = select(["today", "60m", "15m", "interval"].map((w) => [w, "adm.w.window." + w]), th.window, { disabled: ro, name: "window" });
  const head = el("tr", {}, el("th"), el("th", {}, tx("adm.w.kpi")), el("th", {}, tx("adm.w.excellent")), el("th", {}, tx("adm.w.target")),
    el("th", {}, tx("adm.w.warning")), el("th", {}, tx("adm.w.unit")), el("th", {}, tx("adm.w.direction")));
  view.append(el("h2", {}, tx("adm.s.wallboard")), tx("adm.w.help", null, "p"),
    el("table", { class: "rows", id: "bands" }, el("thead", {}, head), el("tbody", {}, ...rows)),
    el("h3", {}, tx("adm.w.alerts")),
    el("div", { class: "fields" }, field("adm.w.longestWait", alert.longest_wait_s), field("adm.w.wrapOver", alert.wrap_up_over_s),
      field("adm.w.pauseMax", alert.default_pause_max_s), field("adm.w.window", win)),
    ro ? "" : saveBar(async () => {
      const kpi = {};
      for (const [name, unit] of KPIS) {
        if (!enabled[name].checked) continue;
        const band = { higher_is_better: (th.kpi[name] || DEFAULT_BAND[name]).higher_is_better };
        for (const level of ["excellent", "target", "warning"]) {
          const v = Number(inputs[name][level].value);
          band[level] = unit === "pct" ? v / 100 : v;
        }
        kpi[name] = band;
      }
      const body = { kpi, alerts: Object.fromEntries(Object.entries(alert).map(([k, i]) => [k, Number(i.value)])), window: win.value };
      await api("/api/realtime/wallboard-thresholds", { method: "PUT", body });
      await state.reload();
    }));
  view.querySelector("p").className = "muted";
}
