/**
 * The targets the chosen files can become, as radio buttons grouped by kind in fieldsets.
 * @module convert_targets
 */

import { targetsFrom } from "./convert_catalog.js";
import { h } from "./dom.js";

/** The groups of targets, in order, and the kinds of formats each holds (the last takes the rest). */
const GROUPS = [
  ["Documents", ["document", "presentation", "spreadsheet"]],
  ["Images", ["image"]],
  ["Audio and video", ["audio", "video"]],
  ["Archives", ["archive"]],
  ["Other", null],
];

/**
 * The formats that files of every one of `sources` can become.
 * @param {string[]} sources
 * @returns {Promise<import("./convert_catalog.js").Target[]>}
 */
export async function commonTargets(sources) {
  const each = await Promise.all(sources.map((source) => targetsFrom(source)));
  return each.reduce((common, targets) => common.filter((target) => targets.some((other) => other.name === target.name)));
}

/**
 * One radio button with its label and the format's description.
 * @param {string} value
 * @param {string} label
 * @param {string} description
 * @param {boolean} checked
 */
function choice(value, label, description, checked) {
  const id = `target-${value}`;
  return h(
    "div",
    { class: "target" },
    h("input", { type: "radio", name: "target", id, value, checked, "aria-describedby": `${id}-about` }),
    h("label", { for: id }, label),
    h("span", { class: "muted", id: `${id}-about` }, description),
  );
}

/**
 * Fill `container` with the radio buttons of `targets`, grouped by kind; `keep` (the one format of
 * every file, when it has operations) comes first, as "keep the format, only run the steps".
 * @param {HTMLElement} container emptied first
 * @param {import("./convert_catalog.js").Target[]} targets
 * @param {string|null} keep
 * @param {string|null} checked the target to leave chosen, if still offered
 */
export function renderTargets(container, targets, keep, checked) {
  const fieldsets = [];
  if (keep) {
    fieldsets.push(
      h("fieldset", { class: "target-group" }, h("legend", null, "Same format"), choice(keep, `Keep ${keep.toUpperCase()}`, "no conversion: only the steps you add below", checked === keep)),
    );
  }
  const placed = new Set();
  for (const [title, kinds] of GROUPS) {
    const group = targets.filter((target) => !placed.has(target) && (kinds === null || kinds.includes(target.kind)));
    group.forEach((target) => placed.add(target));
    if (!group.length) continue;
    fieldsets.push(
      h(
        "fieldset",
        { class: "target-group" },
        h("legend", null, title),
        group.map((target) => choice(target.name, target.name.toUpperCase(), target.description, checked === target.name)),
      ),
    );
  }
  container.replaceChildren(...fieldsets);
  if (!fieldsets.length) container.append(h("p", { class: "warning" }, "No format is reachable from all of these files: remove some of them."));
}
