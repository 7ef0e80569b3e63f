/**
 * What the server can do, as the page asks the public API: its formats, its converters from a
 * format (with their option schemas and cardinality), and the targets reachable from a format.
 * Answers are the same for every key, so they are kept for the life of the page.
 * @module convert_catalog
 */

import { request } from "./api.js";

/** @type {Map<string, Promise<any>>} */
const answers = new Map();

/**
 * A GET of the API, asked once per page.
 * @param {string} path
 * @returns {Promise<any>}
 */
function once(path) {
  let answer = answers.get(path);
  if (!answer) {
    answer = request("GET", path);
    answers.set(path, answer);
    answer.catch(() => answers.delete(path));
  }
  return answer;
}

/**
 * @typedef {{name: string, kind: string, description: string, extensions: string[],
 *   aliases: string[], readable: boolean, writable: boolean}} Format
 * @typedef {{id: string, source: string, target: string, cardinality: string,
 *   operation: string|null, description: string, options: import("./options_form.js").OptionSchema[]}} Converter
 * @typedef {{name: string, kind: string, description: string}} Target
 */

/** @returns {Promise<Map<string, Format>>} every format the server knows, by name */
export async function formats() {
  const answer = await once("/v1/formats");
  return new Map(answer.formats.map((/** @type {Format} */ format) => [format.name, format]));
}

/**
 * @param {string} source a format
 * @returns {Promise<Converter[]>} the converters and operations that read `source`
 */
export async function convertersFrom(source) {
  const answer = await once(`/v1/converters?from=${encodeURIComponent(source)}`);
  return answer.converters;
}

/**
 * The converter `id`, which reads `source`.
 * @param {string} source
 * @param {string} id
 * @returns {Promise<Converter|undefined>}
 */
export async function converter(source, id) {
  return (await convertersFrom(source)).find((candidate) => candidate.id === id);
}

/**
 * The operations (merge, encrypt, resize…) that apply to files of `source`, one per name (not those
 * that read any file into another format's, such as attaching files to a PDF).
 * @param {string} source
 * @returns {Promise<Converter[]>}
 */
export async function operationsOf(source) {
  const seen = new Set();
  return (await convertersFrom(source)).filter((candidate) => {
    const applies = candidate.source === source || candidate.target === source;
    if (!candidate.operation || !applies || seen.has(candidate.operation)) return false;
    seen.add(candidate.operation);
    return true;
  });
}

/**
 * The formats some route leads to from `source` (not `source` itself), with their kinds.
 * @param {string} source
 * @returns {Promise<Target[]>}
 */
export async function targetsFrom(source) {
  const answer = await once(`/v1/formats/${encodeURIComponent(source)}/targets`);
  return answer.targets;
}

/**
 * The router's route and explanation from `source` to `target` through `via`.
 * @param {string} source
 * @param {string} target
 * @param {string[]} via
 * @param {AbortSignal} [signal]
 * @returns {Promise<any>}
 */
export function route(source, target, via, signal) {
  const query = new URLSearchParams({ from: source, to: target });
  for (const waypoint of via) query.append("via", waypoint);
  return request("GET", `/v1/route?${query}`, { signal });
}
