// One task (#/tasks/:id): its facts, the claim / delegate actions, and the completion form
// generated from the user task's `config.form_fields` (types from the field, else from the
// process variable of the same name), pre-filled from the task's variables
// (`GET /api/v1/tasks/:id/variables`: readable by whoever sees the task, also a candidate on an
// instance someone else started, whose own variables endpoint answers them 404).

import { ApiError, get, identity, post, request } from "../api.js";
import { buildForm, ensurePageStyles, normalizeType } from "../forms.js";
import { append, clear, errorState, formatTime, h, loading, pageHeader, prettyJson, relativeTime, statusBadge, toast } from "../ui.js";
import { OPEN_STATES, dueCell, isOverdue, taskActions } from "./tasks.js";

const EXTRA = "__more_variables";
/** What the API shows instead of a sensitive variable's value (services/masking.py). */
const MASK = "***";

function findElement(elements, id) {
  for (const element of Array.isArray(elements) ? elements : []) {
    if (!element || typeof element !== "object") continue;
    if (element.id === id) return element;
    const nested = element.elements || (element.config && element.config.elements);
    const found = findElement(nested, id);
    if (found) return found;
  }
  return null;
}

/** Form fields of a JSON definition's element (null when it declares none). */
function jsonSpec(text, elementId) {
  const doc = JSON.parse(text);
  const element = findElement(doc.elements, elementId);
  const fields = element && element.config && Array.isArray(element.config.form_fields) ? element.config.form_fields : null;
  const declarations = doc.process && doc.process.variables && typeof doc.process.variables === "object" ? doc.process.variables : {};
  return { fields, declarations };
}

/** Form fields of a BPMN XML definition's element (camunda:formData / formField). */
function xmlSpec(text, elementId) {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) return { fields: null, declarations: {} };
  const element = [...doc.getElementsByTagName("*")].find((node) => node.getAttribute("id") === elementId);
  if (!element) return { fields: null, declarations: {} };
  const nodes = [...element.getElementsByTagName("*")].filter((node) => node.localName === "formField");
  if (!nodes.length) return { fields: null, declarations: {} };
  const fields = nodes.map((node) => {
    const children = [...node.getElementsByTagName("*")];
    const options = children.filter((c) => c.localName === "value").map((c) => ({ value: c.getAttribute("id"), label: c.getAttribute("name") || c.getAttribute("id") }));
    const required = children.some((c) => c.localName === "constraint" && c.getAttribute("name") === "required");
    const field = { id: node.getAttribute("id"), label: node.getAttribute("label") || node.getAttribute("id"), type: node.getAttribute("type") || "string", required };
    if (options.length) field.options = options;
    if (node.getAttribute("defaultValue") !== null) field.default = node.getAttribute("defaultValue");
    return field;
  });
  return { fields, declarations: {} };
}

async function formSpec(task, signal) {
  if (task.definition_id === null || task.definition_id === undefined) return { fields: null, declarations: {} };
  const text = await request("GET", `/api/v1/definitions/${task.definition_id}/resource`, { text: true, signal });
  try {
    return text.trimStart().startsWith("<") ? xmlSpec(text, task.element_id) : jsonSpec(text, task.element_id);
  } catch {
    return { fields: null, declarations: {} };
  }
}

/** The form's fields: each form field, its type completed from the declared variable. */
function fieldsOf(spec) {
  return (spec.fields || []).filter((f) => f && typeof f.id === "string" && f.id).map((f) => {
    const decl = spec.declarations[f.id] || {};
    const type = f.type ? normalizeType(f.type) : normalizeType(decl.type || "string");
    return {
      id: f.id,
      label: f.label || f.id,
      type,
      required: f.required === true,
      options: f.options,
      default: f.default,
      description: f.description || decl.description,
    };
  });
}

/**
 * The form's initial values: the variables, less the masked ones. A sensitive variable reads
 * "***"; pre-filled, completing the task would overwrite the real secret with the mask.
 */
function initialValues(spec, variables) {
  const initial = {};
  for (const [name, value] of Object.entries(variables)) {
    const decl = spec.declarations[name];
    if (value === MASK || (decl && typeof decl === "object" && decl.sensitive === true)) continue;
    initial[name] = value;
  }
  return initial;
}

function fact(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}

function facts(task) {
  const candidates = [
    ...task.candidate_users.map((u) => `user ${u}`),
    ...task.candidate_groups.map((g) => `group ${g}`),
  ];
  return h("dl", { class: "facts" },
    fact("State", statusBadge(task.state), task.delegation === "pending" ? h("span", { class: "muted" }, ` delegated by ${task.owner}`) : null),
    fact("Assignee", task.assignee || h("span", { class: "muted" }, "unassigned")),
    task.owner ? fact("Owner", task.owner) : [],
    fact("Candidates", candidates.length ? candidates.join(", ") : h("span", { class: "muted" }, "none")),
    fact("Created", h("time", { datetime: task.created_at, title: formatTime(task.created_at) }, `${formatTime(task.created_at)} (${relativeTime(task.created_at)})`)),
    fact("Due", task.due_date ? [dueCell(task), h("span", { class: "muted" }, ` ${formatTime(task.due_date)}`)] : h("span", { class: "muted" }, "—")),
    fact("Priority", String(task.priority)),
    task.category ? fact("Category", task.category) : [],
    fact("Instance", h("a", { href: `#/instances/${encodeURIComponent(task.instance_id)}` }, h("code", {}, task.instance_id))),
    fact("Element", h("code", {}, task.element_id)),
    task.form_key ? fact("Form key", h("code", {}, task.form_key)) : [],
    task.ended_at ? fact("Ended", formatTime(task.ended_at)) : []);
}

function completionForm(task, who, spec, variables, onDone) {
  const fields = fieldsOf(spec);
  const main = buildForm(fields, initialValues(spec, variables));
  const extra = buildForm([{ id: EXTRA, label: "More variables", type: "object", description: "A JSON object of further variables to set, e.g. {\"approved\": true}. Fields above win over a name given twice." }]);
  const summary = h("div", { class: "form-summary", role: "alert", hidden: true });
  const mine = task.assignee && task.assignee === who.user_id;
  const delegated = task.delegation === "pending";
  let blocker = null;
  if (!who.user_id) blocker = "Choose who you act as (identity bar) to complete this task.";
  else if (delegated && !mine) blocker = `Delegated to ${task.assignee}: they resolve it back to ${task.owner}, who completes it.`;
  else if (delegated) blocker = `Delegated to you by ${task.owner}: resolve it to hand it back; ${task.owner} completes it.`;
  else if (!task.assignee) blocker = "Claim this task to complete it.";
  else if (!mine) blocker = `Assigned to ${task.assignee}, not to you (${who.user_id}).`;

  const submit = h("button", { type: "submit", class: "btn btn-primary", disabled: Boolean(blocker) }, "Complete");
  const form = h("form", { class: "task-form", novalidate: true, "aria-labelledby": "task-form-title" },
    h("h2", { id: "task-form-title" }, "Complete the task"),
    blocker ? h("p", { class: "notice", id: "task-form-blocker" }, blocker) : null,
    fields.length ? main.element : h("p", { class: "muted" }, "This task declares no form fields; set variables as JSON below if the process needs any."),
    h("details", { class: "more-variables", open: !fields.length }, h("summary", {}, "More variables (JSON)"), extra.element),
    summary,
    h("div", { class: "form-actions" }, submit));

  function showSummary(message, items = []) {
    append(clear(summary), h("p", {}, message), items.length ? h("ul", {}, items.map((d) => h("li", {}, d.path ? h("code", {}, d.path) : null, d.path ? " " : null, d.message))) : null);
    summary.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (blocker) return;
    summary.hidden = true;
    const a = main.read();
    const b = extra.read();
    if (!a.ok || !b.ok) {
      showSummary("Some fields need a fix before the task can be completed.");
      (a.ok ? extra : main).read(); // focus the first bad field of the failing part
      return;
    }
    const variables = { ...(b.values[EXTRA] || {}), ...a.values };
    submit.disabled = true;
    try {
      const result = await post(`/api/v1/tasks/${encodeURIComponent(task.id)}/complete`, { variables, user_id: who.user_id });
      toast(`Completed “${task.name}”; the instance is ${result.instance_status}`, "success");
      onDone(result);
    } catch (exc) {
      submit.disabled = false;
      if (!(exc instanceof ApiError)) {
        showSummary(`The task could not be completed: ${exc.message}`);
        return;
      }
      const rest = main.showErrors(exc.details);
      // Findings about variables outside the form belong to the JSON box.
      const forExtra = rest.filter((d) => /^(body\.)?variables\./.test(String(d.path || "")));
      if (forExtra.length) {
        extra.showErrors(forExtra.map((d) => ({ path: EXTRA, message: d.message })));
        form.querySelector("details.more-variables").open = true;
      }
      const unmatched = rest.filter((d) => !forExtra.includes(d));
      const placed = exc.details.length - unmatched.length;
      if (placed > 0 && !unmatched.length) showSummary("The server refused some values: see the marked fields.");
      else showSummary(exc.status === 409 ? exc.message : `The server refused the values: ${exc.message}`, unmatched);
    }
  });
  return form;
}

export async function render(root, { params, signal }) {
  ensurePageStyles();
  const id = params.id;
  async function draw() {
    clear(root).append(loading());
    const [task, who] = await Promise.all([get(`/api/v1/tasks/${encodeURIComponent(id)}`, null, { signal }), identity()]);
    const open = OPEN_STATES.includes(task.state);
    let spec = { fields: null, declarations: {} };
    let variables = {};
    if (open) {
      const [specResult, varsResult] = await Promise.allSettled([
        formSpec(task, signal),
        get(`/api/v1/tasks/${encodeURIComponent(task.id)}/variables`, null, { signal }),
      ]);
      if (specResult.status === "fulfilled") spec = specResult.value;
      if (varsResult.status === "fulfilled") variables = varsResult.value.variables || {};
    }
    if (signal.aborted) return;
    clear(root);
    append(root,
      h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/tasks" }, "Tasks"), " / ", task.name || task.element_id),
      pageHeader(task.name || task.element_id),
      isOverdue(task) ? h("p", { class: "banner banner-warning", role: "note" }, `Overdue since ${formatTime(task.due_date)}`) : null,
      task.description ? h("p", { class: "task-description" }, task.description) : null,
      h("section", { class: "task-facts", "aria-label": "Task details" }, facts(task), taskActions(task, who, () => draw().catch(fail))));
    if (open) {
      root.append(completionForm(task, who, spec, variables, () => { window.location.hash = "#/tasks"; }));
    } else {
      root.append(h("p", { class: "notice" }, `This task is ${task.state}${task.ended_at ? ` since ${formatTime(task.ended_at)}` : ""}; nothing left to do.`));
    }
    if (open && Object.keys(variables).length) {
      root.append(h("details", { class: "instance-variables" }, h("summary", {}, "Instance variables"), h("pre", { class: "code" }, prettyJson(variables))));
    }
  }
  function fail(exc) {
    if (signal.aborted || (exc && exc.name === "AbortError")) return;
    clear(root).append(errorState(exc, () => draw().catch(fail)));
  }
  const onIdentity = () => draw().catch(fail);
  window.addEventListener("wfe:identity", onIdentity);
  signal.addEventListener("abort", () => window.removeEventListener("wfe:identity", onIdentity));
  await draw();
}
