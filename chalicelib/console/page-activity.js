// #/activities/{id}: an activity's seats, waitlist, offers with their deadlines, check-ins and
// feedback (GET /v1/activities/{id}, …/registrations, …/feedback; CONTRACT §6).
import * as api from "./api.js";
import { meter } from "./charts.js";
import { num, span, t, when } from "./i18n.js";
import { badge, empty, errorBox, h, memberLink, table, tiles } from "./ui.js";

const COUNTS = ["confirmed", "waitlisted", "offered", "cancelled", "checked_in", "no_show"];

function section(title, body) {
  return h("div", { class: "card" }, h("h2", null, title), body);
}

function deadline(iso, now) {
  if (!iso) return "–";
  const left = new Date(iso).getTime() - now;
  return h("span", null, when(iso), " ", left > 0 ? badge("offered", t("activity.left", { t: span(left) })) : badge("no_show", t("activity.expired")));
}

export async function render({ params: [id] }) {
  const path = `v1/activities/${encodeURIComponent(id)}`;
  const page = h("section", { id: "page-activity", dataset: { title: `${t("activity.title")} ${id}` } }, h("h1", null, `${t("activity.title")} ${id}`));
  const [activity, registrations, feedback] = await Promise.allSettled([api.get(path), api.get(`${path}/registrations`), api.get(`${path}/feedback`)]);
  const now = Date.now();
  if (activity.status === "rejected") page.append(errorBox(activity.reason));
  else {
    const a = activity.value.body;
    const counts = a.counts || {};
    if (a.title) page.querySelector("h1").textContent = a.title;
    page.append(
      h(
        "div",
        { class: "card" },
        h(
          "dl",
          { class: "facts" },
          h("dt", null, t("activity.when")),
          h("dd", null, `${when(a.starts_at)} – ${when(a.ends_at)}`),
          h("dt", null, t("activity.where")),
          h("dd", null, a.location || "–"),
          h("dt", null, t("campaign.status")),
          h("dd", null, badge(a.status === "open" ? "confirmed" : a.status || "", ["open", "closed", "cancelled"].includes(a.status) ? t(`activity.${a.status}`) : a.status)),
          h("dt", null, t("activity.capacity")),
          h("dd", { id: "capacity", dataset: { value: a.capacity ?? "" } }, num(a.capacity)),
        ),
        h("h2", null, t("activity.seats")),
        meter(
          [
            { label: t("activity.confirmed"), value: counts.confirmed || 0 },
            { label: t("activity.offered"), value: counts.offered || 0 },
          ],
          a.capacity,
          t("activity.seats"),
          num,
        ),
        h("p", { class: "muted small" }, t("activity.seats_line", { c: num(counts.confirmed || 0), o: num(counts.offered || 0), n: num(a.capacity) })),
      ),
      tiles([
        [t("activity.seats_left"), num(a.seats_left), a.seats_left, "seats_left"],
        ...COUNTS.map((c) => [t(`activity.${c}`), num(counts[c] ?? 0), counts[c] ?? 0, c]),
      ]),
    );
  }
  if (registrations.status === "rejected") page.append(errorBox(registrations.reason));
  else {
    const rows = Array.isArray(registrations.value.body) ? registrations.value.body : [];
    const by = (status) => rows.filter((r) => r.status === status);
    const waiting = by("waitlisted").sort((x, y) => (x.position ?? 1e9) - (y.position ?? 1e9));
    const member = { key: "member_id", label: t("messages.member"), cell: (r) => memberLink(r.member_id) };
    page.append(
      section(
        `${t("activity.confirmed")} (${num(by("confirmed").length)})`,
        by("confirmed").length
          ? table(
              [member, { key: "registered_at", label: t("activity.registered_at"), cls: "time", cell: (r) => when(r.registered_at) }, { key: "checked_in_at", label: t("activity.checked_in_at"), cls: "time", cell: (r) => (r.checked_in_at ? when(r.checked_in_at) : "–") }],
              by("confirmed"),
              { id: "confirmed-table" },
            )
          : empty(),
      ),
      section(
        `${t("activity.waitlist")} (${num(waiting.length)})`,
        waiting.length
          ? table([{ key: "position", label: t("activity.position"), num: true, cell: (r) => num(r.position) }, member, { key: "registered_at", label: t("activity.registered_at"), cls: "time", cell: (r) => when(r.registered_at) }], waiting, { id: "waitlist-table" })
          : empty(),
      ),
      section(
        `${t("activity.offers")} (${num(by("offered").length)})`,
        by("offered").length
          ? table([member, { key: "offer_expires_at", label: t("activity.deadline"), cls: "time", cell: (r) => deadline(r.offer_expires_at, now) }], by("offered"), { id: "offers-table" })
          : empty(),
      ),
      section(
        `${t("activity.checkins")} (${num(rows.filter((r) => r.checked_in_at).length)})`,
        rows.some((r) => r.checked_in_at)
          ? table([member, { key: "checked_in_at", label: t("activity.checked_in_at"), cls: "time", cell: (r) => when(r.checked_in_at) }], rows.filter((r) => r.checked_in_at), { id: "checkins-table" })
          : empty(),
      ),
    );
  }
  if (feedback.status === "rejected") page.append(errorBox(feedback.reason));
  else {
    const rows = Array.isArray(feedback.value.body) ? feedback.value.body : [];
    const rated = rows.filter((r) => typeof r.rating === "number");
    const average = rated.length ? rated.reduce((sum, r) => sum + r.rating, 0) / rated.length : null;
    page.append(
      section(
        `${t("activity.feedback")} (${num(rows.length)})`,
        rows.length
          ? h(
              "div",
              null,
              average !== null ? h("p", { id: "rating-average", dataset: { value: average } }, t("activity.average", { r: average.toFixed(1), n: num(rated.length) })) : null,
              table(
                [
                  { key: "at", label: t("handoffs.time"), cls: "time", cell: (r) => when(r.at) },
                  { key: "member_id", label: t("messages.member"), cell: (r) => memberLink(r.member_id) },
                  { key: "rating", label: t("activity.rating"), num: true, cell: (r) => (typeof r.rating === "number" ? `${"★".repeat(r.rating)}${"☆".repeat(Math.max(0, 5 - r.rating))}` : "–") },
                  { key: "text", label: t("messages.text"), cls: "text", cell: (r) => r.text || (r.media ? String(r.media) : "–") },
                ],
                rows,
                { id: "feedback-table" },
              ),
            )
          : empty(),
      ),
    );
  }
  return page;
}
