// #/definitions/:id: diagram, source, versions, suspend / activate, start an instance.

import { can, getAll, get, identity, post, request } from "../api.js";
import { buildForm, fieldsFromDeclarations } from "../forms.js";
import { append, clear, confirmDialog, errorState, formatTime, h, loading, pageHeader, statusBadge, svgFromText, toast } from "../ui.js";

function prettySource(text, resourceType) {
  if (resourceType === "json") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text; // show what was uploaded even if it does not parse any more
    }
  }
  return text;
}

/** `process.variables` of a JSON definition (BPMN XML declares none). */
function declarations(text, resourceType) {
  if (resourceType !== "json") return {};
  try {
    const document = JSON.parse(text);
    const variables = document?.process?.variables;
    return variables && typeof variables === "object" ? variables : {};
  } catch {
    return {};
  }
}

async function diagramSection(definition, signal) {
  const figure = h("figure", { class: "diagram", id: "definition-diagram", tabindex: "0", "aria-label": `Diagram of ${definition.key}` }, loading("Drawing the diagram…"));
  const section = h("section", { class: "card", "aria-labelledby": "diagram-title" }, h("h2", { id: "diagram-title" }, "Diagram"), figure);
  try {
    const svg = await request("GET", `/api/v1/definitions/${definition.id}/diagram`, { text: true, signal });
    clear(figure).append(svgFromText(svg));
  } catch (exc) {
    if (!signal.aborted) clear(figure).append(errorState(exc));
  }
  return section;
}

function startSection(definition, source) {
  const fields = fieldsFromDeclarations(declarations(source, definition.resource_type));
  const form = buildForm(fields);
  const businessKey = h("input", { type: "text", id: "start-business-key", name: "business_key", autocomplete: "off", maxlength: "255" });
  const message = h("div", { class: "start-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", disabled: definition.suspended }, "Start instance");
  const element = h("form", { class: "start-form", novalidate: true, "aria-labelledby": "start-title" },
    h("h2", { id: "start-title" }, "Start an instance"),
    definition.suspended ? h("p", { class: "banner banner-info" }, "This version is suspended: activate it to start instances.") : null,
    fields.length ? form.element : h("p", { class: "muted" }, "This process declares no variables."),
    h("div", { class: "field" }, h("label", { for: "start-business-key" }, "Business key (optional)"), businessKey),
    h("div", { class: "form-actions" }, submit), message);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(message);
    const read = form.read();
    if (!read.ok) return;
    submit.disabled = true;
    try {
      const who = await identity();
      const started = await post("/api/v1/instances", {
        definition_id: definition.id,
        variables: read.values,
        business_key: businessKey.value.trim() || null,
        user_id: who.user_id || null,
      });
      toast(`Started instance ${started.id}`, "success");
      window.location.hash = `#/instances/${encodeURIComponent(started.id)}`;
    } catch (exc) {
      submit.disabled = false;
      const unmatched = form.showErrors(exc.details || []);
      if (!exc.details?.length || unmatched.length) message.append(errorState({ message: exc.message, details: unmatched }));
    }
  });
  return h("section", { class: "card" }, element);
}

function versionsSection(definition, versions) {
  return h("section", { class: "card", "aria-labelledby": "versions-title" },
    h("h2", { id: "versions-title" }, "Versions"),
    h("ul", { class: "versions" }, versions.map((v) => h("li", {},
      v.id === definition.id
        ? h("strong", { "aria-current": "page" }, `v${v.version} (this version)`)
        : h("a", { href: `#/definitions/${v.id}` }, `v${v.version}`),
      ` · ${formatTime(v.deploy_time)}`, v.suspended ? " · suspended" : ""))));
}

export async function render(root, { params, signal }) {
  root.append(loading());
  const definition = await get(`/api/v1/definitions/${encodeURIComponent(params.id)}`, null, { signal });
  const [source, versions, who] = await Promise.all([
    request("GET", `/api/v1/definitions/${definition.id}/resource`, { text: true, signal }),
    getAll("/api/v1/definitions", { key: definition.key }, { signal }),
    identity(),
  ]);
  const sameTenant = versions.filter((v) => v.tenant_id === definition.tenant_id).sort((a, b) => b.version - a.version);

  const toggle = h("button", { type: "button", class: definition.suspended ? "btn btn-primary" : "btn" }, definition.suspended ? "Activate" : "Suspend");
  toggle.addEventListener("click", async () => {
    const suspend = !definition.suspended;
    const ok = await confirmDialog({
      title: suspend ? `Suspend ${definition.key} v${definition.version}?` : `Activate ${definition.key} v${definition.version}?`,
      message: suspend ? "A suspended version starts no new instances; running ones go on." : "The version can start instances again.",
      confirmLabel: suspend ? "Suspend" : "Activate",
      danger: suspend,
    });
    if (!ok) return;
    try {
      await post(`/api/v1/definitions/${definition.id}/${suspend ? "suspend" : "activate"}`);
      toast(suspend ? "Suspended" : "Activated", "success");
      window.dispatchEvent(new HashChangeEvent("hashchange")); // render again with the new state
    } catch (exc) {
      toast(exc.message, "error");
    }
  });
  const instancesLink = can(who, "instance:read", "instance:read_own") && h("a", { class: "btn", href: `#/instances?definition_key=${encodeURIComponent(definition.key)}` }, "Instances");

  clear(root);
  append(root,
    pageHeader(`${definition.name || definition.key}`, instancesLink, can(who, "definition:suspend") ? toggle : null),
    h("p", { class: "subtitle" }, h("code", {}, definition.key), ` v${definition.version} · `, statusBadge(definition.suspended ? "suspended" : "active"),
      ` · deployed ${formatTime(definition.deploy_time)} · ${definition.element_count} elements`),
    definition.description ? h("p", {}, definition.description) : null,
    await diagramSection(definition, signal),
    h("div", { class: "grid-2" },
      can(who, "instance:start") ? startSection(definition, source) : null,
      versionsSection(definition, sameTenant)),
    h("section", { class: "card", "aria-labelledby": "source-title" },
      h("h2", { id: "source-title" }, `Source (${definition.resource_type === "json" ? "JSON" : "BPMN XML"})`),
      h("pre", { class: "source", tabindex: "0" }, h("code", {}, prettySource(source, definition.resource_type)))));
}
