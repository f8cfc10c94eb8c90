"""codebook and codings

Revision ID: e4f6a8c0d2b1
Revises: c3e5a7b9d1f2
Create Date: 2026-11-28 17:42:19.710057
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4f6a8c0d2b1"
down_revision: str | None = "c3e5a7b9d1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("mnemonic", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=True),
        sa.Column("definition", sa.LargeBinary(), nullable=True),
        sa.Column("use_when", sa.LargeBinary(), nullable=True),
        sa.Column("not_when", sa.LargeBinary(), nullable=True),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("is_flag", sa.Boolean(), nullable=False),
        sa.Column("variable_field", sa.String(length=64), nullable=True),
        sa.Column("variable_value", sa.String(length=64), nullable=True),
        sa.Column("created_in_version", sa.Integer(), nullable=False),
        sa.Column("retired_in_version", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["code.id"], name=op.f("fk_code_parent_id_code")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_code_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code")),
        sa.UniqueConstraint("project_id", "mnemonic", name=op.f("uq_code_project_id_mnemonic")),
    )
    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_code_project_id"), ["project_id"], unique=False)

    op.create_table(
        "codebook_version",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_codebook_version_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_codebook_version_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codebook_version")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_codebook_version_project_id_version")),
    )
    with op.batch_alter_table("codebook_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_codebook_version_project_id"), ["project_id"], unique=False)

    op.create_table(
        "code_revision",
        sa.Column("code_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_id"], ["code.id"], name=op.f("fk_code_revision_code_id_code"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_revision")),
        sa.UniqueConstraint("code_id", "version", name=op.f("uq_code_revision_code_id_version")),
    )
    with op.batch_alter_table("code_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_revision_code_id"), ["code_id"], unique=False)

    op.create_table(
        "assignment",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("coder_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by", sa.Uuid(), nullable=True),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["user_account.id"], name=op.f("fk_assignment_assigned_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["coder_id"], ["user_account.id"], name=op.f("fk_assignment_coder_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_assignment_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_assignment_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
        sa.UniqueConstraint("interview_id", "coder_id", name=op.f("uq_assignment_interview_id_coder_id")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignment_coder_id"), ["coder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_project_id"), ["project_id"], unique=False)

    op.create_table(
        "coding",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("transcript_version_id", sa.Uuid(), nullable=False),
        sa.Column("code_id", sa.Uuid(), nullable=False),
        sa.Column("coder_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("span_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("memo", sa.LargeBinary(), nullable=True),
        sa.Column("codebook_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["code_id"], ["code.id"], name=op.f("fk_coding_code_id_code")),
        sa.ForeignKeyConstraint(
            ["coder_id"], ["user_account.id"], name=op.f("fk_coding_coder_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_coding_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_coding_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["transcript_version_id"],
            ["transcript_version.id"],
            name=op.f("fk_coding_transcript_version_id_transcript_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coding")),
    )
    with op.batch_alter_table("coding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coding_code_id"), ["code_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coding_coder_id"), ["coder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coding_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coding_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_coding_transcript_version_id"), ["transcript_version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("coding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coding_transcript_version_id"))
        batch_op.drop_index(batch_op.f("ix_coding_project_id"))
        batch_op.drop_index(batch_op.f("ix_coding_interview_id"))
        batch_op.drop_index(batch_op.f("ix_coding_coder_id"))
        batch_op.drop_index(batch_op.f("ix_coding_code_id"))

    op.drop_table("coding")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_project_id"))
        batch_op.drop_index(batch_op.f("ix_assignment_interview_id"))
        batch_op.drop_index(batch_op.f("ix_assignment_coder_id"))

    op.drop_table("assignment")
    with op.batch_alter_table("code_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_revision_code_id"))

    op.drop_table("code_revision")
    with op.batch_alter_table("codebook_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codebook_version_project_id"))

    op.drop_table("codebook_version")
    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_project_id"))
        batch_op.drop_index(batch_op.f("ix_code_parent_id"))

    op.drop_table("code")
