"""Option schemas: one validation for CLI strings and for JSON values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from conversio.errors import InvalidOption

#: The type of an option's value, by the name the JSON description (``describe()``) uses.
OptionType = Literal["int", "float", "bool", "str", "color", "list", "json"]
_TYPES: dict[OptionType, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "str": str,
    "color": str,
    "list": list,
    "json": (dict, list, str, int, float, bool),
}
#: How much of a JSON option's text an error message shows.
_SHOWN_JSON = 60
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _optional_tuple(values: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


@attrs.frozen
class Option:
    """One option of a converter.

    ``type`` is one of ``int``, ``float``, ``bool``, ``str``, ``color`` (a CSS-like
    colour string), ``list`` (of strings; comma separated on the command line) or ``json``
    (any JSON value; a string is read as JSON text, so the command line and an HTTP
    body's object give the converter the same object).
    ``default`` is the one place a default is set: the converter receives it when the
    caller gives none, so converter code reads ``request.options[name]``. It is checked
    against the type, range and choices when the option is declared. A ``required``
    option has no default; a request without it is ``INVALID_OPTION`` naming it.
    """

    name: str
    type: OptionType = attrs.field(validator=attrs.validators.in_(_TYPES))
    default: Any = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = attrs.field(default=None, converter=_optional_tuple)
    secret: bool = False
    required: bool = False

    def __attrs_post_init__(self) -> None:
        if self.default is None:
            return
        if self.required:
            raise ValueError(f"option {self.name!r} is required, so it cannot have a default")
        try:
            parsed = self.parse(self.default)
        except InvalidOption as exc:
            raise ValueError(f"the default of {exc.message}") from None
        object.__setattr__(self, "default", parsed)  # the parsed value: 96 for a float is 96.0

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (for ``converters --json`` and the HTTP API)."""
        data: dict[str, Any] = {"name": self.name, "type": self.type, "help": self.help}
        if self.required:
            data["required"] = True
        if self.secret:  # a form shows it as a password field and never echoes it
            data["secret"] = True
        if self.default is not None and not self.secret:
            data["default"] = self.default
        for key in ("min", "max", "choices"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def parse(self, value: Any) -> Any:
        """Coerce ``value`` (a JSON value or a CLI string) and check its range."""
        value = self._coerce(value)
        if self.required and _blank(value):
            raise self._invalid(value, "needs a value")
        if self.choices is not None and value not in self.choices:
            raise self._invalid(value, f"must be one of {', '.join(map(str, self.choices))}")
        if self.min is not None and value < self.min:
            raise self._invalid(value, f"must be at least {self.min:g}")
        if self.max is not None and value > self.max:
            raise self._invalid(value, f"must be at most {self.max:g}")
        return value

    def _coerce(self, value: Any) -> Any:
        if self.type == "json":
            return self._json(value)
        if isinstance(value, str) and self.type != "str" and self.type != "color":
            return self._from_string(value)
        expected = _TYPES[self.type]
        if self.type in ("int", "float") and isinstance(value, bool):
            raise self._invalid(value, f"must be {self.type}")
        if self.type == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, expected):
            raise self._invalid(value, f"must be {self.type}")
        checked: Any = value
        if self.type == "list":
            return [str(v) for v in checked]
        return float(checked) if self.type == "float" else checked

    def _json(self, value: Any) -> Any:
        """A JSON option's value: JSON text parsed, any other JSON value as it is."""
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                shown = value if len(value) <= _SHOWN_JSON else value[:_SHOWN_JSON] + "…"
                raise self._invalid(shown, f"is not valid JSON: {exc}") from None
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise self._invalid(value, "must be a JSON value") from None
        return value

    def _from_string(self, text: str) -> Any:
        try:
            if self.type == "int":
                return int(text.strip())
            if self.type == "float":
                return float(text.strip())
        except ValueError:
            raise self._invalid(text, f"must be {self.type}") from None
        if self.type == "bool":
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise self._invalid(text, "must be true or false")
        return [part.strip() for part in text.split(",") if part.strip()]

    def _invalid(self, value: Any, reason: str) -> InvalidOption:
        shown = "***" if self.secret else value
        return InvalidOption(
            f"option {self.name!r}={shown!r} {reason}",
            option=self.name,
            value=shown,
            expected=self.describe(),
        )


def _option_tuple(values: Iterable[Option]) -> tuple[Option, ...]:
    return tuple(values)


@attrs.frozen
class OptionsSchema:
    """The options a converter accepts."""

    options: tuple[Option, ...] = attrs.field(default=(), converter=_option_tuple)

    @classmethod
    def of(cls, *options: Option) -> OptionsSchema:
        return cls(options)

    def __contains__(self, name: object) -> bool:
        return any(o.name == name for o in self.options)

    def __iter__(self) -> Any:
        return iter(self.options)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.options]

    def get(self, name: str) -> Option:
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(name)

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``values`` and return them parsed, with defaults filled in.

        An unknown or a missing required option is ``INVALID_OPTION`` naming it.
        """
        unknown = [k for k in values if k not in self]
        if unknown:
            raise unknown_options(unknown, self.options)
        missing = [o for o in self.options if o.required and o.name not in values]
        if missing:
            raise _missing_options(missing)
        result = {o.name: o.default for o in self.options}
        for name, value in values.items():
            result[name] = self.get(name).parse(value)
        return result

    def describe(self) -> list[dict[str, Any]]:
        return [o.describe() for o in self.options]


def unknown_options(names: Iterable[str], valid: Iterable[Option]) -> InvalidOption:
    """The ``INVALID_OPTION`` error for options nobody declares, listing the valid ones."""
    names = sorted(names)
    valid_names = sorted({o.name for o in valid})
    return InvalidOption(
        f"unknown option{'s' if len(names) > 1 else ''} {', '.join(names)}; "
        f"valid options: {', '.join(valid_names) or '(none)'}",
        options=names,
        valid=valid_names,
    )


def _missing_options(missing: list[Option]) -> InvalidOption:
    """The ``INVALID_OPTION`` error for required options the caller did not give."""
    shown = "; ".join(f"{o.name!r} ({o.help})" if o.help else repr(o.name) for o in missing)
    return InvalidOption(
        f"missing required option{'s' if len(missing) > 1 else ''} {shown}",
        option=missing[0].name,
        options=[o.name for o in missing],
    )


def _blank(value: Any) -> bool:
    """Whether a text or list value says nothing (a required option given as ``text=``)."""
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and not any(str(item).strip() for item in value)
