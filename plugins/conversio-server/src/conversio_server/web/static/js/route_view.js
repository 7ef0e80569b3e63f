/**
 * The route a conversion will take, before it runs: the router's own explanation from
 * `GET /v1/route` (each step with its converter, and the routes it did not choose), or its coded
 * refusal (`NO_ROUTE`, with the plugin to install and the formats it can reach).
 * @module route_view
 */

import { ApiError } from "./api.js";
import { route } from "./convert_catalog.js";
import { h, showError } from "./dom.js";

/**
 * @typedef {{source: string, target: string, converter: string|null, mapped: boolean,
 *   bundle_out: boolean}} RouteStep
 * @typedef {{source: string, target: string, via: string[], cost: number, path: string,
 *   steps: RouteStep[], alternatives: Route[]}} Route
 */

/**
 * One step, as a list item: `docx → pdf`, its converter, and what it does to the number of files.
 * @param {RouteStep} step
 * @returns {HTMLLIElement}
 */
function stepItem(step) {
  return /** @type {HTMLLIElement} */ (
    h(
      "li",
      null,
      `${step.source} → ${step.target}`,
      step.bundle_out ? " (one file per page or part)" : null,
      step.mapped ? " (each file)" : null,
      " ",
      step.converter ? h("code", { class: "converter" }, step.converter) : h("span", { class: "muted" }, "chosen per file when it runs"),
    )
  );
}

/**
 * The route from one format, explained.
 * @param {Route} found
 * @returns {HTMLElement}
 */
function routeBlock(found) {
  const count = found.steps.length;
  const others = found.alternatives;
  return h(
    "div",
    { class: "route" },
    h("p", { class: "route-path" }, h("strong", null, found.path), " ", h("span", { class: "muted" }, count === 1 ? "(1 step)" : `(${count} steps)`)),
    count ? h("ol", { class: "route-steps" }, found.steps.map(stepItem)) : null,
    others.length
      ? h(
          "details",
          { class: "route-alternatives" },
          h("summary", null, others.length === 1 ? "1 other route the router did not choose" : `${others.length} other routes the router did not choose`),
          h(
            "ul",
            null,
            others.map((other) =>
              h("li", null, other.path, " ", h("span", { class: "muted" }, `(cost ${other.cost}, against ${found.cost})`)),
            ),
          ),
        )
      : null,
  );
}

/**
 * The router's refusal, with what would help: the plugins to install, the formats it can reach.
 * @param {unknown} error
 * @returns {HTMLElement}
 */
function refusalBlock(error) {
  const box = h("div", { class: "error-box" });
  showError(box, error);
  const details = error instanceof ApiError ? error.details : {};
  const install = Array.isArray(details.suggestions) ? details.suggestions : [];
  const reachable = Array.isArray(details.reachable) ? details.reachable : [];
  if (install.length) {
    const commands = install.map((name, i) => [i ? " or " : "", h("code", null, `pip install ${name}`)]);
    box.append(h("p", null, commands, " on the server adds the route."));
  }
  const waypoints = Array.isArray(details.via) ? details.via : [];
  if (waypoints.length) box.append(h("p", null, `Or go through another format than ${waypoints.join(", ")}, or none.`));
  else if (reachable.length) box.append(h("p", null, `From ${details.source} this server reaches: ${reachable.join(", ")}.`));
  return box;
}

/**
 * Show the route from each of `sources` to `target` through `via` in `container`.
 * @param {HTMLElement} container emptied first
 * @param {string[]} sources the formats of the files
 * @param {string} target
 * @param {string[]} via waypoints
 * @param {AbortSignal} signal a newer preview aborts this one
 * @returns {Promise<Map<string, Route>|null>} the routes found, by source; null when one is
 *   refused (the refusal is shown) or the preview was aborted
 */
export async function previewRoutes(container, sources, target, via, signal) {
  const answers = await Promise.all(
    sources.map((source) =>
      route(source, target, via, signal).then(
        (found) => ({ source, found, error: null }),
        (error) => ({ source, found: null, error }),
      ),
    ),
  );
  if (signal.aborted) return null;
  const several = sources.length > 1;
  container.replaceChildren(
    ...answers.map(({ source, found, error }) =>
      h("div", { class: "route-of" }, several ? h("h4", null, `From ${source}`) : null, found ? routeBlock(found) : refusalBlock(error)),
    ),
  );
  if (answers.some((answer) => answer.error)) return null;
  return new Map(answers.map(({ source, found }) => [source, found]));
}
