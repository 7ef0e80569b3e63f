"""The OpenAPI document: the error responses routes declare, and what the app adds to every operation.

Routes declare the statuses their own code answers with :func:`errors`. :func:`complete` adds what the
layers around the routes answer on every route with a body (a slow or oversized body, the memory cap on
bodies in flight), declares a malformed parameter as the 400 of each API's own error body (not FastAPI's
422), and adds the JSON bodies the routes read themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from conversio_server.convertapi.models import ConvertApiErrorBody
from conversio_server.models import BatchRequest, ConvertRequest, ErrorBody, JobRequest

if TYPE_CHECKING:
    from conversio.api import Conversio

#: What each error status means, as the document says it.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request is invalid: a malformed body or parameter, an option or a format pair that cannot be.",
    401: "No key, an unknown or revoked one, or a bad signed link.",
    403: "The key lacks the scope, or its quota is used up.",
    404: "No such file, job, batch or converter, or not one of this key's.",
    408: "The client sent its request too slowly (see the server's read timeout).",
    409: "A conflict: this Idempotency-Key was used with another request body.",
    413: "A file or a request body over the size limit.",
    415: "A request body of a content type this route does not read.",
    422: "The input could not be converted (corrupt, empty, failed, timed out), or a parameter is malformed.",
    429: "Over the key's rate limit or job cap (see Retry-After).",
    503: "The server is saturated or not ready (see Retry-After).",
    507: "The server's disk or store is full; nothing was kept.",
}

#: What the layers before a route answer on every route that takes a request body.
BODY_STATUSES = (408, 413, 503)

#: The media type of a stored file's content: its own.
ANY_FILE = {"*/*": {"schema": {"type": "string", "format": "binary"}}}

_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
#: The schema of a format's name (one of the server's formats), and of a step's (a format or an
#: operation).
FORMAT_NAME, STEP_NAME = "FormatName", "StepName"


def errors(*statuses: int, model: type[BaseModel] = ErrorBody) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that answers ``statuses`` with ``model`` (the native error body)."""
    return {status: {"model": model, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def complete(app: FastAPI, conversio: Callable[[], Conversio]) -> None:
    """Make ``app.openapi()`` answer the complete document; where a format or a step is named, it
    lists those ``conversio()`` knows."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            document = generate()
            _add_request_bodies(document)
            schemas = document["components"]["schemas"]
            formats = [f.name for f in conversio().formats]
            operations = {c.operation for c in conversio().converters() if c.operation}
            schemas[FORMAT_NAME] = {"type": "string", "enum": sorted(formats)}
            schemas[STEP_NAME] = {"type": "string", "enum": sorted({*formats, *operations})}
            _name_formats(document)
            for operation in _operations(document):
                _complete_operation(operation)
                _hoist_definitions(operation, schemas)
            for name in _VALIDATION_SCHEMAS:
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_request_bodies(document: dict[str, Any]) -> None:
    """The JSON bodies the routes read themselves, where the routes' ``$ref`` entries point."""
    models: list[type[BaseModel]] = [ConvertRequest, JobRequest, BatchRequest, ErrorBody, ConvertApiErrorBody]
    _, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)


def _name_formats(document: dict[str, Any]) -> None:
    """Point every place that names a format (query ``from``/``to``/``via``, path ``format``,
    ``outputFormat``, ``via``) or a step (``then``, ``step``) at the server's lists."""
    for operation in _operations(document):
        for parameter in operation.get("parameters", ()):
            where, name = parameter["in"], parameter["name"]
            if (where == "query" and name in ("from", "to", "via")) or (where, name) == ("path", "format"):
                _named(parameter, "schema", FORMAT_NAME)
        for media in operation.get("requestBody", {}).get("content", {}).values():
            _name_fields(media.get("schema", {}))
    for model in ("ConvertRequest", "JobRequest", "StepSpec"):
        _name_fields(document["components"]["schemas"].get(model, {}))


def _name_fields(schema: dict[str, Any]) -> None:
    properties = schema.get("properties", {})
    for field, kind in (("outputFormat", FORMAT_NAME), ("via", FORMAT_NAME), ("then", STEP_NAME)):
        if field in properties:
            _named(properties, field, kind)
    if "step" in properties:
        _named(properties, "step", STEP_NAME)


def _named(holder: dict[str, Any], key: str, kind: str) -> None:
    """``holder[key]`` (a string, an optional one, or a list of either) is one of ``kind``."""
    name = {"$ref": f"#/components/schemas/{kind}"}
    schema = holder[key]
    if schema.get("type") == "array":
        _named(schema, "items", kind)
    elif "anyOf" in schema:
        schema["anyOf"] = [dict(name) if s.get("type") == "string" else s for s in schema["anyOf"]]
    else:
        holder[key] = {**{k: v for k, v in schema.items() if k in ("description", "default")}, **name}


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document.get("paths", {}).values() for op in item.values() if isinstance(op, dict)]


def _complete_operation(operation: dict[str, Any]) -> None:
    model = ConvertApiErrorBody if "convertapi" in operation.get("tags", ()) else ErrorBody
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    responses = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("$ref", "").rsplit("/", 1)[-1] in _VALIDATION_SCHEMAS:
            del responses[status]  # FastAPI's guess: a malformed parameter is a 400 here
            responses.setdefault("400", {"description": ERROR_DESCRIPTIONS[400], "content": body})
    if "requestBody" in operation:
        for status in BODY_STATUSES:
            responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status], "content": body})


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Move the ``$defs`` of schemas written inline (``Model.model_json_schema()``) to the components,
    where their references then point."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            schemas.setdefault(name, schema)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_definitions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_definitions(value, schemas)
