// The wallboard's work-order tiles: orders past their deadline and return
// visits due today (both in the viewer's scope), every 30 s.
import { api } from "/static/common/api.js";
import { addStrings, applyI18n } from "/static/common/i18n.js";

addStrings({
  "zh-CN": { "wb.wo.overdue": "超期工单", "wb.wo.visits": "今日待回访" },
  en: { "wb.wo.overdue": "Overdue orders", "wb.wo.visits": "Return visits due today" },
});

const box = document.getElementById("wo-tiles");

async function refresh() {
  try {
    const tiles = await api("/api/workorders/tiles");
    document.getElementById("wo-overdue").textContent = tiles.overdue_orders;
    document.getElementById("wo-visits").textContent = tiles.return_visits_due_today;
    box.querySelector(".wo-tile.bad").classList.toggle("zero", tiles.overdue_orders === 0);
    box.classList.remove("hidden");
    box.dataset.loaded = "1";
  } catch {
    box.classList.add("hidden");
  }
}

applyI18n(box);
refresh();
setInterval(refresh, 30_000);
