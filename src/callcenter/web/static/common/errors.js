// What an error answer means, in the user's language.  The server sends a
// stable `code` (and `params`) beside its English `detail`
// (callcenter/errors.py); a code without its own text falls back to its
// HTTP status, so nothing the server says shows up untranslated.
import { addStrings, t } from "./i18n.js";

addStrings({
  "zh-CN": {
    "err.network": "无法连接服务器，请检查网络",
    "err.invalid": "输入有误：{fields}",
    "err.http": "操作失败（{status}）",
    "err.http_400": "请求有误", "err.http_401": "请先登录", "err.http_403": "您无权执行此操作",
    "err.http_404": "未找到", "err.http_409": "当前状态下无法执行此操作", "err.http_413": "文件太大",
    "err.http_422": "输入有误", "err.http_429": "尝试次数过多，请稍后再试", "err.http_500": "服务器出错",
    "err.http_501": "不支持此操作", "err.http_502": "交换机拒绝了此操作", "err.http_503": "服务暂不可用",
    "err.http_504": "交换机未及时响应",
    "err.no_interface": "您的账号未绑定分机，请联系管理员设置",
    "err.not_on_call": "当前没有通话",
    "err.channel_unknown": "通话通道尚未就绪，请稍后再试",
    "err.bad_agent_target": "坐席请填写分机，如 PJSIP/8002",
    "err.bad_number_target": "号码只能包含数字、*、# 和开头的 +",
    "err.pbx_down": "与交换机的连接已断开，操作未执行",
    "err.pbx_refused": "交换机拒绝了此操作",
    "err.pbx_timeout": "交换机未及时响应",
    "err.acd_down": "排队服务未运行",
    "err.unknown_pause_reason": "未配置的示忙原因：{reason}",
    "err.no_skill": "您没有这些队列的技能：{queues}",
    "err.disposition_first": "请先选择处理结果并填写备注，再结束话后处理",
    "err.not_supported": "不支持此操作",
    "err.not_your_pop": "这不是您当前的来电",
    "err.no_agent": "没有该坐席或其未绑定分机",
    "err.not_in_wrap_up": "该通话不在您的话后处理中",
    "err.unknown_disposition": "队列 {queue} 没有处理结果 {code}",
    "err.note_required": "此处理结果需要填写备注",
    "err.no_call": "未找到该通话",
    "err.already_disposed": "该通话已有处理结果",
    "err.user_conflict": "用户名或分机已被使用",
    "err.no_user": "没有该用户",
    "err.no_queue": "没有该队列",
    "err.form_invalid": "质检表有误：{reason}",
    "err.no_team_api": "团队功能尚未启用",
    "field.number": "号码", "field.target": "目标", "field.reason": "原因", "field.code": "处理结果", "field.note": "备注",
    "field.queue": "队列", "field.name": "姓名", "field.phones": "电话", "field.password": "密码", "field.username": "用户名",
    "field.display_name": "显示名", "field.interface": "分机", "field.skills": "技能", "field.dnis": "被叫号码",
    "field.choice": "按键", "field.caller": "主叫号码", "field.sl_threshold_s": "服务水平阈值",
    "field.short_abandon_s": "短放弃阈值", "field.wrap_up_s": "话后时长", "field.dispositions": "处理结果",
    "field.reasons": "示忙原因", "field.kpi": "指标", "field.definition": "质检表", "field.calendar": "营业时间",
    "field.rules": "路由规则", "field.unit": "房号", "field.at": "时间",
  },
  en: {
    "err.network": "Cannot reach the server; check the network",
    "err.invalid": "Check these fields: {fields}",
    "err.http": "Failed (HTTP {status})",
    "err.http_400": "Bad request", "err.http_401": "Please sign in", "err.http_403": "You may not do this",
    "err.http_404": "Not found", "err.http_409": "Not possible in the current state", "err.http_413": "File too large",
    "err.http_422": "Invalid input", "err.http_429": "Too many attempts; try again later", "err.http_500": "Server error",
    "err.http_501": "Not supported", "err.http_502": "The PBX refused this", "err.http_503": "Service unavailable",
    "err.http_504": "The PBX did not answer in time",
    "err.no_interface": "Your user has no phone interface; ask an admin to set one",
    "err.not_on_call": "You are not on a call",
    "err.channel_unknown": "The call's channel is not known yet; try again in a moment",
    "err.bad_agent_target": "Give an agent by interface, e.g. PJSIP/8002",
    "err.bad_number_target": "A number has digits, *, # and a leading + only",
    "err.pbx_down": "No connection to the PBX; nothing was done",
    "err.pbx_refused": "The PBX refused this",
    "err.pbx_timeout": "The PBX did not answer in time",
    "err.acd_down": "The queue service is not running",
    "err.unknown_pause_reason": "Not a configured pause reason: {reason}",
    "err.no_skill": "You have no skill for {queues}",
    "err.disposition_first": "Pick a disposition and write a note to finish wrap-up first",
    "err.not_supported": "Not supported",
    "err.not_your_pop": "That is not your current call",
    "err.no_agent": "No such agent, or no phone interface",
    "err.not_in_wrap_up": "That call is not in your wrap-up",
    "err.unknown_disposition": "Queue {queue} has no disposition {code}",
    "err.note_required": "This disposition needs a note",
    "err.no_call": "Call not found",
    "err.already_disposed": "That call already has a disposition",
    "err.user_conflict": "Username or interface already in use",
    "err.no_user": "No such user",
    "err.no_queue": "No such queue",
    "err.form_invalid": "The form is not valid: {reason}",
    "err.no_team_api": "Teams are not available yet",
    "field.number": "number", "field.target": "target", "field.reason": "reason", "field.code": "disposition", "field.note": "note",
    "field.queue": "queue", "field.name": "name", "field.phones": "phones", "field.password": "password", "field.username": "username",
    "field.display_name": "display name", "field.interface": "interface", "field.skills": "skills", "field.dnis": "dialled number",
    "field.choice": "key", "field.caller": "caller", "field.sl_threshold_s": "SL threshold",
    "field.short_abandon_s": "short-abandon threshold", "field.wrap_up_s": "wrap-up limit", "field.dispositions": "dispositions",
    "field.reasons": "pause reasons", "field.kpi": "KPIs", "field.definition": "form", "field.calendar": "hours",
    "field.rules": "rules", "field.unit": "unit", "field.at": "time",
  },
});

function fieldName(path) {
  const head = String(path).split(".")[0];
  const key = "field." + head;
  const text = t(key);
  return text === key ? head : text;
}

/** The text of an ApiError (status, code, params, errors) in the current language. */
export function errorText(err) {
  if (!err) return t("err.http", { status: "?" });
  if (err.status === 0) return t("err.network");
  if (err.code === "invalid" && Array.isArray(err.errors) && err.errors.length) {
    return t("err.invalid", { fields: [...new Set(err.errors.map((e) => fieldName(e.field)))].join("、") });
  }
  for (const key of [err.code && `err.${err.code}`, `err.http_${err.status}`]) {
    if (!key) continue;
    const text = t(key, err.params || {});
    if (text !== key) return text;
  }
  return t("err.http", { status: err.status });
}
