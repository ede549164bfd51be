// The task inbox (#/tasks): My tasks, My groups' tasks, All open; claim / unclaim /
// delegate / assign / resolve; live via the global event stream.
//
// Also exports the pieces the task detail page shares: taskActions(), promptUser(),
// dueCell(), isOverdue(), OPEN_STATES.

import { ApiError, can, get, getAll, identity, post, stream } from "../api.js";
import { ensurePageStyles } from "../forms.js";
import { clear, debounce, emptyState, errorState, formatTime, h, hashLink, loading, pageHeader, relativeTime, statusBadge, toast } from "../ui.js";

export const OPEN_STATES = ["created", "claimed", "delegated"];
/** Stream event types after which the inbox may have changed. */
const TASK_EVENTS = "task.created,task.completed,task.cancelled,process.completed,process.terminated,process.cancelled,process.timed_out";
/** Claims / delegations by others emit no engine event: look again this often. */
const POLL_MS = 30000;

const TABS = [
  { id: "mine", label: "My tasks" },
  { id: "groups", label: "My groups" },
  { id: "all", label: "All open" },
];

/** True when an open task's due date has passed. */
export function isOverdue(task, now = Date.now()) {
  return Boolean(task.due_date) && OPEN_STATES.includes(task.state) && new Date(task.due_date).getTime() < now;
}

/** The due date: time, relative time, and an "Overdue" mark (text, not only colour). */
export function dueCell(task) {
  if (!task.due_date) return h("span", { class: "muted" }, "—");
  const overdue = isOverdue(task);
  return h("span", { class: ["due", overdue ? "due-overdue" : null], title: formatTime(task.due_date) },
    overdue ? h("span", { class: "badge badge-overdue" }, "Overdue") : null,
    overdue ? " " : null,
    h("time", { datetime: task.due_date }, relativeTime(task.due_date)));
}

/**
 * Ask for a user id in a modal <dialog> (Esc cancels). Resolves the trimmed id or null.
 * @param {{title: string, message?: string, confirmLabel?: string, initial?: string}} options
 */
export function promptUser({ title, message, confirmLabel = "OK", initial = "" }) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const input = h("input", { id: `${titleId}-user`, type: "text", name: "user", value: initial, autocomplete: "off", "aria-describedby": `${titleId}-err` });
    const error = h("p", { id: `${titleId}-err`, class: "field-error", hidden: true });
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const ok = h("button", { type: "submit", class: "btn btn-primary" }, confirmLabel);
    const form = h("form", { method: "dialog", novalidate: true },
      h("h2", { id: titleId }, title),
      message ? h("p", {}, message) : null,
      h("div", { class: "field" }, h("label", { for: input.id }, "User id"), input, error),
      h("div", { class: "dialog-actions" }, cancel, ok));
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
    let answer = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      const value = input.value.trim();
      if (!value) {
        event.preventDefault();
        error.textContent = "Enter a user id";
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      answer = value;
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (previous instanceof HTMLElement && previous.isConnected) previous.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

async function act(task, action, body, done) {
  try {
    const fresh = await post(`/api/v1/tasks/${encodeURIComponent(task.id)}/${action}`, body);
    done(fresh);
  } catch (exc) {
    if (exc && exc.name === "AbortError") return;
    toast(exc instanceof ApiError ? exc.message : `Could not ${action} the task: ${exc.message}`, "error");
  }
}

/**
 * The buttons that fit a task for the acting user: claim / unclaim / delegate / assign /
 * resolve. `onChange(task)` runs after an action succeeded (with the task as the API
 * answered it).
 */
export function taskActions(task, who, onChange, { compact = false } = {}) {
  const me = who.user_id || null;
  const open = OPEN_STATES.includes(task.state);
  const delegated = task.delegation === "pending";
  const buttons = [];
  const cls = ["btn", compact ? "btn-small" : null];
  const label = (text) => (compact ? [text, h("span", { class: "sr-only" }, ` ${task.name}`)] : text);
  if (!open) return h("div", { class: "task-actions" });
  if (!task.assignee && me) {
    buttons.push(h("button", { type: "button", class: [...cls, "btn-primary"], dataset: { action: "claim" }, on: { click: () => act(task, "claim", { user_id: me }, (t) => { toast(`Claimed “${t.name}”`, "success"); onChange(t); }) } }, label("Claim")));
  }
  if (task.assignee && !delegated && (task.assignee === me || !me)) {
    buttons.push(h("button", { type: "button", class: cls, dataset: { action: "unclaim" }, on: { click: () => act(task, "unclaim", me ? { user_id: me } : null, (t) => { toast(`Unclaimed “${t.name}”`, "success"); onChange(t); }) } }, label("Unclaim")));
  }
  if (task.assignee && !delegated) {
    buttons.push(h("button", { type: "button", class: cls, dataset: { action: "delegate" }, on: { click: async () => {
      const user = await promptUser({ title: `Delegate “${task.name}”`, message: `${task.assignee} stays the owner; the delegate resolves it back.`, confirmLabel: "Delegate" });
      if (user) act(task, "delegate", { user_id: user }, (t) => { toast(`Delegated to ${user}`, "success"); onChange(t); });
    } } }, label("Delegate…")));
  }
  if (delegated && (task.assignee === me || !me)) {
    buttons.push(h("button", { type: "button", class: [...cls, "btn-primary"], dataset: { action: "resolve" }, on: { click: () => act(task, "resolve", me ? { user_id: me } : null, (t) => { toast(`Resolved: back to ${t.assignee}`, "success"); onChange(t); }) } }, label("Resolve")));
  }
  // Assigning someone else's task is task:manage (operators); the API refuses it otherwise.
  if (can(who, "task:manage")) buttons.push(h("button", { type: "button", class: cls, dataset: { action: "assign" }, on: { click: async () => {
    const user = await promptUser({ title: `Assign “${task.name}”`, message: "Sets the assignee, whoever has it now.", confirmLabel: "Assign", initial: me || "" });
    if (user) act(task, "assign", { user_id: user }, (t) => { toast(`Assigned to ${user}`, "success"); onChange(t); });
  } } }, label("Assign…")));
  return h("div", { class: "task-actions" }, buttons);
}

async function openTasks(query, signal) {
  const lists = await Promise.all(OPEN_STATES.map((state) => getAll("/api/v1/tasks", { ...query, state }, { limit: 2000, signal })));
  return lists.flat();
}

/** The tasks of one tab, oldest first, each once. */
async function loadTab(tab, who, signal) {
  let tasks;
  if (tab === "mine") {
    tasks = await openTasks({ assignee: who.user_id }, signal);
  } else if (tab === "groups") {
    const queries = [{ candidate_user: who.user_id }, ...who.groups.map((group) => ({ candidate_group: group }))];
    const lists = await Promise.all(queries.map((q) => getAll("/api/v1/tasks", { ...q, state: "created" }, { limit: 2000, signal })));
    tasks = lists.flat().filter((t) => !t.assignee);
  } else {
    tasks = await openTasks({}, signal);
  }
  const seen = new Map();
  for (const task of tasks) seen.set(task.id, task);
  return [...seen.values()].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id.localeCompare(b.id)));
}

/** How many definitions are asked for at once while labelling the inbox. */
const DEFINITION_FETCHES = 6;

/**
 * Read the definitions `tasks` refer to that `known` (id -> definition, or null when it could
 * not be read) lacks, each once. By id, not one page of `GET /definitions`: that list is in
 * deploy order and capped at 500 a page, so a task of any definition deployed after the
 * 500th version (the newest, the likeliest to have open tasks) found no label.
 */
async function learnDefinitions(tasks, known, signal) {
  const missing = [...new Set(tasks.map((t) => t.definition_id))]
    .filter((id) => id !== null && id !== undefined && !known.has(id));
  let next = 0;
  async function worker() {
    while (next < missing.length) {
      const id = missing[next++];
      try {
        known.set(id, await get(`/api/v1/definitions/${encodeURIComponent(id)}`, null, { signal }));
      } catch (exc) {
        if (signal.aborted || (exc && exc.name === "AbortError")) throw exc;
        known.set(id, null); // deleted meanwhile, or not readable: labelled by its id
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(DEFINITION_FETCHES, missing.length) }, worker));
}

function definitionLabel(task, definitions) {
  const def = definitions.get(task.definition_id);
  if (def) return `${def.name || def.key} v${def.version}`;
  // Never the element id: it names the task's step, not the process.
  return task.definition_id === null || task.definition_id === undefined ? "unknown process" : `definition ${task.definition_id}`;
}

function assigneeCell(task) {
  if (!task.assignee) return h("span", { class: "muted" }, "unassigned");
  if (task.delegation === "pending") {
    return h("span", {}, task.assignee, h("span", { class: "muted" }, ` (delegated by ${task.owner})`));
  }
  return task.assignee;
}

function tableOf(tasks, who, definitions, refresh) {
  const body = h("tbody");
  const rows = document.createDocumentFragment();
  for (const task of tasks) {
    rows.append(h("tr", { class: isOverdue(task) ? "row-overdue" : null, dataset: { taskId: task.id } },
      h("th", { scope: "row" }, h("a", { href: `#/tasks/${encodeURIComponent(task.id)}` }, task.name || task.element_id)),
      h("td", {}, h("a", { href: `#/instances/${encodeURIComponent(task.instance_id)}`, title: task.instance_id }, definitionLabel(task, definitions)),
        h("div", { class: "muted small" }, h("code", {}, task.instance_id.slice(0, 8)))),
      h("td", {}, h("time", { datetime: task.created_at, title: formatTime(task.created_at) }, relativeTime(task.created_at))),
      h("td", { class: "cell-due" }, dueCell(task)),
      h("td", { class: "num" }, String(task.priority)),
      h("td", { class: "cell-assignee" }, assigneeCell(task)),
      h("td", {}, statusBadge(task.state)),
      h("td", {}, taskActions(task, who, refresh, { compact: true }))));
  }
  body.append(rows);
  return h("div", { class: "table-wrap" },
    h("table", { class: "data-table task-table" },
      h("caption", { class: "sr-only" }, "Tasks"),
      h("thead", {}, h("tr", {}, ["Task", "Process / instance", "Created", "Due", "Priority", "Assignee", "State", "Actions"].map((text) => h("th", { scope: "col" }, text)))),
      body));
}

function tabBar(active) {
  const buttons = TABS.map((tab) => h("a", {
    href: hashLink("/tasks", { tab: tab.id }),
    role: "tab",
    id: `tab-${tab.id}`,
    class: ["tab", tab.id === active ? "tab-active" : null],
    "aria-selected": tab.id === active ? "true" : "false",
    "aria-controls": "task-panel",
    tabindex: tab.id === active ? "0" : "-1",
  }, tab.label));
  const bar = h("div", { class: "tabs", role: "tablist", "aria-label": "Task lists" }, buttons);
  // Arrow keys move between tabs (the ARIA tabs pattern); Enter follows the link.
  bar.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = buttons.length - 1;
    if (next === null) return;
    event.preventDefault();
    buttons[next].focus();
  });
  return bar;
}

export async function render(root, { query, signal }) {
  ensurePageStyles();
  const tab = TABS.some((t) => t.id === query.get("tab")) ? query.get("tab") : "mine";
  const status = h("p", { class: "muted small live-status", "aria-live": "polite" });
  const panel = h("div", { id: "task-panel", role: "tabpanel", "aria-labelledby": `tab-${tab}` }, loading());
  root.append(pageHeader("Tasks"), tabBar(tab), status, panel);

  let who = await identity();
  // id -> definition (null: could not be read); filled for the tasks shown, before each render.
  const definitions = new Map();

  let loadedOnce = false;
  let running = null;
  async function refresh() {
    if (signal.aborted) return;
    if ((tab === "mine" || tab === "groups") && !who.user_id) {
      clear(panel).append(emptyState("Choose who you act as (the identity bar at the top) to see your tasks."));
      return;
    }
    if (running) { running.again = true; return; }
    running = { again: false };
    try {
      const tasks = await loadTab(tab, who, signal);
      // Labels first, so no row is ever drawn without its process name.
      await learnDefinitions(tasks, definitions, signal);
      if (signal.aborted) return;
      // Keep focus on the same button across a live refresh (keyboard users).
      const focused = document.activeElement;
      const focusKey = focused && panel.contains(focused)
        ? [focused.closest("tr")?.dataset.taskId, focused.dataset.action] : null;
      clear(panel);
      if (!tasks.length) {
        const text = {
          mine: `No open tasks are assigned to ${who.user_id}.`,
          groups: who.groups.length
            ? `No unassigned tasks for ${who.user_id} or the groups ${who.groups.join(", ")}.`
            : `No unassigned tasks name ${who.user_id} as a candidate. Add your groups in the identity bar to see theirs.`,
          all: "There are no open tasks.",
        }[tab];
        panel.append(emptyState(text, tab !== "all" ? h("a", { href: hashLink("/tasks", { tab: "all" }) }, "See all open tasks") : null));
      } else {
        const overdue = tasks.filter((t) => isOverdue(t)).length;
        panel.append(h("p", { class: "summary" }, `${tasks.length} open task${tasks.length === 1 ? "" : "s"}`,
          overdue ? h("span", { class: "badge badge-overdue" }, `${overdue} overdue`) : null));
        panel.append(tableOf(tasks, who, definitions, () => schedule()));
      }
      if (focusKey && focusKey[0]) {
        panel.querySelector(`tr[data-task-id="${CSS.escape(focusKey[0])}"] [data-action="${CSS.escape(focusKey[1] || "")}"]`)?.focus();
      }
      loadedOnce = true;
      status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (exc) {
      if (signal.aborted || exc.name === "AbortError") return;
      if (!loadedOnce) clear(panel).append(errorState(exc, () => refresh()));
      else toast(`The task list could not be refreshed: ${exc.message}`, "error");
    } finally {
      const again = running?.again;
      running = null;
      if (again) refresh();
    }
  }
  const schedule = debounce(refresh, 250);
  signal.addEventListener("abort", () => schedule.cancel());

  const onIdentity = async () => { who = await identity(); refresh(); };
  window.addEventListener("wfe:identity", onIdentity);
  signal.addEventListener("abort", () => window.removeEventListener("wfe:identity", onIdentity));

  const timer = setInterval(() => { if (!document.hidden) schedule(); }, POLL_MS);
  signal.addEventListener("abort", () => clearInterval(timer));

  await refresh();
  stream("/api/v1/stream", {
    query: { type: TASK_EVENTS },
    signal,
    onEvent: (name) => { if (name !== "end" && name !== "dropped") schedule(); },
    // Re-read once subscribed: a change between the first load and the subscription
    // (or during a reconnect) sent no event this page could see.
    onOpen: () => { root.dataset.live = "on"; schedule(); },
    onError: () => { root.dataset.live = "retrying"; },
  });
}
