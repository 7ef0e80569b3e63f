/**
 * Form fields generated from a converter's option schema (`options` of `GET /v1/converters`): the
 * control that fits each type, the default filled in, the help as the field's description, and the
 * browser's own constraint validation (plus a JSON check) before anything is sent.
 *
 * bool → checkbox; choices → select; int/float → number input with min, max and step; a secret (a
 * password) → password input; json → textarea; list → text, comma separated; str and color → text.
 * @module options_form
 */

import { h } from "./dom.js";
import { uniqueId } from "./file_row.js";

/**
 * @typedef {{name: string, type: string, help?: string, default?: unknown, min?: number,
 *   max?: number, choices?: unknown[], required?: boolean, secret?: boolean}} OptionSchema
 * @typedef {{control: HTMLElement, label: string, message: string}} Problem
 */

/**
 * The options of several converters as one list: the server gives a conversion's options to every
 * step of its route that declares them, so a name shared by two steps is one field.
 * @param {OptionSchema[][]} schemas
 * @returns {OptionSchema[]}
 */
export function unionOf(schemas) {
  const byName = new Map();
  for (const option of schemas.flat()) if (!byName.has(option.name)) byName.set(option.name, option);
  return [...byName.values()];
}

/**
 * @param {string} text
 * @returns {unknown} the JSON value of `text`, or undefined when it is not JSON (the field says so)
 */
function parsedJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** @type {Record<string, unknown>} what a field of each type without a default means when left alone */
const UNSET = { bool: false, list: [] };

/** One option's label, control, description and error message. */
class Field {
  /**
   * @param {OptionSchema} option
   * @param {unknown} initial the value to show (the default unless the person had chosen another)
   */
  constructor(option, initial) {
    this.option = option;
    this.label = option.name.replaceAll("_", " ");
    const id = uniqueId("option");
    this.errorNode = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    const hint = hintOf(option);
    const helpNode = hint ? h("p", { class: "hint", id: `${id}-help` }, hint) : null;
    const described = [helpNode ? helpNode.id : null, this.errorNode.id].filter(Boolean).join(" ");
    this.control = controlOf(option, initial, { id, "aria-describedby": described, name: option.name });
    for (const type of ["input", "change"]) this.control.addEventListener(type, () => this.edited());
    this.control.addEventListener("invalid", () => this.showMessage());
    const label = h("label", { for: id }, this.label, option.required ? " (required)" : null);
    this.element =
      option.type === "bool"
        ? h("div", { class: "field field-check" }, h("div", null, this.control, " ", label), helpNode, this.errorNode)
        : h("div", { class: "field" }, label, this.control, helpNode, this.errorNode);
    this.checkJson();
  }

  /** After an edit: the server's complaint is dropped, and the field's message shown or cleared. */
  edited() {
    this.checkJson();
    this.showMessage();
  }

  /** The page's own check beyond the browser's: a JSON option must parse. */
  checkJson() {
    const control = /** @type {HTMLInputElement} */ (this.control);
    let message = "";
    if (this.option.type === "json" && control.value.trim() !== "") {
      try {
        JSON.parse(control.value);
      } catch (error) {
        message = `not valid JSON (${/** @type {Error} */ (error).message})`;
      }
    }
    control.setCustomValidity(message);
  }

  /** Show the control's validation message (or clear it when it is valid again). */
  showMessage() {
    const control = /** @type {HTMLInputElement} */ (this.control);
    const message = control.validationMessage;
    this.errorNode.textContent = message;
    this.errorNode.hidden = !message;
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }

  /** @returns {unknown} the value to send, or undefined when the field is left at its default */
  value() {
    const option = this.option;
    const control = /** @type {HTMLInputElement} */ (this.control);
    const text = control.value.trim();
    let value;
    if (option.type === "bool") value = control.checked;
    else if (option.choices) value = text === "" ? undefined : option.choices[Number(text)];
    else if (text === "" && option.type !== "list") value = undefined;
    else if (option.type === "int" || option.type === "float") value = Number(text);
    else if (option.type === "list") value = text.split(",").map((part) => part.trim()).filter(Boolean);
    else if (option.type === "json") value = parsedJson(text);
    else value = control.value;
    const baseline = option.default ?? UNSET[option.type];
    return JSON.stringify(value) === JSON.stringify(baseline) ? undefined : value;
  }
}

/**
 * The hint under a field: its help, its range, and how a list or JSON is written.
 * @param {OptionSchema} option
 * @returns {string}
 */
function hintOf(option) {
  const parts = [option.help ?? ""];
  if (option.min !== undefined && option.max !== undefined) parts.push(`from ${option.min} to ${option.max}`);
  else if (option.min !== undefined) parts.push(`at least ${option.min}`);
  else if (option.max !== undefined) parts.push(`at most ${option.max}`);
  if (option.type === "list") parts.push("separate several with commas");
  if (option.type === "json") parts.push("JSON");
  return parts.filter(Boolean).join("; ");
}

/**
 * The control of one option, `initial` filled in.
 * @param {OptionSchema} option
 * @param {unknown} initial
 * @param {Record<string, string>} attrs id, name and description
 * @returns {HTMLElement}
 */
function controlOf(option, initial, attrs) {
  const required = option.required === true;
  if (option.type === "bool") return h("input", { ...attrs, type: "checkbox", checked: initial === true });
  if (option.choices) {
    const chosen = option.choices.findIndex((choice) => choice === initial);
    return h(
      "select",
      { ...attrs, required },
      chosen < 0 ? h("option", { value: "" }, required ? "Choose…" : "(not set)") : null,
      option.choices.map((choice, index) => h("option", { value: String(index), selected: index === chosen }, String(choice))),
    );
  }
  if (option.type === "json") {
    const text = initial === undefined ? "" : JSON.stringify(initial);
    return h("textarea", { ...attrs, rows: 3, required, spellcheck: "false" }, text);
  }
  const value = Array.isArray(initial) ? initial.join(", ") : initial;
  if (option.type === "int" || option.type === "float") {
    const step = option.type === "int" ? "1" : "any";
    return h("input", { ...attrs, type: "number", step, min: option.min, max: option.max, value, required, inputmode: option.type === "int" ? "numeric" : "decimal" });
  }
  if (option.secret) return h("input", { ...attrs, type: "password", autocomplete: "new-password", required });
  return h("input", { ...attrs, type: "text", value, required, autocomplete: "off" });
}

/** The fields of one converter's (or one step's) options, in a fieldset. */
export class OptionsForm {
  /**
   * @param {OptionSchema[]} schema
   * @param {string} legend what the options belong to, e.g. "Options of encrypt"
   * @param {Record<string, unknown>} [previous] values the person chose in an earlier form of the
   *   same options (kept when the route changes)
   */
  constructor(schema, legend, previous = {}) {
    this.fields = schema.map((option) => new Field(option, Object.hasOwn(previous, option.name) ? previous[option.name] : option.default));
    this.element = h(
      "fieldset",
      { class: "options" },
      h("legend", null, legend),
      this.fields.length ? this.fields.map((field) => field.element) : h("p", { class: "muted" }, "No options."),
    );
  }

  /** @returns {Record<string, unknown>} the options that differ from their defaults */
  values() {
    /** @type {Record<string, unknown>} */
    const values = {};
    for (const field of this.fields) {
      const value = field.value();
      if (value !== undefined) values[field.option.name] = value;
    }
    return values;
  }

  /**
   * @param {boolean} reveal also show each field's message under it (on sending)
   * @returns {Problem[]} the fields that are not valid
   */
  problems(reveal) {
    return this.fields
      .map((field) => ({ field, control: /** @type {HTMLInputElement} */ (field.control) }))
      .filter(({ control }) => (reveal ? !control.checkValidity() : !control.validity.valid))
      .map(({ field, control }) => ({ control, label: field.label, message: control.validationMessage }));
  }

  /**
   * Put the server's complaint about option `name` on its field (until the field is edited).
   * @param {string} name
   * @param {string} message
   * @returns {HTMLElement|null} the field's control, or null when this form has no such option
   */
  markInvalid(name, message) {
    const field = this.fields.find((candidate) => candidate.option.name === name);
    if (!field) return null;
    /** @type {HTMLInputElement} */ (field.control).setCustomValidity(message);
    field.showMessage();
    return field.control;
  }
}

/**
 * A summary of the problems of some forms, each linked to its field, to show before the button that
 * sends them; null when there is none.
 * @param {Problem[]} problems
 * @returns {HTMLElement|null}
 */
export function problemSummary(problems) {
  if (!problems.length) return null;
  const noun = problems.length === 1 ? "option needs" : "options need";
  return h(
    "div",
    { class: "error-box error-summary", tabindex: "-1" },
    h("p", null, `${problems.length} ${noun} correcting:`),
    h(
      "ul",
      null,
      problems.map((problem) =>
        h(
          "li",
          null,
          h(
            "a",
            {
              href: `#${problem.control.id}`,
              onclick: (/** @type {Event} */ event) => {
                event.preventDefault();
                problem.control.focus();
              },
            },
            `${problem.label}: ${problem.message}`,
          ),
        ),
      ),
    ),
  );
}
