// The portal shell: hash router, navigation state and the identity bar.

import { identity, localIdentity, me, setLocalIdentity, setToken } from "./api.js";
import { append, clear, errorState, h, loading, toast } from "./ui.js";

const ROUTES = [
  ["/", "dashboard", "dashboard"],
  ["/definitions", "definitions", "definitions"],
  ["/definitions/:id", "definition", "definitions"],
  ["/instances", "instances", "instances"],
  ["/instances/:id", "instance", "instances"],
  ["/tasks", "tasks", "tasks"],
  ["/tasks/:id", "task", "tasks"],
  ["/login", "login", null],
];

const TITLES = {
  dashboard: "Dashboard", definitions: "Definitions", definition: "Definition",
  instances: "Instances", instance: "Instance", tasks: "Tasks", task: "Task", login: "Log in",
};

/** Match "/definitions/12" against the routes: `{page, nav, params}` or null. */
export function matchRoute(path) {
  const parts = path.split("/").filter(Boolean);
  for (const [pattern, page, nav] of ROUTES) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((segment, i) => {
      if (segment.startsWith(":")) {
        params[segment.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return segment === parts[i];
    });
    if (ok) return { page, nav, params };
  }
  return null;
}

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const mark = raw.indexOf("?");
  const path = mark < 0 ? raw : raw.slice(0, mark);
  const query = new URLSearchParams(mark < 0 ? "" : raw.slice(mark + 1));
  return { path: path.startsWith("/") ? path : `/${path}`, query };
}

let current = null;
let firstRender = true;

async function route() {
  const main = document.getElementById("main");
  current?.abort();
  const controller = new AbortController();
  current = controller;
  performance.mark("wfe:route");
  const { path, query } = parseHash();
  const match = matchRoute(path);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (match && link.dataset.nav === match.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(main);
  if (!match) {
    document.title = "Not found · workflow-engine";
    main.append(h("h1", { tabindex: "-1" }, "Page not found"),
      h("p", {}, "There is no page at ", h("code", {}, path), ". ", h("a", { href: "#/" }, "Go to the dashboard"), "."));
    return;
  }
  document.title = `${TITLES[match.page]} · workflow-engine`;
  const root = h("div", { class: "page", dataset: { page: match.page } });
  main.append(root);
  root.append(loading());
  let module;
  try {
    module = await import(`./pages/${match.page}.js`);
  } catch (exc) {
    if (controller.signal.aborted) return;
    clear(root).append(errorState(new Error(`the ${TITLES[match.page]} page could not be loaded (${exc.message})`)));
    return;
  }
  if (controller.signal.aborted) return;
  clear(root);
  try {
    await module.render(root, { params: match.params, query, signal: controller.signal });
  } catch (exc) {
    if (controller.signal.aborted || (exc && exc.name === "AbortError")) return;
    clear(root).append(errorState(exc, () => route()));
  }
  if (controller.signal.aborted) return;
  // Move focus to the new page's heading so keyboard and screen-reader users start there
  // (not on first load: the user has not navigated yet).
  if (!firstRender) root.querySelector("h1")?.focus({ preventScroll: false });
  firstRender = false;
}

function identityBarOff(bar) {
  const who = localIdentity();
  const user = h("input", { id: "acting-user", name: "user", type: "text", value: who.user_id, autocomplete: "username", size: "10", required: true });
  const groups = h("input", { id: "acting-groups", name: "groups", type: "text", value: who.groups.join(", "), placeholder: "e.g. reviewers", size: "14" });
  const form = h("form", { class: "identity-form", "aria-label": "Acting identity (auth is off)" },
    h("label", { for: "acting-user" }, "Acting as"), user,
    h("label", { for: "acting-groups" }, "Groups"), groups,
    h("button", { type: "submit", class: "btn btn-small" }, "Set"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!user.value.trim()) {
      toast("Enter the user you act as", "error");
      user.focus();
      return;
    }
    setLocalIdentity({ user_id: user.value, groups: groups.value.split(",") });
    toast(`Acting as ${user.value.trim()}`, "success");
  });
  clear(bar).append(form);
}

function identityBarOn(bar, who) {
  const logout = h("button", {
    type: "button", class: "btn btn-small",
    on: { click: () => { setToken(null); window.location.hash = "#/login"; renderIdentity(); } },
  }, "Log out");
  append(clear(bar), h("span", { class: "identity-user" }, "Signed in as ", h("strong", {}, who.user_id || "—")),
    who.groups?.length ? h("span", { class: "identity-groups" }, ` (${who.groups.join(", ")})`) : null, " ", logout);
}

async function renderIdentity() {
  const bar = document.getElementById("identity");
  try {
    const who = await me();
    if (who.auth_enabled) identityBarOn(bar, await identity());
    else identityBarOff(bar);
  } catch (exc) {
    // 401: not logged in yet (the request already sent us to #/login).
    clear(bar).append(h("a", { href: "#/login", class: "btn btn-small" }, "Log in"));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("wfe:login", renderIdentity);
document.getElementById("skip-link")?.addEventListener("click", (event) => {
  event.preventDefault(); // the hash is the router's: move focus instead of navigating
  document.getElementById("main")?.focus();
});
renderIdentity();
route();
