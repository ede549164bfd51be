// The dashboard (#/): figures and charts from GET /api/v1/stats, open tasks by age, and the
// instances in incident. Range and definition are in the hash query (#/?range=24h&definition=k)
// so a view can be bookmarked; it refreshes (debounced) on events of the global stream.

import { get, getAll, stream } from "../api.js";
import { barChart, formatDuration, lineChart } from "../charts.js";
import { ensurePageStyles } from "../forms.js";
import { clear, debounce, emptyState, errorState, formatTime, h, hashLink, loading, pageHeader, relativeTime, statusBadge, toast } from "../ui.js";

/** Time ranges: the stats `window` and a `bucket` giving 30–60 points. */
export const RANGES = [
  { id: "15m", label: "Last 15 minutes", window: "PT15M", bucket: "PT30S" },
  { id: "1h", label: "Last hour", window: "PT1H", bucket: "PT1M" },
  { id: "6h", label: "Last 6 hours", window: "PT6H", bucket: "PT10M" },
  { id: "24h", label: "Last 24 hours", window: "PT24H", bucket: "PT30M" },
  { id: "7d", label: "Last 7 days", window: "P7D", bucket: "PT6H" },
  { id: "30d", label: "Last 30 days", window: "P30D", bucket: "P1D" },
];

const STATUS_ORDER = ["running", "paused", "incident", "completed", "terminated", "cancelled", "timed_out"];
/** Open tasks by age: [label, upper bound in seconds]. */
const AGE_BUCKETS = [["< 1 hour", 3600], ["1–24 hours", 86400], ["1–7 days", 604800], ["> 7 days", Infinity]];
const REFRESH_MS = 1500;

const number = new Intl.NumberFormat();

function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`;
}

function ageText(seconds) {
  return seconds === null || seconds === undefined ? "–" : formatDuration(seconds * 1000);
}

function bucketLabel(bucketSeconds) {
  const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const dayTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return (iso) => {
    const date = new Date(iso);
    if (bucketSeconds >= 86400) return day.format(date);
    if (bucketSeconds >= 3600) return dayTime.format(date);
    return time.format(date);
  };
}

/** "minute", "30 minutes", "6 hours", "day": the width of one throughput bucket in words. */
function bucketWords(seconds) {
  const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  for (const [unit, size] of units) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? unit : `${n} ${unit}s`;
    }
  }
  return `${seconds} seconds`;
}

function tile(label, value, extra = null, cls = null) {
  return h("div", { class: ["stat-tile", cls] }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), extra ? h("div", { class: "stat-extra" }, extra) : null);
}

function isEmpty(report, tasks, incidents) {
  const o = report.overall;
  const anyCount = Object.values(o.counts).some((n) => n > 0);
  return o.started === 0 && !anyCount && o.open_tasks.count === 0 && tasks.length === 0 && incidents.length === 0;
}

function summary(report) {
  const o = report.overall;
  return h("section", { class: "stat-tiles", "aria-label": "Summary" },
    tile("Started", number.format(o.started)),
    tile("Completed", number.format(o.counts.completed || 0)),
    tile("Failed", number.format(o.failed), `failure rate ${percent(o.failure_rate)}`, o.failed ? "stat-bad" : null),
    tile("Running now", number.format(o.counts.running || 0)),
    tile("In incident", number.format(o.incidents.open), `${o.incidents.created} new in range`, o.incidents.open ? "stat-bad" : null),
    tile("Open tasks", number.format(o.open_tasks.count), o.open_tasks.count ? `oldest ${ageText(o.open_tasks.oldest_age_seconds)}` : null),
    tile("Median duration", formatDuration(o.duration_ms.p50), o.duration_ms.count ? `p95 ${formatDuration(o.duration_ms.p95)}` : "no completions"));
}

function throughputChart(report, range) {
  const buckets = report.overall.throughput;
  const started = buckets.reduce((n, b) => n + b.started, 0);
  const completed = buckets.reduce((n, b) => n + b.completed, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  return lineChart({
    title: `Throughput per ${bucketWords(report.bucket_seconds)} (${range.label.toLowerCase()})`,
    description: `${started} started, ${completed} completed, ${failed} failed between ${formatTime(report.start)} and ${formatTime(report.end)}.`,
    labels: buckets.map((b) => b.start),
    series: [
      { name: "Started", values: buckets.map((b) => b.started) },
      { name: "Completed", values: buckets.map((b) => b.completed) },
      { name: "Failed", values: buckets.map((b) => b.failed) },
    ],
    formatLabel: bucketLabel(report.bucket_seconds),
    formatValue: (v) => number.format(v),
  });
}

function statusChart(report) {
  const counts = report.overall.counts;
  const statuses = [...STATUS_ORDER.filter((s) => s in counts), ...Object.keys(counts).filter((s) => !STATUS_ORDER.includes(s))];
  return barChart({
    title: "Instances by status",
    description: `Live statuses now, ended statuses within the range: ${statuses.map((s) => `${s.replace(/_/g, " ")} ${counts[s]}`).join(", ")}.`,
    items: statuses.map((s) => ({ label: s.replace(/_/g, " "), value: counts[s], className: `bar-status-${s}` })),
    formatValue: (v) => number.format(v),
    valueName: "Instances",
  });
}

function durationSection(report) {
  const defs = report.definitions.filter((d) => d.duration_ms.count > 0);
  if (!defs.length) {
    return h("section", { class: "card", "aria-labelledby": "dash-durations" }, h("h2", { id: "dash-durations" }, "Durations per definition"),
      emptyState("No instance completed in this range, so there are no durations yet."));
  }
  const rows = defs.map((d) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: hashLink("/instances", { definition_key: d.definition_key }) }, d.definition_key)),
    ...[d.duration_ms.count, d.duration_ms.average, d.duration_ms.p50, d.duration_ms.p95, d.duration_ms.p99, d.duration_ms.max].map((v, i) => h("td", { class: "num" }, i === 0 ? number.format(v) : formatDuration(v))),
    h("td", { class: "num" }, percent(d.failure_rate))));
  const table = h("div", { class: "table-wrap" }, h("table", { class: "data-table" },
    h("caption", { class: "sr-only" }, "Durations of completed instances per definition"),
    h("thead", {}, h("tr", {}, ["Definition", "Completed", "Average", "p50", "p95", "p99", "Max", "Failure rate"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
  const chart = barChart({
    title: "p95 duration per definition",
    description: defs.map((d) => `${d.definition_key}: p50 ${formatDuration(d.duration_ms.p50)}, p95 ${formatDuration(d.duration_ms.p95)}`).join("; "),
    items: defs.map((d) => ({ label: d.definition_key, value: d.duration_ms.p95 })),
    formatValue: formatDuration,
    valueName: "p95",
  });
  return h("section", { class: "card", "aria-labelledby": "dash-durations" }, h("h2", { id: "dash-durations" }, "Durations per definition"), table, chart);
}

function taskAgeSection(report, tasks) {
  const now = Date.now();
  const counts = AGE_BUCKETS.map(() => 0);
  for (const task of tasks) {
    const age = (now - new Date(task.created_at).getTime()) / 1000;
    counts[AGE_BUCKETS.findIndex(([, upper]) => age < upper)] += 1;
  }
  const o = report.overall.open_tasks;
  const body = tasks.length
    ? barChart({
      title: "Open tasks by age",
      description: AGE_BUCKETS.map(([label], i) => `${label}: ${counts[i]}`).join(", "),
      items: AGE_BUCKETS.map(([label], i) => ({ label, value: counts[i], className: i >= 2 ? "bar-old" : null })),
      formatValue: (v) => number.format(v),
      valueName: "Tasks",
    })
    : emptyState("No task is waiting.");
  return h("section", { class: "card", "aria-labelledby": "dash-tasks" },
    h("h2", { id: "dash-tasks" }, "Open tasks"),
    o.count ? h("p", { class: "muted" }, `${number.format(o.count)} waiting; oldest ${ageText(o.oldest_age_seconds)}, median age ${ageText(o.p50_age_seconds)}. `, h("a", { href: hashLink("/tasks", { tab: "all" }) }, "Open the inbox")) : null,
    body);
}

function incidentSection(incidents) {
  const list = incidents.length
    ? h("ul", { class: "incident-list" }, incidents.map((i) => h("li", {},
      h("a", { href: `#/instances/${encodeURIComponent(i.id)}` }, `${i.definition_key} v${i.definition_version}`),
      " ", statusBadge(i.status), " ",
      i.current_activity_id ? h("code", {}, i.current_activity_id) : null, " ",
      h("span", { class: "muted" }, `started ${relativeTime(i.start_time)}`),
      i.business_key ? h("span", { class: "muted" }, ` · ${i.business_key}`) : null)))
    : emptyState("No instance is in incident.");
  return h("section", { class: "card", "aria-labelledby": "dash-incidents" },
    h("h2", { id: "dash-incidents" }, "Incidents"), list,
    incidents.length ? h("p", {}, h("a", { href: hashLink("/instances", { status: "incident" }) }, "All instances in incident")) : null);
}

function controls(range, definition, keys) {
  const rangeSelect = h("select", { id: "dash-range", name: "range" }, RANGES.map((r) => h("option", { value: r.id, selected: r.id === range.id }, r.label)));
  const defSelect = h("select", { id: "dash-definition", name: "definition" },
    h("option", { value: "" }, "All definitions"),
    [...new Set([...keys, ...(definition ? [definition] : [])])].sort().map((k) => h("option", { value: k, selected: k === definition }, k)));
  const go = () => { window.location.hash = hashLink("/", { range: rangeSelect.value, definition: defSelect.value }); };
  rangeSelect.addEventListener("change", go);
  defSelect.addEventListener("change", go);
  return h("form", { class: "filters dash-controls", "aria-label": "Dashboard range", on: { submit: (e) => { e.preventDefault(); go(); } } },
    h("div", { class: "field" }, h("label", { for: "dash-range" }, "Time range"), rangeSelect),
    h("div", { class: "field" }, h("label", { for: "dash-definition" }, "Definition"), defSelect));
}

export async function render(root, { query, signal }) {
  ensurePageStyles();
  const range = RANGES.find((r) => r.id === query.get("range")) || RANGES[1];
  const definition = query.get("definition") || "";
  const controlsSlot = h("div", { class: "dash-controls-slot" }, controls(range, definition, []));
  const status = h("p", { class: "muted small live-status", "aria-live": "polite" });
  const body = h("div", { class: "dashboard" }, loading());
  root.append(pageHeader("Dashboard"), controlsSlot, status, body);

  getAll("/api/v1/definitions", {}, { limit: 2000, signal })
    .then((defs) => clear(controlsSlot).append(controls(range, definition, defs.map((d) => d.key))))
    .catch(() => { /* the selector keeps "All definitions" */ });

  let loadedOnce = false;
  let busy = false;
  let again = false;
  async function refresh() {
    if (signal.aborted) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      const filter = definition ? { definition_key: definition } : {};
      const [report, taskLists, incidents] = await Promise.all([
        get("/api/v1/stats", { window: range.window, bucket: range.bucket, ...filter }, { signal }),
        // Open tasks carry no definition key: filter them by the definitions' ids below.
        Promise.all(["created", "claimed", "delegated"].map((state) => getAll("/api/v1/tasks", { state }, { limit: 2000, signal }))),
        getAll("/api/v1/instances", { status: "incident", ...filter }, { limit: 200, signal }),
      ]);
      let tasks = taskLists.flat();
      if (definition) {
        const ids = new Set((await getAll("/api/v1/definitions", { key: definition }, { limit: 500, signal })).map((d) => d.id));
        tasks = tasks.filter((t) => ids.has(t.definition_id));
      }
      if (signal.aborted) return;
      clear(body);
      if (isEmpty(report, tasks, incidents)) {
        body.append(emptyState(
          definition
            ? `No instances of ${definition} in the ${range.label.toLowerCase()}, and none running.`
            : `No instances in the ${range.label.toLowerCase()}, and none running. Start one from a definition to see figures here.`,
          h("a", { href: "#/definitions", class: "btn" }, "Go to definitions")));
      } else {
        body.append(
          summary(report),
          h("div", { class: "grid-2 dash-grid" },
            h("section", { class: "card", "aria-labelledby": "dash-throughput" }, h("h2", { id: "dash-throughput" }, "Throughput"), throughputChart(report, range)),
            h("section", { class: "card", "aria-labelledby": "dash-status" }, h("h2", { id: "dash-status" }, "Status"), statusChart(report))),
          durationSection(report),
          h("div", { class: "grid-2 dash-grid" }, taskAgeSection(report, tasks), incidentSection(incidents)));
      }
      loadedOnce = true;
      status.textContent = `${formatTime(report.start)} – ${formatTime(report.end)} · updated ${new Date().toLocaleTimeString()}`;
    } catch (exc) {
      if (signal.aborted || exc.name === "AbortError") return;
      if (!loadedOnce) clear(body).append(errorState(exc, () => refresh()));
      else toast(`The dashboard could not be refreshed: ${exc.message}`, "error");
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  }
  const schedule = debounce(refresh, REFRESH_MS);
  signal.addEventListener("abort", () => schedule.cancel());
  // Open-task ages and "running now" move without events: look again every minute.
  const timer = setInterval(() => { if (!document.hidden) schedule(); }, 60000);
  signal.addEventListener("abort", () => clearInterval(timer));

  await refresh();
  stream("/api/v1/stream", {
    query: definition ? { definition_key: definition } : {},
    signal,
    onEvent: (name) => { if (name !== "end" && name !== "dropped") schedule(); },
    // Re-read once subscribed: what changed before the subscription sent no event here.
    onOpen: () => { root.dataset.live = "on"; schedule(); },
    onError: () => { root.dataset.live = "retrying"; },
  });
}
