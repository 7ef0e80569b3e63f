"""Prometheus metrics: this process's own, in a registry of the app's own (several apps may live in one
process), and the cluster's, read from the shared database at each scrape (:func:`cluster_metrics`).

Claim latency is a summary over a recent window, not a histogram: a histogram's buckets are counters
that only grow, which only a process counting its own claims can keep (and an API-only node claims
none), while the database, which every node reads alike, gives the claims of the last
``CLAIM_WINDOW`` seconds; quantiles over a sliding window are what summaries report. Every node then
shows the same cluster figures: take one node's, or ``max`` across nodes, never the ``sum``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from conversio_server.fleet import CLAIM_WINDOW, Census

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


#: The claim latency's quantiles shown.
CLAIM_QUANTILES = (0.5, 0.9, 0.99)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of the sorted ``values`` (nearest rank; NaN when there are none)."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


class _Cluster:
    """The census as metric families (a collector of one scrape)."""

    def __init__(self, census: Census) -> None:
        self.census = census

    def collect(self) -> Iterator[Metric]:
        census = self.census
        yield GaugeMetricFamily("conversio_jobs_queued", "Jobs waiting for a worker.", census.queued)
        yield GaugeMetricFamily(
            "conversio_jobs_processing", "Jobs running now (on every host).", census.processing
        )
        by_host = (
            ("conversio_job_workers", "Live job workers, by host.", "workers"),
            ("conversio_job_workers_draining", "Job workers draining (stopping), by host.", "draining"),
            ("conversio_jobs_running", "Jobs the live workers run, by host.", "running"),
        )
        for name, text, field in by_host:
            family = GaugeMetricFamily(name, text, labels=["host"])
            for host, load in sorted(census.hosts.items()):
                family.add_metric([host], getattr(load, field))
            yield family
        latency = Metric(
            "conversio_job_claim_latency_seconds",
            f"From a job's submission to its first claim: quantiles over the jobs first claimed in the "
            f"last {CLAIM_WINDOW:g} s.",
            "summary",
        )
        for q in CLAIM_QUANTILES:
            latency.add_sample(latency.name, {"quantile": f"{q:g}"}, quantile(census.waits, q))
        yield latency
        yield GaugeMetricFamily(
            "conversio_jobs_claimed_recently",
            f"Jobs first claimed in the last {CLAIM_WINDOW:g} s (the claim latency's sample).",
            census.claimed,
        )


def cluster_metrics(census: Census) -> bytes:
    """The text exposition of ``census``."""
    return generate_latest(_Cluster(census))
