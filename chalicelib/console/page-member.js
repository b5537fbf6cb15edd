// #/members/{id}: the profile (GET /v1/members/{id}, the phone masked here), the timeline
// (GET /v1/members/{id}/timeline, newest first, paged) and the member's messages.
import * as api from "./api.js";
import { day, money, num, t, tStatus, when } from "./i18n.js";
import { badge, empty, errorBox, h, maskPhone, moreButton, table } from "./ui.js";

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.flatMap(([key, label, value]) => [h("dt", null, label), h("dd", { dataset: { fact: key } }, value ?? "–")]));
}

function profile(m) {
  const consent = m.consent || {};
  const points = m.points || {};
  return facts([
    ["name", t("member.name"), m.name || "–"],
    ["phone", t("member.phone"), maskPhone(m.phone) || "–"],
    ["tier", t("member.tier"), m.tier || "–"],
    ["points", t("member.points"), h("span", { dataset: { value: points.balance ?? "" } }, num(points.balance))],
    ["expiring", t("member.expiring"), (points.expiring || []).length ? (points.expiring || []).map((e) => `${num(e.amount)} · ${day(e.expires_on)}`).join("; ") : "–"],
    ["stored_value", t("member.stored_value"), m.stored_value ? `${money(m.stored_value.balance)}${m.stored_value.expires_on ? ` · ${day(m.stored_value.expires_on)}` : ""}` : "–"],
    ["consent", t("member.consent"), ["sms", "im", "marketing"].map((c) => badge(consent[c] ? "delivered" : "cancelled", `${t(`consent.${c}`)} ${consent[c] ? "✓" : "✗"}`))],
    ["unreachable", t("member.unreachable"), Object.keys(m.unreachable || {}).length ? Object.entries(m.unreachable).map(([c, why]) => badge("failed", `${c}: ${why}`)) : "–"],
    ["children", t("member.children"), (m.children || []).length ? m.children.map((c) => `${c.name || "?"} · ${day(c.birthday)} · ${c.gender || ""}`).join("; ") : "–"],
    ["tags", t("member.tags"), (m.tags || []).join(", ") || "–"],
    ["joined", t("member.joined"), when(m.joined_at)],
    ["last_purchase", t("member.last_purchase"), when(m.last_purchase_at)],
    ["locale", t("member.locale"), m.locale || "–"],
    ["timezone", t("member.timezone"), m.timezone || "–"],
    ["store", t("member.store"), m.store_id || "–"],
  ]);
}

// What an entry of the timeline says, per kind; other fields as name: value.
function summary(entry) {
  const { at, kind, ...rest } = entry;
  switch (kind) {
    case "message":
      return [
        h("div", null, badge(rest.status), " ", rest.trigger || "", " · ", rest.channel || "", rest.reason ? ` · ${rest.reason}` : ""),
        rest.text ? h("div", null, rest.text) : null,
        (rest.trail || []).length ? h("div", { class: "trail" }, rest.trail.map((s) => `${tStatus(s.status)} ${when(s.at)}${s.reason ? ` (${s.reason})` : ""}`).join(" → ")) : null,
      ];
    case "order":
      return `${rest.order_id || ""} · ${money(rest.total)}${(rest.items || []).length ? ` · ${rest.items.map((i) => `${i.sku}×${i.qty}`).join(", ")}` : ""}`;
    case "points":
      return `${rest.delta > 0 ? "+" : ""}${num(rest.delta)} · ${rest.reason || ""}${rest.expires_on ? ` · ${day(rest.expires_on)}` : ""}`;
    case "coupon":
      return `${rest.title || rest.coupon_id || ""} · ${money(rest.value)}${rest.expires_on ? ` · ${day(rest.expires_on)}` : ""}`;
    case "reply":
      return `${rest.channel || ""}: ${rest.text ?? ""}`;
    case "consent":
      return `${Object.entries(rest.changes || {}).map(([c, on]) => `${c} ${on ? "✓" : "✗"}`).join(", ")}${rest.source ? ` · ${rest.source}` : ""}`;
    default:
      return Object.entries(rest)
        .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
        .map(([k, v]) => `${k}: ${v}`)
        .join(" · ");
  }
}

function timelineItems(entries) {
  return entries.map((e) =>
    h("li", { dataset: { kind: e.kind } }, h("span", { class: "muted small" }, when(e.at)), h("span", null, badge(e.kind, t(`kind.${e.kind}`).startsWith("kind.") ? e.kind : t(`kind.${e.kind}`))), h("div", null, summary(e))),
  );
}

export async function render({ params: [id] }) {
  const path = `v1/members/${encodeURIComponent(id)}`;
  const page = h("section", { id: "page-member", dataset: { title: t("member.title", { id }) } }, h("h1", null, t("member.title", { id })));
  const [member, timeline, messages] = await Promise.allSettled([api.get(path), api.get(`${path}/timeline`), api.get(`${path}/messages`)]);
  if (member.status === "rejected") {
    page.append(errorBox(member.reason));
    return page;
  }
  const m = member.value.body;
  page.append(h("div", { class: "card", id: "profile" }, h("h2", null, t("member.profile")), profile(m)));
  const timelineCard = h("div", { class: "card", id: "timeline" }, h("h2", null, t("member.timeline")));
  if (timeline.status === "rejected") timelineCard.append(errorBox(timeline.reason));
  else {
    const entries = Array.isArray(timeline.value.body) ? timeline.value.body : [];
    const list = h("ol", { class: "timeline" }, timelineItems(entries));
    timelineCard.append(
      entries.length ? list : empty(),
      moreButton(timeline.value.next, async (cursor) => {
        const { body, next } = await api.get(`${path}/timeline`, { cursor });
        list.append(...timelineItems(body));
        return next;
      }),
    );
  }
  const messagesCard = h("div", { class: "card", id: "member-messages" }, h("h2", null, t("member.messages")));
  if (messages.status === "rejected") messagesCard.append(errorBox(messages.reason));
  else if (!messages.value.body.length) messagesCard.append(empty());
  else
    messagesCard.append(
      table(
        [
          { key: "created_at", label: t("messages.time"), cls: "time", cell: (r) => when(r.created_at) },
          { key: "trigger", label: t("messages.trigger") },
          { key: "channel", label: t("messages.channel") },
          { key: "status", label: t("messages.status"), cell: (r) => badge(r.status) },
          { key: "reason", label: t("messages.reason"), cls: "text", cell: (r) => r.reason || "" },
          { key: "text", label: t("messages.text"), cls: "text" },
        ],
        messages.value.body,
        { id: "member-messages-table" },
      ),
    );
  page.append(timelineCard, messagesCard);
  return page;
}
