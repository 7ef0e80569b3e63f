"""The JSON shapes of the native API (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from conversio_server.errors import ApiError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: What the document promises of a URL: http(s), a host (name, dotted IPv4 or bracketed IPv6), an
#: optional port, then printable characters. The server checks more (its URL policy) and accepts a
#: little more (spaces around base64 lines, say) than its document describes.
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*)"
URL_SCHEMA: JsonDict = {"pattern": rf"^https?://{_HOST}(?::[0-9]{{1,5}})?(?:[/?#][!-~]*)?$", "format": "uri"}
#: Standard base64 (the server also skips whitespace between lines).
BASE64_SCHEMA: JsonDict = {
    "pattern": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    "contentEncoding": "base64",
}


#: ``InputRef``'s rule in its schema: exactly one of the three is a string.
_ONE_SOURCE: JsonDict = {
    "oneOf": [
        {"required": [name], "properties": {name: {"type": "string"}}} for name in ("fileId", "url", "base64")
    ]
}


class InputRef(_Strict):
    """One input: exactly one of a stored file's id, a URL, or the content in base64."""

    model_config = ConfigDict(json_schema_extra=_ONE_SOURCE)

    fileId: str | None = Field(None, description="Id of an uploaded file or a stored result.")
    url: str | None = Field(
        None,
        description="http(s) URL to fetch; a URL of this server's stored file is used without download.",
        json_schema_extra=URL_SCHEMA,
    )
    base64: str | None = Field(
        None, description="The file's content, base64 encoded.", json_schema_extra=BASE64_SCHEMA
    )
    name: str | None = Field(None, max_length=255, description="File name (for base64 content).")

    @model_validator(mode="after")
    def _exactly_one(self) -> InputRef:
        given = [k for k in ("fileId", "url", "base64") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of fileId, url or base64")
        return self


class StepSpec(_Strict):
    """A step of a chain: an operation (``merge``, ``encrypt``…) or a conversion to a format."""

    step: str = Field(..., min_length=1, max_length=64)
    options: dict[str, Any] = Field(default_factory=dict)
    via: list[str] = Field(default_factory=list, max_length=8)


#: A step of ``then`` in the document: a name, or a step object.
STEP_SCHEMA: JsonDict = {
    "anyOf": [{"type": "string", "pattern": r"\S"}, {"$ref": "#/components/schemas/StepSpec"}]
}
#: A request names its target, or its steps (then ``via`` and ``options``, which are the target's, stay
#: empty), or both.
TARGET_OR_STEPS: JsonDict = {
    "anyOf": [
        {"required": ["outputFormat"], "properties": {"outputFormat": {"type": "string"}}},
        {
            "required": ["then"],
            "properties": {
                "then": {"type": "array", "minItems": 1},
                "via": {"maxItems": 0},
                "options": {"maxProperties": 0},
            },
        },
    ]
}
#: A step's name as ``then`` takes it: not blank.
StepName = Annotated[str, Field(min_length=1, pattern=r"\S")]

THEN_DESCRIPTION = (
    "Steps applied in order after the conversion to `outputFormat`: each is an operation name "
    '(`"merge"`), a format to convert to (`"zip"`), or an object '
    '`{"step": "encrypt", "options": {"user_password": "x"}, "via": []}`. '
    'Example: `["merge", {"step": "encrypt", "options": {"user_password": "secret"}}]`.'
)


class ConvertRequest(_Strict):
    """``POST /v1/convert`` with a JSON body."""

    model_config = ConfigDict(json_schema_extra=TARGET_OR_STEPS)

    inputs: list[InputRef] = Field(..., min_length=1, max_length=1000)
    outputFormat: str | None = Field(
        None, max_length=32, description="Target format; may be left out when `then` gives the steps."
    )
    via: list[str] = Field(default_factory=list, max_length=8, description="Formats to pass through.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options of the conversion.")
    then: list[StepName | StepSpec] = Field(default_factory=list, max_length=32, description=THEN_DESCRIPTION)
    store: bool = Field(False, description="Keep the results and answer JSON with their URLs.")


def parse_then(value: object) -> list[StepSpec]:
    """The chain from JSON (a list of names or step objects), as step objects."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError("INVALID_REQUEST", "'then' must be a list of steps", details={"then": value})
    steps = []
    for item in value:
        if isinstance(item, StepSpec):
            steps.append(item)
        elif isinstance(item, str) and item.strip():
            steps.append(StepSpec(step=item.strip()))
        elif isinstance(item, dict):
            try:
                steps.append(StepSpec.model_validate(item))
            except ValueError as exc:
                raise ApiError(
                    "INVALID_REQUEST", f"invalid step in 'then': {exc}", details={"step": item}
                ) from None
        else:
            raise ApiError(
                "INVALID_REQUEST", "each step of 'then' is a name or an object", details={"step": item}
            )
    return steps


class StoredFile(BaseModel):
    id: str
    name: str
    format: str
    size: int
    sha256: str
    createdAt: str
    expiresAt: str | None
    url: str = Field(..., description="Metadata of the file (this server, with a key).")
    contentUrl: str = Field(..., description="The content (with a key).")
    downloadUrl: str = Field(..., description="The content, by a signed link that expires (no key needed).")


class StoredFiles(BaseModel):
    files: list[StoredFile]


class FileList(BaseModel):
    files: list[StoredFile] = Field(..., description="Newest first.")


class Target(BaseModel):
    name: str
    kind: str = Field(..., description="document, spreadsheet, image, audio, video, archive, text…")
    description: str


class Targets(BaseModel):
    format: str = Field(..., description="The source format (its canonical name).")
    targets: list[Target] = Field(..., description="Every format some route leads to, by name.")


class Me(BaseModel):
    dev: bool = Field(..., description="Development mode: no API keys.")
    name: str = Field(..., description="The key's name.")
    tier: str = Field(..., description="The key's tier.")
    scopes: list[str]


class ConvertResult(BaseModel):
    files: list[StoredFile]
    steps: list[str]
    warnings: list[str]


JobStatusName = Literal["queued", "processing", "completed", "failed", "cancelled"]


class OutputTarget(_Strict):
    """Where a job's results go besides this server's store: each is PUT to ``url`` (a pre-signed URL)."""

    url: str = Field(
        ...,
        max_length=4096,
        description="Pre-signed URL each result is PUT to.",
        json_schema_extra=URL_SCHEMA,
    )


class JobRequest(_Strict):
    """``POST /v1/jobs`` (and each entry of ``POST /v1/batch``'s ``jobs``)."""

    model_config = ConfigDict(json_schema_extra=TARGET_OR_STEPS)

    inputs: list[InputRef] = Field(..., min_length=1, max_length=1000)
    outputFormat: str | None = Field(None, max_length=32)
    via: list[str] = Field(default_factory=list, max_length=8)
    options: dict[str, Any] = Field(default_factory=dict)
    then: list[StepName | StepSpec] = Field(default_factory=list, max_length=32, description=THEN_DESCRIPTION)
    webhook: str | None = Field(
        None, max_length=4096, description="URL the job's events are POSTed to.", json_schema_extra=URL_SCHEMA
    )
    tag: str | None = Field(None, max_length=200, description="Free text to find the job by (`?tag=`).")
    output: OutputTarget | None = Field(None, description="Also PUT each result to this pre-signed URL.")


class JobAccepted(BaseModel):
    """The 202 answer of ``POST /v1/jobs``."""

    jobId: str
    status: JobStatusName
    estimatedDuration: float | None = Field(None, description="Seconds the job is expected to take.")
    createdAt: str
    url: str


class JobStep(BaseModel):
    index: int
    converter: str
    status: Literal["running", "completed", "cached", "failed"]
    artifacts: list[str] = Field(default_factory=list, description="Ids of the stored results of the step.")


class JobOutput(StoredFile):
    deliveredTo: str | None = Field(None, description="The URL the result was PUT to (output.url).")


class JobError(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class JobView(BaseModel):
    jobId: str
    status: JobStatusName
    progress: float = Field(..., description="Percent done, 0 to 100.")
    eta: float | None = Field(None, description="Seconds left, when known.")
    step: str = Field("", description="The running step.")
    steps: list[JobStep] = Field(default_factory=list)
    outputs: list[JobOutput] = Field(default_factory=list)
    files: list[StoredFile] = Field(default_factory=list, description="Same as outputs (older name).")
    warnings: list[str] = Field(default_factory=list)
    error: JobError | None = None
    tag: str | None = None
    batchId: str | None = None
    attempts: int = 0
    createdAt: str
    startedAt: str | None = None
    finishedAt: str | None = None
    updatedAt: str
    url: str


class JobList(BaseModel):
    jobs: list[JobView]


class BatchRequest(_Strict):
    """``POST /v1/batch``."""

    jobs: list[JobRequest] = Field(..., min_length=1, max_length=1000)
    webhook: str | None = Field(None, max_length=4096, json_schema_extra=URL_SCHEMA)
    callbackMode: Literal["job", "batch", "both"] = Field(
        "both", description="Events sent to `webhook`: each job's, `batch.completed` only, or both."
    )
    tag: str | None = Field(None, max_length=200)


class BatchJobRef(BaseModel):
    jobId: str
    status: JobStatusName


class BatchAccepted(BaseModel):
    batchId: str
    jobCount: int
    status: Literal["queued", "processing", "completed"]
    jobs: list[BatchJobRef]
    createdAt: str
    url: str


class BatchView(BatchAccepted):
    counts: dict[str, int] = Field(..., description="Jobs by status (queued, processing, completed, …).")
    finishedAt: str | None = None


class WebhookDeliveries(BaseModel):
    deliveries: list[dict[str, Any]]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]
    requestId: str


class ErrorBody(BaseModel):
    error: ErrorDetail
