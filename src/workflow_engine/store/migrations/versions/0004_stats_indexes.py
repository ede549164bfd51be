"""Statistics indexes: live instances by status, incidents by time.

``GET /api/v1/stats`` counts live instances per (status, definition, tenant) and buckets their
start times: with (status, definition_key, tenant_id, start_time) PostgreSQL answers from the
index alone instead of visiting one heap page per live instance. Incidents are found by
(event_type, timestamp) instead of intersecting two single-column bitmaps.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_process_instance_status_definition_key_tenant_id_start_time"),
        "process_instance",
        ["status", "definition_key", "tenant_id", "start_time"],
    )
    op.create_index(
        op.f("ix_process_event_event_type_timestamp"),
        "process_event",
        ["event_type", "timestamp"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_process_event_event_type_timestamp"), table_name="process_event")
    op.drop_index(
        op.f("ix_process_instance_status_definition_key_tenant_id_start_time"),
        table_name="process_instance",
    )
