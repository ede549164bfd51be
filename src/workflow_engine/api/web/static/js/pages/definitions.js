// #/definitions: every key with its latest version, search, versions, upload → validate → deploy.

import { ApiError, can, getAll, me, request } from "../api.js";
import { clear, emptyState, errorState, formatTime, h, hashLink, loading, pageHeader, statusBadge, toast } from "../ui.js";

const MAX_DEFINITIONS = 5000;

/** Group versions by tenant + key: [{key, latest, versions (newest first)}], sorted by key. */
export function groupByKey(items) {
  const groups = new Map();
  for (const item of items) {
    const id = `${item.tenant_id}\u0000${item.key}`;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push(item);
  }
  return [...groups.values()]
    .map((versions) => {
      versions.sort((a, b) => b.version - a.version);
      return { key: versions[0].key, latest: versions[0], versions };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

function matches(group, text) {
  if (!text) return true;
  const needle = text.toLowerCase();
  return group.versions.some((v) => v.key.toLowerCase().includes(needle) || (v.name || "").toLowerCase().includes(needle));
}

function mediaType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".json")) return "application/json";
  if (name.endsWith(".bpmn") || name.endsWith(".xml")) return "application/xml";
  return null;
}

/** A list of validation findings, each with its JSON path, code and message. */
export function findingsList(errors, warnings) {
  const item = (finding, kind) => h("li", { class: `finding-${kind}`, dataset: { path: finding.path, code: finding.code } },
    h("span", { class: "sr-only" }, `${kind}: `),
    h("span", { class: "finding-path" }, finding.path || "$"), " ",
    h("span", { class: "finding-code" }, `[${finding.code}]`), " ",
    h("span", { class: "finding-message" }, finding.message));
  return h("ul", { class: "findings", "aria-label": "Validation findings" },
    errors.map((f) => item(f, "error")), warnings.map((f) => item(f, "warning")));
}

function uploadCard() {
  const input = h("input", { type: "file", id: "definition-file", accept: ".json,.bpmn,.xml,application/json,application/xml" });
  const result = h("div", { class: "upload-result", "aria-live": "polite" });
  const zone = h("div", { class: "dropzone" },
    h("label", { for: "definition-file" }, "Definition file (JSON or BPMN 2.0 XML)"), h("br"),
    input,
    h("p", { class: "muted" }, "…or drop a file here. It is validated first; you deploy it after reading the findings."));

  async function handle(file) {
    clear(result);
    const type = mediaType(file);
    if (!type) {
      result.append(errorState(new Error(`${file.name}: choose a .json, .bpmn or .xml file`)));
      return;
    }
    result.append(loading(`Validating ${file.name}…`));
    let body;
    let report;
    try {
      body = await file.text();
      report = await request("POST", "/api/v1/definitions/validate", { body, headers: { "Content-Type": type } });
    } catch (exc) {
      clear(result).append(errorState(exc));
      return;
    }
    clear(result);
    const { errors, warnings } = report;
    const summary = report.valid
      ? (warnings.length ? `${file.name} is valid, with ${warnings.length} warning${warnings.length > 1 ? "s" : ""}.` : `${file.name} is valid.`)
      : `${file.name} is not valid: ${errors.length} error${errors.length > 1 ? "s" : ""}${warnings.length ? `, ${warnings.length} warning(s)` : ""}. Fix them and upload again.`;
    result.append(h("p", { class: "validation-summary", role: report.valid ? "status" : "alert" },
      statusBadge(report.valid ? (warnings.length ? "warning" : "valid") : "error"), " ", summary));
    if (errors.length || warnings.length) result.append(findingsList(errors, warnings));
    if (!report.valid) return;
    const deploy = h("button", { type: "button", class: "btn btn-primary" },
      warnings.length ? `Deploy despite ${warnings.length} warning${warnings.length > 1 ? "s" : ""}` : "Deploy");
    deploy.addEventListener("click", async () => {
      deploy.disabled = true;
      try {
        const out = await request("POST", "/api/v1/definitions", { body, headers: { "Content-Type": type } });
        toast(out.created ? `Deployed ${out.key} v${out.version}` : `${out.key} v${out.version} is already deployed with this content`, "success");
        window.location.hash = `#/definitions/${out.id}`;
      } catch (exc) {
        deploy.disabled = false;
        clear(result).append(errorState(exc));
        if (exc instanceof ApiError && exc.details.length) toast(exc.message, "error");
      }
    });
    result.append(h("div", { class: "form-actions" }, deploy));
    deploy.focus();
  }

  input.addEventListener("change", () => { if (input.files?.[0]) handle(input.files[0]); });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragover"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragover");
    const file = event.dataTransfer?.files?.[0];
    if (file) handle(file);
  });
  return h("section", { class: "card", "aria-labelledby": "upload-title" }, h("h2", { id: "upload-title" }, "Upload a definition"), zone, result);
}

function row(group) {
  const { latest, versions } = group;
  const versionCell = h("td", { class: "nowrap" }, `v${latest.version}`);
  const tr = h("tr", { dataset: { key: latest.key } },
    h("th", { scope: "row" }, h("a", { href: `#/definitions/${latest.id}` }, latest.key)),
    h("td", {}, latest.name || "—"),
    versionCell,
    h("td", {}, versions.length > 1
      ? h("details", {}, h("summary", {}, `${versions.length} versions`),
        h("ul", { class: "versions" }, versions.map((v) => h("li", {},
          h("a", { href: `#/definitions/${v.id}` }, `v${v.version}`), " ", formatTime(v.deploy_time), v.suspended ? " (suspended)" : ""))))
      : "1 version"),
    h("td", {}, statusBadge(latest.suspended ? "suspended" : "active")),
    h("td", { class: "nowrap" }, formatTime(latest.deploy_time)));
  return tr;
}

export async function render(root, { query, signal }) {
  const search = h("input", { type: "search", id: "definition-search", value: query.get("q") || "", placeholder: "key or name", autocomplete: "off" });
  const list = h("div", { class: "definition-list" }, loading());
  const who = await me();
  root.append(pageHeader("Definitions"), can(who, "definition:deploy") ? uploadCard() : null,
    h("section", { class: "card", "aria-labelledby": "list-title" },
      h("h2", { id: "list-title" }, "Deployed definitions"),
      h("form", { class: "filters", role: "search", on: { submit: (e) => e.preventDefault() } },
        h("div", { class: "field" }, h("label", { for: "definition-search" }, "Search"), search)),
      list));

  let groups = [];
  const draw = () => {
    const text = search.value.trim();
    const shown = groups.filter((g) => matches(g, text));
    clear(list);
    if (!groups.length) {
      list.append(emptyState("No definitions are deployed yet. Upload one above."));
      return;
    }
    if (!shown.length) {
      list.append(emptyState(`No definition matches “${text}”.`));
      return;
    }
    const body = h("tbody");
    const fragment = document.createDocumentFragment();
    for (const group of shown) fragment.append(row(group));
    body.append(fragment);
    list.append(h("div", { class: "table-wrap" }, h("table", { class: "definitions-table" },
      h("caption", { class: "sr-only" }, "Deployed definitions, latest version of each key"),
      h("thead", {}, h("tr", {}, ["Key", "Name", "Latest", "Versions", "Status", "Deployed"].map((t) => h("th", { scope: "col" }, t)))),
      body)));
  };
  search.addEventListener("input", () => {
    draw();
    // Keep the search in the address so a reload or a shared link shows the same list.
    history.replaceState(null, "", hashLink("/definitions", { q: search.value.trim() }));
  });

  const load = async () => {
    clear(list).append(loading());
    try {
      groups = groupByKey(await getAll("/api/v1/definitions", {}, { limit: MAX_DEFINITIONS, signal }));
      draw();
    } catch (exc) {
      if (signal.aborted) return;
      clear(list).append(errorState(exc, load));
    }
  };
  await load();
}
