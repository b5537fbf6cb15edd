// #/handoffs?status=open: tickets waiting for a person (GET /v1/handoffs), newest first, paged.
import * as api from "./api.js";
import { t, tStatus, when } from "./i18n.js";
import { badge, errorBox, h, hashWith, maskPhone, memberLink, moreButton, table } from "./ui.js";

function columns() {
  return [
    { key: "created_at", label: t("handoffs.time"), cls: "time", cell: (r) => when(r.created_at) },
    { key: "member_id", label: t("messages.member"), cell: (r) => memberLink(r.member_id) },
    { key: "phone", label: t("messages.phone"), cell: (r) => maskPhone(r.phone) || "–" },
    { key: "channel", label: t("messages.channel") },
    { key: "text", label: t("handoffs.text"), cls: "text" },
    { key: "status", label: t("handoffs.status"), cell: (r) => badge(r.status) },
    { key: "notified", label: t("handoffs.notified"), cell: (r) => (r.notified ? t("yes") : t("no")) },
  ];
}

export async function render({ query }) {
  const status = query.get("status") || "open";
  const select = h("select", { name: "status" }, ["open", "closed"].map((s) => h("option", { value: s, selected: s === status }, tStatus(s))));
  select.addEventListener("change", () => {
    location.hash = hashWith("/handoffs", { status: select.value });
  });
  const page = h(
    "section",
    { id: "page-handoffs", dataset: { title: t("handoffs.title") } },
    h("h1", null, t("handoffs.title")),
    h("div", { class: "filters card" }, h("label", null, t("handoffs.status"), select)),
  );
  let first;
  try {
    first = await api.get("v1/handoffs", { status });
  } catch (error) {
    page.append(errorBox(error));
    return page;
  }
  const holder = h("div", null, table(columns(), first.body, { id: "handoffs-table" }));
  page.append(
    holder,
    ...(first.body.length ? [] : [h("p", { class: "muted empty" }, t("none"))]),
    moreButton(first.next, async (cursor) => {
      const { body, next } = await api.get("v1/handoffs", { status, cursor });
      const tbody = holder.querySelector("tbody");
      for (const row of table(columns(), body).querySelectorAll("tbody tr")) tbody.append(row);
      return next;
    }),
  );
  return page;
}
