// Hand-drawn SVG charts (no library, nothing fetched). Each chart is a <figure> holding an
// SVG with role="img", <title> and <desc>, and the same numbers as a table under a
// <details> ("Show the data as a table") for screen readers and for copying.
//
// lineChart({ title, description, labels, series, formatLabel, formatValue })
// barChart({ title, description, items, formatValue, max })
//
// Colours come from CSS classes (pages.css: .series-0 ... .series-5, .bar-<name>), so the
// charts follow the page's theme.

const SVG_NS = "http://www.w3.org/2000/svg";
let chartCounter = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function html(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * "Nice" axis ticks from 0 to at least `max` (1, 2, 2.5, 5 × 10^n steps).
 * @param {number} max
 * @param {number} [count]
 * @returns {number[]}
 */
export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) || rough;
  const ticks = [];
  for (let v = 0; v < max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function dataTable(caption, headers, rows) {
  const head = html("tr", {}, ...headers.map((text) => html("th", { scope: "col" }, text)));
  const body = html("tbody");
  const fragment = document.createDocumentFragment();
  for (const row of rows) {
    const tr = html("tr");
    row.forEach((cell, index) => {
      tr.append(index === 0 ? html("th", { scope: "row" }, String(cell)) : html("td", {}, String(cell)));
    });
    fragment.append(tr);
  }
  body.append(fragment);
  return html(
    "details",
    { class: "chart-data" },
    html("summary", {}, "Show the data as a table"),
    html(
      "div",
      { class: "table-wrap" },
      html("table", { class: "data-table" }, html("caption", {}, caption), html("thead", {}, head), body),
    ),
  );
}

function frame(title, description, svgNode, table, legend) {
  return html(
    "figure",
    { class: "chart" },
    html("figcaption", { class: "chart-title" }, title),
    legend,
    html("div", { class: "chart-canvas" }, svgNode),
    table,
  );
}

function titled(root, title, description) {
  chartCounter += 1;
  const titleId = `chart-${chartCounter}-title`;
  const descId = `chart-${chartCounter}-desc`;
  root.setAttribute("role", "img");
  root.setAttribute("aria-labelledby", `${titleId} ${descId}`);
  root.append(svg("title", { id: titleId }, title), svg("desc", { id: descId }, description || title));
}

/**
 * A line chart of one or more series over the same labels (e.g. throughput per bucket).
 *
 * @param {object} options
 * @param {string} options.title
 * @param {string} [options.description] Summary for assistive technology (the SVG's <desc>).
 * @param {Array<any>} options.labels X positions (e.g. bucket start times).
 * @param {Array<{name: string, values: number[]}>} options.series
 * @param {(label: any) => string} [options.formatLabel]
 * @param {(value: number) => string} [options.formatValue]
 * @returns {HTMLElement} a <figure>
 */
export function lineChart({
  title,
  description,
  labels,
  series,
  formatLabel = String,
  formatValue = String,
  width = 640,
  height = 240,
}) {
  const margin = { top: 12, right: 16, bottom: 34, left: 44 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const n = labels.length;
  const maxValue = Math.max(0, ...series.flatMap((s) => s.values));
  const ticks = niceTicks(maxValue);
  const top = ticks[ticks.length - 1] || 1;
  const x = (i) => margin.left + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const y = (v) => margin.top + plotH - (v / top) * plotH;

  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg line-chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  titled(root, title, description);

  const grid = svg("g", { class: "chart-grid", "aria-hidden": "true" });
  for (const tick of ticks) {
    grid.append(
      svg("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick) }),
      svg("text", { x: margin.left - 6, y: y(tick), class: "axis-label y-label", dy: "0.32em", "text-anchor": "end" }, formatValue(tick)),
    );
  }
  root.append(grid);

  const axis = svg("g", { class: "chart-axis", "aria-hidden": "true" });
  axis.append(
    svg("line", { x1: margin.left, x2: width - margin.right, y1: y(0), y2: y(0) }),
    svg("line", { x1: margin.left, x2: margin.left, y1: margin.top, y2: y(0) }),
  );
  // At most ~6 x labels, evenly spaced, always the first and the last.
  const every = Math.max(1, Math.ceil(n / 6));
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    if (i !== n - 1 && n - 1 - i < every / 2) return;
    axis.append(
      svg("line", { x1: x(i), x2: x(i), y1: y(0), y2: y(0) + 4 }),
      svg("text", { x: x(i), y: y(0) + 18, class: "axis-label x-label", "text-anchor": i === 0 ? "start" : i === n - 1 ? "end" : "middle" }, formatLabel(label)),
    );
  });
  root.append(axis);

  series.forEach((s, index) => {
    const group = svg("g", { class: `chart-series series-${index % 6}`, "data-series": s.name });
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    group.append(svg("polyline", { points, fill: "none" }));
    s.values.forEach((v, i) => {
      if (v > 0 || n <= 60) {
        const dot = svg("circle", { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: n > 60 ? 1.5 : 2.5 });
        dot.append(svg("title", {}, `${s.name} ${formatLabel(labels[i])}: ${formatValue(v)}`));
        group.append(dot);
      }
    });
    root.append(group);
  });

  const legend = html(
    "ul",
    { class: "chart-legend" },
    ...series.map((s, index) =>
      html("li", { class: `series-${index % 6}` }, html("span", { class: "swatch", "aria-hidden": "true" }), s.name),
    ),
  );
  const table = dataTable(
    title,
    ["", ...series.map((s) => s.name)],
    labels.map((label, i) => [formatLabel(label), ...series.map((s) => formatValue(s.values[i]))]),
  );
  return frame(title, description, root, table, legend);
}

/**
 * A horizontal bar chart (e.g. instances per status, p95 duration per definition).
 *
 * @param {object} options
 * @param {string} options.title
 * @param {string} [options.description]
 * @param {Array<{label: string, value: number|null, className?: string, href?: string}>} options.items
 * @param {(value: number) => string} [options.formatValue]
 * @param {string} [options.valueName] Column header of the value in the table fallback.
 * @returns {HTMLElement} a <figure>
 */
export function barChart({ title, description, items, formatValue = String, valueName = "Value", width = 640 }) {
  const rowH = 26;
  const labelW = 170;
  const valueW = 90;
  const height = Math.max(1, items.length) * rowH + 8;
  const plotW = width - labelW - valueW;
  const max = Math.max(0, ...items.map((item) => item.value || 0)) || 1;

  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg bar-chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  titled(root, title, description);
  items.forEach((item, i) => {
    const yTop = 4 + i * rowH;
    const value = item.value || 0;
    const barW = value > 0 ? Math.max(2, (value / max) * plotW) : 0;
    const group = svg("g", { class: `bar ${item.className || `series-${i % 6}`}`, "data-label": item.label });
    const label = item.label.length > 24 ? `${item.label.slice(0, 23)}…` : item.label;
    group.append(
      svg("text", { x: labelW - 8, y: yTop + rowH / 2, dy: "0.32em", "text-anchor": "end", class: "axis-label" }, label),
      svg("rect", { x: labelW, y: yTop + 4, width: barW.toFixed(1), height: rowH - 8, rx: 3 }),
      svg(
        "text",
        { x: labelW + barW + 6, y: yTop + rowH / 2, dy: "0.32em", class: "bar-value" },
        item.value === null || item.value === undefined ? "–" : formatValue(item.value),
      ),
    );
    const tip = svg("title", {}, `${item.label}: ${item.value === null || item.value === undefined ? "no data" : formatValue(item.value)}`);
    group.append(tip);
    root.append(group);
  });
  root.append(
    svg("line", { x1: labelW, x2: labelW, y1: 0, y2: height, class: "chart-axis-line", "aria-hidden": "true" }),
  );
  const table = dataTable(
    title,
    ["", valueName],
    items.map((item) => [item.label, item.value === null || item.value === undefined ? "–" : formatValue(item.value)]),
  );
  return frame(title, description, root, table, null);
}

/**
 * A duration in milliseconds as short text: 850 ms, 12.3 s, 4.5 min, 2.1 h, 3.2 d.
 * @param {number|null|undefined} ms
 */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}
