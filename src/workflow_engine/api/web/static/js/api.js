// The REST client: JSON in and out, the bearer token, errors as ApiError, SSE over fetch.

const TOKEN_KEY = "wfe.token";
const USER_KEY = "wfe.user";
const GROUPS_KEY = "wfe.groups";
export const DEFAULT_USER = "demo";

/** An error answer of the API: `{error: {code, message, details: [{path, message}]}}`. */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function storageGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage disabled (private mode): behave as if nothing is stored
  }
}

function storageSet(key, value) {
  try {
    if (value === null || value === undefined || value === "") window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    /* storage disabled: the value lives for this page only */
  }
}

export function getToken() {
  return storageGet(TOKEN_KEY);
}

export function setToken(token) {
  storageSet(TOKEN_KEY, token ? token.trim() : null);
  meCache = null;
}

function url(path, query) {
  const target = new URL(path, window.location.origin);
  if (query) {
    const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query);
    for (const [k, v] of entries) {
      if (v === null || v === undefined || v === "") continue;
      if (Array.isArray(v)) v.forEach((item) => target.searchParams.append(k, String(item)));
      else target.searchParams.set(k, String(v));
    }
  }
  return target.pathname + target.search;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: fall back to the status text */
  }
  const err = body && body.error ? body.error : {};
  return new ApiError(
    response.status,
    err.code || `HTTP_${response.status}`,
    err.message || `${response.status} ${response.statusText || "request failed"}`,
    Array.isArray(err.details) ? err.details : [],
  );
}

let authProblemText = null;

/** Why the last request was refused with 401 (shown once by the login page), or null. */
export function takeAuthProblem() {
  const text = authProblemText;
  authProblemText = null;
  return text;
}

/**
 * A 401: the stored token (if any) is no good any more, so it is dropped; the user goes to
 * #/login, which says why and comes back here after logging in.
 */
function toLogin(reason = null) {
  if (getToken()) {
    authProblemText = reason;
    setToken(null);
    window.dispatchEvent(new CustomEvent("wfe:logout"));
  }
  const here = window.location.hash || "#/";
  if (!here.startsWith("#/login")) {
    window.location.hash = `#/login?next=${encodeURIComponent(here.slice(1))}`;
  }
}

/**
 * Call the API. `body`: an object (sent as JSON), or a string / Blob with its own
 * Content-Type in `headers`. Returns parsed JSON, text when `text: true`, null on 204.
 * Throws ApiError (401 also sends the user to #/login).
 */
export async function request(method, path, { body, query, headers, text = false, signal } = {}) {
  const sendHeaders = new Headers(headers || {});
  if (!sendHeaders.has("Accept")) sendHeaders.set("Accept", text ? "*/*" : "application/json");
  const token = getToken();
  if (token) sendHeaders.set("Authorization", `Bearer ${token}`);
  let payload;
  if (body !== undefined && body !== null) {
    if (typeof body === "string" || body instanceof Blob || body instanceof ArrayBuffer) {
      payload = body;
    } else {
      payload = JSON.stringify(body);
      sendHeaders.set("Content-Type", "application/json");
    }
  }
  let response;
  try {
    response = await fetch(url(path, query), { method, headers: sendHeaders, body: payload, signal });
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, "NETWORK", "the server cannot be reached: check that it is running");
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401) toLogin(error.message);
    throw error;
  }
  if (response.status === 204) return null;
  if (text) return response.text();
  return response.json();
}

export const get = (path, query, options = {}) => request("GET", path, { ...options, query });
export const post = (path, body, options = {}) => request("POST", path, { ...options, body });
export const put = (path, body, options = {}) => request("PUT", path, { ...options, body });
export const del = (path, options = {}) => request("DELETE", path, options);

/** Every page of a list endpoint (`items` + `next_page_token`), up to `limit` items. */
export async function getAll(path, query = {}, { limit = 5000, signal } = {}) {
  const items = [];
  let token = null;
  do {
    const page = await get(path, { ...query, page_size: Math.min(500, limit - items.length), page_token: token }, { signal });
    items.push(...page.items);
    token = page.next_page_token;
  } while (token && items.length < limit);
  return items;
}

let meCache = null;
let configCache = null;

/** `GET /api/v1/portal/config`: `{temporal_ui_url, namespace, version, auth_enabled}`. */
export function portalConfig() {
  if (!configCache) {
    configCache = request("GET", "/api/v1/portal/config").catch((exc) => {
      configCache = null;
      throw exc;
    });
  }
  return configCache;
}

/**
 * Who the API says we are (`GET /api/v1/me`): `{auth_enabled, user_id, groups, roles,
 * tenant_id, permissions}`. With auth on and no token stored it does not even ask (the
 * answer would be a 401): it sends the user to #/login and throws an ApiError 401.
 */
export async function me() {
  if (!meCache) {
    meCache = portalConfig()
      .then((config) => {
        if (config.auth_enabled && !getToken()) {
          toLogin();
          throw new ApiError(401, "UNAUTHENTICATED", "log in with an access token first");
        }
        return request("GET", "/api/v1/me");
      })
      .catch((exc) => {
        meCache = null;
        throw exc;
      });
  }
  return meCache;
}

/**
 * Whether `who` (from `me()` / `identity()`) holds at least one of `permissions`. The portal
 * shows and hides controls by this; the API enforces the same rules on every request.
 */
export function can(who, ...permissions) {
  const held = new Set(who?.permissions || []);
  return permissions.some((p) => held.has(p));
}

/** The acting user chosen in the identity bar (auth off). */
export function localIdentity() {
  const groups = (storageGet(GROUPS_KEY) || "").split(",").map((g) => g.trim()).filter(Boolean);
  return { user_id: storageGet(USER_KEY) || DEFAULT_USER, groups };
}

export function setLocalIdentity({ user_id, groups }) {
  storageSet(USER_KEY, (user_id || "").trim());
  storageSet(GROUPS_KEY, (groups || []).map((g) => g.trim()).filter(Boolean).join(","));
  window.dispatchEvent(new CustomEvent("wfe:identity"));
}

/**
 * The acting user: `{user_id, groups[], roles[], tenant_id, permissions[], auth_enabled}`
 * (auth on: all from /api/v1/me; off: user and groups from the identity bar, permissions from
 * /api/v1/me, which grants everything while auth is off).
 */
export async function identity() {
  const who = await me();
  const permissions = who.permissions || [];
  if (who.auth_enabled) {
    return { user_id: who.user_id, groups: who.groups || [], roles: who.roles || [], tenant_id: who.tenant_id ?? null, permissions, auth_enabled: true };
  }
  return { ...localIdentity(), roles: who.roles || [], tenant_id: null, permissions, auth_enabled: false };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * Server-Sent Events over fetch (EventSource cannot send Authorization).
 * Calls onEvent(name, data, id) per event (data parsed as JSON when it is JSON), reconnects
 * with Last-Event-ID after a drop (back-off up to 30 s), stops when `signal` aborts or the
 * server sends `event: end`.
 */
export async function stream(path, { query, onEvent, onOpen, onError, signal } = {}) {
  let lastId = null;
  let delay = 1000;
  while (!signal?.aborted) {
    let ended = false;
    try {
      const headers = { Accept: "text/event-stream" };
      const token = getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch(url(path, query), { headers, signal, cache: "no-store" });
      if (!response.ok) {
        const error = await errorFrom(response);
        if (response.status === 401) toLogin(error.message);
        // A missing resource or a bad filter does not get better by retrying.
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          onError?.(error);
          return;
        }
        throw error;
      }
      delay = 1000;
      onOpen?.();
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let event = { name: "message", data: [], id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer[newline] === "\r" && buffer[newline + 1] === "\n" ? 2 : 1));
          if (line === "") {
            if (event.data.length) {
              const raw = event.data.join("\n");
              let data = raw;
              try { data = JSON.parse(raw); } catch { /* plain text data */ }
              if (event.id !== null) lastId = event.id;
              if (event.name === "end") ended = true;
              onEvent?.(event.name, data, event.id);
            }
            event = { name: "message", data: [], id: null };
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event.name = val;
          else if (field === "data") event.data.push(val);
          else if (field === "id") event.id = val;
          else if (field === "retry" && /^\d+$/.test(val)) delay = Number(val);
        }
        if (ended) break;
      }
      if (ended) {
        reader.cancel().catch(() => {});
        return;
      }
    } catch (exc) {
      if (signal?.aborted || (exc && exc.name === "AbortError")) return;
      onError?.(exc);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 30000);
  }
}
