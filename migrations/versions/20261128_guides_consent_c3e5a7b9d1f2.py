"""interview guides, segment links, consent and withdrawal

Revision ID: c3e5a7b9d1f2
Revises: b2d4f6a8c0e1
Create Date: 2026-11-28 17:27:15.330113
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e5a7b9d1f2"
down_revision: str | None = "b2d4f6a8c0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interview_guide",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_interview_guide_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_interview_guide_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_guide")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_interview_guide_project_id_version")),
    )
    with op.batch_alter_table("interview_guide", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interview_guide_project_id"), ["project_id"], unique=False)

    op.create_table(
        "guide_topic",
        sa.Column("guide_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("title", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["guide_id"],
            ["interview_guide.id"],
            name=op.f("fk_guide_topic_guide_id_interview_guide"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guide_topic")),
    )
    with op.batch_alter_table("guide_topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guide_topic_guide_id"), ["guide_id"], unique=False)

    op.create_table(
        "consent",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("interview_id", sa.Uuid(), nullable=True),
        sa.Column("info_sheet_version", sa.String(length=32), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("withdrawal_deadline", sa.Date(), nullable=True),
        sa.Column("participate", sa.Boolean(), nullable=False),
        sa.Column("audio", sa.Boolean(), nullable=False),
        sa.Column("retain_transcript", sa.Boolean(), nullable=False),
        sa.Column("quote_anonymised", sa.Boolean(), nullable=False),
        sa.Column("incident_db", sa.Boolean(), nullable=False),
        sa.Column("family_information", sa.Boolean(), nullable=False),
        sa.Column("archive_deposit", sa.Boolean(), nullable=False),
        sa.Column("share_partners", sa.Boolean(), nullable=False),
        sa.Column("recontact", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_consent_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_consent_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_consent_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["user_account.id"], name=op.f("fk_consent_recorded_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
    )
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_project_id"), ["project_id"], unique=False)

    op.create_table(
        "guide_question",
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["guide_topic.id"],
            name=op.f("fk_guide_question_topic_id_guide_topic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guide_question")),
    )
    with op.batch_alter_table("guide_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guide_question_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_guide_question_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "consent_withdrawal",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("performed_by", sa.Uuid(), nullable=True),
        sa.Column("segments_suppressed", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent.id"],
            name=op.f("fk_consent_withdrawal_consent_id_consent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["performed_by"],
            ["user_account.id"],
            name=op.f("fk_consent_withdrawal_performed_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_withdrawal")),
    )
    with op.batch_alter_table("consent_withdrawal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_withdrawal_consent_id"), ["consent_id"], unique=False)

    op.create_table(
        "segment_question",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("question_key", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_segment_question_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_question_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_question")),
        sa.UniqueConstraint("segment_id", name=op.f("uq_segment_question_segment_id")),
    )
    with op.batch_alter_table("segment_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_question_question_key"), ["question_key"], unique=False)

    op.create_table(
        "withdrawal_target",
        sa.Column("withdrawal_id", sa.Uuid(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["withdrawal_id"],
            ["consent_withdrawal.id"],
            name=op.f("fk_withdrawal_target_withdrawal_id_consent_withdrawal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawal_target")),
    )
    with op.batch_alter_table("withdrawal_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_withdrawal_target_withdrawal_id"), ["withdrawal_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("withdrawal_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_withdrawal_target_withdrawal_id"))

    op.drop_table("withdrawal_target")
    with op.batch_alter_table("segment_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_question_question_key"))

    op.drop_table("segment_question")
    with op.batch_alter_table("consent_withdrawal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_withdrawal_consent_id"))

    op.drop_table("consent_withdrawal")
    with op.batch_alter_table("guide_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guide_question_topic_id"))
        batch_op.drop_index(batch_op.f("ix_guide_question_key"))

    op.drop_table("guide_question")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_project_id"))
        batch_op.drop_index(batch_op.f("ix_consent_person_id"))

    op.drop_table("consent")
    with op.batch_alter_table("guide_topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guide_topic_guide_id"))

    op.drop_table("guide_topic")
    with op.batch_alter_table("interview_guide", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interview_guide_project_id"))

    op.drop_table("interview_guide")
