"""admin overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_label", sa.String(length=40), nullable=False),
        sa.Column("target_key", sa.String(length=400), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("merge_into", sa.String(length=400), nullable=True),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_log.id"],
            name=op.f("fk_admin_overrides_audit_id_audit_log"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_overrides")),
    )
    with op.batch_alter_table("admin_overrides", schema=None) as batch_op:
        batch_op.create_index(
            "ix_admin_overrides_target", ["target_label", "target_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_admin_overrides_removed_at"), ["removed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_overrides_removed_at"))
        batch_op.drop_index("ix_admin_overrides_target")
    op.drop_table("admin_overrides")
