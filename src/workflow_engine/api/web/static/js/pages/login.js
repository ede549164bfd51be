// #/login: paste a JWT; it is kept in localStorage and sent as a bearer token.

import { me, portalConfig, setToken, takeAuthProblem } from "../api.js";
import { h, pageHeader, toast } from "../ui.js";

/** Only same-portal hash targets are followed after login (no open redirects). */
function nextTarget(query) {
  const next = query.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

export async function render(root, { query }) {
  const problem = takeAuthProblem();
  const config = await portalConfig().catch(() => null);
  const field = h("textarea", { id: "token", name: "token", rows: "6", required: true, spellcheck: "false", autocomplete: "off", placeholder: "eyJhbGciOi…" });
  const message = h("p", { class: "field-error", id: "token-error", role: "alert" },
    problem ? `You were logged out: ${problem}. Log in again.` : "");
  const form = h("form", { class: "card form-narrow" },
    h("p", {}, "Paste an access token (JWT) issued by your identity provider. It is kept in this browser only."),
    h("div", { class: "field" }, h("label", { for: "token" }, "Access token"), field, message),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Log in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    field.removeAttribute("aria-invalid");
    const token = field.value.trim();
    if (token.split(".").length !== 3) {
      message.textContent = "This is not a JWT: it should have three parts separated by dots.";
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
    setToken(token);
    try {
      const who = await me();
      toast(`Signed in as ${who.user_id || "anonymous"}`, "success");
    } catch (exc) {
      setToken(null);
      takeAuthProblem(); // this refusal is shown right here, not on the next visit
      message.textContent = exc.status === 401
        ? `The server did not accept this token: ${exc.message}.`
        : `Could not check the token: ${exc.message}`;
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
    window.dispatchEvent(new CustomEvent("wfe:login"));
    window.location.hash = `#${nextTarget(query)}`;
  });
  root.append(pageHeader("Log in"),
    config && !config.auth_enabled
      ? h("p", { class: "banner banner-info", id: "auth-off-note" }, "Authentication is off on this server: no token is needed; choose who you act as in the bar at the top.")
      : null,
    form);
}
