/**
 * Steps after the conversion (merge, encrypt, resize…: the operations `GET /v1/converters` lists for
 * the format at that point), each with its options form; added, moved and removed with buttons.
 * @module convert_steps
 */

import { operationsOf } from "./convert_catalog.js";
import { announce, h } from "./dom.js";
import { OptionsForm } from "./options_form.js";

/**
 * @typedef {{operation: string, converter: import("./convert_catalog.js").Converter,
 *   form: OptionsForm, row: HTMLLIElement, note: HTMLElement}} Step
 */

/** The list of steps and the control that adds one. */
export class StepList {
  /**
   * @param {HTMLElement} box `#steps`, with `#step-list`, `#step-choice` and `#step-add`
   * @param {{onChange: () => void}} hooks called after every change to the steps
   */
  constructor(box, { onChange }) {
    /** @type {Step[]} */
    this.steps = [];
    /** @type {string|null} the format the conversion makes (the first step's input) */
    this.format = null;
    /** whether every step applies to the format before it */
    this.valid = true;
    this.onChange = onChange;
    this.list = /** @type {HTMLElement} */ (box.querySelector("#step-list"));
    this.choice = /** @type {HTMLSelectElement} */ (box.querySelector("#step-choice"));
    this.addButton = /** @type {HTMLButtonElement} */ (box.querySelector("#step-add"));
    this.addButton.addEventListener("click", () => this.add());
    /** @type {import("./convert_catalog.js").Converter[]} */
    this.offered = [];
  }

  /**
   * The conversion now makes `format` (null: none chosen yet): offer and check the steps for it.
   * @param {string|null} format
   */
  async setFormat(format) {
    this.format = format;
    await this.refresh();
  }

  /** @returns {Array<{step: string, options: Record<string, unknown>}>} `then` of the job */
  then() {
    return this.steps.map((step) => ({ step: step.operation, options: step.form.values() }));
  }

  /** @returns {boolean} whether the first step takes every file at once (merge: `n->1`) */
  consumesMany() {
    return this.steps.length > 0 && this.steps[0].converter.cardinality === "n->1";
  }

  /** Add the operation chosen in the select, at the end. */
  add() {
    const converter = this.offered.find((op) => op.operation === this.choice.value);
    if (!converter) return;
    const operation = /** @type {string} */ (converter.operation);
    const form = new OptionsForm(converter.options, operation);
    const note = h("p", { class: "warning", hidden: true });
    const row = /** @type {HTMLLIElement} */ (h("li", { class: "step" }));
    /** @type {Step} */
    const step = { operation, converter, form, row, note };
    const button = (/** @type {string} */ text, /** @type {() => void} */ action) =>
      h("button", { type: "button", class: "secondary", onclick: action }, text, h("span", { class: "visually-hidden" }, ` (${operation})`));
    row.append(
      h("p", { class: "step-what muted" }, converter.description),
      form.element,
      note,
      h(
        "div",
        { class: "step-actions" },
        button("Move up", () => this.move(step, -1)),
        button("Move down", () => this.move(step, 1)),
        button("Remove", () => this.remove(step)),
      ),
    );
    this.steps.push(step);
    this.list.append(row);
    announce(`Step ${this.steps.length}, ${operation}, is added.`);
    this.refresh().then(() => /** @type {HTMLElement} */ (row.querySelector("input, select, textarea, button")).focus());
  }

  /**
   * Move `step` by `offset` places, keeping the focus on the button pressed.
   * @param {Step} step
   * @param {number} offset -1 (up) or 1 (down)
   */
  move(step, offset) {
    const index = this.steps.indexOf(step);
    const to = index + offset;
    if (to < 0 || to >= this.steps.length) return;
    const focused = document.activeElement;
    this.steps.splice(index, 1);
    this.steps.splice(to, 0, step);
    this.list.replaceChildren(...this.steps.map((each) => each.row));
    if (focused instanceof HTMLElement) focused.focus();
    announce(`${step.operation} is now step ${to + 1} of ${this.steps.length}.`);
    this.refresh();
  }

  /**
   * Remove `step`; the focus goes to the next step's Remove button, or to the step select.
   * @param {Step} step
   */
  remove(step) {
    const index = this.steps.indexOf(step);
    this.steps.splice(index, 1);
    step.row.remove();
    const next = this.steps[index] ?? this.steps[index - 1];
    const buttons = next ? next.row.querySelectorAll(".step-actions button") : null;
    /** @type {HTMLElement} */ (buttons ? buttons[buttons.length - 1] : this.choice).focus();
    announce(`${step.operation} is removed.`);
    this.refresh();
  }

  /**
   * Number the steps, check that each applies to the format the one before makes, and offer the
   * operations of the format after the last one.
   */
  async refresh() {
    let format = this.format;
    this.valid = true;
    for (const [index, step] of this.steps.entries()) {
      /** @type {HTMLElement} */ (step.form.element.querySelector("legend")).textContent = `Step ${index + 1}: ${step.operation}`;
      const applies = format !== null && (await operationsOf(format)).some((op) => op.operation === step.operation);
      step.note.hidden = applies;
      step.note.textContent = applies ? "" : `${step.operation} does not apply to ${format ?? "the files at this point"}: move or remove it.`;
      this.valid &&= applies;
      format = applies && step.converter.target !== "*" ? step.converter.target : null;
    }
    this.offered = format === null ? [] : await operationsOf(format);
    this.choice.replaceChildren(
      ...(this.offered.length
        ? this.offered.map((op) => h("option", { value: op.operation }, `${op.operation}: ${op.description}`))
        : [h("option", { value: "" }, "no step applies here")]),
    );
    this.choice.disabled = this.addButton.disabled = !this.offered.length;
    this.onChange();
  }
}
