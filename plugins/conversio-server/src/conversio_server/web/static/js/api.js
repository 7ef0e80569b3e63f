/**
 * The page's only way to the server: the public JSON API under `/v1`, with the API key of this tab.
 *
 * The key lives in `sessionStorage` (never a cookie, never a URL) and is sent as
 * `Authorization: Bearer` to this origin only. Every failure becomes an {@link ApiError} with the
 * server's code; a 401 forgets the key and sends the person to `/sign-in?next=…`.
 * @module api
 */

const KEY_ITEM = "conversio.apiKey";
/** How many times {@link jobEvents} reconnects after a broken stream before giving up. */
const MAX_RECONNECTS = 5;
const RECONNECT_DELAY_MS = 1000;
const TERMINAL_EVENTS = new Set(["completed", "failed", "cancelled"]);

/** @returns {string|null} the API key of this tab, if signed in */
export function getKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

/** @param {string} key the API key to send from now on (this tab only) */
export function setKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

/** Forget the API key (signing out). */
export function clearKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

/** @returns {boolean} whether the server wants a key (false in `--dev` mode) */
export function needsKey() {
  return document.body.dataset.auth !== "none";
}

/** An error answered by the API (`{"error": {"code", "message", "details"}}`), or `NETWORK`. */
export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status (0 when the server could not be reached)
   * @param {string} code the error code, e.g. `CORRUPT_FILE`
   * @param {string} message the server's message, in the user's terms
   * @param {Record<string, unknown>} [details] the error's details
   */
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * Where to go to sign in, coming back to `next` afterwards.
 * @param {string} [next] a path of this site (defaults to the current page)
 * @returns {string}
 */
export function signInUrl(next = location.pathname + location.search) {
  return "/sign-in?next=" + encodeURIComponent(next);
}

/**
 * A path of this site, or null: `next` parameters and API links are followed only when they stay here.
 * @param {string|null|undefined} target a path or an absolute URL
 * @returns {string|null} the path (with query) on this origin
 */
export function sameOriginPath(target) {
  if (!target) return null;
  let url;
  try {
    url = new URL(target, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  return url.pathname + url.search;
}

/**
 * Send a request to the API.
 * @param {string} method `GET`, `POST`, `DELETE`…
 * @param {string} path a path (or absolute URL) on this origin, e.g. `/v1/jobs`
 * @param {{json?: unknown, body?: BodyInit, headers?: HeadersInit, signal?: AbortSignal}} [init]
 *   `json` is sent as `application/json`; `body` as it is
 * @returns {Promise<Response>} a successful response
 * @throws {ApiError}
 */
async function send(method, path, { json, body, headers, signal } = {}) {
  const target = sameOriginPath(path);
  if (target === null) throw new ApiError(0, "INVALID_REQUEST", `not a path of this server: ${path}`);
  const all = new Headers(headers);
  const key = getKey();
  if (key) all.set("Authorization", `Bearer ${key}`);
  if (json !== undefined) {
    all.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(target, { method, headers: all, body, signal, cache: "no-store", credentials: "omit" });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, "NETWORK", "the server could not be reached");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/**
 * The {@link ApiError} of a failed response; on 401, the key is forgotten and the person sent to
 * sign in (except on the sign-in page itself, which shows the error).
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, say; described by its status below
  }
  if (response.status === 401 && document.body.dataset.page !== "sign-in") {
    clearKey();
    location.assign(signInUrl());
  }
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.code === "string") {
    return new ApiError(response.status, error.code, String(error.message ?? ""), error.details ?? {});
  }
  return new ApiError(response.status, `HTTP_${response.status}`, `the server answered ${response.status} ${response.statusText}`.trim());
}

/**
 * Call the API and read its JSON answer.
 * @param {string} method
 * @param {string} path
 * @param {{json?: unknown, body?: BodyInit, headers?: HeadersInit, signal?: AbortSignal}} [init]
 * @returns {Promise<any>} the parsed JSON, or `null` for 204 No Content
 * @throws {ApiError}
 */
export async function request(method, path, init = {}) {
  const response = await send(method, path, init);
  if (response.status === 204) return null;
  return response.json();
}

/**
 * Fetch a file (a stored file's content, a zip of results, a preview) as a Blob.
 * @param {string} path
 * @param {{json?: unknown, signal?: AbortSignal}} [init] with `json`, a POST of that body; else a GET
 * @returns {Promise<Blob>}
 * @throws {ApiError}
 */
export async function download(path, { json, signal } = {}) {
  const response = await send(json === undefined ? "GET" : "POST", path, { json, signal });
  return response.blob();
}

/**
 * Store one file on the server (`POST /v1/files`, the raw content), reporting upload progress.
 * @param {File} file
 * @param {{signal?: AbortSignal, onProgress?: (sent: number, total: number) => void}} [init]
 * @returns {Promise<any>} the stored file as the API describes it (`id`, `name`, `format`, `size`…)
 * @throws {ApiError}
 */
export function uploadFile(file, { signal, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files?name=" + encodeURIComponent(file.name || "file"));
    xhr.responseType = "json";
    const key = getKey();
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded, event.total || file.size);
    xhr.onload = () => {
      if (xhr.status === 201) {
        resolve(xhr.response.files[0]);
        return;
      }
      const response = new Response(JSON.stringify(xhr.response), { status: xhr.status, statusText: xhr.statusText });
      errorOf(response).then(reject);
    };
    xhr.onerror = () => reject(new ApiError(0, "NETWORK", `the server could not be reached while sending ${file.name}`));
    xhr.onabort = () => reject(new DOMException("the upload was cancelled", "AbortError"));
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException("the upload was cancelled", "AbortError"));
        return;
      }
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(file);
  });
}

/**
 * Follow a job's live events (`GET /v1/jobs/{id}/events`, server-sent events read with fetch, since
 * EventSource cannot send the Authorization header). Reconnects with `Last-Event-ID` when the stream
 * breaks, at most a few times in a row; ends after the job's terminal event.
 * @param {string} jobId
 * @param {(name: string, job: any) => void} onEvent called with the event's name (`queued`,
 *   `processing`, `progress`, `completed`, `failed`, `cancelled`) and the job as `GET /v1/jobs/{id}` shows it
 * @param {AbortSignal} [signal] stops following
 * @returns {Promise<void>} resolves after the terminal event (or when aborted)
 * @throws {ApiError} when the job cannot be followed (not found, or the stream keeps breaking)
 */
export async function jobEvents(jobId, onEvent, signal) {
  let lastId = null;
  let failures = 0;
  for (;;) {
    const headers = { Accept: "text/event-stream" };
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    let finished = false;
    try {
      const response = await send("GET", `/v1/jobs/${encodeURIComponent(jobId)}/events`, { headers, signal });
      for await (const event of serverSentEvents(response.body)) {
        if (event.id !== null && lastId !== null && Number(event.id) <= Number(lastId)) continue;
        if (event.id !== null) lastId = event.id;
        failures = 0;
        onEvent(event.name, JSON.parse(event.data));
        if (TERMINAL_EVENTS.has(event.name)) {
          finished = true;
          break;
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      const broken = !(error instanceof ApiError) || error.code === "NETWORK";
      if (!broken) throw error;
      failures += 1;
      if (failures > MAX_RECONNECTS) throw error instanceof ApiError ? error : new ApiError(0, "NETWORK", "the job's progress could not be followed");
    }
    if (finished || signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
  }
}

/**
 * The events of a `text/event-stream` body (comments and keep-alives skipped).
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<{name: string, data: string, id: string|null}>}
 */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { name: "message", data: [], id: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer[newline] === "\r" ? 2 : 1));
        if (line === "") {
          if (event.data.length) yield { name: event.name, data: event.data.join("\n"), id: event.id };
          event = { name: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.name = text;
        else if (field === "data") event.data.push(text);
        else if (field === "id") event.id = text;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
