/**
 * The sign-in form: checks the typed key with `GET /v1/me`, keeps it for this tab, then goes back
 * to the page that sent the person here (`?next=`, a path of this site only).
 * @module sign_in
 */

import { ApiError, clearKey, request, sameOriginPath, setKey } from "./api.js";
import { announce, showError } from "./dom.js";

const form = /** @type {HTMLFormElement|null} */ (document.getElementById("sign-in-form"));

if (form) {
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("key"));
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  const errorBox = /** @type {HTMLElement} */ (document.getElementById("sign-in-error"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    button.disabled = true;
    try {
      if (!key) throw new ApiError(0, "UNAUTHORIZED", "type your API key first");
      setKey(key);
      const me = await request("GET", "/v1/me");
      announce(`Signed in as ${me.name}.`);
      location.assign(nextPath());
    } catch (error) {
      clearKey();
      input.setAttribute("aria-invalid", "true");
      showError(errorBox, error);
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
}

/** @returns {string} where to go after signing in: `?next=` if it is a page of this site, else `/` */
function nextPath() {
  const path = sameOriginPath(new URLSearchParams(location.search).get("next"));
  return path === null || path.startsWith("/sign-in") ? "/" : path;
}
