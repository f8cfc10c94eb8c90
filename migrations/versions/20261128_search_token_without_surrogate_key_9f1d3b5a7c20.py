"""search tokens: one row per (segment, token) keyed by them, no surrogate UUID key, two indexes fewer

The search_token table gets about 100,000 rows per MB of approved transcript. Its random UUID primary key
and the index on segment_id (a prefix of the (segment_id, token) unique constraint) served no query but
cost an index write at a random place per row. The new primary key is (segment_id, token), the former
unique constraint; on SQLite the table is WITHOUT ROWID. The rows are copied as they are.

Revision ID: 9f1d3b5a7c20
Revises: c4e6a8b0d2f4
Create Date: 2026-11-28 20:10:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9f1d3b5a7c20"
down_revision: str | None = "c4e6a8b0d2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 10_000


def _foreign_keys() -> list[sa.ForeignKeyConstraint]:
    return [
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
    ]


def _set_aside(constraints: Sequence[str]) -> None:
    """Rename search_token to search_token_old, freeing the index names the new table takes."""
    for index in (
        "ix_search_token_segment_id",
        "ix_search_token_token",
        "ix_search_token_transcript_version_id",
    ):
        if index in {found["name"] for found in sa.inspect(op.get_bind()).get_indexes("search_token")}:
            op.drop_index(index, table_name="search_token")
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL names the indexes behind primary keys and unique constraints after them, schema-wide.
        for name in constraints:
            op.execute(f"ALTER TABLE search_token RENAME CONSTRAINT {name} TO {name}_old")
    op.rename_table("search_token", "search_token_old")


def upgrade() -> None:
    _set_aside(["pk_search_token", "uq_search_token_segment_id_token"])
    op.create_table(
        "search_token",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("transcript_version_id", sa.Uuid(), nullable=False),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("segment_id", "token", name=op.f("pk_search_token")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_search_token_token"), "search_token", ["token"], unique=False)
    op.create_index(
        op.f("ix_search_token_transcript_version_id"), "search_token", ["transcript_version_id"], unique=False
    )
    op.execute(
        "INSERT INTO search_token (segment_id, token, transcript_version_id) "
        "SELECT segment_id, token, transcript_version_id FROM search_token_old"
    )
    op.drop_table("search_token_old")


def downgrade() -> None:
    _set_aside(["pk_search_token"])
    op.create_table(
        "search_token",
        sa.Column("transcript_version_id", sa.Uuid(), nullable=False),
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_token")),
        sa.UniqueConstraint("segment_id", "token", name=op.f("uq_search_token_segment_id_token")),
    )
    op.create_index(op.f("ix_search_token_segment_id"), "search_token", ["segment_id"], unique=False)
    op.create_index(op.f("ix_search_token_token"), "search_token", ["token"], unique=False)
    op.create_index(
        op.f("ix_search_token_transcript_version_id"), "search_token", ["transcript_version_id"], unique=False
    )
    # The copied values pass through as the driver stores them; only the new ids are made here.
    names = ("segment_id", "token", "transcript_version_id")
    old = sa.table("search_token_old", *(sa.column(name) for name in names))
    new = sa.table("search_token", sa.column("id", sa.Uuid()), *(sa.column(name) for name in names))
    connection = op.get_bind()
    rows = connection.execute(sa.select(old)).mappings().all()
    for start in range(0, len(rows), _BATCH):
        connection.execute(
            sa.insert(new), [{**row, "id": uuid.uuid4()} for row in rows[start : start + _BATCH]]
        )
    op.drop_table("search_token_old")
