/**
 * A stored file as a row of a list (a job's results, the History's stored files): its name, format
 * and size, when its link stops working, a Download link and a "Copy link" button, both with the
 * server's signed `downloadUrl` (the only URL that opens a file without the key).
 * @module file_row
 */

import { announce, formatBytes, formatDuration, h } from "./dom.js";

let counter = 0;

/**
 * A unique id for an element of a row (labels and descriptions point at it).
 * @param {string} prefix
 * @returns {string}
 */
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Words for screen readers only, completing a short visible label ("Download" + " report.pdf").
 * @param {string} text
 * @returns {HTMLElement}
 */
export function hiddenText(text) {
  return h("span", { class: "visually-hidden" }, text);
}

/**
 * When a stored file's signed link stops working: the `expires` of the server's signed link (null
 * for links the server does not sign itself, an object store's).
 * @param {{downloadUrl: string}} file
 * @returns {Date|null}
 */
function linkExpiry(file) {
  let seconds = 0;
  try {
    seconds = Number(new URL(file.downloadUrl, location.origin).searchParams.get("expires"));
  } catch {
    // not a URL: no expiry to tell
  }
  return seconds ? new Date(seconds * 1000) : null;
}

/**
 * "expires in 2 h 59 min", or "expired".
 * @param {Date} when
 * @returns {string}
 */
function expiresIn(when) {
  const seconds = (when.getTime() - Date.now()) / 1000;
  if (seconds <= 0) return "expired";
  // to the minute beyond two minutes: "expires in 2 h 59 min", not "… 59 min 59 s"
  return `expires in ${formatDuration(seconds > 120 ? Math.ceil(seconds / 60) * 60 : seconds)}`;
}

/**
 * Copy `text` to the clipboard; where the Clipboard API is not allowed (a page over plain http),
 * reveal `fallback` (a read-only input holding the text) selected, for the person to copy.
 * @param {string} text
 * @param {HTMLInputElement} fallback
 * @param {string} name the file's name, for the announcement
 */
async function copyLink(text, fallback, name) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`The link to ${name} is copied.`);
  } catch {
    /** @type {HTMLElement} */ (fallback.parentElement).hidden = false;
    fallback.focus();
    fallback.select();
    announce(`Copying is not allowed here: the link to ${name} is selected, copy it with Ctrl+C or ⌘C.`);
  }
}

/**
 * A stored file's row.
 * @param {{id: string, name: string, format: string, size: number, downloadUrl: string,
 *   expiresAt?: string|null}} file the file as the API describes it
 * @param {{actions?: Array<Node|null>, details?: Array<Node|null>}} [extra] more buttons after the
 *   links, more content below them (a preview); nulls are left out
 * @returns {HTMLLIElement}
 */
export function fileRow(file, { actions = [], details = [] } = {}) {
  const linkInput = h("input", { type: "text", readonly: true, value: file.downloadUrl, id: uniqueId("file-link") });
  const expiry = file.expiresAt ? new Date(file.expiresAt) : null;
  const link = linkExpiry(file);
  // the link's end is said when it comes before the file's (by more than a minute)
  const linkEnds = link && (!expiry || expiry.getTime() - link.getTime() > 60_000) ? link : null;
  return /** @type {HTMLLIElement} */ (
    h(
      "li",
      { class: "file-row", dataset: { fileId: file.id } },
      h(
        "p",
        { class: "file-facts" },
        h("span", { class: "file-name" }, file.name),
        " ",
        h("span", { class: "muted" }, `${file.format.toUpperCase()} · ${formatBytes(file.size)}`),
        expiry ? h("span", { class: "muted" }, ` · ${expiresIn(expiry)}`) : null,
        linkEnds ? h("span", { class: "muted" }, ` · link ${expiresIn(linkEnds)}`) : null,
      ),
      h(
        "div",
        { class: "file-actions" },
        h(
          "a",
          { class: "button secondary", href: file.downloadUrl, download: file.name },
          "Download",
          hiddenText(` ${file.name}`),
        ),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => copyLink(file.downloadUrl, linkInput, file.name) },
          "Copy link",
          hiddenText(` to ${file.name}`),
        ),
        actions,
      ),
      h(
        "p",
        { class: "file-link", hidden: true },
        h("label", { for: linkInput.id }, `Link to ${file.name}`),
        linkInput,
      ),
      details,
    )
  );
}
