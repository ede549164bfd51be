"""History tables: tasks and variables of ended instances move out of the runtime tables.

When an instance ends, the projection moves its task rows (with their candidates) and its
variables here in the same transaction, so the inbox and variable tables hold live work only.
Events stay in ``process_event`` (read only by the (instance, sequence) index; copying them
would double the write volume of every instance's end).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "historic_task_instance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("process_definition_id", _ID, nullable=True),
        sa.Column("execution_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("task_definition_key", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("create_time", _TIME, nullable=False),
        sa.Column("claim_time", _TIME, nullable=True),
        sa.Column("end_time", _TIME, nullable=True),
        sa.Column("due_date", _TIME, nullable=True),
        sa.Column("category", sa.String(length=255), nullable=True),
        sa.Column("parent_task_id", sa.String(length=36), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("delegation", sa.String(length=16), nullable=True),
        sa.Column("form_key", sa.String(length=255), nullable=True),
        sa.Column("candidate_users", sa.JSON(), nullable=False),
        sa.Column("candidate_groups", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("version_counter", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "state IN ('created', 'claimed', 'delegated', 'completed', 'cancelled')",
            name=op.f("ck_historic_task_instance_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_historic_task_instance")),
    )
    for column in ("process_instance_id", "assignee", "create_time", "tenant_id"):
        op.create_index(
            op.f(f"ix_historic_task_instance_{column}"), "historic_task_instance", [column]
        )

    op.create_table(
        "historic_task_candidate",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.CheckConstraint(
            "kind IN ('user', 'group')", name=op.f("ck_historic_task_candidate_kind")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["historic_task_instance.id"],
            name=op.f("fk_historic_task_candidate_task_id_historic_task_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_historic_task_candidate")),
        sa.UniqueConstraint(
            "task_id", "kind", "value", name=op.f("uq_historic_task_candidate_task_id_kind_value")
        ),
    )
    op.create_index(
        op.f("ix_historic_task_candidate_kind_value"), "historic_task_candidate", ["kind", "value"]
    )

    op.create_table(
        "historic_variable_instance",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("serializer_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "scope IN ('global', 'local')", name=op.f("ck_historic_variable_instance_scope")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_historic_variable_instance")),
        sa.UniqueConstraint(
            "process_instance_id",
            "scope_id",
            "name",
            name=op.f("uq_historic_variable_instance_process_instance_id_scope_id_name"),
        ),
    )


def downgrade() -> None:
    op.drop_table("historic_variable_instance")
    op.drop_index(
        op.f("ix_historic_task_candidate_kind_value"), table_name="historic_task_candidate"
    )
    op.drop_table("historic_task_candidate")
    for column in ("process_instance_id", "assignee", "create_time", "tenant_id"):
        op.drop_index(
            op.f(f"ix_historic_task_instance_{column}"), table_name="historic_task_instance"
        )
    op.drop_table("historic_task_instance")
