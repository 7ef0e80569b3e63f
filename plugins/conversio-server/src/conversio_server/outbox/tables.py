"""The outbox's SQL tables (deliveries, their attempts, disabled endpoints) and how an endpoint is named."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from conversio_server.database import metadata

deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("job_id", sa.String(64), nullable=True, index=True),
    sa.Column("batch_id", sa.String(64), nullable=True, index=True),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("endpoint", sa.String(64), nullable=False, index=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    #: How a delivery other than a JSON event is sent (a file, to Gotenberg's webhooks): its method and
    #: headers, as ``{"method": "PUT", "headers": {...}}``; ``NULL`` for a signed JSON ``POST``.
    sa.Column("request", sa.JSON, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(80), nullable=True, index=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "delivery_id",
        sa.String(40),
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
)

endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
)


def endpoint_id(url: str, key_id: str | None) -> str:
    """The endpoint a delivery goes to: one key's URL (a 410 from it disables it for that key only)."""
    return hashlib.sha256(f"{key_id or ''}\n{url}".encode("utf-8", "surrogatepass")).hexdigest()
