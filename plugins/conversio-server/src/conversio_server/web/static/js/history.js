/**
 * The History page: the key's recent jobs (`GET /v1/jobs`, newest first, each a live job card) and
 * its stored files (`GET /v1/files`) with their expiry, links, previews and Delete (confirmed in a
 * dialog). Both lists grow by "Show more".
 * @module history
 */

import { request } from "./api.js";
import { announce, h, showError } from "./dom.js";
import { fileRow, hiddenText } from "./file_row.js";
import { renderJobCard } from "./jobs.js";
import { preview } from "./previews.js";

/** How many more items each "Show more" asks for (the API lists at most 1000). */
const PAGE = 20;
const MAX_LIMIT = 1000;

/**
 * A list of the key's items that the API answers newest first with a `limit`: "Show more" asks for a
 * longer list and adds the items not shown yet that are older than the oldest shown (an item made
 * since the page loaded is left for the next visit, not added at the bottom).
 */
class GrowingList {
  /**
   * @param {HTMLElement} section the section with `data-role` `loading`, `empty`, `error`, `list`, `more`
   * @param {{load: (limit: number) => Promise<any[]>, key: (item: any) => string,
   *   render: (item: any) => HTMLElement}} source
   */
  constructor(section, source) {
    this.source = source;
    this.section = section;
    const part = (/** @type {string} */ role) =>
      /** @type {HTMLElement} */ (section.querySelector(`[data-role="${role}"]`));
    this.loading = part("loading");
    this.empty = part("empty");
    this.error = part("error");
    this.list = part("list");
    this.more = /** @type {HTMLButtonElement} */ (part("more"));
    this.limit = 0;
    /** @type {Set<string>} */
    this.shown = new Set();
    this.more.addEventListener("click", () => this.grow());
  }

  /** Load the next page; move focus to the first new item when asked for by "Show more". */
  async grow() {
    const asked = document.activeElement === this.more;
    this.limit = Math.min(this.limit + PAGE, MAX_LIMIT);
    this.list.setAttribute("aria-busy", "true");
    let items;
    try {
      items = await this.source.load(Math.min(this.limit + 1, MAX_LIMIT));
    } catch (error) {
      showError(this.error, error);
      return;
    } finally {
      this.loading.hidden = true;
      this.list.removeAttribute("aria-busy");
    }
    this.error.hidden = true;
    const fresh = items.slice(0, this.limit).filter((item) => !this.shown.has(this.source.key(item)));
    const added = (this.shown.size ? fresh.filter((item) => this.olderThanShown(item)) : fresh).map((item) => {
      this.shown.add(this.source.key(item));
      return this.source.render(item);
    });
    this.list.append(...added);
    this.more.hidden = items.length <= this.limit || this.limit >= MAX_LIMIT;
    this.updateEmpty();
    if (asked && added.length) {
      const target = added[0].querySelector("h3, a, button");
      if (target instanceof HTMLElement) target.focus();
      announce(`${added.length} more shown.`);
    }
  }

  /**
   * Whether an item comes after the last one shown (the lists are newest first).
   * @param {any} item
   */
  olderThanShown(item) {
    const last = /** @type {HTMLElement|null} */ (this.list.lastElementChild);
    return !last || !last.dataset.created || item.createdAt <= last.dataset.created;
  }

  /** Show the empty state when nothing is left. */
  updateEmpty() {
    this.empty.hidden = this.list.children.length > 0;
  }

  /**
   * Take an item out of the list (deleted), moving focus to the next one or the heading.
   * @param {HTMLElement} row
   */
  remove(row) {
    const next = row.nextElementSibling ?? row.previousElementSibling;
    row.remove();
    this.updateEmpty();
    const target = next?.querySelector("a, button") ?? this.section.querySelector("h2");
    if (target instanceof HTMLElement) target.focus();
  }
}

/**
 * Ask to confirm deleting a file in the page's dialog (keyboard friendly: focus starts on "Keep
 * it", Escape keeps the file, focus returns where it was).
 * @param {string} name the file's name
 * @returns {Promise<boolean>} whether to delete
 */
function confirmDelete(name) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("confirm-delete"));
  /** @type {HTMLElement} */ (dialog.querySelector("#confirm-delete-text")).textContent =
    `${name} will be deleted from the server now; its links will stop working. This cannot be undone.`;
  return new Promise((resolve) => {
    const answer = (/** @type {Event} */ event) => {
      const button = /** @type {Element} */ (event.target).closest("button");
      if (button) dialog.close(button.value);
    };
    dialog.addEventListener("click", answer);
    dialog.addEventListener(
      "close",
      () => {
        dialog.removeEventListener("click", answer);
        resolve(dialog.returnValue === "delete");
      },
      { once: true },
    );
    dialog.returnValue = "keep";
    dialog.showModal();
  });
}

/**
 * A stored file's row, with its preview on request and its Delete button.
 * @param {any} file
 * @param {GrowingList} files the list it is in
 * @returns {HTMLElement}
 */
function storedFileRow(file, files) {
  const { place, button } = preview(file, { auto: false });
  const remove = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "secondary" }, "Delete", hiddenText(` ${file.name}`))
  );
  const row = fileRow(file, { actions: [button, remove], details: [place] });
  row.dataset.created = file.createdAt;
  remove.addEventListener("click", async () => {
    if (!(await confirmDelete(file.name))) return;
    try {
      await request("DELETE", `/v1/files/${encodeURIComponent(file.id)}`);
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "FILE_NOT_FOUND")) {
        showError(files.error, error);
        return;
      }
    }
    files.remove(row);
    announce(`${file.name} is deleted.`);
  });
  return row;
}

const jobs = new GrowingList(/** @type {HTMLElement} */ (document.getElementById("history-jobs")), {
  load: async (limit) => (await request("GET", `/v1/jobs?limit=${limit}`)).jobs,
  key: (job) => job.jobId,
  render: (job) => {
    const card = renderJobCard(job);
    card.dataset.created = job.createdAt;
    return card;
  },
});

const files = new GrowingList(/** @type {HTMLElement} */ (document.getElementById("history-files")), {
  load: async (limit) => (await request("GET", `/v1/files?limit=${limit}`)).files,
  key: (file) => file.id,
  render: (file) => storedFileRow(file, files),
});

jobs.grow();
files.grow();
