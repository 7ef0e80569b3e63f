/**
 * Building the page safely: user data (file names, messages) only ever becomes text nodes and
 * attribute values, never HTML.
 * @module dom
 */

import { adviceFor } from "./errors.js";

/**
 * Create an element.
 * @param {string} tag e.g. `"li"`
 * @param {Record<string, unknown>|null} [attrs] attributes: `on…` functions become event listeners,
 *   booleans toggle the attribute, `null`/`undefined`/`false` leave it out, `dataset` an object of
 *   data attributes, anything else is set with `setAttribute` as a string
 * @param {...(Node|string|number|null|undefined|false|Array<Node|string>)} children strings and
 *   numbers become text nodes; empty values are skipped; arrays are flattened
 * @returns {HTMLElement}
 */
export function h(tag, attrs = null, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * @param {Element} parent
 * @param {Array<unknown>} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Say something to screen readers (progress, results, errors) through the page's live region.
 * @param {string} text
 */
export function announce(text) {
  const announcer = document.getElementById("announcer");
  if (!announcer) return;
  // emptied first, so that the same sentence twice is announced twice
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

const UNITS = ["bytes", "kB", "MB", "GB", "TB"];

/**
 * A size for people: `"532 bytes"`, `"1.4 MB"` (powers of 1000, as file managers show them).
 * @param {number} n bytes
 * @returns {string}
 */
export function formatBytes(n) {
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * A duration for people: `"4 s"`, `"2 min 5 s"`, `"1 h 3 min"`.
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours) return `${hours} h ${minutes} min`;
  if (minutes) return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
  return `${rest} s`;
}

/**
 * A time of the API (ISO 8601) in the person's locale and time zone.
 * @param {string|null|undefined} iso
 * @returns {string} empty when there is no time
 */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Show an error in `container` (emptied first): its code, the server's message and what to do,
 * and announce it. Errors that are not the API's (a bug) show a generic message, never a stack.
 * @param {Element} container e.g. a `<div class="error-box">`
 * @param {unknown} error an `ApiError` (or anything thrown)
 */
export function showError(container, error) {
  const known = error instanceof Error && "code" in error && typeof error.code === "string";
  const code = known ? /** @type {{code: string}} */ (error).code : "INTERNAL_ERROR";
  const message = known ? /** @type {Error} */ (error).message : "something went wrong in this page";
  const advice = adviceFor(code);
  container.replaceChildren(
    h("p", { class: "error-message" }, h("code", null, code), " ", message),
    h("p", { class: "error-advice" }, advice),
  );
  container.hidden = false;
  announce(`Error ${code}: ${message}. ${advice}`);
}
