// #/funnel?from&to&group_by: the funnel per rule / campaign / variant / channel / day over a period
// (GET /v1/analytics/funnel), as charts and a table.
import * as api from "./api.js";
import { bars, funnel, nested } from "./charts.js";
import { money, num, pct, t } from "./i18n.js";
import { daysAgo, errorBox, h, hashWith, table, tiles } from "./ui.js";

const GROUPS = ["rule", "campaign", "variant", "channel", "day"];
const STAGES = ["targeted", "sent", "delivered", "read", "clicked", "converted"];
const COUNTS = ["targeted", "suppressed", "capped", "deferred", "sent", "delivered", "read", "clicked", "converted"];

function suppressedTotal(row) {
  const value = row.suppressed;
  if (typeof value === "number") return value;
  return Object.values(value || {}).reduce((sum, n) => sum + (Number(n) || 0), 0);
}

function rate(row) {
  return row.delivered ? (row.converted || 0) / row.delivered : null;
}

function keyHref(groupBy, key, from, to) {
  if (groupBy === "campaign") return `#/campaigns/${encodeURIComponent(key)}`;
  if (groupBy === "rule") return hashWith("/messages", { trigger: key, from, to });
  return null;
}

export async function render({ query }) {
  const from = query.get("from") || daysAgo(6);
  const to = query.get("to") || daysAgo(0);
  const groupBy = GROUPS.includes(query.get("group_by")) ? query.get("group_by") : "rule";
  const form = h(
    "form",
    { class: "filters card", id: "funnel-filters" },
    h("label", null, t("from"), h("input", { type: "date", name: "from", value: from, required: true })),
    h("label", null, t("to"), h("input", { type: "date", name: "to", value: to, required: true })),
    h("label", null, t("group_by"), h("select", { name: "group_by" }, GROUPS.map((g) => h("option", { value: g, selected: g === groupBy }, t(`group.${g}`))))),
    h("button", { type: "submit" }, t("apply")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = hashWith("/funnel", { from: data.get("from"), to: data.get("to"), group_by: data.get("group_by") });
  });
  const page = h("section", { id: "page-funnel", dataset: { title: t("nav.funnel") } }, h("h1", null, t("funnel.title")), form);
  let rows;
  try {
    ({ body: rows } = await api.get("v1/analytics/funnel", { from, to, group_by: groupBy }));
  } catch (error) {
    page.append(errorBox(error));
    return page;
  }
  rows = Array.isArray(rows) ? rows : [];
  const total = Object.fromEntries(COUNTS.map((c) => [c, rows.reduce((sum, r) => sum + (c === "suppressed" ? suppressedTotal(r) : Number(r[c]) || 0), 0)]));
  total.revenue = rows.reduce((sum, r) => sum + (Number(r.revenue) || 0), 0);
  page.append(
    tiles([
      [t("m.targeted"), num(total.targeted), total.targeted, "targeted"],
      [t("m.sent"), num(total.sent), total.sent, "sent"],
      [t("m.delivered"), num(total.delivered), total.delivered, "delivered"],
      [t("m.clicked"), num(total.clicked), total.clicked, "clicked"],
      [t("m.converted"), num(total.converted), total.converted, "converted"],
      [t("m.revenue"), money(total.revenue), total.revenue, "revenue"],
    ]),
  );
  if (!rows.length) {
    page.append(h("p", { class: "muted empty" }, t("none")));
    return page;
  }
  const stages = STAGES.map((key) => ({ key, label: t(`m.${key}`), value: total[key] }));
  const groups = rows.map((r) => ({ label: String(r.key), href: keyHref(groupBy, r.key, from, to), values: r }));
  const chartStages = ["targeted", "sent", "delivered", "clicked", "converted"].map((key) => ({ key, label: t(`m.${key}`) }));
  page.append(
    h(
      "div",
      { class: "grid2" },
      h("div", { class: "card" }, h("h2", null, t("funnel.stages")), funnel(stages, t("funnel.stages"), num)),
      h("div", { class: "card" }, h("h2", null, t("funnel.rate")), bars(rows.map((r) => ({ label: String(r.key), value: rate(r) ?? 0, href: keyHref(groupBy, r.key, from, to) })), t("funnel.rate"), (v) => pct(v))),
    ),
    h(
      "div",
      { class: "card" },
      h("h2", null, `${t("funnel.by_group")} · ${t(`group.${groupBy}`)}`),
      h("div", { class: "legend" }, chartStages.map((st, i) => h("span", null, h("i", { class: `s${i}` }), st.label))),
      nested(groups, chartStages, t("funnel.by_group"), num),
    ),
    h("div", { class: "card" }, h("h2", null, t("funnel.revenue")), bars(rows.map((r) => ({ label: String(r.key), value: Number(r.revenue) || 0 })), t("funnel.revenue"), money)),
  );
  const columns = [
    { key: "key", label: t(`group.${groupBy}`), cell: (r) => (keyHref(groupBy, r.key, from, to) ? h("a", { href: keyHref(groupBy, r.key, from, to) }, String(r.key)) : String(r.key)) },
    ...COUNTS.map((c) => ({
      key: c,
      label: t(`m.${c}`),
      num: true,
      value: (r) => (c === "suppressed" ? suppressedTotal(r) : r[c]),
      cell: (r) => {
        const value = c === "suppressed" ? suppressedTotal(r) : r[c];
        if (c !== "suppressed" || !r.suppressed || typeof r.suppressed !== "object") return num(value);
        const why = Object.entries(r.suppressed).map(([reason, n]) => `${reason}: ${n}`).join("\n");
        return h("span", { title: why }, num(value));
      },
    })),
    { key: "revenue", label: t("m.revenue"), num: true, cell: (r) => money(r.revenue) },
    { key: "rate", label: t("m.rate"), num: true, value: rate, cell: (r) => pct(rate(r)) },
  ];
  page.append(h("div", { class: "card" }, table(columns, rows, { id: "funnel-table" })));
  return page;
}
