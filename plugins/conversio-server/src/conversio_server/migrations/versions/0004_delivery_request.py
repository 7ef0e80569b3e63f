"""Deliveries of files: a webhook delivery may carry its own method and headers (``request``), as the
results a Gotenberg client asks to receive at its webhook do; a JSON event leaves it empty."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("request", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "request")
