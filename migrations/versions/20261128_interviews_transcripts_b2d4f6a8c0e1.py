"""interviews, transcript versions, segments, flags and search tokens

Revision ID: b2d4f6a8c0e1
Revises: a1c2e3f4b5d6
Create Date: 2026-11-28 17:15:00

Creates interview and interview_person (who an interview is with and about, by person id), transcript_version
(sealed original, file name, identified and pseudonymised texts and anonymisation log), segment (speaker
turns, sealed speaker label and texts, offsets, suppression), transcript_flag (candidate identifiers and the
interviewer's decisions) and search_token (keyed HMACs of words of approved pseudonymised text). Encrypted
columns are plain LargeBinary here; the models guard them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b2d4f6a8c0e1"
down_revision: str | None = "a1c2e3f4b5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interview",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("interviewee_person_id", sa.Uuid(), nullable=False),
        sa.Column("interviewer_id", sa.Uuid(), nullable=False),
        sa.Column("interview_month", sa.String(length=7), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("languages", sa.String(length=64), nullable=False),
        sa.Column("interpreter_used", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interviewee_person_id"], ["person.id"], name=op.f("fk_interview_interviewee_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["interviewer_id"], ["user_account.id"], name=op.f("fk_interview_interviewer_id_user_account")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_interview_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview")),
    )
    op.create_index(
        op.f("ix_interview_interviewee_person_id"), "interview", ["interviewee_person_id"], unique=False
    )
    op.create_index(op.f("ix_interview_interviewer_id"), "interview", ["interviewer_id"], unique=False)
    op.create_index(op.f("ix_interview_project_id"), "interview", ["project_id"], unique=False)
    op.create_table(
        "interview_person",
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_interview_person_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_interview_person_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_person")),
        sa.UniqueConstraint(
            "interview_id", "person_id", name=op.f("uq_interview_person_interview_id_person_id")
        ),
    )
    op.create_index(
        op.f("ix_interview_person_interview_id"), "interview_person", ["interview_id"], unique=False
    )
    op.create_index(op.f("ix_interview_person_person_id"), "interview_person", ["person_id"], unique=False)
    op.create_table(
        "transcript_version",
        sa.Column("interview_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("original", sa.LargeBinary(), nullable=True),
        sa.Column("original_filename", sa.LargeBinary(), nullable=True),
        sa.Column("identified_text", sa.LargeBinary(), nullable=True),
        sa.Column("pseudonymised_text", sa.LargeBinary(), nullable=True),
        sa.Column("anonymisation_log", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["user_account.id"], name=op.f("fk_transcript_version_approved_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interview.id"],
            name=op.f("fk_transcript_version_interview_id_interview"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["user_account.id"], name=op.f("fk_transcript_version_uploaded_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_version")),
        sa.UniqueConstraint(
            "interview_id", "version", name=op.f("uq_transcript_version_interview_id_version")
        ),
    )
    op.create_index(
        op.f("ix_transcript_version_interview_id"), "transcript_version", ["interview_id"], unique=False
    )
    op.create_table(
        "segment",
        sa.Column("transcript_version_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.LargeBinary(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=True),
        sa.Column("end_ms", sa.Integer(), nullable=True),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("identified_start", sa.Integer(), nullable=False),
        sa.Column("identified_end", sa.Integer(), nullable=False),
        sa.Column("identified_text", sa.LargeBinary(), nullable=True),
        sa.Column("pseudonymised_text", sa.LargeBinary(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("suppression_reason", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transcript_version_id"],
            ["transcript_version.id"],
            name=op.f("fk_segment_transcript_version_id_transcript_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint(
            "transcript_version_id", "seq", name=op.f("uq_segment_transcript_version_id_seq")
        ),
    )
    op.create_index(
        op.f("ix_segment_transcript_version_id"), "segment", ["transcript_version_id"], unique=False
    )
    op.create_table(
        "search_token",
        sa.Column("transcript_version_id", sa.Uuid(), nullable=False),
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_search_token_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transcript_version_id"],
            ["transcript_version.id"],
            name=op.f("fk_search_token_transcript_version_id_transcript_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_token")),
        sa.UniqueConstraint("segment_id", "token", name=op.f("uq_search_token_segment_id_token")),
    )
    op.create_index(op.f("ix_search_token_segment_id"), "search_token", ["segment_id"], unique=False)
    op.create_index(op.f("ix_search_token_token"), "search_token", ["token"], unique=False)
    op.create_index(
        op.f("ix_search_token_transcript_version_id"), "search_token", ["transcript_version_id"], unique=False
    )
    op.create_table(
        "transcript_flag",
        sa.Column("transcript_version_id", sa.Uuid(), nullable=False),
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("replacement", sa.LargeBinary(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["user_account.id"], name=op.f("fk_transcript_flag_decided_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_transcript_flag_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transcript_version_id"],
            ["transcript_version.id"],
            name=op.f("fk_transcript_flag_transcript_version_id_transcript_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_flag")),
    )
    op.create_index(op.f("ix_transcript_flag_segment_id"), "transcript_flag", ["segment_id"], unique=False)
    op.create_index(
        op.f("ix_transcript_flag_transcript_version_id"),
        "transcript_flag",
        ["transcript_version_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_transcript_flag_transcript_version_id"), table_name="transcript_flag")
    op.drop_index(op.f("ix_transcript_flag_segment_id"), table_name="transcript_flag")
    op.drop_table("transcript_flag")
    op.drop_index(op.f("ix_search_token_transcript_version_id"), table_name="search_token")
    op.drop_index(op.f("ix_search_token_token"), table_name="search_token")
    op.drop_index(op.f("ix_search_token_segment_id"), table_name="search_token")
    op.drop_table("search_token")
    op.drop_index(op.f("ix_segment_transcript_version_id"), table_name="segment")
    op.drop_table("segment")
    op.drop_index(op.f("ix_transcript_version_interview_id"), table_name="transcript_version")
    op.drop_table("transcript_version")
    op.drop_index(op.f("ix_interview_person_person_id"), table_name="interview_person")
    op.drop_index(op.f("ix_interview_person_interview_id"), table_name="interview_person")
    op.drop_table("interview_person")
    op.drop_index(op.f("ix_interview_project_id"), table_name="interview")
    op.drop_index(op.f("ix_interview_interviewer_id"), table_name="interview")
    op.drop_index(op.f("ix_interview_interviewee_person_id"), table_name="interview")
    op.drop_table("interview")
