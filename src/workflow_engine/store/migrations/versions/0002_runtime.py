"""Runtime projection: event subscriptions and the instance's last applied event sequence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild of this table would fail on SQLite,
    # which refuses to copy its generated columns. server_default: old rows reflect no event.
    op.add_column(
        "process_instance",
        sa.Column("last_sequence", sa.BigInteger(), server_default="0", nullable=False),
    )

    op.create_table(
        "event_subscription",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("correlation_key", sa.String(length=255), nullable=True),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("execution_id", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('signal', 'message')", name=op.f("ck_event_subscription_kind")
        ),
        sa.ForeignKeyConstraint(
            ["process_instance_id"],
            ["process_instance.id"],
            name=op.f("fk_event_subscription_process_instance_id_process_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscription")),
    )
    op.create_index(op.f("ix_event_subscription_kind_name"), "event_subscription", ["kind", "name"])
    op.create_index(
        op.f("ix_event_subscription_kind_name_correlation_key"),
        "event_subscription",
        ["kind", "name", "correlation_key"],
    )
    op.create_index(
        op.f("ix_event_subscription_process_instance_id"),
        "event_subscription",
        ["process_instance_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_event_subscription_process_instance_id"), table_name="event_subscription"
    )
    op.drop_index(
        op.f("ix_event_subscription_kind_name_correlation_key"), table_name="event_subscription"
    )
    op.drop_index(op.f("ix_event_subscription_kind_name"), table_name="event_subscription")
    op.drop_table("event_subscription")
    # SQLite >= 3.35 drops a plain column in place (see upgrade() for why not batch mode).
    op.execute("ALTER TABLE process_instance DROP COLUMN last_sequence")
