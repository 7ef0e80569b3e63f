"""``require(scope)`` on a tiny FastAPI app: keys, scopes, rate limits, concurrency, quotas.

Most tests drive the app in process (ASGI); one serves it with a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from conversio_server.auth import (
    CONVERTAPI_QUERY_NAMES,
    LOCAL_PRINCIPAL,
    AuthConfig,
    Guard,
    Principal,
    guard_of,
    rate_limit_headers,
    require,
)
from conversio_server.errors import ApiError
from conversio_server.tiers import DEFAULT_TIERS, Tier
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

SMALL = Tier(
    name="small", requests_per_minute=100, concurrent_jobs=2, max_file_bytes=1000, monthly_conversions=3
)
TIERS = {**DEFAULT_TIERS, "small": SMALL}

Reader = Annotated[Principal, Depends(require("read"))]
Converter = Annotated[Principal, Depends(require("convert"))]
Admin = Annotated[Principal, Depends(require("admin"))]
CompatReader = Annotated[Principal, Depends(require("read", query_names=CONVERTAPI_QUERY_NAMES))]


def make_app(guard: Guard) -> FastAPI:
    app = FastAPI()
    app.state.guard = guard

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.get("/read")
    async def read(principal: Reader) -> dict[str, Any]:
        return {"key": principal.key_id, "tier": principal.tier.name, "upload": principal.upload_limit(10**9)}

    @app.get("/admin")
    async def admin(principal: Admin) -> dict[str, Any]:
        return {"key": principal.key_id}

    @app.get("/both")
    async def both(reader: Reader, converter: Converter) -> dict[str, Any]:
        return {"same": reader is converter}

    @app.get("/compat")
    async def compat(
        principal: CompatReader,
    ) -> str:
        return principal.key_id

    @app.get("/file")  # a route that builds its own response: it copies the headers itself
    async def file(request: Request, principal: Reader) -> PlainTextResponse:
        return PlainTextResponse("data", headers=rate_limit_headers(request))

    @app.post("/convert")
    async def convert(request: Request, principal: Converter) -> dict[str, Any]:
        guard = guard_of(request)
        guard.consume_conversions(principal)
        async with guard.job_slot(principal):
            gate: asyncio.Event | None = getattr(request.app.state, "gate", None)
            if gate is not None:
                await gate.wait()
        return {"used": guard.used_conversions(principal)}

    return app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.sqlite3'}"


@pytest.fixture
def guard(db_url: str) -> Iterator[Guard]:
    opened = Guard(AuthConfig(database_url=db_url, tiers=TIERS))
    yield opened
    opened.close()


def call(app: FastAPI, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            return await client.request(method, path, headers=headers, **kwargs)

    return asyncio.run(go())


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def test_no_key_or_a_bad_key_is_unauthorized(guard: Guard) -> None:
    app = make_app(guard)
    _, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {key}"},
        {"Authorization": key},
    ):
        response = call(app, "GET", "/read", headers=headers)
        assert response.status_code == 401 and code(response) == "UNAUTHORIZED", headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in (key[:-1] + ("x" if key[-1] != "x" else "y"), "cv_0000_secret", "sk_live_abc"):
        response = call(app, "GET", "/read", wrong)
        assert response.status_code == 401 and code(response) == "UNAUTHORIZED"
    assert call(app, "GET", "/read?Secret=" + key).status_code == 401  # native routes: header only


def test_a_valid_key_is_admitted_with_its_tier(guard: Guard) -> None:
    record, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    response = call(make_app(guard), "GET", "/read", key)
    assert response.status_code == 200
    assert response.json() == {"key": record.id, "tier": "free", "upload": 25_000_000}
    assert response.headers["X-RateLimit-Limit"] == "10" and response.headers["X-RateLimit-Remaining"] == "9"
    assert int(response.headers["X-RateLimit-Reset"]) >= time.time() + 55


def test_authentication_uses_a_constant_time_compare(guard: Guard, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    calls: list[int] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    app = make_app(guard)
    assert call(app, "GET", "/read", key).status_code == 200
    assert call(app, "GET", "/read", key[:-3] + "abc").status_code == 401
    assert calls == [64, 64]


def test_a_revoked_key_is_unauthorized_at_once(guard: Guard) -> None:
    record, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    app = make_app(guard)
    assert call(app, "GET", "/read", key).status_code == 200
    guard.store.revoke(record.id)  # type: ignore[union-attr]
    response = call(app, "GET", "/read", key)
    assert response.status_code == 401 and code(response) == "UNAUTHORIZED"


def test_a_missing_scope_is_forbidden(guard: Guard) -> None:
    _, key = guard.store.create("ci", "read,convert", "free")  # type: ignore[union-attr]
    response = call(make_app(guard), "GET", "/admin", key)
    assert response.status_code == 403 and code(response) == "FORBIDDEN"
    assert response.json()["error"]["details"] == {"requiredScope": "admin", "scopes": ["convert", "read"]}
    assert response.headers["X-RateLimit-Limit"] == "10"


def test_the_eleventh_request_in_a_minute_is_rate_limited(guard: Guard) -> None:
    _, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    _, other = guard.store.create("other", "read", "free")  # type: ignore[union-attr]
    app = make_app(guard)
    answers = [call(app, "GET", "/read", key) for _ in range(10)]
    assert [r.status_code for r in answers] == [200] * 10
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == [str(n) for n in range(9, -1, -1)]
    refused = call(app, "GET", "/read", key)
    assert refused.status_code == 429 and code(refused) == "RATE_LIMITED"
    assert 50 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "10" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) >= time.time() + 50
    assert call(app, "GET", "/read", other).status_code == 200  # limits are per key


def test_two_requirements_on_one_route_count_the_request_once(guard: Guard) -> None:
    _, key = guard.store.create("ci", "read,convert", "free")  # type: ignore[union-attr]
    response = call(make_app(guard), "GET", "/both", key)
    assert response.status_code == 200 and response.json() == {"same": True}
    assert response.headers["X-RateLimit-Remaining"] == "9"
    assert require("read") is require("read")
    with pytest.raises(ValueError):
        require("root")


def test_convertapi_routes_also_take_the_key_from_the_query(guard: Guard) -> None:
    record, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    app = make_app(guard)
    for name in ("Secret", "Token", "secret"):
        response = call(app, "GET", f"/compat?{name}={key}")
        assert response.status_code == 200 and response.json() == record.id
    assert call(app, "GET", "/compat?Other=" + key).status_code == 401


def test_routes_that_build_their_own_response_copy_the_headers(guard: Guard) -> None:
    _, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    response = call(make_app(guard), "GET", "/file", key)
    assert response.text == "data" and response.headers["X-RateLimit-Remaining"] == "9"


def test_concurrent_jobs_beyond_the_tier_are_refused(guard: Guard) -> None:
    _, key = guard.store.create("ci", "convert", "small")  # type: ignore[union-attr]
    app = make_app(guard)

    async def scenario() -> list[httpx.Response]:
        app.state.gate = asyncio.Event()
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            running = [asyncio.create_task(client.post("/convert", headers=headers)) for _ in range(2)]
            while guard.gate.running(guard.store.authenticate(key).id) < 2:  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
            third = await client.post("/convert", headers=headers)
            app.state.gate.set()
            return [third, *await asyncio.gather(*running)]

    third, *done = asyncio.run(scenario())
    assert third.status_code == 429 and code(third) == "RATE_LIMITED" and "Retry-After" in third.headers
    assert [r.status_code for r in done] == [200, 200]


def test_an_exhausted_quota_is_forbidden_and_survives_a_restart(guard: Guard, db_url: str) -> None:
    _, key = guard.store.create("ci", "convert", "small")  # type: ignore[union-attr]
    app = make_app(guard)
    assert [call(app, "POST", "/convert", key).json()["used"] for _ in range(3)] == [1, 2, 3]
    refused = call(app, "POST", "/convert", key)
    assert refused.status_code == 403 and code(refused) == "QUOTA_EXCEEDED"
    assert refused.json()["error"]["details"]["limit"] == 3
    guard.close()

    restarted = Guard(AuthConfig(database_url=db_url, tiers=TIERS))
    try:
        again = call(make_app(restarted), "POST", "/convert", key)
        assert again.status_code == 403 and code(again) == "QUOTA_EXCEEDED"
    finally:
        restarted.close()


def test_a_key_of_an_unconfigured_tier_is_forbidden(guard: Guard, db_url: str) -> None:
    _, key = guard.store.create("ci", "read", "small")  # type: ignore[union-attr]
    other = Guard(AuthConfig(database_url=db_url))  # the default tiers: no "small"
    try:
        response = call(make_app(other), "GET", "/read", key)
    finally:
        other.close()
    assert response.status_code == 403 and "small" in response.json()["error"]["message"]


def test_development_mode_admits_everyone_as_the_local_principal(tmp_path: Path) -> None:
    dev = Guard(AuthConfig(database_url=f"sqlite:///{tmp_path / 'never' / 'x.sqlite3'}", dev=True))
    app = make_app(dev)
    response = call(app, "GET", "/admin")
    assert response.status_code == 200 and response.json() == {"key": "local"}
    assert "X-RateLimit-Limit" not in response.headers
    assert [call(app, "POST", "/convert").status_code for _ in range(30)] == [200] * 30
    assert dev.store is None and not (tmp_path / "never").exists()
    assert LOCAL_PRINCIPAL.scopes == {"read", "convert", "admin"} and LOCAL_PRINCIPAL.max_file_bytes is None


def test_against_a_real_uvicorn_server(guard: Guard) -> None:
    _, key = guard.store.create("ci", "read", "free")  # type: ignore[union-attr]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(guard), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/read").status_code == 401
            statuses = [client.get("/read", headers={"Authorization": f"Bearer {key}"}) for _ in range(11)]
            assert [r.status_code for r in statuses] == [200] * 10 + [429]
            assert statuses[0].headers["X-RateLimit-Remaining"] == "9"
            assert (
                statuses[-1].headers["Retry-After"] and statuses[-1].json()["error"]["code"] == "RATE_LIMITED"
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
