/**
 * The Convert page: files chosen (`#pick`), then a target, waypoints, steps and options with the
 * route previewed (`#plan`), then jobs queued with the jobs module (`#jobs`). Built only on the
 * public API.
 * @module convert
 */

import { ApiError } from "./api.js";
import { converter, operationsOf } from "./convert_catalog.js";
import { FilePicker } from "./convert_pick.js";
import { StepList } from "./convert_steps.js";
import { commonTargets, renderTargets } from "./convert_targets.js";
import { announce, h } from "./dom.js";
import { runJob } from "./jobs.js";
import { OptionsForm, problemSummary, unionOf } from "./options_form.js";
import { previewRoutes } from "./route_view.js";

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const form = /** @type {HTMLFormElement} */ (byId("plan-form"));
const targetsBox = byId("targets");
const viaSelect = /** @type {HTMLSelectElement} */ (byId("plan-via"));
const routeBox = byId("route-view");
const routeOptionsBox = byId("route-options");
const problemsBox = byId("plan-problems");
const statusLine = byId("plan-status");
const convertButton = /** @type {HTMLButtonElement} */ (byId("convert-button"));

/** What the plan holds now. */
const plan = {
  /** @type {string[]} the formats of the files */
  sources: [],
  /** @type {import("./convert_catalog.js").Target[]} the formats every file can become */
  targets: [],
  /** @type {string|null} */
  target: null,
  /** @type {OptionsForm|null} the options of the conversion's converters */
  options: null,
  /** whether the router refused the route (the refusal is shown) */
  refused: false,
  /** whether every route ends packing all the files at once (`n->1`: zip, tar…) */
  packs: false,
  /** the number of steps of the longest route */
  routeSteps: 0,
  /** the preview under way; a newer one aborts it */
  preview: new AbortController(),
  /** counts the changes of files, so that an older answer does not overwrite a newer one */
  generation: 0,
};

const picker = new FilePicker(byId("pick"), { onChange: (arrived) => filesChanged(arrived) });
const steps = new StepList(byId("steps"), { onChange: () => check() });

/** @returns {boolean} whether the target keeps the files' one format (only the steps run) */
function keepsFormat() {
  return plan.sources.length === 1 && plan.target === plan.sources[0];
}

/**
 * The files changed: offer the targets all of them can become.
 * @param {boolean} arrived new files are ready (the focus then moves to the targets)
 */
async function filesChanged(arrived) {
  const generation = ++plan.generation;
  const sources = [...new Set(picker.ready().map((item) => /** @type {string} */ (item.format)))];
  byId("plan-empty").hidden = sources.length > 0;
  form.hidden = sources.length === 0;
  if (!sources.length) {
    plan.sources = [];
    plan.target = null;
    check();
    return;
  }
  const targets = await commonTargets(sources);
  if (generation !== plan.generation) return;
  const names = (/** @type {Array<{name: string}>} */ list) => list.map((target) => target.name).join();
  const same = String(sources) === String(plan.sources) && names(targets) === names(plan.targets);
  plan.sources = sources;
  plan.targets = targets;
  if (!same) {
    const keep = sources.length === 1 && (await operationsOf(sources[0])).length ? sources[0] : null;
    renderTargets(targetsBox, targets, keep, plan.target);
    await targetChanged();
  }
  check();
  if (arrived && !picker.busy()) {
    targetsBox.focus();
    announce(`Choose a target: ${targets.length} formats are reachable.`);
  }
}

/** The target changed: offer its waypoints and steps, and preview the route. */
async function targetChanged() {
  const checked = /** @type {HTMLInputElement|null} */ (targetsBox.querySelector("input[name=target]:checked"));
  plan.target = checked ? checked.value : null;
  const kept = viaSelect.value;
  const waypoints = plan.targets.map((target) => target.name).filter((name) => name !== plan.target);
  viaSelect.replaceChildren(
    h("option", { value: "" }, "any (the router's choice)"),
    ...waypoints.map((name) => h("option", { value: name, selected: name === kept }, name.toUpperCase())),
  );
  viaSelect.disabled = keepsFormat() || plan.target === null;
  await steps.setFormat(plan.target);
  await previewRoute();
}

/** Preview the route from each format to the target, and build the form of its options. */
async function previewRoute() {
  plan.preview.abort();
  plan.preview = new AbortController();
  const signal = plan.preview.signal;
  plan.refused = false;
  plan.packs = false;
  plan.routeSteps = 0;
  const chosen = plan.options?.values() ?? {};
  plan.options = null;
  routeOptionsBox.replaceChildren();
  if (plan.target === null || keepsFormat()) {
    routeBox.replaceChildren(plan.target === null ? "" : h("p", null, "No conversion: only the steps below run."));
    check();
    return;
  }
  routeBox.replaceChildren(h("p", { class: "muted" }, "Asking the router…"));
  const via = viaSelect.value ? [viaSelect.value] : [];
  const routes = await previewRoutes(routeBox, plan.sources, plan.target, via, signal);
  if (signal.aborted) return;
  if (routes === null) {
    plan.refused = true;
    announce("There is no route to that target; the page says why.");
  } else {
    const called = [...routes.values()].map((found) => found.steps.filter((step) => step.converter));
    const specs = await Promise.all(
      called.map((each) => Promise.all(each.map((step) => converter(step.source, /** @type {string} */ (step.converter))))),
    );
    if (signal.aborted) return;
    plan.packs = specs.every((route) => route.at(-1)?.cardinality === "n->1");
    plan.routeSteps = Math.max(...[...routes.values()].map((found) => found.steps.length));
    const schema = unionOf(specs.flat().map((spec) => spec?.options ?? []));
    const legend = `Options of the conversion to ${/** @type {string} */ (plan.target).toUpperCase()}`;
    plan.options = new OptionsForm(schema, legend, chosen);
    routeOptionsBox.replaceChildren(plan.options.element);
  }
  check();
}

/** @returns {OptionsForm[]} every options form of the plan */
function optionForms() {
  return [...(plan.options ? [plan.options] : []), ...steps.steps.map((step) => step.form)];
}

/**
 * Why the plan cannot run yet, or null when it can.
 * @returns {string|null}
 */
function blocker() {
  if (picker.busy()) return "Waiting for the uploads to finish.";
  if (picker.items.some((item) => item.state === "failed")) return "Remove the files that cannot be converted.";
  if (!picker.ready().length) return "Choose files first.";
  if (plan.target === null) return "Choose a target.";
  if (plan.refused) return "There is no route to this target: choose another one.";
  if (keepsFormat() && !steps.steps.length) return "Add a step, or choose another target.";
  if (!steps.valid) return "A step does not apply where it is: move or remove it.";
  return null;
}

/** @returns {boolean} whether all the files go into one job: a merge, or an archive of them all */
function oneJob() {
  return steps.steps.length ? steps.consumesMany() : plan.packs;
}

/**
 * Show what is wrong (or how many jobs will run) and enable Convert only when all is well.
 * @param {boolean} [reveal] also show each invalid field's message under it
 */
function check(reveal = false) {
  const problems = optionForms().flatMap((each) => each.problems(reveal));
  const listed = problems.map((problem) => `${problem.control.id} ${problem.message}`).join("\n");
  // rebuilt only when it changes: a link clicked in it stays, though leaving the field changes it
  if (listed !== problemsBox.dataset.listed) {
    problemsBox.dataset.listed = listed;
    problemsBox.replaceChildren(problemSummary(problems) ?? "");
  }
  const reason = blocker() ?? (problems.length ? "Correct the options above." : null);
  convertButton.disabled = reason !== null;
  const count = picker.ready().length;
  statusLine.textContent =
    reason ?? (count === 1 ? "One file, one job." : oneJob() ? `${count} files, one job.` : `${count} files, one job each.`);
}

/**
 * Queue the jobs: one with every file when the first step (a merge) or the route (an archive) takes
 * them all, else one per file.
 * @param {SubmitEvent} event
 */
function convert(event) {
  event.preventDefault();
  check(true);
  if (convertButton.disabled) {
    /** @type {HTMLElement|null} */ (problemsBox.firstElementChild)?.focus();
    return;
  }
  const items = picker.ready();
  const then = steps.then();
  const base = {
    outputFormat: /** @type {string} */ (plan.target),
    ...(viaSelect.value && !keepsFormat() ? { via: [viaSelect.value] } : {}),
    ...(plan.options ? { options: plan.options.values() } : {}),
    ...(then.length ? { then } : {}),
  };
  const groups = oneJob() ? [items] : items.map((item) => [item]);
  const conversion = keepsFormat() ? [] : [`${plan.target}${base.via ? ` via ${base.via[0]}` : ""}`];
  const what = [...conversion, ...then.map((step) => step.step)].join(" → ");
  for (const group of groups) {
    group.forEach((item) => (item.used = true));
    const inputs = group.map((item) => (item.url ? { url: item.url } : { fileId: item.stored.id }));
    const names = group.length === 1 ? group[0].name : `${group.length} files`;
    // the server may fuse operations into one step, so only a plain route's steps are counted here
    const stepCount = then.length ? undefined : plan.routeSteps;
    runJob({ inputs, ...base }, { label: `${names} → ${what}`, stepCount, onRefused: markRefusal });
  }
  announce(groups.length === 1 ? "The job is queued." : `${groups.length} jobs are queued.`);
}

/**
 * Put the server's `INVALID_OPTION` on the fields of the option it names (its message until they
 * are edited) and move the focus to the first.
 * @param {unknown} error why the server refused a job
 */
function markRefusal(error) {
  if (!(error instanceof ApiError) || error.code !== "INVALID_OPTION") return;
  const { option, options } = error.details;
  const names = typeof option === "string" ? [option] : Array.isArray(options) ? options : [];
  const marked = names.flatMap((name) => optionForms().map((each) => each.markInvalid(String(name), error.message)));
  marked.find((control) => control !== null)?.focus();
  check();
}

targetsBox.addEventListener("change", () => targetChanged());
viaSelect.addEventListener("change", () => previewRoute());
form.addEventListener("input", () => check());
form.addEventListener("change", () => check());
form.addEventListener("submit", convert);
