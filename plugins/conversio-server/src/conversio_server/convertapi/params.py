"""ConvertAPI request parameters, read from the query string and a form, multipart or JSON body.

ConvertAPI clients send the same parameters three ways:

- ``application/x-www-form-urlencoded``: ``File=<id or url>``, ``Files[0]=…``, ``StoreFile=true`` (what the
  official Python client sends);
- ``multipart/form-data``: the same fields, and file parts named ``File``, ``Files`` or ``Files[i]``;
- ``application/json``: ``{"Parameters": [{"Name": "File", "FileValue": {"Id" | "Url" | "Name"+"Data"}},
  {"Name": "Files", "FileValues": [...]}, {"Name": "StoreFile", "Value": true}]}``.

Names are case-insensitive. The query string adds parameters too (the body wins), except the
credentials ``Secret`` and ``Token``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import attrs
from starlette.requests import Request

from conversio_server.body_memory import read_in_memory
from conversio_server.convertapi.errors import ConvertApiError, invalid_parameter
from conversio_server.uploads import (
    MAX_FIELD_BYTES,
    Field,
    Scratch,
    UploadedFile,
    multipart_boundary,
    read_multipart,
)

#: Query parameters that carry credentials, never conversion parameters.
CREDENTIALS = frozenset({"secret", "token", "apikey"})

_INDEXED = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)\[(?P<index>\d{1,4})\]$")
_MAX_PARAMETERS = 1000


@attrs.frozen
class FileRef:
    """A file a parameter points at: a stored id, a URL, an uploaded part or base64 content."""

    id: str | None = None
    url: str | None = None
    upload: UploadedFile | None = None
    data: str | None = None
    name: str | None = None

    @classmethod
    def from_text(cls, text: str) -> FileRef:
        """A form value: a URL when it looks like one, else a file id."""
        value = text.strip()
        if value.lower().startswith(("http://", "https://")):
            return cls(url=value)
        return cls(id=value)


Value = str | bool | int | float | None | FileRef


@attrs.define
class Parameter:
    """One parameter as the client spelled its name, with its values in order."""

    name: str
    values: list[Value] = attrs.field(factory=list)
    indexed: dict[int, Value] = attrs.field(factory=dict)

    def all(self) -> list[Value]:
        """Plain values first, then ``Name[i]`` values by index."""
        return [*self.values, *(self.indexed[i] for i in sorted(self.indexed))]


def is_file_parameter(name: str) -> bool:
    """``File``, ``Files`` and any other name ending in ``File`` (but not ``StoreFile``)."""
    low = name.lower()
    return low == "files" or (low.endswith("file") and low != "storefile")


class Parameters:
    """The parameters of one request, looked up case-insensitively."""

    def __init__(self) -> None:
        self._params: dict[str, Parameter] = {}

    def add(self, name: str, value: Value) -> None:
        name = name.strip()
        match = _INDEXED.match(name)
        base = match.group("name") if match else name
        if not base:
            return
        param = self._params.get(base.lower())
        if param is None:
            if len(self._params) >= _MAX_PARAMETERS:
                raise ConvertApiError("INVALID_REQUEST", f"at most {_MAX_PARAMETERS} parameters per request")
            param = self._params[base.lower()] = Parameter(base)
        if match:
            param.indexed[int(match.group("index"))] = value
        else:
            param.values.append(value)

    def merge_missing(self, other: Parameters) -> None:
        """Take ``other``'s parameters this one does not have (the query string under the body)."""
        for key, param in other._params.items():
            self._params.setdefault(key, param)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._params

    def __iter__(self) -> Any:
        return iter(list(self._params.values()))

    def get(self, name: str) -> Parameter | None:
        return self._params.get(name.lower())

    def value(self, name: str) -> Value:
        """The single value of ``name`` (the last one given), or ``None``."""
        param = self.get(name)
        values = param.all() if param else []
        return values[-1] if values else None

    def text(self, name: str) -> str | None:
        value = self.value(name)
        if value is None:
            return None
        if isinstance(value, FileRef):
            raise invalid_parameter(self.spelling(name), "a file is not allowed here")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def flag(self, name: str, default: bool) -> bool:
        text = self.text(name)
        if text is None or not text.strip():
            return default
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise invalid_parameter(self.spelling(name), f"must be true or false, not {text!r}")

    def number(self, name: str, *, low: float, high: float) -> float | None:
        text = self.text(name)
        if text is None or not text.strip():
            return None
        try:
            number = float(text)
        except ValueError:
            raise invalid_parameter(self.spelling(name), f"must be a number, not {text!r}") from None
        if not low <= number <= high:
            raise invalid_parameter(self.spelling(name), f"must be between {low:g} and {high:g}")
        return number

    def files(self, name: str) -> list[FileRef]:
        """The files of parameter ``name``: plain and indexed values, text values read as ids or URLs."""
        param = self.get(name)
        refs: list[FileRef] = []
        for value in param.all() if param else []:
            if isinstance(value, FileRef):
                refs.append(value)
            elif isinstance(value, str) and value.strip():
                refs.append(FileRef.from_text(value))
            elif value is not None and value != "":
                raise invalid_parameter(param.name if param else name, "must be a file id, a URL or a file")
        return refs

    def spelling(self, name: str) -> str:
        """``name`` as the client spelled it."""
        param = self.get(name)
        return param.name if param else name


def from_pairs(pairs: Iterable[tuple[str, str]]) -> Parameters:
    params = Parameters()
    for name, value in pairs:
        if name.lower() not in CREDENTIALS:
            params.add(name, value)
    return params


async def read_parameters(
    request: Request, scratch: Scratch, *, max_file_bytes: int, max_files: int
) -> Parameters:
    """Every parameter of ``request``: its body's (form, multipart or JSON) over its query string's.

    Uploaded file parts are written to the scratch folder as they arrive (413 past ``max_file_bytes``).
    """
    boundary = multipart_boundary(request)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if boundary is not None:
        parts, _ = await read_multipart(
            request, boundary, scratch, max_file_bytes=max_file_bytes, max_files=max_files
        )
        params = Parameters()
        for part in parts:
            if isinstance(part, UploadedFile):
                params.add(part.name, FileRef(upload=part, name=part.filename))
            elif isinstance(part, Field):
                params.add(part.name, part.value)
    elif kind == "application/json" or kind.endswith("+json"):
        params = from_json(await read_in_memory(request, (max_file_bytes // 3 + 1) * 4 * 4 + MAX_FIELD_BYTES))
    elif kind in ("", "application/x-www-form-urlencoded"):
        raw = await read_in_memory(request, MAX_FIELD_BYTES)
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_PARAMETERS)
        except (UnicodeDecodeError, ValueError):
            raise ConvertApiError("INVALID_REQUEST", "the form body is not valid UTF-8 form data") from None
        params = from_pairs(pairs)
    else:
        raise ConvertApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            f"send application/x-www-form-urlencoded, multipart/form-data or application/json, not {kind!r}",
        )
    params.merge_missing(from_pairs(request.query_params.multi_items()))
    return params


def from_json(raw: bytes) -> Parameters:
    """``{"Parameters": [{"Name", "Value" | "FileValue" | "FileValues"}]}`` as parameters."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ConvertApiError("INVALID_REQUEST", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConvertApiError("INVALID_REQUEST", 'the JSON body must be an object: {"Parameters": [...]}')
    items = _key(data, "parameters")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise invalid_parameter("Parameters", "must be a list of {Name, Value} objects")
    params = Parameters()
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(_key(item, "name"), str) or not _key(item, "name"):
            raise invalid_parameter(f"Parameters[{position}]", "must be an object with a Name")
        name = str(_key(item, "name"))
        file_value, file_values = _key(item, "filevalue"), _key(item, "filevalues")
        if file_value is not None:
            params.add(name, _file_value(name, file_value))
        elif file_values is not None:
            if not isinstance(file_values, list):
                raise invalid_parameter(name, "FileValues must be a list")
            for value in file_values:
                params.add(name, _file_value(name, value))
        else:
            value = _key(item, "value")
            if isinstance(value, list):
                for element in value:
                    params.add(name, _scalar(name, element))
            else:
                params.add(name, _scalar(name, value))
    return params


def _key(data: dict[str, Any], lower: str) -> Any:
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == lower:
            return value
    return None


def _scalar(name: str, value: Any) -> Value:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise invalid_parameter(name, "must be a string, a number or a boolean")


def _file_value(name: str, value: Any) -> FileRef:
    if isinstance(value, str):
        return FileRef.from_text(value)
    if not isinstance(value, dict):
        raise invalid_parameter(name, "a FileValue is an object with Id, Url, or Name and Data")
    file_id, url, data, filename = (_key(value, k) for k in ("id", "url", "data", "name"))
    given = [v for v in (file_id, url, data) if v is not None]
    if len(given) != 1 or not all(isinstance(v, str) and v for v in given):
        raise invalid_parameter(name, "a FileValue needs exactly one of Id, Url or Data (with Name)")
    if filename is not None and not isinstance(filename, str):
        raise invalid_parameter(name, "a FileValue's Name must be a string")
    return FileRef(id=file_id, url=url, data=data, name=filename)
