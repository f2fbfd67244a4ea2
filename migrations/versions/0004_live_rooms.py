"""live rooms: rooms, their items, viewers' questions grouped by meaning, the host's pinned
answers and the viewers each push server holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:47:31
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current_item", sa.String(length=400), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pin_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"],
            ["admin_users.id"],
            name=op.f("fk_live_rooms_host_id_admin_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_rooms")),
    )
    with op.batch_alter_table("live_rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_rooms_state"), ["state"], unique=False)

    op.create_table(
        "live_question_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=400), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("centroid", sa.JSON(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_rooms.id"],
            name=op.f("fk_live_question_groups_room_id_live_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_question_groups")),
    )
    with op.batch_alter_table("live_question_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_live_question_groups_room_item", ["room_id", "item_key"], unique=False
        )

    op.create_table(
        "live_room_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_rooms.id"],
            name=op.f("fk_live_room_items_room_id_live_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_room_items")),
        sa.UniqueConstraint(
            "room_id", "item_key", name=op.f("uq_live_room_items_room_id_item_key")
        ),
    )
    op.create_table(
        "live_room_viewers",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(length=64), nullable=False),
        sa.Column("viewers", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_rooms.id"],
            name=op.f("fk_live_room_viewers_room_id_live_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "server", name=op.f("pk_live_room_viewers")),
    )
    op.create_table(
        "live_pinned_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=400), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["live_question_groups.id"],
            name=op.f("fk_live_pinned_answers_group_id_live_question_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_rooms.id"],
            name=op.f("fk_live_pinned_answers_room_id_live_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_pinned_answers")),
        sa.UniqueConstraint(
            "room_id",
            "item_key",
            "group_id",
            name=op.f("uq_live_pinned_answers_room_id_item_key_group_id"),
        ),
    )
    op.create_table(
        "live_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("viewer", sa.String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("item_key", sa.String(length=400), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("answered_by", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["live_question_groups.id"],
            name=op.f("fk_live_questions_group_id_live_question_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_rooms.id"],
            name=op.f("fk_live_questions_room_id_live_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_questions")),
    )
    with op.batch_alter_table("live_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_questions_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            "ix_live_questions_room_created", ["room_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("live_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_live_questions_room_created")
        batch_op.drop_index(batch_op.f("ix_live_questions_group_id"))

    op.drop_table("live_questions")
    op.drop_table("live_pinned_answers")
    op.drop_table("live_room_viewers")
    op.drop_table("live_room_items")
    with op.batch_alter_table("live_question_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_live_question_groups_room_item")

    op.drop_table("live_question_groups")
    with op.batch_alter_table("live_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_rooms_state"))

    op.drop_table("live_rooms")
