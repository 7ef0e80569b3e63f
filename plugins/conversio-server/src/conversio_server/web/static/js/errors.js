/**
 * What a person can do about each error code the API answers with (see the server's error list).
 * The server's message says what went wrong, naming the file; this table adds what to do next.
 * @module errors
 */

/** @type {Readonly<Record<string, string>>} */
const ADVICE = Object.freeze({
  INVALID_REQUEST: "Check the choices in the form and try again.",
  INVALID_OPTION: "Correct the option named in the message and try again.",
  UNSUPPORTED_FORMAT: "This server cannot read or write that format; pick another target, or ask its administrator to install the plugin for it.",
  FORMAT_MISMATCH: "The file's content is not what its name says; rename it or pick the file again.",
  UNSUPPORTED_ENCRYPTION: "Remove the file's protection with the program that made it, then try again.",
  NO_ROUTE: "No chain of converters leads there; pick another target.",
  INVALID_PASSWORD: "Type the file's password in the step's options and try again.",
  UNAUTHORIZED: "Sign in again with a valid API key.",
  FORBIDDEN: "Your API key does not allow this; ask the server's administrator for a key with the right scope.",
  QUOTA_EXCEEDED: "Your key has used its conversions for now; wait for the quota to renew or ask for a larger tier.",
  FILE_NOT_FOUND: "The file has expired or was deleted; upload it again.",
  JOB_NOT_FOUND: "The job has expired or belongs to another key; start it again.",
  NOT_FOUND: "Reload the page; if it stays, the server may be a different version.",
  METHOD_NOT_ALLOWED: "Reload the page; the server may be a different version.",
  REQUEST_TIMEOUT: "The upload was too slow; check your connection and try again.",
  FILE_TOO_LARGE: "The file is larger than this server accepts; split or compress it first.",
  UNSUPPORTED_MEDIA_TYPE: "Reload the page and try again.",
  CORRUPT_FILE: "The file is damaged or not what it seems; open it in its own program, save it again and retry.",
  EMPTY_FILE: "The file is empty; pick the right file.",
  NO_TEXT_LAYER: "The PDF has no text (it is scanned); add an OCR step first.",
  CONVERSION_FAILED: "The file could not be converted; try another target or check the file.",
  TIMEOUT: "The conversion took too long; try a smaller file or fewer pages.",
  CANCELLED: "The job was cancelled; retry it to run it again.",
  RATE_LIMITED: "Too many requests at once; wait a moment and try again.",
  INTERNAL_ERROR: "Something failed on the server; try again, and tell its administrator the request id if it persists.",
  PLUGIN_ERROR: "A converter failed on the server; try another target and tell its administrator.",
  SERVICE_UNAVAILABLE: "The server is busy; wait a moment and try again.",
  INSUFFICIENT_STORAGE: "The server's disk is full; delete old files in History or try later.",
  MISSING_DEPENDENCY: "A program this conversion needs is not installed on the server; tell its administrator.",
  STORE_UNAVAILABLE: "The server's storage is unavailable; try again later.",
  NETWORK: "The server could not be reached; check your connection and try again.",
});

const FALLBACK = "Try again; if it persists, tell the server's administrator.";

/**
 * What to do about an error code.
 * @param {string} code an error code of the API (or `NETWORK`)
 * @returns {string} one sentence of advice
 */
export function adviceFor(code) {
  return Object.hasOwn(ADVICE, code) ? ADVICE[code] : FALLBACK;
}
