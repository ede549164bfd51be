"""Starter indexes: a user's own instances (issue 6, `instance:read_own`).

Users (role `user`) list only instances they started, within their tenant: the instance list
filters process_instance by (tenant_id, start_user_id) ordered by start_time, the history list
historic_process_instance by (tenant_id, start_user_id). Without these the tenant index alone
would visit every instance of the tenant to find one user's few.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_process_instance_tenant_id_start_user_id_start_time"),
        "process_instance",
        ["tenant_id", "start_user_id", "start_time"],
    )
    op.create_index(
        op.f("ix_historic_process_instance_tenant_id_start_user_id"),
        "historic_process_instance",
        ["tenant_id", "start_user_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_historic_process_instance_tenant_id_start_user_id"),
        table_name="historic_process_instance",
    )
    op.drop_index(
        op.f("ix_process_instance_tenant_id_start_user_id_start_time"),
        table_name="process_instance",
    )
