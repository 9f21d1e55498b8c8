// The monthly trend chart: average score per month as an SVG line with
// the 90-point line for reference.  Small enough not to need a library.
import { t } from "/static/common/i18n.js";

export function drawTrend(el, rows) {
  const pts = rows.filter((r) => r.average != null);
  if (!pts.length) { el.innerHTML = `<p class="muted">${t("qa.s.empty")}</p>`; return; }
  const W = 560, H = 220, L = 36, R = 12, T = 12, B = 28;
  const x = (i) => L + (pts.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (pts.length - 1));
  const y = (v) => T + ((100 - v) * (H - T - B)) / 100;
  let svg = `<svg viewBox="0 0 ${W} ${H}" class="trend" role="img" aria-label="${t("qa.s.trend")}">`;
  for (const v of [0, 25, 50, 75, 100]) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" class="grid${v === 100 ? "" : ""}"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`;
  }
  svg += `<line x1="${L}" x2="${W - R}" y1="${y(90)}" y2="${y(90)}" class="target"/>`;
  svg += `<polyline points="${pts.map((p, i) => `${x(i)},${y(p.average)}`).join(" ")}" class="line"/>`;
  pts.forEach((p, i) => {
    svg += `<circle cx="${x(i)}" cy="${y(p.average)}" r="4" class="pt"><title>${p.key}: ${p.average} (${p.count})</title></circle>`;
    svg += `<text x="${x(i)}" y="${y(p.average) - 8}" text-anchor="middle" class="val">${p.average}</text>`;
    svg += `<text x="${x(i)}" y="${H - 8}" text-anchor="middle">${p.key}</text>`;
  });
  el.innerHTML = svg + "</svg>";
}
