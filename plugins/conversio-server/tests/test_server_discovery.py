"""Discovery, health, readiness and metrics."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from conftest import needs
from conversio_server.routes.operations import database_check
from server_samples import png_bytes


def test_formats_list_what_can_be_read_and_written(client: httpx.Client) -> None:
    formats = {f["name"]: f for f in client.get("/v1/formats").json()["formats"]}
    assert formats["png"]["readable"] and formats["png"]["writable"]
    assert "image/jpeg" in formats["jpg"]["mediaTypes"]


def test_converters_carry_their_option_schemas(client: httpx.Client) -> None:
    converters = client.get("/v1/converters", params={"from": "png", "to": "jpg"}).json()["converters"]
    spec = next(c for c in converters if c["id"] == "image.pillow:png->jpg")
    quality = next(o for o in spec["options"] if o["name"] == "quality")
    assert quality["type"] == "int" and quality["max"] == 100


def test_route_is_explained(client: httpx.Client) -> None:
    needs("office", "pdf", "archive")
    found = client.get("/v1/route", params={"from": "docx", "to": "zip", "via": "jpg"}).json()
    assert found["path"].startswith("docx → pdf → jpg")
    assert found["via"] == ["jpg"] and "chosen:" in found["explanation"]


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 60  # not ready until the job workers it starts are
    while (ready := client.get("/readyz")).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["store"]["ok"] and checks["engines"]["converters"] > 0
    assert checks["database"]["ok"] and checks["database"]["seconds"] < 5
    assert checks["jobWorkers"]["alive"] == checks["jobWorkers"]["configured"] > 0
    assert checks["conversionWorkers"]["ok"] and checks["conversionWorkers"]["size"] == 2


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


def test_metrics_count_conversions_errors_and_bytes(client: httpx.Client) -> None:
    before = client.get("/metrics").text
    for _ in range(2):
        ok = client.post(
            "/v1/convert", files={"file": ("m.png", png_bytes((9, 9)))}, data={"outputFormat": "gif"}
        )
        assert ok.status_code == 200
    bad = client.post(
        "/v1/convert", files={"file": ("m.png", png_bytes()[:50])}, data={"outputFormat": "gif"}
    )
    assert bad.status_code == 422
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    pair = {"source": "png", "target": "gif"}
    assert (
        _sample(text, "conversio_conversions_total", **pair, outcome="ok")
        - _sample(before, "conversio_conversions_total", **pair, outcome="ok")
        == 2
    )
    assert _sample(text, "conversio_conversions_total", **pair, outcome="CORRUPT_FILE") >= 1
    assert _sample(text, "conversio_conversion_duration_seconds_count", **pair) >= 2
    assert _sample(text, "conversio_http_errors_total", code="CORRUPT_FILE") >= 1
    assert _sample(text, "conversio_bytes_in_total") > _sample(before, "conversio_bytes_in_total")
    assert _sample(text, "conversio_bytes_out_total") > _sample(before, "conversio_bytes_out_total")
    assert "conversio_conversions_in_flight " in text and "conversio_conversions_queued " in text


def test_an_unreachable_database_fails_readiness_without_showing_its_url(tmp_path: Path) -> None:
    """A PostgreSQL URL whose socket folder holds no server: the check says so, naming no secret."""
    engine = sa.create_engine(f"postgresql+psycopg://conversio:s3cret@/jobs?host={tmp_path}")
    try:
        check = database_check(engine)
    finally:
        engine.dispose()
    assert check["ok"] is False and "s3cret" not in str(check) and str(tmp_path) not in str(check)
