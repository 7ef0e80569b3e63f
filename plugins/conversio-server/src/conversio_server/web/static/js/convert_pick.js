/**
 * The files to convert: chosen with the file input (or dropped on it or anywhere in its section, or
 * pasted), or given by address. Each file is stored on the server at once (`POST /v1/files`, its
 * progress shown) and listed with what the server recognised it as, its size and a Remove button.
 * @module convert_pick
 */

import { ApiError, request, uploadFile } from "./api.js";
import { formats } from "./convert_catalog.js";
import { announce, formatBytes, h, showError } from "./dom.js";

/**
 * One file of the list.
 * @typedef {{name: string, size: number|null, url: string|null, stored: any, format: string|null,
 *   state: "uploading"|"ready"|"failed", used: boolean, controller: AbortController,
 *   row: HTMLLIElement}} Picked
 */

/**
 * The extension of a file name as formats know it (`tar.gz` included), lower case.
 * @param {string} name
 * @param {Map<string, import("./convert_catalog.js").Format>} known
 * @returns {string}
 */
function extensionOf(name, known) {
  const lower = name.toLowerCase();
  const all = [...known.values()].flatMap((format) => format.extensions);
  const longest = all.filter((ext) => lower.endsWith(`.${ext}`)).sort((a, b) => b.length - a.length)[0];
  return longest ?? (lower.includes(".") ? lower.slice(lower.lastIndexOf(".") + 1) : "");
}

/**
 * The format whose extensions include `extension`.
 * @param {string} extension
 * @param {Map<string, import("./convert_catalog.js").Format>} known
 */
function formatByExtension(extension, known) {
  return [...known.values()].find((format) => format.extensions.includes(extension)) ?? null;
}

/**
 * An error's box: its code, the server's message and what to do.
 * @param {unknown} error
 * @returns {HTMLElement}
 */
function errorBox(error) {
  const box = h("div", { class: "error-box" });
  showError(box, error);
  return box;
}

/**
 * The last part of an address's path, decoded: the file's name as the address gives it.
 * @param {URL} address
 * @returns {string}
 */
function nameOf(address) {
  const last = address.pathname.split("/").pop() ?? "";
  try {
    return decodeURIComponent(last) || address.hostname;
  } catch {
    return last;
  }
}

/** The list of files to convert and the controls that fill it. */
export class FilePicker {
  /**
   * @param {HTMLElement} section `#pick`, with `#pick-files`, `#url-form`, `#pick-error` and `#file-list`
   * @param {{onChange: (arrived: boolean) => void}} hooks `onChange` after every change to the
   *   list; `arrived` when files were added and none is uploading any more
   */
  constructor(section, { onChange }) {
    /** @type {Picked[]} */
    this.items = [];
    this.onChange = onChange;
    this.input = /** @type {HTMLInputElement} */ (section.querySelector("#pick-files"));
    this.list = /** @type {HTMLElement} */ (section.querySelector("#file-list"));
    this.error = /** @type {HTMLElement} */ (section.querySelector("#pick-error"));
    const urlForm = /** @type {HTMLFormElement} */ (section.querySelector("#url-form"));
    this.input.addEventListener("change", () => {
      this.addFiles(this.input.files);
      this.input.value = "";
    });
    section.addEventListener("dragover", (event) => {
      event.preventDefault();
      section.classList.add("dragging");
    });
    section.addEventListener("dragleave", (event) => {
      if (!section.contains(/** @type {Node|null} */ (event.relatedTarget))) section.classList.remove("dragging");
    });
    section.addEventListener("drop", (event) => {
      event.preventDefault();
      section.classList.remove("dragging");
      this.addFiles(event.dataTransfer?.files ?? null);
    });
    document.addEventListener("paste", (event) => {
      const files = event.clipboardData?.files;
      if (files && files.length) {
        event.preventDefault();
        this.addFiles(files);
      }
    });
    urlForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const field = /** @type {HTMLInputElement} */ (urlForm.elements.namedItem("url"));
      this.addUrl(field.value.trim()).then(() => {
        field.value = "";
      });
    });
  }

  /** @returns {Picked[]} the files stored (or given by address) and recognised */
  ready() {
    return this.items.filter((item) => item.state === "ready");
  }

  /** @returns {boolean} whether an upload is under way */
  busy() {
    return this.items.some((item) => item.state === "uploading");
  }

  /**
   * Store `files` on the server, one upload each, all at once.
   * @param {FileList|null} files
   */
  addFiles(files) {
    if (!files || !files.length) return;
    this.error.hidden = true;
    const names = [...files].map((file) => file.name).join(", ");
    announce(files.length === 1 ? `Uploading ${names}.` : `Uploading ${files.length} files: ${names}.`);
    for (const file of files) this.upload(file);
  }

  /**
   * Store one file, its row showing the progress, then what it was recognised as.
   * @param {File} file
   */
  async upload(file) {
    const item = this.add({ name: file.name, size: file.size, url: null });
    const bar = h("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
    this.describe(item, h("span", null, "Uploading… "), bar);
    try {
      item.stored = await uploadFile(file, {
        signal: item.controller.signal,
        onProgress: (sent, total) => {
          bar.value = total ? Math.round((sent / total) * 100) : 0;
        },
      });
      item.format = item.stored.format;
      item.size = item.stored.size;
      item.state = "ready";
      await this.recognised(item);
      announce(`${file.name} is uploaded: ${String(item.format).toUpperCase()}.`);
    } catch (error) {
      if (item.controller.signal.aborted) return;
      item.state = "failed";
      this.describe(item, errorBox(error));
    }
    this.onChange(!this.busy());
  }

  /**
   * Add a file given by address: the server downloads it when the job starts, so its format is the
   * one its address names until then.
   * @param {string} url
   */
  async addUrl(url) {
    const known = await formats();
    const name = nameOf(new URL(url));
    const format = formatByExtension(extensionOf(name, known), known);
    const item = this.add({ name, size: null, url });
    if (!format) {
      item.state = "failed";
      const box = errorBox(new ApiError(400, "UNSUPPORTED_FORMAT", `the format of ${name} cannot be told from its address`));
      box.append(h("p", null, "Download the file and choose it above instead: its content will be recognised."));
      this.describe(item, box);
    } else {
      item.format = format.name;
      item.state = "ready";
      this.describe(item, `${format.name.toUpperCase()} · ${format.kind}, by its address (the server checks the content when the conversion starts)`);
      announce(`${name} is added: ${format.name.toUpperCase()}.`);
    }
    this.onChange(true);
  }

  /**
   * A new row at the end of the list.
   * @param {{name: string, size: number|null, url: string|null}} what
   * @returns {Picked}
   */
  add({ name, size, url }) {
    const row = /** @type {HTMLLIElement} */ (h("li", { class: "picked" }));
    /** @type {Picked} */
    const item = { name, size, url, stored: null, format: null, state: "uploading", used: false, controller: new AbortController(), row };
    this.items.push(item);
    this.list.append(row);
    return item;
  }

  /**
   * Fill `item`'s row: its name, `facts`, and its Remove button.
   * @param {Picked} item
   * @param {...(Node|string)} facts
   */
  describe(item, ...facts) {
    const remove = h(
      "button",
      { type: "button", class: "secondary remove", onclick: () => this.remove(item) },
      "Remove",
      h("span", { class: "visually-hidden" }, ` ${item.name}`),
    );
    item.row.dataset.state = item.state;
    item.row.replaceChildren(
      h("p", { class: "picked-name" }, item.name, item.size === null ? null : h("span", { class: "muted" }, ` · ${formatBytes(item.size)}`)),
      h("div", { class: "picked-facts" }, facts),
      remove,
    );
  }

  /**
   * Describe a stored file as the server recognised it, saying so when its name disagrees.
   * @param {Picked} item
   */
  async recognised(item) {
    const known = await formats();
    const format = known.get(String(item.format));
    const extension = extensionOf(item.name, known);
    const named = formatByExtension(extension, known);
    const facts = [`${String(item.format).toUpperCase()} · ${format ? format.kind : "unknown kind"}`];
    if (named && named.name !== item.format) {
      facts.push(h("p", { class: "warning" }, `Named .${extension}, but its content is ${String(item.format).toUpperCase()}: it is converted as ${String(item.format).toUpperCase()}.`));
    }
    this.describe(item, ...facts);
  }

  /**
   * Take `item` off the list (its upload stopped; its stored copy deleted unless a job uses it), and
   * move the focus to the next row's Remove button, or to the file input.
   * @param {Picked} item
   */
  async remove(item) {
    const index = this.items.indexOf(item);
    this.items.splice(index, 1);
    item.controller.abort();
    item.row.remove();
    const next = this.items[index] ?? this.items[index - 1];
    /** @type {HTMLElement} */ (next ? next.row.querySelector("button.remove") : this.input).focus();
    announce(`${item.name} is removed.`);
    this.onChange(false);
    if (item.stored && !item.used) {
      try {
        await request("DELETE", `/v1/files/${encodeURIComponent(item.stored.id)}`);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === "FILE_NOT_FOUND")) showError(this.error, error);
      }
    }
  }
}
