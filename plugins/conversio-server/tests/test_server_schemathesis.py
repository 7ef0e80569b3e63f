"""The OpenAPI document against the live server: complete and valid, every generated request's
response conforms to it (status code, content type, body schema), never a 5xx, and a request the
document calls valid is never refused as malformed."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from conftest import LiveServer, needs
from openapi_spec_validator import validate
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

#: Examples per operation: about 300 requests in all, well under a minute on a busy machine.
EXAMPLES = 12

SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: Operations where every schema-valid request must be accepted (2xx, or 401/403/404/409/429): their
#: parameters are ids and names, which the schema describes completely. Elsewhere a schema-valid request
#: can still carry an empty or corrupt file, or a format pair no route connects: a 400 or 422 is the
#: right answer there, but never one saying the request itself is malformed (:func:`well_formed`).
ACCEPTS_EVERY_VALID_REQUEST = {
    "GET /v1/files/{file_id}",
    "DELETE /v1/files/{file_id}",
    "GET /v1/files/{file_id}/content",
    "GET /v1/jobs",
    "GET /v1/jobs/{job_id}",
    "DELETE /v1/jobs/{job_id}",
    "POST /v1/jobs/{job_id}/retry",
    "GET /v1/jobs/{job_id}/webhooks",
    "GET /v1/jobs/{job_id}/events",
    "GET /v1/batch/{batch_id}",
    "GET /v1/formats",
    "GET /d/{file_id}/{name}",
    "GET /d/{file_id}",
    "DELETE /d/{file_id}",
    "GET /user",
    "GET /healthz",
    "GET /metrics",
}


@pytest.fixture(scope="module")
def document(live: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{live.url}/openapi.json", timeout=60)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: not a reference inside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # the OpenAPI 3.1 schema, every $ref resolved


def test_formats_are_named_from_the_servers_list(document: dict[str, Any]) -> None:
    names = document["components"]["schemas"]["FormatName"]["enum"]
    assert {"png", "jpg", "pdf", "zip"} <= set(names)
    name = {"$ref": "#/components/schemas/FormatName"}
    route = {p["name"]: p["schema"] for p in document["paths"]["/v1/route"]["get"]["parameters"]}
    assert route["from"] == route["to"] == name
    for model in ("ConvertRequest", "JobRequest"):
        properties = document["components"]["schemas"][model]["properties"]
        assert name in properties["outputFormat"]["anyOf"] and properties["via"]["items"] == name
        assert {"$ref": "#/components/schemas/StepName"} in properties["then"]["items"]["anyOf"]
    assert {"merge", "zip"} <= set(document["components"]["schemas"]["StepName"]["enum"])


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    found = set(refs(document))
    assert "#/components/schemas/ConvertRequest" in found and len(found) > 20
    for ref in found:
        resolve(document, ref)
    assert "HTTPValidationError" not in document["components"]["schemas"]  # never answered


def test_every_error_is_declared_with_its_api_body(document: dict[str, Any]) -> None:
    for label, operation in operations(document):
        responses = operation["responses"]
        native = label.split()[1].startswith("/v1/")
        convertapi = "convertapi" in operation.get("tags", ())
        if native or convertapi:
            assert {"401", "403", "429"} <= set(responses), label
        if "requestBody" in operation:
            assert {"400", "408", "413", "503"} <= set(responses), label
        want = "ConvertApiErrorBody" if convertapi else "ErrorBody"
        for status, response in responses.items():
            assert response.get("description"), f"{label} {status}"
            if status.startswith(("4", "5")) and label != "GET /readyz":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{want}"}, f"{label} {status}"
    stores = ["POST /v1/convert", "POST /v1/files", "POST /convert/{source}/to/{target}", "POST /upload"]
    by_label = dict(operations(document))
    for label in stores:
        assert "507" in by_label[label]["responses"], label
    for label in ("POST /v1/convert", "POST /convert/{source}/to/{target}"):
        assert "415" in by_label[label]["responses"], label
    assert "409" in by_label["POST /v1/jobs"]["responses"]  # an Idempotency-Key reused
    handed_off = by_label["POST /v1/convert"]["responses"]["202"]["content"]["application/json"]
    assert "jobId" in handed_off["schema"]["required"]  # the job to poll
    assert "503" in by_label["GET /readyz"]["responses"]
    download = by_label["GET /d/{file_id}/{name}"]["responses"]["200"]["content"]
    assert set(download) == {"*/*"}  # a stored file comes with its own media type


#: Why a URL may not be fetched, or failed to be: the world's answer, not the request's shape.
_FETCHING = ("URL_NOT_ALLOWED", "URL_UNREACHABLE", "URL_TIMEOUT", "URL_STATUS", "TOO_MANY_REDIRECTS")
#: The URL refusals the document rules out (what is left is the URL policy: addresses, ports).
_MALFORMED_URL = ("not a valid URL", "the scheme", "credentials", "has no host", "zone", "numeric host")


@schemathesis.check
def well_formed(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """A request the document calls valid is not refused as malformed: no ``INVALID_REQUEST``
    (ConvertAPI: parameter validation error) and no unknown format, except where a URL could not be
    fetched or the URL policy keeps its address or port out, which the document cannot know."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message, details = error.get("code"), str(error.get("message")), error.get("details") or {}
    elif isinstance(body, dict) and "Code" in body:
        code, message, details = str(body["Code"]), str(body.get("Message")), body
    else:
        return None
    reason, why = str(details.get("reason", "")), str(details.get("why", ""))
    fetching = reason in _FETCHING and not (reason == "URL_NOT_ALLOWED" and why.startswith(_MALFORMED_URL))
    malformed = code in ("INVALID_REQUEST", "4000") or message.startswith("unknown format")
    if malformed and not fetching:
        raise AssertionError(f"a valid request was refused as malformed: {code} {message[:160]}")
    return None


def test_generated_requests_get_conforming_responses(live: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    checked: list[str] = []
    failures: dict[str, set[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        checked.append(label)
        accepted = [positive_data_acceptance] if label in ACCEPTS_EVERY_VALID_REQUEST else [well_formed]
        checks = CONFORMANCE + accepted
        run(operation, checks, failures.setdefault(label, set()))
    shown = {label: sorted(found)[:3] for label, found in failures.items() if found}
    assert not shown, shown
    assert len(checked) >= 25 and "POST /convert/{source}/to/{target}" in checked


def run(operation: Any, checks: list[Callable[..., Any]], failures: set[str]) -> None:
    """``EXAMPLES`` generated requests of ``operation``; what fails a check is added to ``failures``."""

    @SETTINGS
    @hypothesis.given(case=operation.as_strategy())
    def conforms(case: schemathesis.Case) -> None:
        response = case.call(timeout=60)
        text = response.content[:200].decode("utf-8", "replace")
        shown = f"{case.method} {case.formatted_path} -> {response.status_code} {text}"
        if "x-request-id" not in {k.lower() for k in response.headers}:
            failures.add(f"no X-Request-Id: {shown}")
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # one check failed, or several
            first = " | ".join(line.strip() for line in str(exc).splitlines()[:4] if line.strip())
            failures.add(f"{first}: {shown}")

    conforms()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_real_requests_get_conforming_responses(live: LiveServer) -> None:
    """The success paths generated data rarely reaches, and the refusals a client meets first, each
    answered as the document says (status, content type, body)."""
    needs("image")
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    by_label = {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in schema.get_all_operations())}
    seen: list[str] = []

    def conforms(response: httpx.Response, label: str, status: int, **case: Any) -> httpx.Response:
        assert response.status_code == status, f"{label}: {response.status_code} {response.text[:300]}"
        by_label[label].Case(**case).validate_response(response, checks=CONFORMANCE)
        seen.append(label)
        return response

    with live.client() as http:
        raw = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": 'attachment; filename="a.png"',
        }
        stored = conforms(http.post("/v1/files", content=png(), headers=raw), "POST /v1/files", 201)
        file_id = stored.json()["files"][0]["id"]
        ids = {"path_parameters": {"file_id": file_id}}
        conforms(http.get(f"/v1/files/{file_id}"), "GET /v1/files/{file_id}", 200, **ids)
        content = conforms(
            http.get(f"/v1/files/{file_id}/content"), "GET /v1/files/{file_id}/content", 200, **ids
        )
        assert content.headers["content-type"].startswith("image/png")

        request = {"inputs": [{"fileId": file_id}], "outputFormat": "jpg"}
        jpeg = conforms(http.post("/v1/convert", json=request), "POST /v1/convert", 200)
        assert jpeg.headers["content-type"].startswith("image/jpeg")
        conforms(http.post("/v1/convert", json={**request, "store": True}), "POST /v1/convert", 200)
        plain = http.post("/v1/convert", content=b"x", headers={"Content-Type": "text/plain"})
        conforms(plain, "POST /v1/convert", 415)

        job = conforms(
            http.post("/v1/jobs", json=request, headers={"Idempotency-Key": "k1"}), "POST /v1/jobs", 202
        )
        job_id = job.json()["jobId"]
        reused = http.post(
            "/v1/jobs", json={**request, "outputFormat": "webp"}, headers={"Idempotency-Key": "k1"}
        )
        conforms(reused, "POST /v1/jobs", 409)
        job_ids = {"path_parameters": {"job_id": job_id}}
        conforms(http.get(f"/v1/jobs/{job_id}"), "GET /v1/jobs/{job_id}", 200, **job_ids)
        conforms(http.get(f"/v1/jobs/{job_id}/webhooks"), "GET /v1/jobs/{job_id}/webhooks", 200, **job_ids)
        conforms(http.get("/v1/jobs"), "GET /v1/jobs", 200)
        batch = conforms(http.post("/v1/batch", json={"jobs": [request]}), "POST /v1/batch", 202)
        batch_id = batch.json()["batchId"]
        conforms(
            http.get(f"/v1/batch/{batch_id}"),
            "GET /v1/batch/{batch_id}",
            200,
            path_parameters={"batch_id": batch_id},
        )

        conforms(http.get("/v1/formats"), "GET /v1/formats", 200)
        conforms(
            http.get("/v1/converters", params={"from": "png"}),
            "GET /v1/converters",
            200,
            query={"from": "png"},
        )
        route = {"from": "png", "to": "jpg"}
        conforms(http.get("/v1/route", params=route), "GET /v1/route", 200, query=route)

        uploaded = conforms(http.post("/upload", content=png(), headers=raw), "POST /upload", 200)
        form = {"File": uploaded.json()["FileId"], "StoreFile": "true"}
        convert = "POST /convert/{source}/to/{target}"
        pair = {"path_parameters": {"source": "png", "target": "jpg"}}
        result = conforms(http.post("/convert/png/to/jpg", data=form), convert, 200, **pair)
        conforms(http.post("/convert/png/to/jpg", data={**form, "StoreFile": "false"}), convert, 200, **pair)
        conforms(
            http.post("/convert/png/to/jpg", content=b"x", headers={"Content-Type": "text/plain"}),
            convert,
            415,
            **pair,
        )
        (made,) = result.json()["Files"]
        named = {"path_parameters": {"file_id": made["FileId"], "name": made["FileName"]}}
        download = conforms(httpx.get(made["Url"], timeout=60), "GET /d/{file_id}/{name}", 200, **named)
        assert download.headers["content-type"].startswith("image/jpeg")
        gone = {"path_parameters": {"file_id": made["FileId"]}}
        conforms(http.delete(f"/d/{made['FileId']}"), "DELETE /d/{file_id}", 200, **gone)
        conforms(http.get(f"/d/{made['FileId']}"), "GET /d/{file_id}", 404, **gone)
        conforms(http.get("/user"), "GET /user", 200)

        conforms(http.delete(f"/v1/files/{file_id}"), "DELETE /v1/files/{file_id}", 204, **ids)
        for label in ("GET /healthz", "GET /readyz", "GET /metrics"):
            conforms(http.get(label.split()[1]), label, 200)
    assert len(set(seen)) >= 22
