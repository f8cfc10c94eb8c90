"""persons: identity fields, analytic attributes, residence history, relations

Revision ID: a1c2e3f4b5d6
Revises: d7f023f05843
Create Date: 2026-11-28 17:15:00

Adds the remaining identity-vault columns of `person` (transliterations, birth date, locations: encrypted),
its analysis-zone attributes (vocabulary terms in clear, defaults for existing rows: an individual with no
roles, identifiability risk high until reviewed), and the `residence` and `person_relation` tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c2e3f4b5d6"
down_revision: str | None = "d7f023f05843"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("transliterations", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("birth_date", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("locations", sa.LargeBinary(), nullable=True))
        batch.add_column(
            sa.Column(
                "person_kind", sa.String(length=16), server_default=sa.text("'individual'"), nullable=False
            )
        )
        batch.add_column(sa.Column("roles", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("origin_state", sa.String(length=2), nullable=True))
        batch.add_column(
            sa.Column("target_category", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch.add_column(sa.Column("gender", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("birth_decade", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "identifiability_risk", sa.String(length=8), server_default=sa.text("'high'"), nullable=False
            )
        )
    op.create_table(
        "residence",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("from_period", sa.String(length=7), nullable=True),
        sa.Column("to_period", sa.String(length=7), nullable=True),
        sa.Column("legal_status", sa.String(length=32), server_default=sa.text("'unknown'"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_residence_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residence")),
    )
    op.create_index(op.f("ix_residence_person_id"), "residence", ["person_id"], unique=False)
    op.create_table(
        "person_relation",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("person_a_id", sa.Uuid(), nullable=False),
        sa.Column("person_b_id", sa.Uuid(), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_a_id"],
            ["person.id"],
            name=op.f("fk_person_relation_person_a_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_b_id"],
            ["person.id"],
            name=op.f("fk_person_relation_person_b_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_person_relation_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_relation")),
        sa.UniqueConstraint(
            "person_a_id",
            "person_b_id",
            "relation",
            name=op.f("uq_person_relation_person_a_id_person_b_id_relation"),
        ),
    )
    op.create_index(op.f("ix_person_relation_person_a_id"), "person_relation", ["person_a_id"], unique=False)
    op.create_index(op.f("ix_person_relation_person_b_id"), "person_relation", ["person_b_id"], unique=False)
    op.create_index(op.f("ix_person_relation_project_id"), "person_relation", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_person_relation_project_id"), table_name="person_relation")
    op.drop_index(op.f("ix_person_relation_person_b_id"), table_name="person_relation")
    op.drop_index(op.f("ix_person_relation_person_a_id"), table_name="person_relation")
    op.drop_table("person_relation")
    op.drop_index(op.f("ix_residence_person_id"), table_name="residence")
    op.drop_table("residence")
    with op.batch_alter_table("person") as batch:
        for column in (
            "identifiability_risk",
            "birth_decade",
            "gender",
            "target_category",
            "origin_state",
            "roles",
            "person_kind",
            "locations",
            "birth_date",
            "transliterations",
        ):
            batch.drop_column(column)
