"""Property-based requests generated from /openapi.json against the live server: never a 5xx."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from conftest import LiveServer

pytestmark = pytest.mark.slow

SETTINGS = hypothesis.settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


def test_no_generated_request_produces_a_server_error(live: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        checked.append(f"{operation.method.upper()} {operation.path}")

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(timeout=60)
            shown = f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            assert response.status_code < 500, shown
            assert "x-request-id" in {k.lower() for k in response.headers}, shown

        no_server_error()
    assert "POST /v1/convert" in checked and "POST /v1/files" in checked and len(checked) >= 10
