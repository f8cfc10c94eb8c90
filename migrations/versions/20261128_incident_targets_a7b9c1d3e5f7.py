"""incident targets (CODEBOOK.md A.2 incident_target; existing incidents get their main target as `primary`)

Revision ID: a7b9c1d3e5f7
Revises: f5a7c9e1b3d2
Create Date: 2026-11-28 18:30:33.393360
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7b9c1d3e5f7"
down_revision: str | None = "f5a7c9e1b3d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_target",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_incident_target_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_target_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_incident_target_person", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_target")),
        sa.UniqueConstraint(
            "incident_id", "person_id", name=op.f("uq_incident_target_incident_id_person_id")
        ),
    )
    with op.batch_alter_table("incident_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_target_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_incident_target_person", ["person_id"], unique=False)

    # Backfill: each incident's main target becomes its `primary` row. The copied values are left untyped so
    # they go back exactly as stored; only the new ids are typed.
    incident = sa.table("incident", sa.column("id"), sa.column("target_person_id"), sa.column("created_at"))
    target = sa.table(
        "incident_target",
        sa.column("id", sa.Uuid()),
        sa.column("incident_id"),
        sa.column("person_id"),
        sa.column("role", sa.String(16)),
        sa.column("created_at"),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(incident.c.id, incident.c.target_person_id, incident.c.created_at).where(
            incident.c.target_person_id.is_not(None)
        )
    ).all()
    for incident_id, person_id, created_at in rows:
        bind.execute(
            target.insert().values(
                id=uuid.uuid4(),
                incident_id=incident_id,
                person_id=person_id,
                role="primary",
                created_at=created_at,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_target", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_target_person")
        batch_op.drop_index(batch_op.f("ix_incident_target_incident_id"))

    op.drop_table("incident_target")
