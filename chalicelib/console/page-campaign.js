// #/campaigns/{id}: a campaign's sending (GET /v1/campaigns/{id}) and results against control
// (GET /v1/campaigns/{id}/results): per arm members … revenue and conversion rate; per variant the
// lift with its 95% interval, p-value, probability to beat control and whether it is underpowered.
import * as api from "./api.js";
import { intervals } from "./charts.js";
import { money, num, pct, t } from "./i18n.js";
import { badge, errorBox, h, table, tiles } from "./ui.js";

const SENDS = ["members", "queued", "sent", "delivered", "suppressed", "capped", "deferred"];
const RESULTS = ["members", "delivered", "read", "clicked", "converted"];

// The arms of an answer, control last: {arms: {A: {...}, control: {...}}} (or a list of arms with
// `id`), or {variants: [{id, ...}] | {A: {...}}, control: {...}}.
export function armsOf(body) {
  const listed = [];
  const add = (id, arm) => arm && typeof arm === "object" && listed.push({ ...arm, id: String(arm.id ?? arm.arm ?? arm.variant ?? id) });
  const collect = (group) => {
    if (Array.isArray(group)) group.forEach((arm, i) => add(i, arm));
    else if (group && typeof group === "object") Object.entries(group).forEach(([id, arm]) => add(id, arm));
  };
  collect(body && (body.arms ?? body.variants));
  if (body && body.control && !listed.some((a) => a.id === "control")) add("control", body.control);
  return [...listed.filter((a) => a.id !== "control"), ...listed.filter((a) => a.id === "control")];
}

function armLabel(id) {
  return id === "control" ? t("campaign.control") : id;
}

function lift(arm) {
  const value = arm.lift;
  if (value && typeof value === "object") return { estimate: value.estimate, lo: (value.ci95 || [])[0], hi: (value.ci95 || [])[1] };
  return { estimate: typeof value === "number" ? value : null, lo: null, hi: null };
}

export async function render({ params: [id] }) {
  const page = h("section", { id: "page-campaign", dataset: { title: t("campaign.title", { id }) } }, h("h1", null, t("campaign.title", { id })));
  const [campaign, results] = await Promise.allSettled([
    api.get(`v1/campaigns/${encodeURIComponent(id)}`),
    api.get(`v1/campaigns/${encodeURIComponent(id)}/results`),
  ]);
  if (campaign.status === "rejected") page.append(errorBox(campaign.reason));
  else {
    const body = campaign.value.body;
    if (body.name) page.querySelector("h1").textContent = `${body.name} (${id})`;
    page.append(
      h("p", null, t("campaign.status"), ": ", badge(body.status), " · ", t("campaign.audience"), ": ", h("b", { id: "audience", dataset: { value: body.audience ?? "" } }, num(typeof body.audience === "number" ? body.audience : body.audience?.count))),
      h("h2", null, t("campaign.sends")),
      table(
        [{ key: "id", label: t("campaign.arm"), cell: (a) => armLabel(a.id) }, ...SENDS.map((c) => ({ key: c, label: t(`m.${c}`), num: true, cell: (a) => num(a[c]) }))],
        armsOf(body),
        { id: "sends-table" },
      ),
    );
  }
  page.append(h("h2", null, t("campaign.results")));
  if (results.status === "rejected") {
    page.append(errorBox(results.reason));
    return page;
  }
  const arms = armsOf(results.value.body);
  const variants = arms.filter((a) => a.id !== "control");
  const control = arms.find((a) => a.id === "control");
  if (control) {
    page.append(
      tiles([
        [`${t("campaign.control")} · ${t("m.members")}`, num(control.members), control.members, "control-members"],
        [`${t("campaign.control")} · ${t("m.conversion_rate")}`, pct(control.conversion_rate, 2), control.conversion_rate, "control-rate"],
      ]),
    );
  }
  page.append(
    table(
      [
        { key: "id", label: t("campaign.arm"), cell: (a) => armLabel(a.id) },
        ...RESULTS.map((c) => ({ key: c, label: t(`m.${c}`), num: true, cell: (a) => num(a[c]) })),
        { key: "revenue", label: t("m.revenue"), num: true, cell: (a) => money(a.revenue) },
        { key: "conversion_rate", label: t("m.conversion_rate"), num: true, cell: (a) => pct(a.conversion_rate, 2) },
      ],
      arms,
      { id: "results-table" },
    ),
  );
  if (!variants.length) return page;
  const rows = variants.map((a) => ({ label: a.id, ...lift(a), weak: Boolean(a.underpowered) }));
  page.append(
    h("h2", null, t("campaign.lift")),
    table(
      [
        { key: "id", label: t("campaign.arm") },
        { key: "lift", label: t("campaign.lift"), num: true, value: (a) => lift(a).estimate, cell: (a) => pct(lift(a).estimate) },
        { key: "ci95", label: t("campaign.ci"), num: true, cell: (a) => `[${pct(lift(a).lo)}, ${pct(lift(a).hi)}]` },
        { key: "p_value", label: t("campaign.p"), num: true, cell: (a) => (typeof a.p_value === "number" ? a.p_value.toFixed(3) : "–") },
        { key: "prob_beats_control", label: t("campaign.prob"), num: true, cell: (a) => pct(a.prob_beats_control) },
        {
          key: "underpowered",
          label: t("campaign.power"),
          cell: (a) =>
            a.underpowered
              ? badge("paused", `${t("campaign.underpowered")} · ${t("campaign.required", { n: num(a.required_per_arm) })}`)
              : badge("done", t("campaign.enough")),
        },
      ],
      variants,
      { id: "lift-table" },
    ),
    h("div", { class: "card" }, h("h2", null, t("campaign.lift_chart")), intervals(rows, t("campaign.lift_chart"), (v) => pct(v))),
  );
  return page;
}
