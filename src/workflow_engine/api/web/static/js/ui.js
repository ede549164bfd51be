// Small DOM helpers shared by every page: element builder, toasts, dialogs, formatting.
// Everything builds nodes with createElement / textContent: data is never parsed as HTML.

const PROPS = new Set(["value", "checked", "disabled", "selected", "indeterminate", "open", "multiple"]);

/** Append children (strings → text nodes; arrays flattened; null / false skipped). */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/**
 * Build an element: h("button", {class: "btn", on: {click}}, "Save").
 * attrs: class (string or array), on (event → handler), dataset, style (object),
 * value / checked / disabled … as properties, everything else as attributes
 * (true → present, false / null → absent).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (key === "on") {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (PROPS.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  return append(el, children);
}

/** Remove every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** A short message in the corner; errors stay longer and are announced assertively. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: ["toast", `toast-${kind}`], role: kind === "error" ? "alert" : null }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/**
 * A modal confirmation (a real <dialog>: focus stays inside, Esc cancels).
 * Resolves true when confirmed, false otherwise.
 */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false, body = null }) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const confirm = h("button", { type: "submit", class: ["btn", danger ? "btn-danger" : "btn-primary"], value: "confirm" }, confirmLabel);
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const form = h("form", { method: "dialog" },
      h("h2", { id: titleId }, title),
      message ? h("p", {}, message) : null,
      body,
      h("div", { class: "dialog-actions" }, cancel, confirm));
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", () => { answer = true; });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (previous instanceof HTMLElement) previous.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    (danger ? cancel : confirm).focus();
  });
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** "12 Mar 2026, 10:04:05" in the browser's locale; "—" for nothing. */
export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : timeFormat.format(date);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "3 minutes ago" / "in 2 hours". */
export function relativeTime(iso) {
  if (!iso) return "—";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  if (Number.isNaN(seconds)) return String(iso);
  const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds), "second");
}

/** "1.2 s", "340 ms", "3 min 4 s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A coloured status label (text always present, colour is a hint only). */
export function statusBadge(status) {
  const value = status || "unknown";
  return h("span", { class: ["badge", `badge-${value.replace(/[^a-z_]/gi, "")}`] }, value.replace(/_/g, " "));
}

/** A friendly "nothing here" box with an optional action element. */
export function emptyState(text, action = null) {
  return h("div", { class: "state state-empty" }, h("p", {}, text), action);
}

/** An error box naming what failed, with a Retry button when `retry` is given. */
export function errorState(error, retry = null) {
  const message = error && error.message ? error.message : String(error);
  const details = (error && Array.isArray(error.details) ? error.details : [])
    .map((d) => h("li", {}, d.path ? h("code", {}, d.path) : null, d.path ? " " : null, d.message));
  return h("div", { class: "state state-error", role: "alert" },
    h("p", {}, h("strong", {}, "Something went wrong: "), message),
    details.length ? h("ul", {}, details) : null,
    retry ? h("button", { type: "button", class: "btn", on: { click: retry } }, "Retry") : null);
}

/** A loading placeholder (announced to screen readers). */
export function loading(text = "Loading…") {
  return h("div", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

/** Parse SVG text from our API into an element with DOMParser (never as HTML). */
export function svgFromText(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length) {
    throw new Error("the diagram could not be read");
  }
  // Scripts never belong in a diagram; drop any, and every on* attribute, before adopting.
  for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
  for (const el of [root, ...root.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) if (/^on/i.test(attr.name)) el.removeAttribute(attr.name);
  }
  return document.importNode(root, true);
}

/** Call `fn` once `ms` after the last call. `.cancel()` drops a pending call. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; fn(...args); }, ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Pretty JSON for display. */
export function prettyJson(value) {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

/** A page heading row: title plus optional actions on the right. */
export function pageHeader(title, ...actions) {
  return h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, title), h("div", { class: "page-actions" }, actions));
}

/** Build a "#/path?query" link from a path and a plain object (empty values dropped). */
export function hashLink(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") query.set(k, String(v));
  const text = query.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}
