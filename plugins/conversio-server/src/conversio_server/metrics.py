"""Prometheus metrics, in a registry of the app's own (several apps may live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


class Metrics:
    """What ``/metrics`` shows: conversions by format pair and outcome, their duration, errors by
    code, bytes in and out, conversions running and waiting."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.conversions = Counter(
            "conversio_conversions",
            "Conversions by source format, target format and outcome (ok or an error code).",
            ["source", "target", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "conversio_conversion_duration_seconds",
            "How long conversions took, by source and target format.",
            ["source", "target"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "conversio_http_errors", "Error responses by error code.", ["code"], registry=self.registry
        )
        self.bytes_in = Counter(
            "conversio_bytes_in",
            "Bytes received as input files (uploads, URLs, base64).",
            registry=self.registry,
        )
        self.bytes_out = Counter(
            "conversio_bytes_out",
            "Bytes of files sent to clients (results and downloads).",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "conversio_conversions_in_flight", "Conversions running now.", registry=self.registry
        )
        self.queued = Gauge(
            "conversio_conversions_queued", "Conversions waiting for a free worker.", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
