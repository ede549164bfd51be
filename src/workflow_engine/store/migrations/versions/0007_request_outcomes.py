"""Request outcomes: idempotent signal broadcasts and message correlations by `request_id`.

One row per (kind, tenant scope, request id), keyed by their sha256: what the request did
(delivered count and started instances, or the message's receiver), so a repeated request
answers the same and acts nothing twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_outcome",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('signal', 'message')", name=op.f("ck_request_outcome_kind")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_request_outcome")),
    )
    op.create_index(op.f("ix_request_outcome_created_at"), "request_outcome", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_request_outcome_created_at"), table_name="request_outcome")
    op.drop_table("request_outcome")
