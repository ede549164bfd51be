// The portal shell: hash router, navigation state and the identity bar.

import { can, localIdentity, me, setLocalIdentity, setToken } from "./api.js";
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

/**
 * What each page needs (any one of the permissions). The router does not open a page the
 * user may not use (it would only show a 403) and the nav hides its link; the API enforces
 * the same rules on every request anyway.
 */
export const PAGE_PERMISSIONS = {
  dashboard: ["stats:read"],
  definitions: ["definition:read"],
  definition: ["definition:read"],
  instances: ["instance:read", "instance:read_own"],
  instance: ["instance:read", "instance:read_own"],
  tasks: ["task:read", "task:work"],
  task: ["task:read", "task:work"],
};
const NAV_ORDER = ["dashboard", "definitions", "instances", "tasks"];
const NAV_PATHS = { dashboard: "#/", definitions: "#/definitions", instances: "#/instances", tasks: "#/tasks" };

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
  if (match.page !== "login") {
    let who;
    try {
      who = await me();
    } catch (exc) {
      if (controller.signal.aborted) return;
      // 401: me() already sent the user to #/login (a new route is on its way).
      if (exc && exc.status === 401) return;
      clear(root).append(errorState(exc, () => route()));
      return;
    }
    if (controller.signal.aborted) return;
    showNav(who);
    const needs = PAGE_PERMISSIONS[match.page] || [];
    if (needs.length && !can(who, ...needs)) {
      const allowed = NAV_ORDER.filter((page) => can(who, ...PAGE_PERMISSIONS[page]));
      if (match.page === "dashboard" && allowed.length) {
        // The start page is the dashboard only for those who may read statistics.
        history.replaceState(null, "", NAV_PATHS[allowed[0]]);
        route();
        return;
      }
      clear(root).append(notAllowed(match.page, who, needs, allowed));
      return;
    }
  }
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

/** A page the user's roles do not allow: say which permission it needs, offer the others. */
function notAllowed(page, who, needs, allowed) {
  document.title = `Not allowed · workflow-engine`;
  const roles = who.roles?.length ? who.roles.join(", ") : "none";
  return h("div", { class: "not-allowed" },
    h("h1", { tabindex: "-1" }, "Not allowed"),
    h("div", { class: "state state-error", role: "alert" },
      h("p", {}, `Your roles (${roles}) do not allow the ${TITLES[page]} page: it needs the permission `,
        needs.map((p, i) => [i ? " or " : "", h("code", {}, p)]), "."),
      allowed.length
        ? h("p", {}, "You can use: ", allowed.map((name, i) => [i ? ", " : "", h("a", { href: NAV_PATHS[name] }, TITLES[name])]), ".")
        : h("p", {}, "Your roles allow no page of this portal; ask an administrator for a role.")));
}

/** Show only the nav links of pages the user may open (all of them while auth is off). */
function showNav(who) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    const needs = PAGE_PERMISSIONS[link.dataset.nav] || [];
    link.closest("li").hidden = Boolean(who) && needs.length > 0 && !can(who, ...needs);
    if (!who) link.closest("li").hidden = true;
  }
}

function identityBarOn(bar, who) {
  const logout = h("button", {
    type: "button", class: "btn btn-small", id: "logout",
    on: { click: () => {
      setToken(null); // forgets the token and who it named
      loggedOutBar(bar);
      toast("Logged out", "success");
      window.location.hash = "#/login";
    } },
  }, "Log out");
  const roles = who.roles?.length ? who.roles.join(", ") : "no role";
  append(clear(bar),
    h("span", { class: "identity-user", id: "identity-user" }, "Signed in as ", h("strong", {}, who.user_id || "—")),
    h("span", { class: "identity-roles", id: "identity-roles", title: "Roles" }, roles),
    h("span", { class: "identity-tenant", id: "identity-tenant", title: "Tenant" }, who.tenant_id ? `tenant ${who.tenant_id}` : "default tenant"),
    who.groups?.length ? h("span", { class: "identity-groups", title: "Groups" }, `groups: ${who.groups.join(", ")}`) : null,
    logout);
}

function loggedOutBar(bar) {
  clear(bar).append(h("a", { href: "#/login", class: "btn btn-small", id: "login-link" }, "Log in"));
  showNav(null);
}

async function renderIdentity() {
  const bar = document.getElementById("identity");
  try {
    const who = await me();
    showNav(who);
    if (who.auth_enabled) identityBarOn(bar, who);
    else identityBarOff(bar);
  } catch (exc) {
    if (exc && exc.status === 401) loggedOutBar(bar); // not logged in (now on #/login)
    else clear(bar).append(h("span", { class: "muted" }, "identity unknown"));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("wfe:login", renderIdentity);
window.addEventListener("wfe:logout", () => loggedOutBar(document.getElementById("identity")));
document.getElementById("skip-link")?.addEventListener("click", (event) => {
  event.preventDefault(); // the hash is the router's: move focus instead of navigating
  document.getElementById("main")?.focus();
});
renderIdentity();
route();
