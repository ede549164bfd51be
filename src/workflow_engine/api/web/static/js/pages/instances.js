// #/instances: filters in the hash query, page tokens, live updates from /api/v1/stream.

import { get, stream } from "../api.js";
import { clear, debounce, emptyState, errorState, formatDuration, formatTime, h, hashLink, loading, pageHeader } from "../ui.js";

const STATUSES = ["running", "paused", "incident", "completed", "terminated", "cancelled", "timed_out"];
const PAGE_SIZES = [25, 50, 100, 250, 500, 1000];
const API_PAGE_MAX = 500;
const FILTERS = ["definition_key", "status", "business_key", "started_after", "started_before"];

/** "2026-03-01T10:00" (datetime-local, the browser's zone) → ISO with zone, or "". */
function toIso(local) {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** ISO → the datetime-local value in the browser's zone. */
function toLocal(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function pageSize(query) {
  const wanted = Number(query.get("page_size") || 50);
  return PAGE_SIZES.includes(wanted) ? wanted : 50;
}

/** Fetch `size` rows from `token` on, in API pages of at most 500. */
async function fetchRows(filters, size, token, signal) {
  const items = [];
  let next = token || null;
  do {
    const page = await get("/api/v1/instances", { ...filters, page_size: Math.min(API_PAGE_MAX, size - items.length), page_token: next }, { signal });
    items.push(...page.items);
    next = page.next_page_token;
  } while (next && items.length < size);
  return { items, next };
}

// One row built once and cloned per instance: cloning plus textContent is the cheapest DOM
// build, which keeps 1,000 rows well under the 1 s first-render budget.
let rowTemplate = null;

function template() {
  if (!rowTemplate) {
    rowTemplate = h("tr", {},
      h("th", { scope: "row", class: "mono" }, h("a")),
      h("td", {}, document.createTextNode(""), h("span", { class: "muted" })),
      h("td", {}, h("span", { class: "badge" })),
      h("td"), h("td"), h("td", { class: "nowrap" }), h("td", { class: "nowrap" }));
  }
  return rowTemplate;
}

function rowOf(item) {
  const tr = template().cloneNode(true);
  tr.dataset.id = item.id;
  tr.dataset.status = item.status;
  const [idCell, defCell, statusCell, keyCell, activeCell, startCell, durationCell] = tr.children;
  const link = idCell.firstChild;
  link.href = `#/instances/${encodeURIComponent(item.id)}`;
  link.textContent = item.id;
  defCell.firstChild.data = item.definition_key;
  defCell.lastChild.textContent = ` v${item.definition_version}`;
  const badge = statusCell.firstChild;
  badge.className = `badge badge-${item.status.replace(/[^a-z_]/gi, "")}`;
  badge.textContent = item.status.replace(/_/g, " ");
  keyCell.textContent = item.business_key || "—";
  activeCell.textContent = item.active_element_ids.length ? item.active_element_ids.join(", ") : "—";
  startCell.textContent = formatTime(item.start_time);
  durationCell.textContent = item.end_time ? formatDuration(item.duration_ms) : "—";
  return tr;
}

function filterForm(query, size) {
  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const key = h("input", { type: "text", id: "f-definition-key", name: "definition_key", value: query.get("definition_key") || "", autocomplete: "off" });
  const status = h("select", { id: "f-status", name: "status" },
    h("option", { value: "" }, "any"), STATUSES.map((s) => h("option", { value: s, selected: query.get("status") === s }, s.replace("_", " "))));
  const business = h("input", { type: "text", id: "f-business-key", name: "business_key", value: query.get("business_key") || "", autocomplete: "off" });
  const after = h("input", { type: "datetime-local", id: "f-started-after", name: "started_after", value: toLocal(query.get("started_after")) });
  const before = h("input", { type: "datetime-local", id: "f-started-before", name: "started_before", value: toLocal(query.get("started_before")) });
  const sizeSelect = h("select", { id: "f-page-size", name: "page_size" }, PAGE_SIZES.map((n) => h("option", { value: String(n), selected: n === size }, String(n))));
  const form = h("form", { class: "filters card", role: "search", "aria-label": "Filter instances" },
    field("f-definition-key", "Definition key", key), field("f-status", "Status", status),
    field("f-business-key", "Business key", business), field("f-started-after", "Started after", after),
    field("f-started-before", "Started before", before), field("f-page-size", "Page size", sizeSelect),
    h("div", { class: "form-actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Apply"),
      h("a", { class: "btn", href: "#/instances" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = hashLink("/instances", {
      definition_key: key.value.trim(), status: status.value, business_key: business.value.trim(),
      started_after: toIso(after.value), started_before: toIso(before.value),
      page_size: sizeSelect.value === "50" ? "" : sizeSelect.value,
    });
  });
  sizeSelect.addEventListener("change", () => form.requestSubmit());
  status.addEventListener("change", () => form.requestSubmit());
  return form;
}

export async function render(root, { query, signal }) {
  const size = pageSize(query);
  const filters = {};
  for (const name of FILTERS) if (query.get(name)) filters[name] = query.get(name);
  const token = query.get("page_token");
  const live = h("span", { class: "live", id: "live-state", dataset: { state: "closed" }, "aria-live": "polite" }, "connecting…");
  const count = h("p", { class: "muted", id: "instance-count", role: "status" });
  const results = h("div", { class: "instance-results" }, loading());
  root.append(pageHeader("Instances", live), filterForm(query, size), count, results);

  let next = null;
  const draw = (items) => {
    const started = performance.now();
    clear(results);
    if (!items.length) {
      results.append(emptyState(Object.keys(filters).length ? "No instance matches these filters." : "No instances yet. Start one from a definition.",
        h("a", { href: "#/definitions", class: "btn" }, "Definitions")));
    } else {
      // All rows go into one fragment: one layout for the whole list, however long.
      const fragment = document.createDocumentFragment();
      for (const item of items) fragment.append(rowOf(item));
      const body = h("tbody");
      body.append(fragment);
      results.append(h("div", { class: "table-wrap" }, h("table", { class: "instances-table" },
        h("caption", { class: "sr-only" }, "Process instances"),
        h("thead", {}, h("tr", {}, ["Instance", "Definition", "Status", "Business key", "Active", "Started", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
        body)));
    }
    const pager = h("nav", { class: "pager", "aria-label": "Pages" },
      token ? h("a", { class: "btn", href: hashLink("/instances", { ...filters, page_size: size === 50 ? "" : size }) }, "First page") : null,
      next ? h("a", { class: "btn", href: hashLink("/instances", { ...filters, page_size: size === 50 ? "" : size, page_token: next }), rel: "next" }, "Next page") : null);
    results.append(pager);
    count.textContent = `${items.length} instance${items.length === 1 ? "" : "s"} shown${next ? " (more on the next page)" : ""}`;
    void results.offsetHeight; // include the layout of the new rows in the measurement
    root.dataset.renderMs = String(Math.round(performance.now() - started));
    // From the route change to rows laid out: what "first render" means (read by the e2e test).
    const route = performance.getEntriesByName("wfe:route").pop();
    if (route) root.dataset.routeMs = String(Math.round(performance.now() - route.startTime));
  };

  const load = async () => {
    try {
      const page = await fetchRows(filters, size, token, signal);
      next = page.next;
      draw(page.items);
    } catch (exc) {
      if (signal.aborted) return;
      clear(results).append(errorState(exc, load));
    }
  };
  await load();

  // Live: any event of a matching instance re-reads this page (debounced: bursts cost one read).
  const refresh = debounce(() => { if (!signal.aborted) load(); }, 400);
  signal.addEventListener("abort", () => refresh.cancel());
  stream("/api/v1/stream", {
    query: { definition_key: filters.definition_key },
    signal,
    // Re-read once subscribed: what changed before the subscription sent no event here.
    onOpen: () => { live.dataset.state = "open"; live.textContent = "live"; refresh(); },
    onError: () => { live.dataset.state = "closed"; live.textContent = "reconnecting…"; },
    onEvent: (name) => { if (name === "message") refresh(); },
  });
}
