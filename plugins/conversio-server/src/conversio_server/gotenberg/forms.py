"""Reading a Gotenberg form: its text fields and its files (by file name, as Gotenberg keys them),
each value parsed as Gotenberg parses it (Go's booleans, numbers and durations, JSON). Problems are
collected and answered together, as Gotenberg's 400 ``Invalid form data: …``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from conversio_server.gotenberg.answers import GotenbergError
from conversio_server.uploads import Field, UploadedFile

T = TypeVar("T")

#: What Go's ``strconv.ParseBool`` accepts.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
#: A Go duration: ``1.5s``, ``500ms``, ``1m30s``.
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


#: File fields with a meaning of their own in Gotenberg (files to embed, a watermark's or a stamp's
#: image): kept apart from the inputs.
SPECIAL_FILE_FIELDS = ("embeds", "watermark", "stamp")


class Invalid(ValueError):
    """A value a parser refuses; its message says why."""


def go_bool(value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Invalid("not a boolean (true or false)")


def go_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise Invalid("not a number") from None


def go_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Invalid("not an integer") from None


def go_duration(value: str) -> float:
    """Seconds of a Go duration (``1.5s``, ``500ms``, ``1m30s``; ``0``)."""
    text = value.strip()
    if text == "0":
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text.lstrip("+-")
    parts = list(_DURATION_PART.finditer(rest))
    if not parts or "".join(p.group(0) for p in parts) != rest:
        raise Invalid("not a duration (such as 500ms, 1s or 1m30s)")
    return sign * sum(float(p.group(1)) * _SECONDS[p.group(2)] for p in parts)


def json_value(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        raise Invalid(f"not valid JSON ({exc})") from None


class Form:
    """The fields and files of one request, read once; problems wait in :attr:`problems` until
    :meth:`validate` raises them all."""

    def __init__(self, parts: Sequence[Field | UploadedFile]) -> None:
        self.values: dict[str, str] = {}
        self.files: dict[str, UploadedFile] = {}
        #: The files of :data:`SPECIAL_FILE_FIELDS`, by field.
        self.attached: dict[str, list[UploadedFile]] = {}
        for part in parts:
            if isinstance(part, UploadedFile) and part.name in SPECIAL_FILE_FIELDS:
                self.attached.setdefault(part.name, []).append(part)
            elif isinstance(part, UploadedFile):
                name = (part.filename or part.name).replace("\\", "/").rsplit("/", 1)[-1]
                self.files[name] = part
            else:
                self.values.setdefault(part.name, part.value)
        self.problems: list[str] = []

    def has(self, name: str) -> bool:
        """Whether the field was given a value (Gotenberg takes an empty one as absent)."""
        return bool(self.values.get(name, ""))

    def parse(self, name: str, parse: Callable[[str], T], default: T) -> T:
        """The field parsed by ``parse``, or ``default`` when absent or invalid (then a problem)."""
        value = self.values.get(name, "")
        if not value:
            return default
        try:
            return parse(value)
        except Invalid as exc:
            self.problems.append(f"form field '{name}' is invalid (got '{value}', resulting to {exc})")
            return default

    def text(self, name: str, default: str = "") -> str:
        return self.values.get(name, "") or default

    def required(self, name: str) -> str:
        value = self.values.get(name, "")
        if not value:
            self.problems.append(f"form field '{name}' is required")
        return value

    def file(self, filename: str) -> UploadedFile | None:
        return self.files.get(filename)

    def required_file(self, filename: str) -> UploadedFile | None:
        found = self.files.get(filename)
        if found is None:
            self.problems.append(f"form file '{filename}' is required")
        return found

    def files_with(self, extensions: Sequence[str], *, required: bool = True) -> list[UploadedFile]:
        """The files whose names end with one of ``extensions`` (any case), sorted by name as
        Gotenberg sorts them."""
        found = [self.files[name] for name in sorted(self.files) if name.lower().endswith(tuple(extensions))]
        if required and not found:
            self.problems.append(f"no form file found for extensions: [{' '.join(extensions)}]")
        return found

    def refuse(self, name: str, why: str) -> None:
        """A field this server cannot honour: a problem naming it."""
        self.problems.append(f"form field '{name}' is not supported by this server: {why}")

    def validate(self) -> None:
        """Raise every problem found so far as one 400."""
        if self.problems:
            raise GotenbergError(400, "Invalid form data: " + "; ".join(self.problems))
