/**
 * A job's card: its title, status (queued, running step 2 of 3 with the step's name, percent and
 * ETA, done, failed with the coded error, cancelled), its Cancel and Retry buttons and, once done,
 * its results. The card only shows a job; {@link module:jobs} fetches and follows it.
 * @module job_card
 */

import { ApiError } from "./api.js";
import { announce, formatDuration, formatTime, h, showError } from "./dom.js";
import { uniqueId } from "./file_row.js";
import { jobResults } from "./job_results.js";

const UNFINISHED = new Set(["queued", "processing"]);

/**
 * A step's name for people: `"pdf → jpg (×pages)"` out of `"pdf → jpg (×pages)  [pdf.pdfium:pdf->jpg]"`.
 * @param {string} step the job's `step`
 * @returns {string}
 */
function stepName(step) {
  return step.split("  [")[0].trim();
}

/**
 * A title for a job the page did not label (started elsewhere, or in an older tab): its tag, else its
 * formats as its steps show them (`"docx → zip"`).
 * @param {any} job
 * @returns {string}
 */
function jobTitle(job) {
  if (job.tag) return job.tag;
  const hops = (job.steps ?? [])
    .map((step) => /:([\w.+-]+)->([\w.+-]+)$/.exec(step.converter))
    .filter((match) => match !== null);
  const target = job.outputs?.[0]?.format ?? hops.at(-1)?.[2];
  if (hops.length && target) return `${hops[0][1]} → ${target}`;
  return `Job ${job.jobId}`;
}

/**
 * What the job is doing, as shown and as spoken (without the percent, so that a screen reader hears
 * each change of state or step once, not every tick).
 * @param {any} job
 * @param {number|null} stepCount the route's number of steps, when the page knows it
 * @returns {{shown: string, spoken: string}}
 */
function statusOf(job, stepCount) {
  const steps = job.steps ?? [];
  const current = steps.findLast((step) => step.status === "running" || step.status === "failed");
  const number = current ? current.index + 1 : steps.length;
  const total = stepCount ?? (job.status === "completed" ? steps.length : null);
  const name = stepName(job.step ?? "");
  const which = `step ${number}${total ? ` of ${total}` : ""}${name ? `: ${name}` : ""}`;
  switch (job.status) {
    case "queued":
      return { shown: "Queued: waiting for a worker.", spoken: "queued" };
    case "processing": {
      if (!current) return { shown: "Starting…", spoken: "starting" };
      const eta = job.eta ? ` · about ${formatDuration(job.eta)} left` : "";
      // a retry takes the steps that finished before from the cache: say so, it resumes
      const cached = steps.filter((step) => step.status === "cached").length;
      const reused = cached ? ` · ${cached} ${cached === 1 ? "step" : "steps"} reused` : "";
      return {
        shown: `Running ${which} · ${Math.floor(job.progress ?? 0)} %${eta}${reused}`,
        spoken: `running ${which}`,
      };
    }
    case "completed": {
      const count = job.outputs?.length ?? 0;
      const files = `${count} ${count === 1 ? "file" : "files"}`;
      const seconds = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000;
      const took = seconds >= 1 ? ` in ${formatDuration(seconds)}` : "";
      return { shown: `Done${took}: ${files}.`, spoken: `done, ${files} ready` };
    }
    case "failed":
      return { shown: current ? `Failed at ${which}.` : "Failed.", spoken: "failed" };
    case "cancelled":
      return { shown: "Cancelled.", spoken: "cancelled" };
    default:
      return { shown: "Sending…", spoken: "" };
  }
}

/** One job's card in a list of jobs. */
export class JobCard {
  /**
   * @param {{label?: string|null, stepCount?: number|null, autoPreview: boolean, onCancel: () => void,
   *   onRetry: () => void}} options `label` names the job (e.g. `"report.docx → pdf"`); `stepCount`
   *   is its route's length; `autoPreview`, whether results preview when they come into view
   */
  constructor({ label = null, stepCount = null, autoPreview, onCancel, onRetry }) {
    this.label = label;
    this.autoPreview = autoPreview;
    this.stepCount = stepCount;
    this.spoken = "";
    this.resultsShown = false;
    const titleId = uniqueId("job-title");
    this.title = h("h3", { class: "job-title", id: titleId, tabindex: "-1" }, label ?? "New job");
    this.meta = h("p", { class: "job-meta muted" });
    this.status = h("p", { class: "job-status" }, "Sending…");
    this.progress = /** @type {HTMLProgressElement} */ (
      h("progress", { max: "100", "aria-label": `Progress of ${label ?? "the job"}` })
    );
    // a cancellation on its way marks the button aria-disabled (a disabled button would lose focus)
    const cancel = () => this.cancelButton.getAttribute("aria-disabled") !== "true" && onCancel();
    this.cancelButton = /** @type {HTMLButtonElement} */ (
      h("button", { type: "button", class: "secondary", hidden: true, onclick: cancel }, "Cancel")
    );
    this.retryButton = /** @type {HTMLButtonElement} */ (
      h("button", { type: "button", hidden: true, onclick: onRetry }, "Retry")
    );
    this.errors = h("div", { class: "error-box", hidden: true });
    this.warnings = h("ul", { class: "job-warnings", hidden: true });
    this.results = h("div");
    this.article = h(
      "article",
      { class: "job", "aria-labelledby": titleId, dataset: { status: "sending" } },
      this.title,
      this.meta,
      this.status,
      this.progress,
      h("div", { class: "job-actions" }, this.cancelButton, this.retryButton),
      this.errors,
      this.warnings,
      this.results,
    );
    /** @type {HTMLLIElement} */
    this.element = /** @type {HTMLLIElement} */ (h("li", null, this.article));
  }

  /**
   * Show the job as the API describes it (`GET /v1/jobs/{id}`, an event's data, or the 202 answer).
   * @param {any} job
   */
  show(job) {
    const focused = this.article.contains(document.activeElement) ? document.activeElement : null;
    const title = this.label ?? jobTitle(job);
    this.title.textContent = title;
    this.progress.setAttribute("aria-label", `Progress of ${title}`);
    this.article.dataset.status = job.status;
    this.article.dataset.jobId = job.jobId;
    this.meta.textContent = `Started ${formatTime(job.createdAt)} · ${job.jobId}`;
    const { shown, spoken } = statusOf(job, this.stepCount);
    this.status.textContent = shown;
    const unfinished = UNFINISHED.has(job.status);
    this.progress.hidden = !unfinished;
    if (job.status === "processing") this.progress.value = job.progress ?? 0;
    else this.progress.removeAttribute("value");
    this.cancelButton.hidden = !unfinished;
    if (!unfinished) this.cancelling(false);
    this.retryButton.hidden = job.status !== "failed" && job.status !== "cancelled";
    this.showWarnings(job.warnings ?? []);
    if (spoken !== this.spoken) this.changed(job, title, spoken);
    if (job.status === "completed" && !this.resultsShown) {
      this.resultsShown = true;
      this.results.replaceChildren(
        job.outputs?.length
          ? jobResults(job.outputs, { autoPreview: this.autoPreview })
          : h("p", { class: "muted" }, "The results have expired."),
      );
    }
    if (focused instanceof HTMLElement && focused.closest("[hidden]")) this.refocus();
  }

  /**
   * The job's state or step changed: say so (a failure is said by its error box).
   * @param {any} job
   * @param {string} title
   * @param {string} spoken
   */
  changed(job, title, spoken) {
    this.spoken = spoken;
    if (job.status === "failed" && job.error) {
      const { code, message, details } = job.error;
      showError(this.errors, new ApiError(0, code, message, details ?? {}));
      return;
    }
    this.errors.hidden = true;
    if (spoken) announce(`${title}: ${spoken}.`);
  }

  /**
   * Show an error of the page's own request (the job could not be sent, cancelled or followed).
   * @param {unknown} error
   */
  fail(error) {
    if (this.article.dataset.status === "sending") {
      this.status.textContent = "Not started.";
      this.progress.hidden = true;
      this.article.dataset.status = "refused";
    }
    this.cancelling(false);
    showError(this.errors, error);
  }

  /**
   * Whether a cancellation is on its way: the button says so until the job stops.
   * @param {boolean} [pending]
   */
  cancelling(pending = true) {
    this.cancelButton.setAttribute("aria-disabled", String(pending));
    this.cancelButton.textContent = pending ? "Cancelling…" : "Cancel";
  }

  /** A retry is queued: forget the last run's error and results. */
  restart() {
    this.errors.hidden = true;
    this.results.replaceChildren();
    this.resultsShown = false;
    this.spoken = "";
  }

  /** @param {string[]} warnings */
  showWarnings(warnings) {
    this.warnings.replaceChildren(...warnings.map((text) => h("li", null, text)));
    this.warnings.hidden = warnings.length === 0;
  }

  /** The focused control was hidden: move focus to the button that replaced it, else the title. */
  refocus() {
    const next = [this.retryButton, this.cancelButton].find((button) => !button.hidden);
    (next ?? this.title).focus();
  }
}
