"""data keys and the core of the identity vault

Revision ID: 3a7c1e9d2b40
Revises: 273298105b58
Create Date: 2026-11-28 17:30:00

Creates data_key (wrapped DEKs, one per owner and zone), person (random pseudonym in clear, identity in
encrypted columns) and person_name_index (blind-index HMAC tokens of names).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a7c1e9d2b40"
down_revision: str | None = "273298105b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_key",
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("owner_type", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_key")),
        sa.UniqueConstraint(
            "owner_type", "owner_id", "zone", name=op.f("uq_data_key_owner_type_owner_id_zone")
        ),
    )
    op.create_index("ix_data_key_zone_kek_version", "data_key", ["zone", "kek_version"], unique=False)
    op.create_table(
        "person",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_name", sa.LargeBinary(), nullable=True),
        sa.Column("aliases", sa.LargeBinary(), nullable=True),
        sa.Column("contacts", sa.LargeBinary(), nullable=True),
        sa.Column("notes", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_person_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("project_id", "pseudonym", name=op.f("uq_person_project_id_pseudonym")),
    )
    op.create_index(op.f("ix_person_project_id"), "person", ["project_id"], unique=False)
    op.create_table(
        "person_name_index",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_name_index_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_name_index")),
        sa.UniqueConstraint("person_id", "token", name=op.f("uq_person_name_index_person_id_token")),
    )
    op.create_index(op.f("ix_person_name_index_person_id"), "person_name_index", ["person_id"], unique=False)
    op.create_index(op.f("ix_person_name_index_token"), "person_name_index", ["token"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_person_name_index_token"), table_name="person_name_index")
    op.drop_index(op.f("ix_person_name_index_person_id"), table_name="person_name_index")
    op.drop_table("person_name_index")
    op.drop_index(op.f("ix_person_project_id"), table_name="person")
    op.drop_table("person")
    op.drop_index("ix_data_key_zone_kek_version", table_name="data_key")
    op.drop_table("data_key")
