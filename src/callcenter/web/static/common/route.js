// The routing hook's reasons (callcenter.hooks.service: "tier:vip grade:A
// recent_abandon ...") told in words, for the screen-pop and the console.
import { addStrings, t } from "./i18n.js";

addStrings({
  "zh-CN": {
    "why.unknown_caller": "未知来电", "why.anonymous": "隐藏号码", "why.tier": "客户类别 {arg}", "why.grade": "{arg} 级客户",
    "why.priority_flag": "阶段性优先", "why.vip_line": "大客户专线", "why.recent_abandon": "近期未接通",
    "why.recent_callback": "近期要求回呼", "why.open_complaint": "有未结投诉", "why.no_rule": "无匹配规则",
    "why.closed": "非工作时间", "why.fallback": "默认路由",
    "tierName.vip": "大客户", "tierName.key": "主要客户", "tierName.regular": "普通", "tierName.general": "一般", "tierName.potential": "潜在大客户",
  },
  en: {
    "why.unknown_caller": "unknown caller", "why.anonymous": "withheld number", "why.tier": "tier {arg}", "why.grade": "grade {arg}",
    "why.priority_flag": "priority flag", "why.vip_line": "VIP line", "why.recent_abandon": "hung up waiting lately",
    "why.recent_callback": "asked for a callback lately", "why.open_complaint": "open complaint", "why.no_rule": "no rule matched",
    "why.closed": "out of hours", "why.fallback": "default route",
    "tierName.vip": "VIP", "tierName.key": "key", "tierName.regular": "regular", "tierName.general": "general", "tierName.potential": "potential VIP",
  },
});

function one(r) {
  const [head, arg = ""] = r.split(":");
  const shown = head === "tier" ? t("tierName." + arg) : head === "closed" ? "" : arg;
  const key = "why." + head;
  const text = t(key, { arg: shown });
  return text === key ? r : text;
}

/** "tier:vip grade:A" or ["tier:vip", "grade:A"] -> "tier VIP · grade A" in the current language. */
export function reasonsText(reasons) {
  if (!reasons) return "";
  const list = Array.isArray(reasons) ? reasons : String(reasons).split(" ");
  return list.filter(Boolean).map(one).join(" · ");
}
