// The portal's main pages in Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core.
//
// Playwright (the Chromium e2e suite) cannot drive a stock Firefox; puppeteer-core speaks
// WebDriver BiDi, which Firefox implements itself, and never downloads a browser.
//
// Usage: node portal-smoke.mjs BASE_URL DEFINITION_ID INSTANCE_ID SCREENSHOT_DIR
//   BASE_URL       a running `wfe dev`, e.g. http://127.0.0.1:8080
//   DEFINITION_ID  a deployed definition (its detail page must draw a diagram)
//   INSTANCE_ID    an instance (its detail page must draw a diagram)
//   SCREENSHOT_DIR where firefox-<page>.png files go
// Environment: FIREFOX (default /usr/bin/firefox-esr).
//
// Exit 0 when every page showed its main heading (and diagram where it has one) with no console
// error / warning, no uncaught page error and no failed (>= 400) response; 1 otherwise, with
// each problem printed; 2 on bad arguments.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import puppeteer from "puppeteer-core";

const TIMEOUT_MS = 20_000;

function usage(message) {
  console.error(`${message}\nusage: node portal-smoke.mjs BASE_URL DEFINITION_ID INSTANCE_ID SCREENSHOT_DIR`);
  process.exit(2);
}

const [baseUrl, definitionId, instanceId, screenshotDir] = process.argv.slice(2);
if (!baseUrl || !/^https?:\/\//.test(baseUrl)) usage("BASE_URL must be an http(s) URL");
if (!definitionId || !/^\d+$/.test(definitionId)) usage("DEFINITION_ID must be a number");
if (!instanceId) usage("INSTANCE_ID is missing");
if (!screenshotDir) usage("SCREENSHOT_DIR is missing");

// Each page: its route, and a selector that must be visible once it has rendered (beyond the
// main heading every page has).
const PAGES = [
  { name: "dashboard", route: "#/" },
  { name: "definitions", route: "#/definitions", ready: "main table" },
  { name: "definition", route: `#/definitions/${definitionId}`, ready: "#definition-diagram svg" },
  { name: "instances", route: "#/instances", ready: "table.instances-table tbody tr" },
  { name: "instance", route: `#/instances/${encodeURIComponent(instanceId)}`, ready: "#instance-diagram svg" },
  { name: "tasks", route: "#/tasks" },
];

const problems = [];
let current = "start";

function watch(page) {
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warn" || message.type() === "warning") {
      const url = message.location()?.url ?? "";
      problems.push(`[${current}] console ${message.type()}: ${message.text()} (${url})`);
    }
  });
  page.on("pageerror", (error) => {
    problems.push(`[${current}] page error: ${error?.message ?? error}`);
  });
  // Chromium logs a failed fetch as a console error; Firefox does not, so check responses.
  page.on("response", (response) => {
    if (response.status() >= 400) {
      problems.push(`[${current}] HTTP ${response.status()} from ${response.url()}`);
    }
  });
}

async function visit(page, { name, route, ready }) {
  current = name;
  const started = Date.now();
  await page.goto(new URL(`/${route}`, baseUrl).href, { waitUntil: "load", timeout: TIMEOUT_MS });
  const heading = await page
    .waitForSelector("main h1", { visible: true, timeout: TIMEOUT_MS })
    .catch(() => null);
  if (!heading) {
    problems.push(`[${name}] no visible main heading (main h1) within ${TIMEOUT_MS} ms`);
    return;
  }
  if (ready) {
    const found = await page.waitForSelector(ready, { visible: true, timeout: TIMEOUT_MS }).catch(() => null);
    if (!found) problems.push(`[${name}] ${ready} did not appear within ${TIMEOUT_MS} ms`);
  }
  // Every section has finished loading, and none shows an error state.
  const settled = await page
    .waitForFunction(() => document.querySelectorAll("main .state-loading").length === 0, {
      timeout: TIMEOUT_MS,
      polling: "raf",
    })
    .catch(() => null);
  if (!settled) problems.push(`[${name}] still loading after ${TIMEOUT_MS} ms`);
  const errors = await page.$$eval("main .state-error", (nodes) => nodes.map((n) => n.textContent.trim()));
  for (const text of errors) problems.push(`[${name}] error state shown: ${text}`);
  const title = await heading.evaluate((node) => node.textContent.trim());
  await page.screenshot({ path: path.join(screenshotDir, `firefox-${name}.png`), fullPage: true });
  console.log(`${name}: "${title}" in ${Date.now() - started} ms`);
}

const launchedAt = Date.now();
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
  // No telemetry, updates or remote settings: the run must not reach the internet.
  extraPrefsFirefox: {
    "app.update.enabled": false,
    "browser.shell.checkDefaultBrowser": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "toolkit.telemetry.enabled": false,
  },
});
let exitCode = 0;
try {
  console.log(`${await browser.version()} launched in ${Date.now() - launchedAt} ms`);
  await mkdir(screenshotDir, { recursive: true });
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 900 });
  watch(page);
  for (const spec of PAGES) {
    try {
      await visit(page, spec);
    } catch (error) {
      problems.push(`[${spec.name}] ${error?.message ?? error}`);
    }
  }
  // Late console messages of the last page still count.
  await new Promise((resolve) => setTimeout(resolve, 200));
} catch (error) {
  problems.push(`[${current}] ${error?.stack ?? error}`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(`${problems.length} problem(s) in Firefox:\n${problems.join("\n")}`);
  exitCode = 1;
}
console.log(`total ${Date.now() - launchedAt} ms`);
process.exit(exitCode);
