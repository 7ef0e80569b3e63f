/**
 * A finished job's results: each output with its name, format, size, Download and "Copy link", a
 * preview where one is safe, and "Download all as zip" when there are several. A long list shows
 * its first results and the rest on request.
 * @module job_results
 */

import { download } from "./api.js";
import { announce, h, showError } from "./dom.js";
import { fileRow } from "./file_row.js";
import { AUTO_PREVIEW_LIMIT, preview, previewKind } from "./previews.js";

/** Results listed at first; a "Show the other …" button lists the rest (a 100-page split). */
const LISTED_AT_FIRST = 10;

/**
 * The results of a completed job.
 * @param {Array<{id: string, name: string, format: string, size: number, downloadUrl: string,
 *   expiresAt?: string}>} outputs the job's `outputs`
 * @param {{autoPreview: boolean}} options whether previews are made when they come into view (a
 *   job with many previewable results, or `false`: on request only)
 * @returns {HTMLElement}
 */
export function jobResults(outputs, { autoPreview }) {
  const previewable = outputs.filter((file) => previewKind(file) !== null).length;
  const auto = autoPreview && previewable <= AUTO_PREVIEW_LIMIT;
  const rows = outputs.map((file) => {
    const { place, button } = preview(file, { auto });
    return fileRow(file, { actions: [button], details: [place] });
  });
  const list = h("ul", { class: "file-list" }, rows.slice(0, LISTED_AT_FIRST));
  const rest = rows.slice(LISTED_AT_FIRST);
  const more = rest.length
    ? h("button", { type: "button", class: "secondary" }, `Show the other ${rest.length} results`)
    : null;
  more?.addEventListener("click", () => {
    list.append(...rest);
    more.remove();
    rest[0].querySelector("a")?.focus();
  });
  return h("div", { class: "job-results" }, outputs.length > 1 ? zipButton(outputs) : null, list, more);
}

/**
 * "Download all as zip": the API zips the stored outputs (a conversion of their ids to zip), the
 * page saves the answer through a temporary `blob:` URL.
 * @param {Array<{id: string, name: string}>} outputs
 * @returns {HTMLElement}
 */
function zipButton(outputs) {
  const errors = h("div", { class: "error-box", hidden: true, role: "alert" });
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "button" }, "Download all as zip"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Making the zip…";
    errors.hidden = true;
    try {
      const blob = await download("/v1/convert", {
        json: { inputs: outputs.map((file) => ({ fileId: file.id })), outputFormat: "zip" },
      });
      saveBlob(blob, zipName(outputs));
      announce(`The zip of ${outputs.length} files is downloading.`);
    } catch (error) {
      showError(errors, error);
    } finally {
      button.disabled = false;
      button.textContent = "Download all as zip";
    }
  });
  return h("div", { class: "zip-all" }, button, errors);
}

/**
 * Save a Blob as a download named `name`, through an object URL revoked right after.
 * @param {Blob} blob
 * @param {string} name
 */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The zip's name: what the outputs' names share (`report-page001.jpg`, `report-page002.jpg`:
 * `report-page.zip`), else `results.zip`.
 * @param {Array<{name: string}>} outputs
 * @returns {string}
 */
function zipName(outputs) {
  let shared = outputs[0].name;
  for (const { name } of outputs) {
    while (!name.startsWith(shared)) shared = shared.slice(0, -1);
  }
  shared = shared.replace(/[\s\d._-]+$/, "");
  return `${shared || "results"}.zip`;
}
