// #/messages?from&to&trigger&status&channel&campaign: the message log (GET /v1/messages), paged
// ("load more" follows X-Next-Cursor), filters in the address, and a CSV export of the whole range
// (the API answers it in bounded parts; each part's cursor leads to the next).
import * as api from "./api.js";
import { t, tStatus, when } from "./i18n.js";
import { badge, daysAgo, errorBox, h, hashWith, maskPhone, memberLink, moreButton, table } from "./ui.js";

const STATUSES = ["queued", "deferred", "sent", "delivered", "read", "failed", "undelivered", "suppressed", "capped", "control"];
const FILTERS = ["from", "to", "trigger", "status", "channel", "campaign"];
const MAX_PARTS = 100; // a CSV export of at most 100 parts (200,000 rows at the API's 2,000 a part)

function columns() {
  return [
    { key: "created_at", label: t("messages.time"), cls: "time", cell: (m) => when(m.created_at) },
    { key: "member_id", label: t("messages.member"), cell: (m) => memberLink(m.member_id) },
    { key: "phone", label: t("messages.phone"), cell: (m) => maskPhone(m.phone) || "–" },
    { key: "trigger", label: t("messages.trigger") },
    { key: "campaign_id", label: t("messages.campaign"), cell: (m) => (m.campaign_id ? h("a", { href: `#/campaigns/${encodeURIComponent(m.campaign_id)}` }, m.campaign_id, m.variant ? ` / ${m.variant}` : "") : "–") },
    { key: "channel", label: t("messages.channel") },
    { key: "status", label: t("messages.status"), cell: (m) => badge(m.status) },
    { key: "reason", label: t("messages.reason"), cls: "text", cell: (m) => m.reason || "" },
    { key: "text", label: t("messages.text"), cls: "text", cell: (m) => m.text },
  ];
}

// Local days → the API's from/to (days in the store's zone, both included), as given.
function apiParams(query) {
  return Object.fromEntries(FILTERS.map((f) => [f, query.get(f) || ""]).filter(([, v]) => v));
}

async function exportCsv(params, status) {
  const parts = [];
  let cursor = null;
  let rows = 0;
  status.textContent = t("exporting");
  for (let i = 0; i < MAX_PARTS; i += 1) {
    const { body, next } = await api.get("v1/messages", cursor ? { cursor } : params, { accept: "text/csv" });
    const text = body.replace(/^\ufeff/, "");
    const rest = i === 0 ? text : text.slice(text.indexOf("\r\n") + 2); // each part repeats the header
    rows += (rest.match(/\r\n/g) || []).length - (i === 0 ? 1 : 0);
    parts.push(rest);
    cursor = next;
    if (!cursor) break;
  }
  const blob = new Blob(["\ufeff", ...parts], { type: "text/csv;charset=utf-8" });
  const a = h("a", { href: URL.createObjectURL(blob), download: `messages-${params.from || daysAgo(7)}-${params.to || daysAgo(0)}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  status.textContent = t("exported", { n: rows });
}

export async function render({ query }) {
  const params = apiParams(query);
  const field = (name, label, input) => h("label", null, label, input);
  const form = h(
    "form",
    { class: "filters card", id: "message-filters" },
    field("from", t("from"), h("input", { type: "date", name: "from", value: query.get("from") || "" })),
    field("to", t("to"), h("input", { type: "date", name: "to", value: query.get("to") || "" })),
    field("trigger", t("messages.trigger"), h("input", { name: "trigger", value: query.get("trigger") || "", size: 14, placeholder: "welcome" })),
    field(
      "status",
      t("messages.status"),
      h("select", { name: "status" }, h("option", { value: "" }, t("all")), STATUSES.map((st) => h("option", { value: st, selected: query.get("status") === st }, tStatus(st)))),
    ),
    field("channel", t("messages.channel"), h("select", { name: "channel" }, ["", "sms", "im"].map((c) => h("option", { value: c, selected: query.get("channel") === c }, c || t("all"))))),
    field("campaign", t("messages.campaign"), h("input", { name: "campaign", value: query.get("campaign") || "", size: 12 })),
    h("button", { type: "submit" }, t("apply")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = hashWith("/messages", Object.fromEntries(FILTERS.map((f) => [f, data.get(f)])));
  });
  const status = h("span", { class: "muted", id: "export-status" });
  const exportButton = h("button", { type: "button", class: "ghost", id: "export" }, t("export"));
  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    try {
      await exportCsv(params, status);
    } catch (error) {
      status.replaceWith(errorBox(error));
    }
    exportButton.disabled = false;
  });
  const page = h("section", { id: "page-messages", dataset: { title: t("messages.title") } }, h("h1", null, t("messages.title")), form, h("div", { class: "more" }, exportButton, status));
  let first;
  try {
    first = await api.get("v1/messages", params);
  } catch (error) {
    page.append(errorBox(error));
    return page;
  }
  const holder = h("div", { id: "messages" }, table(columns(), first.body, { id: "messages-table" }));
  const more = moreButton(first.next, async (cursor) => {
    const { body, next } = await api.get("v1/messages", { cursor });
    const tbody = holder.querySelector("tbody");
    for (const row of table(columns(), body).querySelectorAll("tbody tr")) tbody.append(row);
    return next;
  });
  page.append(holder, ...(first.body.length ? [] : [h("p", { class: "muted empty" }, t("none"))]), more);
  return page;
}
