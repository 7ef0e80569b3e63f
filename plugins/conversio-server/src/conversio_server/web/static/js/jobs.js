/**
 * Jobs in the page: {@link runJob} queues a conversion (`POST /v1/jobs`) and follows it live in a
 * card at the top of `#job-list`; {@link renderJobCard} shows any job of the key (History), following
 * it too while it runs. Cancel is `DELETE /v1/jobs/{id}`; Retry is `POST /v1/jobs/{id}/retry`, which
 * resumes at the failed step.
 * @module jobs
 */

import { jobEvents, request } from "./api.js";
import { JobCard } from "./job_card.js";

/** The longest tag the API takes: the page tags each job with its label, so History can name it. */
const MAX_TAG_LENGTH = 200;
/**
 * Live event streams open at once. Each holds one of the browser's few connections to the server
 * (six over HTTP/1.1), so further jobs are polled instead, leaving room for uploads and downloads.
 */
const MAX_STREAMS = 3;
const POLL_INTERVAL_MS = 2000;
const FINISHED = new Set(["completed", "failed", "cancelled"]);

let openStreams = 0;

/**
 * Queue a conversion job and follow it in a new card at the top of `#job-list`, scrolled into view
 * (focus stays where it is).
 * @param {{inputs: Array<{fileId: string}>, outputFormat?: string, via?: string[],
 *   options?: Record<string, unknown>, then?: unknown[], tag?: string}} spec the body of `POST /v1/jobs`
 * @param {{label?: string, stepCount?: number, onRefused?: (error: unknown) => void}} [options]
 *   `label` names the job in its card and in History (`"report.docx → pdf"`); `stepCount`, the
 *   route's number of steps ("step 2 of 3"); `onRefused`, called with the error when the server
 *   refuses the job (an `INVALID_OPTION` the form can point at), after the card has shown it
 * @returns {Promise<string|null>} the job's id, or null when the server refused it (the card says why)
 */
export async function runJob(spec, { label, stepCount, onRefused } = {}) {
  const list = /** @type {HTMLElement} */ (document.getElementById("job-list"));
  const job = new TrackedJob({ label, stepCount, autoPreview: true });
  list.prepend(job.card.element);
  job.card.element.scrollIntoView({ block: "nearest" });
  const tag = spec.tag ?? (label ? label.slice(0, MAX_TAG_LENGTH) : undefined);
  try {
    const accepted = await request("POST", "/v1/jobs", { json: { ...spec, tag } });
    job.start(accepted);
    return accepted.jobId;
  } catch (error) {
    job.card.fail(error);
    onRefused?.(error);
    return null;
  }
}

/**
 * A card for a job of the key (as `GET /v1/jobs` lists it), followed live while it is unfinished;
 * its results preview on request only (a long history would otherwise convert many PDFs).
 * @param {any} job
 * @returns {HTMLLIElement} the card, for the caller to put in its list
 */
export function renderJobCard(job) {
  const tracked = new TrackedJob({ autoPreview: false });
  tracked.start(job);
  return tracked.card.element;
}

/** A job, its card, and the following of its events. */
class TrackedJob {
  /** @param {{label?: string, stepCount?: number, autoPreview: boolean}} options */
  constructor({ label, stepCount, autoPreview }) {
    /** @type {string|null} */
    this.id = null;
    /** @type {AbortController|null} */
    this.following = null;
    this.card = new JobCard({
      label: label ?? null,
      stepCount: stepCount ?? null,
      autoPreview,
      onCancel: () => this.cancel(),
      onRetry: () => this.retry(),
    });
  }

  /**
   * Show the job and, unless it is finished, follow it.
   * @param {any} job the job, or the 202 answer of its submission or retry
   */
  start(job) {
    this.id = job.jobId;
    this.card.show(job);
    if (!FINISHED.has(job.status)) this.follow();
  }

  /** Follow the job until it finishes (a retry follows it again). */
  async follow() {
    this.following?.abort();
    const following = new AbortController();
    this.following = following;
    const show = (/** @type {string} */ _name, /** @type {any} */ job) => this.card.show(job);
    try {
      await follow(/** @type {string} */ (this.id), show, following.signal);
    } catch (error) {
      if (!following.signal.aborted) this.card.fail(error);
    }
  }

  /** @returns {string} the job's path in the API */
  path() {
    return `/v1/jobs/${encodeURIComponent(/** @type {string} */ (this.id))}`;
  }

  async cancel() {
    this.card.cancelling();
    try {
      const job = await request("DELETE", this.path());
      // a running job answers still running: its stream says when it has stopped
      if (FINISHED.has(job.status)) this.card.show(job);
    } catch (error) {
      this.card.fail(error);
    }
  }

  async retry() {
    try {
      const accepted = await request("POST", `${this.path()}/retry`);
      this.card.restart();
      this.start(accepted);
    } catch (error) {
      this.card.fail(error);
    }
  }
}

/**
 * Follow a job: its live events while few streams are open, else by polling `GET /v1/jobs/{id}`.
 * @param {string} jobId
 * @param {(name: string, job: any) => void} onEvent
 * @param {AbortSignal} signal
 */
async function follow(jobId, onEvent, signal) {
  if (openStreams < MAX_STREAMS) {
    openStreams += 1;
    try {
      await jobEvents(jobId, onEvent, signal);
    } finally {
      openStreams -= 1;
    }
    return;
  }
  for (;;) {
    const job = await request("GET", `/v1/jobs/${encodeURIComponent(jobId)}`, { signal });
    onEvent(job.status, job);
    if (FINISHED.has(job.status)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    if (signal.aborted) return;
  }
}
