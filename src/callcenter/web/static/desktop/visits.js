// Return visits (回访) and grade follow-ups worked from the desktop: due
// first; "Call" rings my phone then the customer through the actions
// gateway (the call is recorded and put on the order's timeline), then the
// result: satisfied closes the order, not satisfied reopens it, unreachable
// tries again later on the schedule.
import { api } from "/static/common/api.js";
import { addStrings, lang, t } from "/static/common/i18n.js";

addStrings({
  "zh-CN": {
    "rv.title": "回访任务", "rv.none": "暂无回访或跟进任务", "rv.call": "拨打", "rv.calling": "正在呼叫 {n}（通话录音并关联工单 #{id}）",
    "rv.order": "工单 #{id}", "rv.customer": "客户 #{id}", "rv.due": "期限 {due}", "rv.tries": "第 {n} 次",
    "rv.kind.return_visit": "回访", "rv.kind.follow_up": "跟进", "rv.saved": "回访结果已记录",
    "rv.r.satisfied": "满意", "rv.r.not_satisfied": "不满意", "rv.r.unreachable": "联系不上", "rv.r.done": "已跟进",
  },
  en: {
    "rv.title": "Return visits", "rv.none": "No return visits or follow-ups", "rv.call": "Call", "rv.calling": "Calling {n} (recorded, linked to order #{id})",
    "rv.order": "Order #{id}", "rv.customer": "Customer #{id}", "rv.due": "due {due}", "rv.tries": "try {n}",
    "rv.kind.return_visit": "Return visit", "rv.kind.follow_up": "Follow-up", "rv.saved": "Result recorded",
    "rv.r.satisfied": "Satisfied", "rv.r.not_satisfied": "Not satisfied", "rv.r.unreachable": "Unreachable", "rv.r.done": "Done",
  },
});

const $ = (id) => document.getElementById(id);

export class Visits {
  constructor({ timezone, onResult, canDial }) {
    this.timezone = timezone;
    this.onResult = onResult;
    this.canDial = canDial; // () => true when my phone is free
    this.tasks = [];
    this.dialled = {}; // task id -> the call's Uniqueid
  }

  async load() {
    try {
      this.tasks = (await api("/api/workorders/mine")).tasks;
    } catch {
      return; // work orders not open to this role: the panel stays hidden
    }
    this.render();
  }

  render() {
    $("visits").classList.remove("hidden");
    $("rv-count").textContent = String(this.tasks.length);
    $("rv-list").replaceChildren(...(this.tasks.length ? this.tasks.map((task) => this.item(task)) : [Object.assign(document.createElement("li"), { className: "muted", textContent: t("rv.none") })]));
    this.buttons();
  }

  /** Call buttons follow the phone: enabled only when it is free. */
  buttons() {
    for (const b of document.querySelectorAll("#rv-list .rv-call")) b.disabled = !this.canDial();
  }

  item(task) {
    const li = document.createElement("li");
    li.dataset.taskId = task.id;
    if (new Date(task.due_at) < new Date()) li.classList.add("late");
    const due = new Date(task.due_at).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", { timeZone: this.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    const head = document.createElement("div");
    head.className = "row";
    const what = document.createElement("span");
    what.textContent = `${t("rv.kind." + task.kind)} · ${task.order_id ? t("rv.order", { id: task.order_id }) : t("rv.customer", { id: task.customer_id })}`;
    const num = Object.assign(document.createElement("span"), { className: "mono", translate: false, textContent: task.number || "" });
    const when = Object.assign(document.createElement("span"), { className: "muted small due", textContent: `${t("rv.due", { due })}${task.attempts ? " · " + t("rv.tries", { n: task.attempts + 1 }) : ""}` });
    head.append(what, num, when);
    const acts = document.createElement("div");
    acts.className = "row";
    const call = Object.assign(document.createElement("button"), { type: "button", className: "primary rv-call", textContent: t("rv.call") });
    call.onclick = async () => {
      call.disabled = true;
      try {
        const r = await api(`/api/workorders/tasks/${task.id}/dial`, { method: "POST", body: {} });
        this.dialled[task.id] = r.uniqueid;
        this.onResult(() => t("rv.calling", { n: r.number, id: task.order_id || "" }), true);
      } catch (e) {
        this.onResult(() => `${t("rv.call")}: ${e.message}`, false);
        call.disabled = false;
      }
    };
    acts.append(call);
    for (const r of task.kind === "follow_up" ? ["done"] : ["satisfied", "not_satisfied", "unreachable"]) {
      const b = Object.assign(document.createElement("button"), { type: "button", className: "rv-result", textContent: t("rv.r." + r) });
      b.dataset.result = r;
      b.onclick = async () => {
        b.disabled = true;
        try {
          await api(`/api/workorders/tasks/${task.id}/result`, { method: "POST", body: { result: r, uniqueid: this.dialled[task.id] || "" } });
          this.onResult(() => `${t("rv.saved")}: ${t("rv.r." + r)}`, true);
          await this.load();
        } catch (e) {
          this.onResult(() => `${t("rv.r." + r)}: ${e.message}`, false);
          b.disabled = false;
        }
      };
      acts.append(b);
    }
    li.append(head, acts);
    return li;
  }
}
