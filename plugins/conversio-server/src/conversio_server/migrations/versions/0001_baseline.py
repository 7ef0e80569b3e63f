"""Baseline: the server's tables as the releases before migrations made them.

Such a database has some or all of these tables and no revision: the tables it has are kept as they
are, rows and all, and the others created, which brings it to this revision like a new database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: A moment: a timestamp with its time zone.
_TIME = sa.DateTime(timezone=True)


def _create_table(
    name: str, *elements: sa.schema.SchemaItem, indexes: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Create the table ``name`` and its ``indexes`` (name: columns), unless a release before
    migrations made them."""
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *elements)
    for index, columns in (indexes or {}).items():
        op.create_index(index, name, list(columns))


def upgrade() -> None:
    _create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(64), nullable=False),
        sa.Column("webhook_secret", sa.String(128), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
    )
    _create_table(
        "retired_key_secrets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("webhook_secret", sa.String(128), nullable=True),
        sa.Column("expires_at", _TIME, nullable=False),
        indexes={"ix_retired_key_secrets_key_id": ["key_id"]},
    )
    _create_table(
        "usage",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("conversions", sa.Integer, nullable=False),
    )
    _create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    _create_table(
        "file_owners",
        sa.Column("artifact_id", sa.String(128), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        indexes={"ix_file_owners_key_id": ["key_id"]},
    )
    _create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("tag", sa.String(200), nullable=True),
        sa.Column("webhook", sa.Text, nullable=True),
        sa.Column("job_events", sa.Boolean, nullable=False),
        sa.Column("max_running", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("eta", sa.Float, nullable=True),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires", sa.Float, nullable=True),
        sa.Column("heartbeat_at", sa.Float, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("key_id", "idempotency_key", name="uq_jobs_idempotency"),
        indexes={
            "ix_jobs_key_id": ["key_id"],
            "ix_jobs_batch_id": ["batch_id"],
            "ix_jobs_status": ["status"],
            "ix_jobs_created_at": ["created_at"],
        },
    )
    _create_table(
        "batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("webhook", sa.Text, nullable=True),
        sa.Column("callback_mode", sa.String(8), nullable=False),
        sa.Column("tag", sa.String(200), nullable=True),
        sa.Column("job_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        indexes={"ix_batches_key_id": ["key_id"]},
    )
    _create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        indexes={
            "ix_webhook_deliveries_job_id": ["job_id"],
            "ix_webhook_deliveries_batch_id": ["batch_id"],
            "ix_webhook_deliveries_endpoint": ["endpoint"],
            "ix_webhook_deliveries_lease_owner": ["lease_owner"],
            "ix_webhook_deliveries_due": ["status", "next_attempt_at"],
        },
    )
    _create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id",
            sa.String(40),
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        indexes={"ix_webhook_attempts_delivery_id": ["delivery_id"]},
    )
    _create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("disabled_at", _TIME, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for name in (
        "webhook_endpoints",
        "webhook_attempts",
        "webhook_deliveries",
        "batches",
        "jobs",
        "file_owners",
        "server_secrets",
        "usage",
        "retired_key_secrets",
        "api_keys",
    ):
        op.drop_table(name)
