// Building the page: elements from plain values (text only, never HTML: what members wrote stays
// text), tables, badges, error boxes, and phone masking — the API masks, and the page masks again.
import { t, tStatus } from "./i18n.js";

// Country calling codes of one and two digits (ITU E.164); every other code has three.
const CC1 = new Set(["1", "7"]);
const CC2 = new Set(
  "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split(" "),
);
// The same numbers the API masks in text: international (+ and 8–15 digits, a space or dash between
// digits allowed) and mainland mobiles, not inside a longer run of ASCII letters or digits.
const PHONE_IN_TEXT = /(?<![0-9A-Za-z+])(?:\+\d(?:[ -]?\d){7,14}|1[3-9]\d(?:[ -]?\d{4}){2})(?![0-9A-Za-z])/g;

// +8613800138000 → +86*******8000: the country code and the last four digits, never more.
export function maskPhone(phone) {
  if (!phone) return "";
  const text = String(phone);
  const digits = text.replace(/\D/g, "");
  if (!text.startsWith("+")) return digits.length <= 4 ? "*".repeat(text.length) : "*".repeat(digits.length - 4) + digits.slice(-4);
  const cc = CC1.has(digits[0]) ? digits.slice(0, 1) : CC2.has(digits.slice(0, 2)) ? digits.slice(0, 2) : digits.slice(0, 3);
  const hidden = digits.length - cc.length - 4;
  if (text.includes("*") && hidden <= 0) return text; // masked already
  return hidden < 1 ? "*".repeat(text.length) : `+${cc}${"*".repeat(hidden)}${digits.slice(-4)}`;
}

export function maskPhonesIn(text) {
  return String(text).replace(PHONE_IN_TEXT, (found) => {
    const digits = found.replace(/[ -]/g, "");
    return maskPhone(digits.startsWith("+") ? digits : `+86${digits}`);
  });
}

function append(node, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) child.forEach((c) => append(node, c));
  else if (child instanceof Node) node.appendChild(child);
  else node.appendChild(document.createTextNode(maskPhonesIn(child)));
}

function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export function memberLink(id) {
  return id ? link(`#/members/${encodeURIComponent(id)}`, id) : "–";
}

const STATUS_TONE = {
  delivered: "ok", read: "ok", sent: "info", queued: "info", deferred: "warn", capped: "warn",
  suppressed: "warn", failed: "bad", undelivered: "bad", control: "", open: "warn",
  confirmed: "ok", checked_in: "ok", waitlisted: "info", offered: "warn", cancelled: "", no_show: "bad",
  draft: "", scheduled: "info", sending: "info", paused: "warn", done: "ok",
};

export function badge(status, label) {
  return h("span", { class: `badge ${STATUS_TONE[status] || ""}`, dataset: { status } }, label ?? tStatus(status));
}

// A table: columns [{key, label, num?, cls?, cell(row) → node or text}], rows of plain objects.
// Numeric cells carry the raw value in data-value (what the tests compare with the API).
export function table(columns, rows, { id } = {}) {
  const head = h("tr", null, columns.map((c) => h("th", { class: c.num ? "num" : c.cls || null, scope: "col" }, c.label)));
  const body = rows.map((row) =>
    h(
      "tr",
      null,
      columns.map((c) => {
        const raw = c.value ? c.value(row) : row[c.key];
        const shown = c.cell ? c.cell(row) : raw ?? "–";
        const attrs = { class: c.num ? "num" : c.cls || null, dataset: { col: c.key } };
        if (c.num && typeof raw === "number") attrs.dataset.value = String(raw);
        return h("td", attrs, shown);
      }),
    ),
  );
  return h("div", { class: "scroll" }, h("table", { id }, h("thead", null, head), h("tbody", null, body)));
}

export function tiles(items) {
  return h(
    "div",
    { class: "tiles" },
    items.map(([label, shown, raw, key]) => h("div", { class: "tile", dataset: { tile: key, value: raw ?? "" } }, h("b", null, shown), h("span", null, label))),
  );
}

export function errorBox(error) {
  const lines = [];
  if (error && error.fields) for (const [field, why] of Object.entries(error.fields)) lines.push(`${field}: ${why}`);
  const status = error && error.status ? `HTTP ${error.status}` : t("error.network");
  return h(
    "div",
    { class: "error", role: "alert", dataset: { status: error && error.status ? error.status : 0 } },
    h("strong", null, `${t("error.title")} (${status})`),
    h("div", null, error && error.path ? `GET ${error.path}: ` : "", error && error.message ? error.message : String(error)),
    lines.length ? h("pre", null, lines.join("\n")) : null,
  );
}

export function empty() {
  return h("p", { class: "muted empty" }, t("none"));
}

// A "load more" button that calls load(cursor) → next cursor (null at the end).
export function moreButton(cursor, load) {
  const box = h("div", { class: "more" });
  const button = h("button", { type: "button", class: "ghost", id: "more" }, t("more"));
  let next = cursor;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      next = await load(next);
    } catch (error) {
      box.append(errorBox(error));
    }
    button.disabled = false;
    if (!next) box.remove();
  });
  if (next) box.append(button);
  return box;
}

// The route's query (#/messages?status=failed) as a plain object, and back.
export function hashWith(path, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const text = query.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function daysAgo(n) {
  const date = new Date();
  date.setDate(date.getDate() - n);
  return isoDay(date);
}
