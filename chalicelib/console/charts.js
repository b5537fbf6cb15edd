// Charts as inline SVG drawn from the API's numbers (no library): a funnel, bars per group, nested
// funnel bars per group, intervals around an estimate (lift), and a seat meter. Each chart scales
// with its box (viewBox), so it reads on a phone too.
import { s } from "./ui.js";

const W = 560;
const LABEL = 130;
const VALUE = 110;

function cut(text, most = 22) {
  const value = String(text ?? "");
  return value.length > most ? `${value.slice(0, most - 1)}…` : value;
}

function svg(height, label, ...children) {
  // Drawn at its natural size (12px text), shrinking with a narrower box.
  return s("svg", { class: "chart", width: W, height, viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label }, s("title", null, label), ...children);
}

// One bar per stage, each as wide as its share of the first: [{key, label, value}].
export function funnel(stages, label, format) {
  const top = Math.max(1, ...stages.map((st) => st.value || 0));
  const row = 30;
  const span = W - LABEL - VALUE;
  const first = stages[0] ? stages[0].value || 0 : 0;
  return svg(
    stages.length * row + 6,
    label,
    stages.map((st, i) => {
      const width = ((st.value || 0) / top) * span;
      const share = first ? ` (${Math.round(((st.value || 0) / first) * 1000) / 10}%)` : "";
      return s(
        "g",
        { transform: `translate(0 ${i * row + 3})`, dataset: { stage: st.key, value: st.value ?? 0 } },
        s("text", { x: 0, y: 18 }, cut(st.label)),
        s("rect", { class: "track", x: LABEL, y: 4, width: span, height: 20, rx: 3 }),
        s("rect", { class: `s${i % 6}`, x: LABEL, y: 4, width: Math.max(width, st.value ? 1 : 0), height: 20, rx: 3 }),
        s("text", { x: LABEL + span + 8, y: 18 }, `${format(st.value)}${share}`),
        s("title", null, `${st.label}: ${format(st.value)}${share}`),
      );
    }),
  );
}

// Horizontal bars, one per row: [{label, value, href?}].
export function bars(rows, label, format) {
  const top = Math.max(Number.EPSILON, ...rows.map((r) => r.value || 0));
  const row = 26;
  const span = W - LABEL - VALUE;
  return svg(
    Math.max(1, rows.length) * row + 6,
    label,
    rows.map((r, i) => {
      const text = s("text", { x: 0, y: 17 }, cut(r.label));
      return s(
        "g",
        { transform: `translate(0 ${i * row + 3})`, dataset: { key: r.label, value: r.value ?? 0 } },
        r.href ? s("a", { href: r.href }, text) : text,
        s("rect", { class: "track", x: LABEL, y: 4, width: span, height: 16, rx: 3 }),
        s("rect", { class: "s0", x: LABEL, y: 4, width: Math.max(0, ((r.value || 0) / top) * span), height: 16, rx: 3 }),
        s("text", { x: LABEL + span + 8, y: 17 }, format(r.value)),
        s("title", null, `${r.label}: ${format(r.value)}`),
      );
    }),
  );
}

// Per group, the stages as nested bars on one track (each narrower and thinner than the one before):
// groups [{label, href?, values: {stage: n}}], stages [{key, label}].
export function nested(groups, stages, label, format) {
  const top = Math.max(1, ...groups.map((g) => g.values[stages[0].key] || 0));
  const row = 34;
  const span = W - LABEL - VALUE;
  return svg(
    Math.max(1, groups.length) * row + 6,
    label,
    groups.map((g, i) => {
      const text = s("text", { x: 0, y: 21 }, cut(g.label));
      const last = stages[stages.length - 1].key;
      return s(
        "g",
        { transform: `translate(0 ${i * row + 3})`, dataset: { key: g.label } },
        g.href ? s("a", { href: g.href }, text) : text,
        s("rect", { class: "track", x: LABEL, y: 2, width: span, height: 26, rx: 3 }),
        stages.map((st, j) => {
          const inset = j * 2.5;
          return s(
            "rect",
            { class: `s${j % 6}`, x: LABEL, y: 2 + inset, width: ((g.values[st.key] || 0) / top) * span, height: 26 - 2 * inset, rx: 2 },
            s("title", null, `${g.label} · ${st.label}: ${format(g.values[st.key])}`),
          );
        }),
        s("text", { x: LABEL + span + 8, y: 21 }, `${format(g.values[last])} / ${format(g.values[stages[0].key])}`),
      );
    }),
  );
}

// Estimates with their intervals, and a dashed zero line: [{label, estimate, lo, hi, weak?}].
export function intervals(rows, label, format) {
  const values = rows.flatMap((r) => [r.lo, r.hi, r.estimate]).filter((v) => typeof v === "number" && Number.isFinite(v));
  const reach = Math.max(Number.EPSILON, ...values.map(Math.abs)) * 1.1;
  const span = W - LABEL - VALUE;
  const x = (v) => LABEL + ((v + reach) / (2 * reach)) * span;
  const row = 30;
  const height = Math.max(1, rows.length) * row + 24;
  return svg(
    height,
    label,
    s("line", { class: "zero", x1: x(0), x2: x(0), y1: 0, y2: height - 18 }),
    s("text", { x: x(0) - 4, y: height - 4 }, "0"),
    rows.map((r, i) => {
      const y = i * row + 15;
      const known = [r.lo, r.hi, r.estimate].every((v) => typeof v === "number" && Number.isFinite(v));
      return s(
        "g",
        { dataset: { key: r.label, value: r.estimate ?? "" } },
        s("text", { x: 0, y: y + 5 }, cut(r.label)),
        known ? s("line", { class: "ci", x1: x(r.lo), x2: x(r.hi), y1: y, y2: y }) : null,
        known ? s("circle", { class: r.weak ? "dot bad" : "dot", cx: x(r.estimate), cy: y, r: 5 }) : null,
        s("text", { x: LABEL + span + 8, y: y + 5 }, known ? `${format(r.estimate)}` : "–"),
        s("title", null, known ? `${r.label}: ${format(r.estimate)} [${format(r.lo)}, ${format(r.hi)}]` : r.label),
      );
    }),
  );
}

// A meter of parts against a whole (seats taken of the capacity): parts [{label, value}].
export function meter(parts, whole, label, format) {
  const total = Math.max(1, whole || 0, parts.reduce((sum, p) => sum + (p.value || 0), 0));
  const span = W - 2;
  let at = 1;
  return svg(
    34,
    label,
    s("rect", { class: "track", x: 1, y: 4, width: span, height: 22, rx: 4 }),
    parts.map((p, i) => {
      const width = ((p.value || 0) / total) * span;
      const rect = s("rect", { class: `s${i % 6}`, x: at, y: 4, width, height: 22 }, s("title", null, `${p.label}: ${format(p.value)}`));
      at += width;
      return rect;
    }),
  );
}
