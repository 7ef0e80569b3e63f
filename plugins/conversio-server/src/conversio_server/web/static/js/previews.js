/**
 * Previews of stored files in the page. Raster images are shown from their same-origin signed link;
 * a PDF by its first page, which the API converts to a small PNG (a `blob:` URL). Nothing else is
 * ever shown inline: a user's SVG or HTML could carry scripts, so those say "No preview".
 *
 * Previews are lazy: made when their place scrolls into view, and for a job with many results only
 * on a "Preview" button, so that a 100-page job does not start 100 conversions.
 * @module previews
 */

import { download, sameOriginPath } from "./api.js";
import { h } from "./dom.js";
import { hiddenText } from "./file_row.js";

const RASTER_FORMATS = new Set(["png", "jpg", "jpeg", "webp", "gif"]);
/** Formats a browser would render, scripts included: never shown in the page. */
const ACTIVE_FORMATS = new Set(["svg", "html", "htm", "xhtml", "xml"]);
/** A list with more previewable files than this previews each one on request only. */
export const AUTO_PREVIEW_LIMIT = 6;
/** The resolution of a PDF's first page: a thumbnail about 330 px wide for A4. */
const PDF_PREVIEW_DPI = 40;

/**
 * How a file can be previewed.
 * @param {{format: string}} file
 * @returns {"image"|"pdf"|null}
 */
export function previewKind(file) {
  if (RASTER_FORMATS.has(file.format)) return "image";
  return file.format === "pdf" ? "pdf" : null;
}

/** Starts the previews whose place came into view (with a margin, so they are ready in time). */
const watcher =
  "IntersectionObserver" in window
    ? new IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            if (!entry.isIntersecting) continue;
            watcher?.unobserve(entry.target);
            entry.target.dispatchEvent(new Event("visible"));
          }
        },
        { rootMargin: "200px" },
      )
    : null;

/**
 * The preview of one stored file: a place for it and, when it is not made on its own, the button that
 * makes it. Neither for a format that has no preview (an SVG or HTML file's place says so).
 * @param {{id: string, name: string, format: string, downloadUrl: string}} file
 * @param {{auto: boolean}} options `auto`: made when its place comes into view
 * @returns {{place: HTMLElement|null, button: HTMLButtonElement|null}}
 */
export function preview(file, { auto }) {
  const kind = previewKind(file);
  if (kind === null) {
    const unsafe = ACTIVE_FORMATS.has(file.format);
    const place = unsafe
      ? h("p", { class: "preview muted" }, "No preview: SVG and HTML files are not shown in the page.")
      : null;
    return { place, button: null };
  }
  const place = h("div", { class: "preview" });
  const show = () => (kind === "image" ? showImage(place, file) : showPdfPage(place, file));
  if (auto && watcher) {
    place.addEventListener("visible", show, { once: true });
    watcher.observe(place);
    return { place, button: null };
  }
  const button = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "secondary" }, "Preview", hiddenText(` of ${file.name}`))
  );
  button.addEventListener(
    "click",
    () => {
      button.remove();
      show();
      place.focus();
    },
    { once: true },
  );
  place.tabIndex = -1;
  return { place, button };
}

/**
 * An image from its signed link (same origin only: the page's policy allows no other images).
 * @param {HTMLElement} place
 * @param {{name: string, downloadUrl: string}} file
 */
function showImage(place, file) {
  const source = sameOriginPath(file.downloadUrl);
  if (source === null) {
    place.replaceChildren(h("p", { class: "muted" }, "No preview: this file is kept on another server."));
    return;
  }
  place.replaceChildren(h("img", { src: source, alt: `Preview of ${file.name}`, decoding: "async" }));
}

/**
 * A PDF's first page, converted to a small PNG by the API.
 * @param {HTMLElement} place
 * @param {{id: string, name: string}} file
 */
async function showPdfPage(place, file) {
  place.setAttribute("aria-busy", "true");
  place.replaceChildren(h("p", { class: "muted" }, `Rendering the first page of ${file.name}…`));
  try {
    const blob = await download("/v1/convert", {
      json: { inputs: [{ fileId: file.id }], outputFormat: "png", options: { pages: "1", dpi: PDF_PREVIEW_DPI } },
    });
    const url = URL.createObjectURL(blob);
    const image = h("img", { src: url, alt: `First page of ${file.name}` });
    const release = () => URL.revokeObjectURL(url);
    image.addEventListener("load", release, { once: true });
    image.addEventListener("error", release, { once: true });
    place.replaceChildren(image);
  } catch (error) {
    const code = error && typeof error === "object" && "code" in error ? ` (${error.code})` : "";
    place.replaceChildren(h("p", { class: "muted" }, `No preview of ${file.name}${code}.`));
  } finally {
    place.removeAttribute("aria-busy");
  }
}
