// Forms generated from field descriptions: start forms (process.variables) and task forms
// (a user task's config.form_fields).
//
// buildForm(fields, initial) -> { element, read(), showErrors(details), clearErrors(), focus() }
//
// The browser checks each value against its type before anything is sent; the API checks
// again (declared process variables), and its answer can be shown against the same fields
// with showErrors(error.details). No native constraint validation is used (`required`
// attributes would pop browser bubbles with other wording): every message is ours, tied to
// its input with aria-invalid and aria-describedby.
//
// This module builds DOM with createElement only and imports nothing, so any page (and the
// in-browser unit tests) can use it on its own.

/** Canonical field types and the aliases accepted for them (docs/json-format.md, Camunda). */
const TYPE_ALIASES = {
  string: "string",
  str: "string",
  text: "text",
  textarea: "text",
  integer: "integer",
  int: "integer",
  long: "integer",
  short: "integer",
  number: "number",
  float: "number",
  double: "number",
  decimal: "number",
  boolean: "boolean",
  bool: "boolean",
  date: "date",
  datetime: "datetime",
  "date-time": "datetime",
  "datetime-local": "datetime",
  timestamp: "datetime",
  enum: "enum",
  select: "enum",
  json: "json",
  any: "json",
  object: "object",
  map: "object",
  dict: "object",
  array: "array",
  list: "array",
};

const INTEGER_TEXT = /^[+-]?\d+$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;

let formCounter = 0;

const PAGE_STYLES = "/static/css/pages.css";

/**
 * Make sure the stylesheet of forms, inbox and dashboard (css/pages.css) is loaded, once.
 * index.html may link it itself; then this finds the link and does nothing.
 */
export function ensurePageStyles() {
  if (typeof document === "undefined") return;
  const present = [...document.querySelectorAll('link[rel="stylesheet"]')].some(
    (link) => new URL(link.href, window.location.href).pathname === PAGE_STYLES,
  );
  if (present) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = PAGE_STYLES;
  document.head.append(link);
}

/**
 * The canonical type of a field type name (unknown or missing names are "string").
 * @param {string|undefined|null} type
 * @returns {string}
 */
export function normalizeType(type) {
  if (typeof type !== "string") return "string";
  return TYPE_ALIASES[type.trim().toLowerCase()] || "string";
}

/**
 * Fields for `process.variables` declarations (name -> {type, required, default, description}).
 * Variables of type `any` are edited as JSON.
 * @param {Record<string, any>} declarations
 * @returns {Array<object>}
 */
export function fieldsFromDeclarations(declarations) {
  return Object.entries(declarations || {}).map(([name, decl]) => {
    const d = decl && typeof decl === "object" ? decl : {};
    const field = {
      id: name,
      label: d.label || name,
      type: d.type || "any",
      required: d.required === true,
    };
    if (d.description) field.description = d.description;
    if ("default" in d) field.default = d.default;
    if (Array.isArray(d.options)) field.options = d.options;
    return field;
  });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function safeId(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

/** An ISO time as the value of a datetime-local input (local time, seconds kept). */
function toLocalInput(value) {
  if (typeof value !== "string" || value === "") return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Options as [{value, label}] from a list of values / {value, label} / {id, name}, or a map. */
function normalizeOptions(options) {
  if (Array.isArray(options)) {
    return options.map((option) => {
      if (option && typeof option === "object") {
        const value = "value" in option ? option.value : option.id;
        const label = option.label ?? option.name ?? String(value);
        return { value, label: String(label) };
      }
      return { value: option, label: String(option) };
    });
  }
  if (options && typeof options === "object") {
    return Object.entries(options).map(([value, label]) => ({ value, label: String(label) }));
  }
  return [];
}

function describeJson(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/**
 * One field: its DOM, how it reads its value, how it shows an error.
 * @returns {{ id: string, wrapper: HTMLElement, control: HTMLElement, read: () => object,
 *   setError: (msg: string|null) => void }}
 */
function buildField(field, initial, prefix) {
  const type = normalizeType(field.type);
  const name = String(field.id);
  const required = field.required === true;
  const inputId = `${prefix}-${safeId(name)}`;
  const errorId = `${inputId}-error`;
  const descId = `${inputId}-desc`;
  const label = field.label ? String(field.label) : name;
  const start = name in initial && initial[name] !== undefined ? initial[name] : field.default;
  const hasStart = start !== undefined && start !== null;

  let control;
  switch (type) {
    case "text":
      control = el("textarea", { id: inputId, rows: 4 });
      control.value = hasStart ? String(start) : "";
      break;
    case "integer":
      control = el("input", { id: inputId, type: "number", step: "1", inputmode: "numeric" });
      control.value = hasStart ? String(start) : "";
      break;
    case "number":
      control = el("input", { id: inputId, type: "number", step: "any", inputmode: "decimal" });
      control.value = hasStart ? String(start) : "";
      break;
    case "boolean":
      control = el("input", { id: inputId, type: "checkbox" });
      control.checked = start === true || start === "true";
      break;
    case "date":
      control = el("input", { id: inputId, type: "date" });
      control.value = hasStart ? String(start).slice(0, 10) : "";
      break;
    case "datetime":
      control = el("input", { id: inputId, type: "datetime-local", step: "1" });
      control.value = hasStart ? toLocalInput(String(start)) : "";
      break;
    case "enum": {
      const options = normalizeOptions(field.options);
      control = el("select", { id: inputId });
      control.append(el("option", { value: "" }, required ? "Choose…" : "—"));
      options.forEach((option, index) => {
        const node = el("option", { value: String(index) }, option.label);
        if (hasStart && String(option.value) === String(start)) node.selected = true;
        control.append(node);
      });
      control._options = options;
      break;
    }
    case "json":
    case "object":
    case "array":
      control = el("textarea", {
        id: inputId,
        rows: 5,
        spellcheck: "false",
        class: "json-input",
      });
      control.value = hasStart ? JSON.stringify(start, null, 2) : "";
      break;
    default:
      control = el("input", { id: inputId, type: "text" });
      control.value = hasStart ? String(start) : "";
  }
  control.name = name;
  if (required && type !== "boolean") control.setAttribute("aria-required", "true");

  const hint = {
    integer: "whole number",
    number: "number",
    date: "date",
    datetime: "date and time (your time zone)",
    json: "JSON",
    object: "JSON object",
    array: "JSON array",
  }[type];
  const description = field.description ? String(field.description) : "";
  const descNode = description ? el("p", { id: descId, class: "field-desc" }, description) : null;
  const errorNode = el("p", { id: errorId, class: "field-error", hidden: true });
  const baseDescribedBy = descNode ? [descId] : [];
  if (baseDescribedBy.length) control.setAttribute("aria-describedby", baseDescribedBy.join(" "));

  const labelNode = el(
    "label",
    { for: inputId },
    label,
    hint ? el("span", { class: "field-type" }, ` (${hint})`) : null,
    required && type !== "boolean"
      ? el("span", { class: "required-mark", "aria-hidden": "true", title: "required" }, " *")
      : null,
  );
  let wrapper;
  if (type === "boolean") {
    wrapper = el(
      "div",
      { class: "field form-field form-field-check" },
      el("div", { class: "check-row" }, control, labelNode),
      descNode,
      errorNode,
    );
  } else {
    wrapper = el("div", { class: "field form-field" }, labelNode, control, descNode, errorNode);
  }
  wrapper.dataset.field = name;
  wrapper.dataset.type = type;

  function setError(message) {
    if (message) {
      errorNode.textContent = message;
      errorNode.hidden = false;
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", [...baseDescribedBy, errorId].join(" "));
      wrapper.classList.add("has-error");
    } else {
      errorNode.textContent = "";
      errorNode.hidden = true;
      control.removeAttribute("aria-invalid");
      if (baseDescribedBy.length) {
        control.setAttribute("aria-describedby", baseDescribedBy.join(" "));
      } else {
        control.removeAttribute("aria-describedby");
      }
      wrapper.classList.remove("has-error");
    }
  }

  // { present: bool, value?, error? }
  function read() {
    const missing = required ? { present: false, error: `${label} is required` } : { present: false };
    switch (type) {
      case "boolean":
        return { present: true, value: control.checked };
      case "integer":
      case "number": {
        if (control.validity && control.validity.badInput) {
          return {
            present: false,
            error: `${label} must be ${type === "integer" ? "a whole number" : "a number"}`,
          };
        }
        const text = control.value.trim();
        if (text === "") return missing;
        if (type === "integer") {
          if (!INTEGER_TEXT.test(text)) {
            return { present: false, error: `${label} must be a whole number, got ${text}` };
          }
          const value = Number(text);
          if (!Number.isSafeInteger(value)) {
            return { present: false, error: `${label} is too large for a whole number` };
          }
          return { present: true, value };
        }
        const value = Number(text);
        if (!Number.isFinite(value)) {
          return { present: false, error: `${label} must be a number, got ${text}` };
        }
        return { present: true, value };
      }
      case "date": {
        if (control.validity && control.validity.badInput) {
          return { present: false, error: `${label} must be a date (YYYY-MM-DD)` };
        }
        const text = control.value.trim();
        if (text === "") return missing;
        if (!DATE_TEXT.test(text) || Number.isNaN(new Date(`${text}T00:00:00Z`).getTime())) {
          return { present: false, error: `${label} must be a date (YYYY-MM-DD), got ${text}` };
        }
        return { present: true, value: text };
      }
      case "datetime": {
        if (control.validity && control.validity.badInput) {
          return { present: false, error: `${label} must be a date and time` };
        }
        const text = control.value.trim();
        if (text === "") return missing;
        // datetime-local has no zone: the person means their own; send UTC with its "Z".
        const moment = new Date(text);
        if (Number.isNaN(moment.getTime())) {
          return { present: false, error: `${label} must be a date and time, got ${text}` };
        }
        return { present: true, value: moment.toISOString() };
      }
      case "enum": {
        if (control.value === "") return missing;
        const option = control._options[Number(control.value)];
        return { present: true, value: option ? option.value : control.value };
      }
      case "json":
      case "object":
      case "array": {
        const text = control.value.trim();
        if (text === "") return missing;
        let value;
        try {
          value = JSON.parse(text);
        } catch (error) {
          return { present: false, error: `${label} is not valid JSON: ${error.message}` };
        }
        if (type === "object" && (value === null || typeof value !== "object" || Array.isArray(value))) {
          return { present: false, error: `${label} must be a JSON object, got ${describeJson(value)}` };
        }
        if (type === "array" && !Array.isArray(value)) {
          return { present: false, error: `${label} must be a JSON array, got ${describeJson(value)}` };
        }
        return { present: true, value };
      }
      default: {
        const text = control.value;
        if (text.trim() === "") return missing;
        return { present: true, value: text };
      }
    }
  }

  // Clear a field's message as soon as the person edits it.
  const clear = () => setError(null);
  control.addEventListener("input", clear);
  control.addEventListener("change", clear);

  return { id: name, type, wrapper, control, read, setError };
}

/**
 * Build a form for `fields`, pre-filled from `initial` (then each field's `default`).
 *
 * A field is `{ id, label, type, required, options, default, description }`; `type` is one of
 * string | text | integer | number | boolean | date | datetime | enum | json | object | array
 * (aliases such as int, long, bool, date-time, map, list are accepted; unknown is string).
 *
 * `read()` returns `{ ok, values }`: `values` holds every field with a value (empty optional
 * fields are left out, so declared defaults apply; a checkbox always has a value). When not
 * ok, each bad field shows its message and the first one gets focus.
 *
 * `showErrors(details)` shows API findings (`[{path, message}]`, paths such as
 * `variables.amount` or `body.variables.amount`) against their fields and returns the findings
 * that match no field, for the caller to show elsewhere.
 *
 * @param {Array<object>} fields
 * @param {Record<string, any>} [initial]
 */
export function buildForm(fields, initial = {}) {
  ensurePageStyles();
  formCounter += 1;
  const prefix = `wfe-form-${formCounter}`;
  const start = initial && typeof initial === "object" ? initial : {};
  const seen = new Set();
  const built = [];
  for (const field of fields || []) {
    if (!field || typeof field !== "object" || field.id === undefined || field.id === null) continue;
    const name = String(field.id);
    if (name === "" || seen.has(name)) continue;
    seen.add(name);
    built.push(buildField(field, start, prefix));
  }
  const element = el("div", { class: "form-fields" });
  for (const item of built) element.append(item.wrapper);
  const byId = new Map(built.map((item) => [item.id, item]));

  function clearErrors() {
    for (const item of built) item.setError(null);
  }

  function read() {
    const values = {};
    let first = null;
    for (const item of built) {
      const result = item.read();
      item.setError(result.error || null);
      if (result.error && !first) first = item;
      if (result.present) values[item.id] = result.value;
    }
    if (first) first.control.focus();
    return { ok: first === null, values };
  }

  function fieldOfPath(path) {
    const parts = String(path || "")
      .replace(/\[(\d+)\]/g, ".$1")
      .split(".")
      .filter((p) => p !== "" && p !== "$");
    if (parts[0] === "body") parts.shift();
    if (parts[0] === "variables" && parts.length > 1) parts.shift();
    return parts.length ? byId.get(parts[0]) : undefined;
  }

  function showErrors(details) {
    const unmatched = [];
    let first = null;
    for (const detail of details || []) {
      const item = fieldOfPath(detail && detail.path);
      if (item) {
        item.setError(String(detail.message || "rejected by the server"));
        if (!first) first = item;
      } else {
        unmatched.push(detail);
      }
    }
    if (first) first.control.focus();
    return unmatched;
  }

  function focus() {
    if (built.length) built[0].control.focus();
  }

  return { element, read, showErrors, clearErrors, focus, fields: built.map((b) => b.id) };
}
