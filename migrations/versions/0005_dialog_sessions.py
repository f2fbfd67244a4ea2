"""dialog sessions: shoppers' conversations with the assistant, so every server process
continues every one

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialog_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialog_sessions")),
    )
    with op.batch_alter_table("dialog_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dialog_sessions_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dialog_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dialog_sessions_updated_at"))

    op.drop_table("dialog_sessions")
