// #/instances/:id: live diagram, variables, history, steps, incidents, control actions.

import { can, get, identity, portalConfig, post, put, request, stream } from "../api.js";
import { append, clear, confirmDialog, debounce, emptyState, errorState, formatDuration, formatTime, h, loading, pageHeader, prettyJson, statusBadge, svgFromText, toast } from "../ui.js";

const ENDED = new Set(["completed", "terminated", "cancelled", "timed_out"]);
const ACTIONS = [
  { name: "pause", label: "Pause", when: (s) => s === "running" || s === "incident", danger: false,
    message: "No new step starts until the instance is resumed; arriving events are kept." },
  { name: "resume", label: "Resume", when: (s) => s === "paused", danger: false, message: "The instance goes on from where it was paused." },
  { name: "cancel", label: "Cancel", when: (s) => !ENDED.has(s), danger: true,
    message: "The instance runs down cleanly and ends as cancelled." },
  { name: "terminate", label: "Terminate", when: (s) => !ENDED.has(s), danger: true,
    message: "The instance ends at once as terminated. This cannot be undone." },
];
const HISTORY_PAGE = 200;

function section(id, title, ...content) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...content);
}

function valueText(value) {
  return typeof value === "string" ? JSON.stringify(value) : prettyJson(value);
}


/** The steps table; clicking a step shows its detail. */
function stepsTable(steps, selected, onSelect) {
  if (!steps.length) return emptyState("No step has run yet.");
  const body = h("tbody");
  for (const step of steps) {
    const button = h("button", { type: "button", class: "btn-link", "aria-pressed": String(step.step_id === selected), on: { click: () => onSelect(step.step_id) } }, step.node_name || step.node_id);
    body.append(h("tr", { class: step.step_id === selected ? "selected" : null, dataset: { stepId: String(step.step_id), nodeId: step.node_id } },
      h("th", { scope: "row" }, button),
      h("td", {}, step.node_type || "—"),
      h("td", {}, statusBadge(step.status)),
      h("td", { class: "nowrap" }, formatTime(step.started_at)),
      h("td", { class: "nowrap" }, formatDuration(step.duration_ms)),
      h("td", {}, String(step.attempts.length))));
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "steps-table" },
    h("thead", {}, h("tr", {}, ["Step", "Type", "Status", "Started", "Duration", "Attempts"].map((t) => h("th", { scope: "col" }, t)))), body));
}

function jsonBlock(label, value) {
  return h("div", {}, h("h3", {}, label), h("pre", { class: "source", tabindex: "0" }, h("code", {}, value === null || value === undefined ? "—" : prettyJson(value))));
}

function stepDetail(step) {
  return h("div", { class: "step-detail", "aria-live": "polite" },
    h("h3", {}, `${step.node_name || step.node_id} `, statusBadge(step.status)),
    h("dl", { class: "facts" },
      h("dt", {}, "Node"), h("dd", {}, h("code", {}, step.node_id), step.node_type ? ` (${step.node_type})` : ""),
      h("dt", {}, "Started"), h("dd", {}, formatTime(step.started_at)),
      h("dt", {}, "Ended"), h("dd", {}, formatTime(step.ended_at)),
      h("dt", {}, "Duration"), h("dd", {}, formatDuration(step.duration_ms)),
      h("dt", {}, "By"), h("dd", {}, step.user_id || "—"),
      step.task_id ? [h("dt", {}, "Task"), h("dd", {}, h("a", { href: `#/tasks/${encodeURIComponent(step.task_id)}` }, step.task_id))] : null),
    jsonBlock("Input", step.input),
    jsonBlock("Output", step.output),
    h("h3", {}, `Attempts (${step.attempts.length})`),
    step.attempts.length
      ? h("ol", { class: "attempts" }, step.attempts.map((a) => h("li", {},
        statusBadge(a.status), ` ${a.activity || ""} · ${formatTime(a.scheduled_at)} · ${formatDuration(a.duration_ms)}`,
        a.temporal_attempts ? ` · ${a.temporal_attempts} Temporal tries` : "",
        a.error_message ? h("p", { class: "field-error" }, `${a.error_type || "error"}: ${a.error_message}`) : null)))
      : h("p", { class: "muted" }, "No activity attempts (not an activity step)."),
    step.incidents.length ? [h("h3", {}, "Incidents"), h("ul", {}, step.incidents.map((i) => h("li", {},
      `${i.error_type || "error"}: ${i.message} · ${formatTime(i.created_at)}${i.resolved_at ? ` · resolved ${formatTime(i.resolved_at)}` : ""}`)))] : null);
}

function timeline(events) {
  if (!events.length) return emptyState("No events recorded yet.");
  return h("ol", { class: "timeline", tabindex: "0", "aria-label": "Event log" }, events.map((e) => h("li", { dataset: { type: e.type } },
    h("span", { class: "when" }, formatTime(e.timestamp)), " ",
    h("strong", {}, e.type), e.node_name || e.node_id ? ` · ${e.node_name || e.node_id}` : "",
    e.user_id ? ` · by ${e.user_id}` : "")));
}

/** Signals and messages the definition knows, for the send form's suggestions. */
function eventNames(source) {
  const names = { signals: new Set(), messages: new Set() };
  try {
    const doc = JSON.parse(source);
    for (const s of doc.signal_definitions || []) if (s.id) names.signals.add(s.id);
    for (const m of doc.message_definitions || []) if (m.id) names.messages.add(m.id);
    for (const el of doc.elements || []) {
      if (el.config?.signal_ref) names.signals.add(el.config.signal_ref);
      if (el.config?.message_ref) names.messages.add(el.config.message_ref);
    }
  } catch {
    /* BPMN XML: no suggestions, the user types the name */
  }
  return names;
}

function sendForm(instance, suggestions, who, onSent) {
  const kind = h("select", { id: "send-kind", name: "kind" },
    can(who, "signal:send") ? h("option", { value: "signal" }, "Signal") : null,
    can(who, "message:send") ? h("option", { value: "message" }, "Message") : null);
  const name = h("input", { type: "text", id: "send-name", name: "name", required: true, list: "send-names", autocomplete: "off" });
  const list = h("datalist", { id: "send-names" });
  const correlation = h("input", { type: "text", id: "send-correlation", name: "correlation_key", autocomplete: "off" });
  const business = h("input", { type: "text", id: "send-business-key", name: "business_key", value: instance.business_key || "", autocomplete: "off" });
  const variables = h("textarea", { id: "send-variables", name: "variables", rows: "3", spellcheck: "false", placeholder: "{}" });
  const error = h("p", { class: "field-error", role: "alert" });
  const messageFields = h("div", { class: "message-fields", hidden: true },
    h("div", { class: "field" }, h("label", { for: "send-correlation" }, "Correlation key"), correlation),
    h("div", { class: "field" }, h("label", { for: "send-business-key" }, "Business key"), business));
  const fillNames = () => {
    clear(list);
    for (const n of kind.value === "signal" ? suggestions.signals : suggestions.messages) list.append(h("option", { value: n }));
    messageFields.hidden = kind.value !== "message";
  };
  kind.addEventListener("change", fillNames);
  fillNames();
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Send");
  const form = h("form", { class: "send-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "send-kind" }, "Kind"), kind),
    h("div", { class: "field" }, h("label", { for: "send-name" }, "Name"), name, list),
    messageFields,
    h("div", { class: "field" }, h("label", { for: "send-variables" }, "Variables (JSON object, optional)"), variables),
    error, h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!name.value.trim()) {
      error.textContent = "Name: enter the signal or message name.";
      name.focus();
      return;
    }
    let vars = {};
    if (variables.value.trim()) {
      try {
        vars = JSON.parse(variables.value);
      } catch (exc) {
        vars = null;
      }
      if (!vars || typeof vars !== "object" || Array.isArray(vars)) {
        error.textContent = "Variables: enter a JSON object such as {\"verified\": true}.";
        variables.focus();
        return;
      }
    }
    submit.disabled = true;
    try {
      if (kind.value === "signal") {
        const out = await post("/api/v1/signals", { name: name.value.trim(), variables: vars, tenant_id: instance.tenant_id || null });
        toast(`Signal ${name.value.trim()} delivered to ${out.delivered} instance${out.delivered === 1 ? "" : "s"}`, out.delivered ? "success" : "info");
      } else {
        const who = await identity();
        const out = await post("/api/v1/messages", {
          name: name.value.trim(), variables: vars, correlation_key: correlation.value.trim() || null,
          business_key: business.value.trim() || null, tenant_id: instance.tenant_id || null, user_id: who.user_id || null,
        });
        toast(out.started ? `Message started instance ${out.instance_id}` : `Message delivered to ${out.instance_id}`, "success");
      }
      onSent();
    } catch (exc) {
      error.textContent = exc.message;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function render(root, { params, signal }) {
  const id = params.id;
  const path = `/api/v1/instances/${encodeURIComponent(id)}`;
  root.append(loading());
  let instance = await get(path, null, { signal });
  const [config, who, definition] = await Promise.all([
    portalConfig().catch(() => null),
    identity(),
    instance.definition_id
      ? request("GET", `/api/v1/definitions/${instance.definition_id}/resource`, { text: true, signal }).catch(() => "")
      : Promise.resolve(""),
  ]);
  // Controls the user's roles do not allow are not offered (the API refuses them anyway).
  const operator = can(who, "instance:control");
  const editor = can(who, "instance:variables");
  const sender = can(who, "signal:send", "message:send");

  const badge = h("span", { id: "instance-status" });
  const facts = h("dl", { class: "facts" });
  const banner = h("div", { id: "incident-banner" });
  const actions = h("div", { class: "page-actions", id: "instance-actions" });
  const figure = h("figure", { class: "diagram", id: "instance-diagram", tabindex: "0", "aria-label": "Instance diagram: active, done, failed and waiting steps" }, loading("Drawing the diagram…"));
  const variablesBox = h("div", { id: "variables-box" });
  const stepsBox = h("div", { id: "steps-box" });
  const detailBox = h("div", { id: "step-detail" });
  const historyBox = h("div", { id: "history-box" });
  const live = h("span", { class: "live", dataset: { state: "closed" }, "aria-live": "polite" }, "connecting…");
  let selectedStep = null;
  let editing = null;

  const temporalLink = config
    ? h("a", { class: "btn", id: "temporal-link", target: "_blank", rel: "noopener noreferrer",
      href: `${config.temporal_ui_url}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(instance.workflow_id || `pi-${instance.id}`)}` },
    "Open in Temporal Web UI")
    : null;

  clear(root);
  append(root,
    pageHeader(`Instance ${instance.id}`, live),
    h("p", { class: "subtitle" }, badge, " ",
      instance.definition_id ? h("a", { href: `#/definitions/${instance.definition_id}` }, `${instance.definition_key} v${instance.definition_version}`) : `${instance.definition_key} v${instance.definition_version}`),
    h("div", { class: "page-header" }, actions, temporalLink),
    banner,
    section("diagram", "Diagram", figure),
    h("div", { class: "grid-2" },
      section("overview", "Overview", facts),
      section("variables", "Variables", variablesBox)),
    h("div", { class: "grid-2" },
      section("steps", "Steps", stepsBox, detailBox),
      section("history", "History", historyBox)),
    sender ? section("send", "Send a signal or message", h("p", { class: "muted" }, "Deliver a signal (to every waiting instance) or a message (to one) so a waiting step moves on."),
      sendForm(instance, eventNames(definition), who, () => refresh())) : null);

  const drawHeader = () => {
    clear(badge).append(statusBadge(instance.status));
    root.dataset.status = instance.status;
    append(clear(facts),
      h("dt", {}, "Status"), h("dd", {}, instance.status),
      h("dt", {}, "Business key"), h("dd", {}, instance.business_key || "—"),
      h("dt", {}, "Started"), h("dd", {}, formatTime(instance.start_time), instance.start_user_id ? ` by ${instance.start_user_id}` : ""),
      h("dt", {}, "Ended"), h("dd", {}, formatTime(instance.end_time), instance.end_reason ? ` (${instance.end_reason})` : ""),
      h("dt", {}, "Duration"), h("dd", {}, formatDuration(instance.duration_ms)),
      h("dt", {}, "Active"), h("dd", {}, instance.active_element_ids.join(", ") || "—"),
      instance.parent_instance_id ? [h("dt", {}, "Parent"), h("dd", {}, h("a", { href: `#/instances/${encodeURIComponent(instance.parent_instance_id)}` }, instance.parent_instance_id))] : null,
      h("dt", {}, "Workflow"), h("dd", {}, h("code", {}, instance.workflow_id)));
    clear(actions);
    if (operator) {
      for (const action of ACTIONS) {
        if (!action.when(instance.status)) continue;
        actions.append(h("button", { type: "button", class: action.danger ? "btn btn-danger" : "btn", dataset: { action: action.name },
          on: { click: () => control(action) } }, action.label));
      }
    }
    clear(banner);
    if (instance.incidents.length) {
      const retry = h("button", { type: "button", class: "btn btn-primary", on: { click: retryIncidents } }, "Retry");
      banner.append(h("div", { class: "banner banner-incident", role: "alert" },
        h("div", {}, h("strong", {}, `${instance.incidents.length} open incident${instance.incidents.length > 1 ? "s" : ""}`),
          h("ul", {}, instance.incidents.map((i) => h("li", {}, i.node_id ? h("code", {}, i.node_id) : null, ` ${i.error_type || "error"}: ${i.message}`)))),
        operator ? retry : null));
    }
  };

  const control = async (action) => {
    const reasonInput = h("input", { type: "text", id: "action-reason", name: "reason", autocomplete: "off" });
    const ok = await confirmDialog({
      title: `${action.label} instance ${instance.id}?`, message: action.message, confirmLabel: action.label, danger: action.danger,
      body: h("div", { class: "field" }, h("label", { for: "action-reason" }, "Reason (optional)"), reasonInput),
    });
    if (!ok) return;
    try {
      await post(`${path}/${action.name}`, { reason: reasonInput.value.trim(), user_id: who.user_id || null });
      toast(`${action.label} requested`, "success");
      refresh();
    } catch (exc) {
      toast(exc.message, "error");
    }
  };

  async function retryIncidents() {
    const ok = await confirmDialog({ title: "Retry the failed steps?", message: "Every open incident of this instance is retried.", confirmLabel: "Retry" });
    if (!ok) return;
    try {
      await post(`${path}/retry`, { user_id: who.user_id || null });
      toast("Retry requested", "success");
      refresh();
    } catch (exc) {
      toast(exc.message, "error");
    }
  }

  const drawVariables = () => {
    if (editing) return; // never pull an open editor away from under the user
    const names = Object.keys(instance.variables).sort();
    clear(variablesBox);
    if (!names.length) {
      variablesBox.append(emptyState("No variables."));
      return;
    }
    const body = h("tbody");
    for (const name of names) {
      const edit = editor && !ENDED.has(instance.status)
        ? h("button", { type: "button", class: "btn btn-small", "aria-label": `Edit ${name}`, on: { click: () => editVariable(name) } }, "Edit")
        : null;
      body.append(h("tr", { dataset: { name } }, h("th", { scope: "row" }, h("code", {}, name)), h("td", { class: "value" }, valueText(instance.variables[name])), h("td", {}, edit)));
    }
    variablesBox.append(h("div", { class: "table-wrap" }, h("table", { class: "variables-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Value (JSON)"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      body)));
  };

  const editVariable = (name) => {
    editing = name;
    const area = h("textarea", { id: "variable-editor", rows: "4", spellcheck: "false", value: prettyJson(instance.variables[name]) });
    const error = h("p", { class: "field-error", role: "alert" });
    const done = () => { editing = null; drawVariables(); };
    const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
    const form = h("form", { class: "variable-edit" },
      h("div", { class: "field" }, h("label", { for: "variable-editor" }, `New value of ${name} (JSON)`), area), error,
      h("div", { class: "form-actions" }, save, h("button", { type: "button", class: "btn", on: { click: done } }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let value;
      try {
        value = JSON.parse(area.value);
      } catch (exc) {
        error.textContent = `Not valid JSON: ${exc.message}. Strings need quotes, e.g. "text".`;
        area.focus();
        return;
      }
      const ok = await confirmDialog({ title: `Change ${name}?`, message: `Set ${name} to ${JSON.stringify(value)} in the running instance.`, confirmLabel: "Change" });
      if (!ok) return;
      try {
        const out = await put(`${path}/variables`, { variables: { [name]: value }, user_id: who.user_id || null });
        instance.variables = out.variables;
        toast(`${name} changed`, "success");
        done();
      } catch (exc) {
        error.textContent = exc.details?.length ? exc.details.map((d) => `${d.path}: ${d.message}`).join("; ") : exc.message;
      }
    });
    clear(variablesBox).append(form);
    area.focus();
  };

  const loadDiagram = async () => {
    try {
      const svg = await request("GET", `${path}/diagram`, { text: true, signal });
      clear(figure).append(svgFromText(svg));
    } catch (exc) {
      if (!signal.aborted) clear(figure).append(errorState(exc, loadDiagram));
    }
  };

  const selectStep = async (stepId) => {
    selectedStep = stepId;
    await loadSteps();
    clear(detailBox).append(loading());
    try {
      const step = await get(`${path}/steps/${stepId}`, null, { signal });
      clear(detailBox).append(stepDetail(step));
    } catch (exc) {
      if (!signal.aborted) clear(detailBox).append(errorState(exc));
    }
  };

  const loadSteps = async () => {
    try {
      const out = await get(`${path}/steps`, null, { signal });
      clear(stepsBox).append(stepsTable(out.steps, selectedStep, selectStep));
      const focusBack = stepsBox.querySelector(`tr[data-step-id="${selectedStep}"] button`);
      if (focusBack && document.activeElement === document.body) focusBack.focus();
    } catch (exc) {
      if (!signal.aborted) clear(stepsBox).append(errorState(exc, loadSteps));
    }
  };

  const loadHistory = async () => {
    try {
      const events = [];
      let token = null;
      do {
        const page = await get(`${path}/history`, { page_size: HISTORY_PAGE, page_token: token }, { signal });
        events.push(...page.events);
        token = page.next_page_token;
      } while (token && events.length < 2000);
      clear(historyBox).append(timeline(events));
    } catch (exc) {
      if (!signal.aborted) clear(historyBox).append(errorState(exc, loadHistory));
    }
  };

  const loadInstance = async () => {
    instance = await get(path, null, { signal });
    drawHeader();
    drawVariables();
  };

  async function refreshNow() {
    try {
      await Promise.all([loadInstance(), loadDiagram(), loadSteps(), loadHistory()]);
      if (selectedStep !== null) {
        const step = await get(`${path}/steps/${selectedStep}`, null, { signal });
        clear(detailBox).append(stepDetail(step));
      }
    } catch (exc) {
      if (!signal.aborted) toast(`Could not refresh: ${exc.message}`, "error");
    }
  }
  const refresh = debounce(refreshNow, 250);
  signal.addEventListener("abort", () => refresh.cancel());

  drawHeader();
  drawVariables();
  clear(stepsBox).append(loading());
  clear(historyBox).append(loading());
  await Promise.all([loadDiagram(), loadSteps(), loadHistory()]);

  // Live: each event of this instance refreshes the page (debounced); `end` closes the stream.
  stream(`${path}/stream`, {
    signal,
    onOpen: () => { live.dataset.state = "open"; live.textContent = "live"; },
    onError: () => { live.dataset.state = "closed"; live.textContent = "reconnecting…"; },
    onEvent: (name) => {
      refresh();
      if (name === "end") { live.dataset.state = "closed"; live.textContent = "ended"; }
    },
  });
}
