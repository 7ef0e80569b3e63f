"""The webhook metrics of ``/metrics``: attempts by outcome, delivery latency, attempt duration, queue depth.

The metric names and labels are part of the documented interface; dispatchers report each
attempt through :meth:`WebhookMetrics.observe`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from conversio_server.outbox.records import Attempt, Claim, Outcome
from conversio_server.outbox.store import Outbox


class WebhookMetrics:
    """What ``/metrics`` shows about webhooks: attempts by outcome, delivery latency, queue depth."""

    def __init__(self, registry: CollectorRegistry, outbox: Outbox | None = None) -> None:
        self.deliveries = Counter(
            "conversio_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), "
            "failed (given up) or disabled (the endpoint answered 410 Gone).",
            ["outcome"],
            registry=registry,
        )
        for outcome in Outcome:
            self.deliveries.labels(outcome.value)
        self.latency = Histogram(
            "conversio_webhook_delivery_latency_seconds",
            "From an event's creation to its successful delivery, retries included.",
            buckets=(0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 30.0, 120.0, 600.0, 3600.0, 6 * 3600.0, 86400.0),
            registry=registry,
        )
        self.attempt_duration = Histogram(
            "conversio_webhook_attempt_duration_seconds",
            "How long one delivery attempt (the HTTP request) took.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=registry,
        )
        self.queue_depth = Gauge(
            "conversio_webhook_queue_depth",
            "Webhook deliveries waiting for their first or next attempt.",
            registry=registry,
        )
        if outbox is not None:
            self.queue_depth.set_function(lambda: _safe_count(outbox))

    def observe(self, claim: Claim, attempt: Attempt) -> None:
        self.deliveries.labels(attempt.outcome.value).inc()
        self.attempt_duration.observe(attempt.duration)
        if attempt.outcome is Outcome.DELIVERED:
            self.latency.observe(max(0.0, (datetime.now(UTC) - claim.created_at).total_seconds()))


def _safe_count(outbox: Outbox) -> float:
    try:
        return float(outbox.pending_count())
    except sa.exc.SQLAlchemyError:
        return math.nan


def register_webhook_metrics(registry: CollectorRegistry, outbox: Outbox | None = None) -> WebhookMetrics:
    """Add the webhook metrics to ``registry`` (the app's ``Metrics.registry``); give them to the dispatchers.

    With ``outbox``, the queue depth is read from the database at each scrape.
    """
    return WebhookMetrics(registry, outbox)
