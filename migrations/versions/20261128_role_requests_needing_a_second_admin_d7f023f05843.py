"""role requests needing a second admin

Revision ID: d7f023f05843
Revises: 8b4f0c7e1d25
Create Date: 2026-11-28 17:09:15.848801
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7f023f05843"
down_revision: str | None = "8b4f0c7e1d25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "role_request",
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["user_account.id"],
            name=op.f("fk_role_request_decided_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_role_request_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["user_account.id"],
            name=op.f("fk_role_request_requested_by_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_role_request_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_request")),
    )
    with op.batch_alter_table("role_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_request_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("role_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_request_user_id"))

    op.drop_table("role_request")
