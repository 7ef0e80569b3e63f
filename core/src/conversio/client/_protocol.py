"""What the sync and async clients share: the wire shapes of requests and answers, without any I/O."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import unquote

import attrs

from conversio.client.errors import ApiError, ClientError, api_error
from conversio.client.models import FileId, Input, Job, StoredFile, Url
from conversio.client.retry import RetryPolicy, parse_retry_after

#: A step of a chain: an operation or format name, or ``{"step", "options", "via"}``.
Step = str | Mapping[str, Any]

_FILENAME = re.compile(r"""filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?""", re.IGNORECASE)


@attrs.frozen
class JobSpec:
    """One conversion to run as a job (``POST /v1/jobs``, or one entry of a batch)."""

    inputs: Sequence[Input]
    to: str | None = None
    via: Sequence[str] = ()
    then: Sequence[Step] = ()
    options: Mapping[str, Any] = attrs.field(factory=dict)
    tag: str | None = None
    output_url: str | None = None


def is_local(item: Input) -> bool:
    """Whether ``item`` is content to upload (a path, bytes or ``(name, bytes)``)."""
    return not isinstance(item, StoredFile | FileId | Url)


def reference(item: Input) -> dict[str, Any]:
    """The JSON input of something already reachable by the server (a stored file or a URL)."""
    if isinstance(item, StoredFile | FileId):
        return {"fileId": item.id}
    if isinstance(item, Url):
        return {"url": item.url, **({"name": item.name} if item.name else {})}
    raise ClientError("local files are uploaded first", code="INVALID_REQUEST")


def open_upload(item: Input, stack: ExitStack, name: str | None = None) -> tuple[str, IO[bytes] | bytes]:
    """``(filename, content)`` of a local input; a path is opened (and closed by ``stack``)."""
    if isinstance(item, bytes):
        return name or "file", item
    if isinstance(item, tuple):
        return name or item[0], item[1]
    if isinstance(item, str | os.PathLike):
        path = Path(item)
        return name or path.name, stack.enter_context(path.open("rb"))
    raise ClientError(f"not a local file: {item!r}", code="INVALID_REQUEST")


def convert_fields(
    to: str | None, via: Sequence[str], then: Sequence[Step], options: Mapping[str, Any], store: bool
) -> dict[str, Any]:
    """The members of a ``POST /v1/convert`` JSON body, besides ``inputs``."""
    fields: dict[str, Any] = {"store": store}
    if to:
        fields["outputFormat"] = to
    if via:
        fields["via"] = list(via)
    if then:
        fields["then"] = [dict(s) if isinstance(s, Mapping) else s for s in then]
    if options:
        fields["options"] = dict(options)
    return fields


def as_form(fields: Mapping[str, Any]) -> dict[str, str]:
    """The same members as the text fields of a multipart body."""
    form = {}
    for name, value in fields.items():
        if isinstance(value, bool):
            form[name] = "true" if value else "false"
        elif name == "via":
            form[name] = ",".join(value)
        else:
            form[name] = value if isinstance(value, str) else json.dumps(value)
    return form


def listed(inputs: Input | Sequence[Input]) -> list[Input]:
    """One input or several as a list (a ``(name, bytes)`` tuple is one input)."""
    if isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], bytes):
        return [inputs]  # type: ignore[list-item]
    if isinstance(inputs, list | tuple):
        return list(inputs)
    return [cast(Input, inputs)]


def job_body(spec: JobSpec, inputs: Sequence[dict[str, Any]], webhook: str | None = None) -> dict[str, Any]:
    """The JSON of one job (its inputs already references)."""
    body: dict[str, Any] = {"inputs": list(inputs)}
    if spec.to:
        body["outputFormat"] = spec.to
    if spec.via:
        body["via"] = list(spec.via)
    if spec.then:
        body["then"] = [dict(s) if isinstance(s, Mapping) else s for s in spec.then]
    if spec.options:
        body["options"] = dict(spec.options)
    if webhook:
        body["webhook"] = webhook
    if spec.tag:
        body["tag"] = spec.tag
    if spec.output_url:
        body["output"] = {"url": spec.output_url}
    return body


def job_id(job: Job | str) -> str:
    return job.id if isinstance(job, Job) else job


def file_id(file: StoredFile | FileId | str) -> str:
    return file if isinstance(file, str) else file.id


def filename(headers: Mapping[str, str], fallback: str) -> str:
    """The file name of a download (``Content-Disposition``), else ``fallback``."""
    match = _FILENAME.search(headers.get("content-disposition", ""))
    if not match:
        return fallback
    return Path(unquote(match.group(1)) if match.group(1) else match.group(2)).name or fallback


def failure(status: int, body: bytes, headers: Mapping[str, str]) -> ApiError:
    return api_error(status, body, headers, parse_retry_after(headers.get("retry-after")))


@attrs.define
class Attempts:
    """Counts the tries of one request and says how long to wait before the next one (``None``: stop)."""

    policy: RetryPolicy
    retry_on_disconnect: bool
    tried: int = 0
    waited: float = 0.0

    def after_answer(self, status: int, retry_after: float | None) -> float | None:
        self.tried += 1
        if not self.policy.retries_status(status):
            return None
        return self._next(retry_after)

    def after_disconnect(self) -> float | None:
        self.tried += 1
        return self._next(None) if self.retry_on_disconnect else None

    def _next(self, retry_after: float | None) -> float | None:
        if self.tried >= self.policy.attempts:
            return None
        wait = self.policy.delay(self.tried, retry_after)
        if self.waited + wait > self.policy.max_total_wait:
            return None
        self.waited += wait
        return wait


class EventParser:
    """Reads a server-sent event stream line by line: :meth:`feed` gives ``(event, data)`` at each end."""

    def __init__(self) -> None:
        self.event, self.data = "message", list[str]()

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            done = (self.event, "\n".join(self.data)) if self.data else None
            self.event, self.data = "message", []
            return done
        if not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                self.event = value
            elif field == "data":
                self.data.append(value)
        return None
