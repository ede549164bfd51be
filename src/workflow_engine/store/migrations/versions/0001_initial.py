"""Initial schema: the six seed tables plus task candidates, as in store/tables.py.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_definition",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("deploy_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column("model_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("diagram_data", sa.Text(), nullable=True),
        sa.Column("has_start_form", sa.Boolean(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("element_count", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "resource_type IN ('json', 'bpmn')", name=op.f("ck_process_definition_resource_type")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_process_definition_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_definition")),
        sa.UniqueConstraint(
            "tenant_id", "key", "version", name=op.f("uq_process_definition_tenant_id_key_version")
        ),
    )
    op.create_index(op.f("ix_process_definition_category"), "process_definition", ["category"])
    op.create_index(
        op.f("ix_process_definition_deploy_time"), "process_definition", ["deploy_time"]
    )
    op.create_index(op.f("ix_process_definition_key"), "process_definition", ["key"])
    op.create_index(op.f("ix_process_definition_suspended"), "process_definition", ["suspended"])
    op.create_index(op.f("ix_process_definition_tenant_id"), "process_definition", ["tenant_id"])
    op.create_index(
        op.f("ix_process_definition_tenant_id_key_content_hash"),
        "process_definition",
        ["tenant_id", "key", "content_hash"],
    )

    op.create_table(
        "historic_process_instance",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column(
            "process_definition_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("process_definition_key", sa.String(length=255), nullable=False),
        sa.Column("process_definition_name", sa.String(length=255), nullable=False),
        sa.Column("process_definition_version", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.BigInteger(), nullable=True),
        sa.Column("start_user_id", sa.String(length=255), nullable=True),
        sa.Column("start_activity_id", sa.String(length=255), nullable=True),
        sa.Column("end_activity_id", sa.String(length=255), nullable=True),
        sa.Column("super_process_instance_id", sa.String(length=36), nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("localized_name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("localized_desc", sa.Text(), nullable=True),
        sa.Column("callback_id", sa.String(length=255), nullable=True),
        sa.Column("callback_type", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'paused', 'incident', "
            "'completed', 'terminated', 'cancelled', 'timed_out')",
            name=op.f("ck_historic_process_instance_status"),
        ),
        sa.ForeignKeyConstraint(
            ["process_definition_id"],
            ["process_definition.id"],
            name=op.f("fk_historic_process_instance_process_definition_id_process_definition"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_historic_process_instance")),
        sa.UniqueConstraint(
            "process_instance_id", name=op.f("uq_historic_process_instance_process_instance_id")
        ),
    )
    op.create_index(
        op.f("ix_historic_process_instance_business_key"),
        "historic_process_instance",
        ["business_key"],
    )
    op.create_index(
        op.f("ix_historic_process_instance_duration"), "historic_process_instance", ["duration"]
    )
    op.create_index(
        op.f("ix_historic_process_instance_end_time"), "historic_process_instance", ["end_time"]
    )
    op.create_index(
        op.f("ix_historic_process_instance_process_definition_id"),
        "historic_process_instance",
        ["process_definition_id"],
    )
    op.create_index(
        op.f("ix_historic_process_instance_process_definition_key"),
        "historic_process_instance",
        ["process_definition_key"],
    )
    op.create_index(
        op.f("ix_historic_process_instance_start_time"), "historic_process_instance", ["start_time"]
    )
    op.create_index(
        op.f("ix_historic_process_instance_status"), "historic_process_instance", ["status"]
    )
    op.create_index(
        op.f("ix_historic_process_instance_tenant_id"), "historic_process_instance", ["tenant_id"]
    )

    op.create_table(
        "process_instance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "process_definition_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("definition_key", sa.String(length=255), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("start_user_id", sa.String(length=255), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.BigInteger(), nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.Column("activity_id", sa.String(length=255), nullable=True),
        sa.Column("active_activity_ids", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("localized_name", sa.String(length=255), nullable=True),
        sa.Column("localized_desc", sa.Text(), nullable=True),
        sa.Column("lock_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "is_active",
            sa.Boolean(),
            sa.Computed("status IN ('running', 'paused', 'incident')", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "is_ended",
            sa.Boolean(),
            sa.Computed(
                "status IN ('completed', 'terminated', 'cancelled', 'timed_out')", persisted=True
            ),
            nullable=False,
        ),
        sa.Column(
            "is_suspended",
            sa.Boolean(),
            sa.Computed("status = 'paused'", persisted=True),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("callback_id", sa.String(length=255), nullable=True),
        sa.Column("callback_type", sa.String(length=64), nullable=True),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("super_instance_id", sa.String(length=36), nullable=True),
        sa.Column("version_counter", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'paused', 'incident', "
            "'completed', 'terminated', 'cancelled', 'timed_out')",
            name=op.f("ck_process_instance_status"),
        ),
        sa.ForeignKeyConstraint(
            ["process_definition_id"],
            ["process_definition.id"],
            name=op.f("fk_process_instance_process_definition_id_process_definition"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["super_instance_id"],
            ["process_instance.id"],
            name=op.f("fk_process_instance_super_instance_id_process_instance"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_instance")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_process_instance_workflow_id")),
    )
    op.create_index(op.f("ix_process_instance_business_key"), "process_instance", ["business_key"])
    op.create_index(
        op.f("ix_process_instance_definition_key"), "process_instance", ["definition_key"]
    )
    op.create_index(
        op.f("ix_process_instance_process_definition_id"),
        "process_instance",
        ["process_definition_id"],
    )
    op.create_index(op.f("ix_process_instance_start_time"), "process_instance", ["start_time"])
    op.create_index(op.f("ix_process_instance_status"), "process_instance", ["status"])
    op.create_index(
        op.f("ix_process_instance_super_instance_id"), "process_instance", ["super_instance_id"]
    )
    op.create_index(op.f("ix_process_instance_tenant_id"), "process_instance", ["tenant_id"])

    op.create_table(
        "process_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("activity_id", sa.String(length=255), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("event_name", sa.String(length=255), nullable=True),
        sa.Column("event_data", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("correlation_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_instance_id"],
            ["process_instance.id"],
            name=op.f("fk_process_event_process_instance_id_process_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_event")),
        sa.UniqueConstraint(
            "process_instance_id",
            "sequence",
            name=op.f("uq_process_event_process_instance_id_sequence"),
        ),
    )
    op.create_index(op.f("ix_process_event_event_type"), "process_event", ["event_type"])
    op.create_index(op.f("ix_process_event_task_id"), "process_event", ["task_id"])
    op.create_index(op.f("ix_process_event_timestamp"), "process_event", ["timestamp"])

    op.create_table(
        "task_instance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column(
            "process_definition_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("execution_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("task_definition_key", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("category", sa.String(length=255), nullable=True),
        sa.Column("parent_task_id", sa.String(length=36), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("delegation", sa.String(length=16), nullable=True),
        sa.Column("suspension_state", sa.Integer(), nullable=False),
        sa.Column("task_definition_id", sa.String(length=255), nullable=True),
        sa.Column("form_key", sa.String(length=255), nullable=True),
        sa.Column("is_suspended", sa.Boolean(), nullable=False),
        sa.Column("candidate_users", sa.JSON(), nullable=False),
        sa.Column("candidate_groups", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("version_counter", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "delegation IS NULL OR delegation IN ('pending', 'resolved')",
            name=op.f("ck_task_instance_delegation"),
        ),
        sa.CheckConstraint(
            "state IN ('created', 'claimed', 'delegated', 'completed', 'cancelled')",
            name=op.f("ck_task_instance_state"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_task_id"],
            ["task_instance.id"],
            name=op.f("fk_task_instance_parent_task_id_task_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_definition_id"],
            ["process_definition.id"],
            name=op.f("fk_task_instance_process_definition_id_process_definition"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["process_instance_id"],
            ["process_instance.id"],
            name=op.f("fk_task_instance_process_instance_id_process_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_instance")),
    )
    op.create_index(op.f("ix_task_instance_assignee"), "task_instance", ["assignee"])
    op.create_index(op.f("ix_task_instance_create_time"), "task_instance", ["create_time"])
    op.create_index(op.f("ix_task_instance_parent_task_id"), "task_instance", ["parent_task_id"])
    op.create_index(
        op.f("ix_task_instance_process_definition_id"), "task_instance", ["process_definition_id"]
    )
    op.create_index(
        op.f("ix_task_instance_process_instance_id"), "task_instance", ["process_instance_id"]
    )
    op.create_index(op.f("ix_task_instance_state"), "task_instance", ["state"])
    op.create_index(op.f("ix_task_instance_tenant_id"), "task_instance", ["tenant_id"])

    op.create_table(
        "process_variable",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("serializer_name", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('global', 'local')", name=op.f("ck_process_variable_scope")),
        sa.ForeignKeyConstraint(
            ["process_instance_id"],
            ["process_instance.id"],
            name=op.f("fk_process_variable_process_instance_id_process_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task_instance.id"],
            name=op.f("fk_process_variable_task_id_task_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_variable")),
        sa.UniqueConstraint(
            "process_instance_id",
            "scope_id",
            "name",
            name=op.f("uq_process_variable_process_instance_id_scope_id_name"),
        ),
    )
    op.create_index(op.f("ix_process_variable_name"), "process_variable", ["name"])
    op.create_index(op.f("ix_process_variable_task_id"), "process_variable", ["task_id"])

    op.create_table(
        "task_candidate",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.CheckConstraint("kind IN ('user', 'group')", name=op.f("ck_task_candidate_kind")),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task_instance.id"],
            name=op.f("fk_task_candidate_task_id_task_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_candidate")),
        sa.UniqueConstraint(
            "task_id", "kind", "value", name=op.f("uq_task_candidate_task_id_kind_value")
        ),
    )
    op.create_index(op.f("ix_task_candidate_kind_value"), "task_candidate", ["kind", "value"])


def downgrade() -> None:
    op.drop_index(op.f("ix_task_candidate_kind_value"), table_name="task_candidate")

    op.drop_table("task_candidate")
    op.drop_index(op.f("ix_process_variable_task_id"), table_name="process_variable")
    op.drop_index(op.f("ix_process_variable_name"), table_name="process_variable")

    op.drop_table("process_variable")
    op.drop_index(op.f("ix_task_instance_tenant_id"), table_name="task_instance")
    op.drop_index(op.f("ix_task_instance_state"), table_name="task_instance")
    op.drop_index(op.f("ix_task_instance_process_instance_id"), table_name="task_instance")
    op.drop_index(op.f("ix_task_instance_process_definition_id"), table_name="task_instance")
    op.drop_index(op.f("ix_task_instance_parent_task_id"), table_name="task_instance")
    op.drop_index(op.f("ix_task_instance_create_time"), table_name="task_instance")
    op.drop_index(op.f("ix_task_instance_assignee"), table_name="task_instance")

    op.drop_table("task_instance")
    op.drop_index(op.f("ix_process_event_timestamp"), table_name="process_event")
    op.drop_index(op.f("ix_process_event_task_id"), table_name="process_event")
    op.drop_index(op.f("ix_process_event_event_type"), table_name="process_event")

    op.drop_table("process_event")
    op.drop_index(op.f("ix_process_instance_tenant_id"), table_name="process_instance")
    op.drop_index(op.f("ix_process_instance_super_instance_id"), table_name="process_instance")
    op.drop_index(op.f("ix_process_instance_status"), table_name="process_instance")
    op.drop_index(op.f("ix_process_instance_start_time"), table_name="process_instance")
    op.drop_index(op.f("ix_process_instance_process_definition_id"), table_name="process_instance")
    op.drop_index(op.f("ix_process_instance_definition_key"), table_name="process_instance")
    op.drop_index(op.f("ix_process_instance_business_key"), table_name="process_instance")

    op.drop_table("process_instance")
    op.drop_index(
        op.f("ix_historic_process_instance_tenant_id"), table_name="historic_process_instance"
    )
    op.drop_index(
        op.f("ix_historic_process_instance_status"), table_name="historic_process_instance"
    )
    op.drop_index(
        op.f("ix_historic_process_instance_start_time"), table_name="historic_process_instance"
    )
    op.drop_index(
        op.f("ix_historic_process_instance_process_definition_key"),
        table_name="historic_process_instance",
    )
    op.drop_index(
        op.f("ix_historic_process_instance_process_definition_id"),
        table_name="historic_process_instance",
    )
    op.drop_index(
        op.f("ix_historic_process_instance_end_time"), table_name="historic_process_instance"
    )
    op.drop_index(
        op.f("ix_historic_process_instance_duration"), table_name="historic_process_instance"
    )
    op.drop_index(
        op.f("ix_historic_process_instance_business_key"), table_name="historic_process_instance"
    )

    op.drop_table("historic_process_instance")
    op.drop_index(
        op.f("ix_process_definition_tenant_id_key_content_hash"), table_name="process_definition"
    )
    op.drop_index(op.f("ix_process_definition_tenant_id"), table_name="process_definition")
    op.drop_index(op.f("ix_process_definition_suspended"), table_name="process_definition")
    op.drop_index(op.f("ix_process_definition_key"), table_name="process_definition")
    op.drop_index(op.f("ix_process_definition_deploy_time"), table_name="process_definition")
    op.drop_index(op.f("ix_process_definition_category"), table_name="process_definition")

    op.drop_table("process_definition")
