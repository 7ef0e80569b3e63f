"""The client's retries, on scripted answers (httpx.MockTransport): what is retried, how long it waits."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conversio.client import (
    AsyncClient,
    BadRequest,
    Client,
    NotFound,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Url,
)
from conversio.client.retry import parse_retry_after

ERROR = {"error": {"code": "SERVICE_UNAVAILABLE", "message": "busy", "details": {}, "requestId": "req-1"}}


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    """A handler answering ``answers`` in turn (an exception is raised as a broken connection)."""
    seen: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], slept: list[float], **policy: float
) -> Client:
    return Client(
        "http://conversio.test",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=slept.append,
    )


def test_a_503_with_retry_after_is_waited_out_then_succeeds() -> None:
    handler, seen = scripted(
        httpx.Response(503, json=ERROR, headers={"Retry-After": "3"}),
        httpx.Response(429, json=ERROR, headers={"Retry-After": "1"}),
        httpx.Response(200, json={"jobs": []}),
    )
    slept: list[float] = []
    with client_for(handler, slept) as client:
        assert client.list_jobs() == []
    assert slept == [3.0, 1.0] and len(seen) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_4xx_are_never_retried(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json=ERROR))
    slept: list[float] = []
    with client_for(handler, slept) as client, pytest.raises(Exception) as raised:
        client.get_job("job_1")
    assert len(seen) == 1 and slept == []
    assert getattr(raised.value, "status", None) == status


def test_the_attempts_are_capped_and_the_last_error_raised() -> None:
    handler, seen = scripted(*[httpx.Response(500, text="oops") for _ in range(3)])
    slept: list[float] = []
    with client_for(handler, slept, attempts=3, base=0.5) as client, pytest.raises(ServerError) as raised:
        client.get_job("job_1")
    assert len(seen) == 3 and len(slept) == 2
    assert raised.value.status == 500 and raised.value.code == "HTTP_500" and "oops" in raised.value.message
    assert 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0  # full jitter under base * 2**n


def test_the_total_wait_is_bounded() -> None:
    handler, seen = scripted(
        *[httpx.Response(503, json=ERROR, headers={"Retry-After": "50"}) for _ in range(5)]
    )
    slept: list[float] = []
    with (
        client_for(handler, slept, attempts=5, max_total_wait=120) as client,
        pytest.raises(ServiceUnavailable),
    ):
        client.get_job("job_1")
    assert slept == [50.0, 50.0] and len(seen) == 3


def test_broken_connections_are_retried_only_when_safe() -> None:
    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200, json={"jobs": []}))
    slept: list[float] = []
    with client_for(handler, slept) as client:
        assert client.list_jobs() == []  # a GET
    assert len(seen) == 2

    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200, json={}))
    with client_for(handler, slept) as client, pytest.raises(TransportError):
        client.convert(("a.png", b"x"), "jpg")  # a POST without an Idempotency-Key
    assert len(seen) == 1


def test_a_job_submission_carries_an_idempotency_key_and_is_retried_with_the_same_one() -> None:
    keys: list[str | None] = []
    answers = [httpx.ConnectError("reset"), httpx.Response(202, json={"jobId": "job_1"})]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/jobs":
            keys.append(request.headers.get("Idempotency-Key"))
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return httpx.Response(200, json={"jobId": "job_1", "status": "queued"})

    slept: list[float] = []
    with client_for(handler, slept) as client:
        job = client.create_job(Url("https://example.com/a.png"), "jpg")
    assert job.id == "job_1"
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]


def test_an_upload_is_sent_whole_again_on_a_retry(tmp_path: Path) -> None:
    bodies: list[bytes] = []
    answers = [httpx.Response(503, json=ERROR, headers={"Retry-After": "0"}), None]

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        answer = answers.pop(0)
        if answer is not None:
            return answer
        return httpx.Response(
            201,
            json={"files": [{"id": "f1", "name": "a.bin", "format": "bin", "size": 3, "sha256": ""}]},
        )

    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    slept: list[float] = []
    with client_for(handler, slept) as client:
        stored = client.upload(path)
    assert stored.id == "f1" and len(bodies) == 2
    assert all(b'filename="a.bin"' in body and b"\r\n\r\nabc\r\n" in body for body in bodies)


def test_error_bodies_that_are_not_the_contract_still_give_typed_errors() -> None:
    handler, _ = scripted(httpx.Response(404, text="<html>nope</html>", headers={"X-Request-Id": "r-9"}))
    with client_for(handler, []) as client, pytest.raises(NotFound) as raised:
        client.get_file("f")
    assert raised.value.request_id == "r-9" and raised.value.code == "HTTP_404"
    handler, _ = scripted(httpx.Response(400, json={"error": {"code": "INVALID_OPTION", "message": "dpi"}}))
    with client_for(handler, []) as client, pytest.raises(BadRequest) as bad:
        client.get_file("f")
    assert bad.value.code == "INVALID_OPTION" and bad.value.message == "dpi"


def test_retry_after_as_an_http_date_and_the_jitter_bounds() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(soon) or 0) <= 31
    assert parse_retry_after("garbage") is None and parse_retry_after("-5") == 0.0
    policy = RetryPolicy(base=1.0, cap=4.0)
    rng = random.Random(3)
    waits = [policy.delay(n, None, rng) for n in range(1, 8) for _ in range(50)]
    assert all(0 <= w <= 4.0 for w in waits) and max(waits) > 3.0
    assert policy.delay(1, 500.0) == policy.max_retry_after


def test_the_async_client_retries_alike() -> None:
    handler, seen = scripted(
        httpx.Response(503, json=ERROR, headers={"Retry-After": "2"}), httpx.Response(200, json={"jobs": []})
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> list[object]:
        async with AsyncClient(
            "http://conversio.test", transport=httpx.MockTransport(handler), sleep=sleep
        ) as client:
            return list(await client.list_jobs())

    assert asyncio.run(run()) == [] and slept == [2.0] and len(seen) == 2


def test_the_client_needs_no_server_dependencies_and_the_core_no_httpx() -> None:
    import subprocess
    import sys

    code = (
        "import sys, conversio; assert 'httpx' not in sys.modules, 'core imports httpx'\n"
        "import conversio.client\n"
        "heavy = {'fastapi', 'sqlalchemy', 'uvicorn', 'starlette', 'conversio_server'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
