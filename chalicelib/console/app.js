// The console: sign-in (an API key, kept in this tab's sessionStorage, or taken once from #key=…),
// one address per page (#/funnel, #/campaigns/{id}, #/activities/{id}, #/messages, #/members/{id},
// #/handoffs), the header's search, the language switch. A 401 anywhere returns to sign-in.
import * as api from "./api.js";
import { getLang, setLang, t } from "./i18n.js";
import { errorBox, h } from "./ui.js";

const ROUTES = [
  [/^\/funnel$/, "funnel", () => import("./page-funnel.js")],
  [/^\/campaigns\/([^/]+)$/, "campaigns", () => import("./page-campaign.js")],
  [/^\/activities\/([^/]+)$/, "activities", () => import("./page-activity.js")],
  [/^\/messages$/, "messages", () => import("./page-messages.js")],
  [/^\/members\/([^/]+)$/, "members", () => import("./page-member.js")],
  [/^\/handoffs$/, "handoffs", () => import("./page-handoffs.js")],
];
const HOME = "#/funnel";
const main = document.getElementById("main");
let rendering = 0;
let refused = false;

// #key=… signs in once; the key leaves the address bar (and the history) at once.
function takeKeyFromFragment() {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (!match) return;
  api.setKey(decodeURIComponent(match[1]));
  history.replaceState(null, "", `${location.pathname}${location.search}${HOME}`);
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/funnel";
  const [path, query = ""] = hash.split("?");
  for (const [pattern, name, load] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { name, load, params: match.slice(1).map(decodeURIComponent), query: new URLSearchParams(query) };
  }
  return null;
}

function translateStatic() {
  document.documentElement.lang = getLang();
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  document.getElementById("lang").textContent = t("lang.other");
}

function chrome(signedIn) {
  for (const id of ["nav", "search", "signout"]) document.getElementById(id).hidden = !signedIn;
}

function signIn() {
  chrome(false);
  const input = h("input", { id: "key", type: "password", autocomplete: "off", required: true, "aria-label": t("signin.key") });
  const form = h(
    "form",
    { id: "signin" },
    h("label", { for: "key" }, t("signin.key")),
    input,
    h("button", { type: "submit" }, t("signin.go")),
    h("p", { class: "muted small" }, t("signin.hint")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    api.setKey(input.value);
    refused = false;
    render();
  });
  main.replaceChildren(h("section", { class: "signin card", id: "page-signin" }, h("h1", null, t("signin.title")), refused ? h("p", { class: "error" }, t("signin.refused")) : null, form));
  document.title = `${t("signin.title")} · MemberPulse`;
  input.focus();
}

async function render() {
  const ticket = ++rendering;
  if (!api.key()) return signIn();
  chrome(true);
  const current = route();
  if (!current) {
    location.replace(HOME);
    return;
  }
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.route === current.name);
  main.replaceChildren(h("p", { class: "muted", id: "loading" }, t("loading")));
  let view;
  try {
    const page = await current.load();
    view = await page.render({ params: current.params, query: current.query });
  } catch (error) {
    view = errorBox(error);
  }
  if (ticket !== rendering) return; // a newer address was asked for meanwhile
  if (!api.key()) return signIn(); // a 401 while loading
  main.replaceChildren(view);
  document.title = `${view.dataset.title || t(`nav.${current.name}`)} · MemberPulse`;
}

async function search(event) {
  event.preventDefault();
  const kind = document.getElementById("search-kind").value;
  const text = document.getElementById("search-text").value.trim();
  if (!text) return;
  if (kind === "campaign") location.hash = `#/campaigns/${encodeURIComponent(text)}`;
  else if (kind === "activity") location.hash = `#/activities/${encodeURIComponent(text)}`;
  else if (/^[A-Za-z0-9_-]{1,64}$/.test(text) && !/^\+?[\d\s-]{7,}$/.test(text)) location.hash = `#/members/${encodeURIComponent(text)}`;
  else {
    // A phone (or an id that may be one): the by_phone index first, then the text as an id.
    try {
      const { body } = await api.get("v1/members", { phone: text });
      if (body.length) location.hash = `#/members/${encodeURIComponent(body[0].member_id)}`;
      else if (/^[A-Za-z0-9_-]{1,64}$/.test(text)) location.hash = `#/members/${encodeURIComponent(text)}`;
      else main.replaceChildren(h("p", { class: "error" }, t("search.none", { q: text })));
    } catch (error) {
      if (/^[A-Za-z0-9_-]{1,64}$/.test(text) && error.status === 400) location.hash = `#/members/${encodeURIComponent(text)}`;
      else if (api.key()) main.replaceChildren(errorBox(error));
    }
  }
  document.getElementById("search-text").value = "";
}

takeKeyFromFragment();
translateStatic();
window.addEventListener("hashchange", render);
window.addEventListener("mp:unauthorized", () => {
  refused = true;
});
document.getElementById("search").addEventListener("submit", search);
document.getElementById("lang").addEventListener("click", () => {
  setLang(getLang() === "zh-CN" ? "en" : "zh-CN");
  translateStatic();
  render();
});
document.getElementById("signout").addEventListener("click", () => {
  api.forgetKey();
  refused = false;
  render();
});
render();
