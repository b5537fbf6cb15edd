// Words of the console, zh-CN first, en switchable (kept in localStorage), and number/time formats.
const STRINGS = {
  "zh-CN": {
    "nav.funnel": "效果", "nav.messages": "消息记录", "nav.handoffs": "人工处理",
    "search.member": "会员", "search.campaign": "营销活动", "search.activity": "门店活动",
    "search.placeholder": "会员 ID 或手机号", "search.go": "查找", "search.none": "没有找到手机号为 {q} 的会员",
    "signout": "退出", "lang.other": "English",
    "signin.title": "登录运营后台", "signin.key": "API 密钥", "signin.go": "登录",
    "signin.hint": "用 memberpulse keys create 创建的密钥；只保存在本标签页。",
    "signin.refused": "密钥无效或已停用，请重新登录。",
    "error.title": "接口出错", "error.network": "无法连接到接口", "loading": "加载中…",
    "more": "加载更多", "none": "暂无记录", "all": "全部", "apply": "查询", "export": "导出 CSV",
    "exporting": "正在导出…", "exported": "已导出 {n} 条",
    "from": "开始", "to": "结束", "group_by": "分组",
    "group.rule": "规则", "group.campaign": "营销活动", "group.variant": "版本", "group.channel": "渠道", "group.day": "日期",
    "funnel.title": "效果：发送 → 送达 → 点击 → 转化", "funnel.stages": "漏斗", "funnel.by_group": "各组对比",
    "funnel.revenue": "转化收入", "funnel.rate": "转化率（转化 ÷ 送达）",
    "m.targeted": "目标", "m.suppressed": "已拦截", "m.capped": "超频", "m.deferred": "延后", "m.sent": "已发送",
    "m.delivered": "已送达", "m.read": "已读", "m.clicked": "已点击", "m.converted": "已转化", "m.revenue": "收入",
    "m.rate": "转化率", "m.members": "人数", "m.queued": "排队中", "m.conversion_rate": "转化率", "m.key": "分组",
    "campaign.title": "营销活动 {id}", "campaign.status": "状态", "campaign.audience": "受众人数",
    "campaign.sends": "发送情况", "campaign.results": "结果", "campaign.arm": "组别", "campaign.control": "对照组",
    "campaign.lift": "提升（相对对照组）", "campaign.ci": "95% 区间", "campaign.p": "p 值",
    "campaign.prob": "优于对照组的概率", "campaign.underpowered": "样本不足", "campaign.required": "每组需 {n} 人",
    "campaign.enough": "样本充足", "campaign.lift_chart": "提升与 95% 区间",
    "activity.title": "门店活动", "activity.when": "时间", "activity.where": "地点", "activity.capacity": "名额",
    "activity.seats_left": "剩余名额", "activity.seats": "名额使用", "activity.confirmed": "已确认",
    "activity.waitlisted": "候补", "activity.offered": "待认领", "activity.cancelled": "已取消",
    "activity.checked_in": "已签到", "activity.no_show": "未到场", "activity.waitlist": "候补名单",
    "activity.offers": "待认领名额（截止时间）", "activity.checkins": "签到", "activity.feedback": "反馈",
    "activity.position": "顺位", "activity.deadline": "认领截止", "activity.expired": "已过期",
    "activity.left": "还剩 {t}", "activity.rating": "评分", "activity.average": "平均评分 {r}（{n} 条）",
    "activity.registered_at": "报名时间", "activity.checked_in_at": "签到时间",
    "messages.title": "消息记录", "messages.trigger": "规则", "messages.status": "状态", "messages.channel": "渠道",
    "messages.campaign": "营销活动", "messages.time": "时间", "messages.member": "会员", "messages.phone": "手机号",
    "messages.text": "内容", "messages.reason": "原因", "messages.variant": "版本",
    "member.title": "会员 {id}", "member.profile": "资料", "member.timeline": "时间线", "member.messages": "消息",
    "member.name": "姓名", "member.phone": "手机号", "member.tier": "等级", "member.points": "积分",
    "member.expiring": "即将过期", "member.consent": "授权", "member.children": "孩子", "member.tags": "标签",
    "member.joined": "加入时间", "member.last_purchase": "最近购买", "member.locale": "语言", "member.timezone": "时区",
    "member.store": "门店", "member.unreachable": "无法送达", "member.stored_value": "储值",
    "consent.sms": "短信", "consent.im": "IM", "consent.marketing": "营销",
    "kind.joined": "加入", "kind.order": "订单", "kind.points": "积分", "kind.coupon": "优惠券", "kind.message": "消息",
    "kind.reply": "回复", "kind.registration": "报名", "kind.checkin": "签到", "kind.consent": "授权变更",
    "handoffs.title": "等待人工处理", "handoffs.status": "状态", "handoffs.text": "会员留言", "handoffs.notified": "已通知店员",
    "handoffs.time": "时间", "yes": "是", "no": "否",
    "status.queued": "排队中", "status.deferred": "延后", "status.sent": "已发送", "status.delivered": "已送达",
    "status.read": "已读", "status.failed": "失败", "status.undelivered": "未送达", "status.suppressed": "已拦截",
    "status.capped": "超频", "status.control": "对照组",
    "status.draft": "草稿", "status.scheduled": "已排期", "status.sending": "发送中", "status.paused": "已暂停",
    "status.done": "已完成", "status.cancelled": "已取消", "status.open": "待处理", "campaign.power": "样本量",
    "activity.open": "报名中", "activity.closed": "报名截止", "activity.seats_line": "已确认 {c} · 待认领 {o} · 名额 {n}",
  },
  en: {
    "nav.funnel": "What worked", "nav.messages": "Message log", "nav.handoffs": "Handoffs",
    "search.member": "Member", "search.campaign": "Campaign", "search.activity": "Activity",
    "search.placeholder": "Member id or phone", "search.go": "Find", "search.none": "No member has the phone {q}",
    "signout": "Sign out", "lang.other": "中文",
    "signin.title": "Sign in to the console", "signin.key": "API key", "signin.go": "Sign in",
    "signin.hint": "A key from memberpulse keys create; kept in this tab only.",
    "signin.refused": "The key was refused (wrong or revoked): sign in again.",
    "error.title": "The API answered with an error", "error.network": "The API cannot be reached", "loading": "Loading…",
    "more": "Load more", "none": "Nothing yet", "all": "All", "apply": "Apply", "export": "Export CSV",
    "exporting": "Exporting…", "exported": "Exported {n} rows",
    "from": "From", "to": "To", "group_by": "Group by",
    "group.rule": "Rule", "group.campaign": "Campaign", "group.variant": "Variant", "group.channel": "Channel", "group.day": "Day",
    "funnel.title": "What worked: sent → delivered → clicked → converted", "funnel.stages": "Funnel",
    "funnel.by_group": "Groups side by side", "funnel.revenue": "Revenue converted", "funnel.rate": "Conversion rate (converted ÷ delivered)",
    "m.targeted": "Targeted", "m.suppressed": "Suppressed", "m.capped": "Capped", "m.deferred": "Deferred", "m.sent": "Sent",
    "m.delivered": "Delivered", "m.read": "Read", "m.clicked": "Clicked", "m.converted": "Converted", "m.revenue": "Revenue",
    "m.rate": "Conv. rate", "m.members": "Members", "m.queued": "Queued", "m.conversion_rate": "Conv. rate", "m.key": "Group",
    "campaign.title": "Campaign {id}", "campaign.status": "Status", "campaign.audience": "Audience",
    "campaign.sends": "Sending", "campaign.results": "Results", "campaign.arm": "Arm", "campaign.control": "Control",
    "campaign.lift": "Lift over control", "campaign.ci": "95% interval", "campaign.p": "p-value",
    "campaign.prob": "Probability to beat control", "campaign.underpowered": "Underpowered", "campaign.required": "needs {n} per arm",
    "campaign.enough": "Enough members", "campaign.lift_chart": "Lift with its 95% interval",
    "activity.title": "Activity", "activity.when": "When", "activity.where": "Where", "activity.capacity": "Capacity",
    "activity.seats_left": "Seats left", "activity.seats": "Seats", "activity.confirmed": "Confirmed",
    "activity.waitlisted": "Waitlisted", "activity.offered": "Offered", "activity.cancelled": "Cancelled",
    "activity.checked_in": "Checked in", "activity.no_show": "No-show", "activity.waitlist": "Waitlist",
    "activity.offers": "Open offers (deadlines)", "activity.checkins": "Check-ins", "activity.feedback": "Feedback",
    "activity.position": "Position", "activity.deadline": "Claim by", "activity.expired": "expired",
    "activity.left": "{t} left", "activity.rating": "Rating", "activity.average": "Average {r} ({n} ratings)",
    "activity.registered_at": "Registered", "activity.checked_in_at": "Checked in",
    "messages.title": "Message log", "messages.trigger": "Rule", "messages.status": "Status", "messages.channel": "Channel",
    "messages.campaign": "Campaign", "messages.time": "Time", "messages.member": "Member", "messages.phone": "Phone",
    "messages.text": "Text", "messages.reason": "Reason", "messages.variant": "Variant",
    "member.title": "Member {id}", "member.profile": "Profile", "member.timeline": "Timeline", "member.messages": "Messages",
    "member.name": "Name", "member.phone": "Phone", "member.tier": "Tier", "member.points": "Points",
    "member.expiring": "Expiring", "member.consent": "Consent", "member.children": "Children", "member.tags": "Tags",
    "member.joined": "Joined", "member.last_purchase": "Last purchase", "member.locale": "Language", "member.timezone": "Time zone",
    "member.store": "Store", "member.unreachable": "Unreachable", "member.stored_value": "Stored value",
    "consent.sms": "SMS", "consent.im": "IM", "consent.marketing": "Marketing",
    "kind.joined": "Joined", "kind.order": "Order", "kind.points": "Points", "kind.coupon": "Coupon", "kind.message": "Message",
    "kind.reply": "Reply", "kind.registration": "Registration", "kind.checkin": "Check-in", "kind.consent": "Consent",
    "handoffs.title": "Waiting for a person", "handoffs.status": "Status", "handoffs.text": "What they wrote",
    "handoffs.notified": "Staff notified", "handoffs.time": "Time", "yes": "yes", "no": "no",
    "status.queued": "queued", "status.deferred": "deferred", "status.sent": "sent", "status.delivered": "delivered",
    "status.read": "read", "status.failed": "failed", "status.undelivered": "undelivered", "status.suppressed": "suppressed",
    "status.capped": "capped", "status.control": "control",
    "status.draft": "draft", "status.scheduled": "scheduled", "status.sending": "sending", "status.paused": "paused",
    "status.done": "done", "status.cancelled": "cancelled", "status.open": "open", "campaign.power": "Sample size",
    "activity.open": "open", "activity.closed": "closed", "activity.seats_line": "{c} confirmed · {o} offered · {n} seats",
  },
};

export const LANGS = Object.keys(STRINGS);
let lang = LANGS.includes(localStorage.getItem("mp.lang")) ? localStorage.getItem("mp.lang") : "zh-CN";

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = LANGS.includes(next) ? next : "zh-CN";
  localStorage.setItem("mp.lang", lang);
  document.documentElement.lang = lang;
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// The words of a status, or the status itself for one the console does not know yet.
export function tStatus(status) {
  const key = `status.${status}`;
  return STRINGS[lang][key] ? t(key) : String(status);
}

export function num(value) {
  return typeof value === "number" && Number.isFinite(value) ? new Intl.NumberFormat(lang).format(value) : "–";
}

export function money(value) {
  return typeof value === "number" && Number.isFinite(value)
    ? new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value)
    : "–";
}

export function pct(value, digits = 1) {
  return typeof value === "number" && Number.isFinite(value)
    ? new Intl.NumberFormat(lang, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value)
    : "–";
}

export function when(iso) {
  if (!iso) return "–";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(at);
}

export function day(iso) {
  if (!iso) return "–";
  const at = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  return Number.isNaN(at.getTime()) ? String(iso) : new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(at);
}

// "in 1 h 20 min" style spans for offer deadlines.
export function span(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const unit = new Intl.NumberFormat(lang);
  return lang === "en" ? `${h ? `${unit.format(h)} h ` : ""}${unit.format(m)} min` : `${h ? `${unit.format(h)} 小时 ` : ""}${unit.format(m)} 分钟`;
}
