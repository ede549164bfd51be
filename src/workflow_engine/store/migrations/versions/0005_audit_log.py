"""Audit log: who did what, when and from where (issue 6, item 4).

One append-only table. Every list filter of ``GET /api/v1/audit`` (tenant, actor, action,
resource, outcome) leads an index that continues with ``occurred_at``, so a filtered page,
newest first and optionally within a time range, is a single index range scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: tuple[tuple[str, ...], ...] = (
    ("occurred_at", "id"),
    ("tenant_id", "occurred_at"),
    ("actor_id", "occurred_at"),
    ("action", "occurred_at"),
    ("resource_type", "resource_id", "occurred_at"),
    ("outcome", "occurred_at"),
)


def _index_name(columns: tuple[str, ...]) -> str:
    return "ix_audit_log_" + "_".join(columns)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=255), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_roles", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=True),
        sa.Column("client_address", sa.String(length=255), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("request_id", sa.String(length=255), nullable=True),
        sa.CheckConstraint("outcome IN ('success', 'denied')", name=op.f("ck_audit_log_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    for columns in _INDEXES:
        op.create_index(op.f(_index_name(columns)), "audit_log", list(columns))


def downgrade() -> None:
    for columns in reversed(_INDEXES):
        op.drop_index(op.f(_index_name(columns)), table_name="audit_log")
    op.drop_table("audit_log")
