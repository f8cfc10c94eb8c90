"""persons: identity fields, analytic attributes, residence history, relations

Revision ID: a1c2e3f4b5d6
Revises: d7f023f05843
Create Date: 2026-11-28 17:15:00
"""

from collections.abc import Sequence

revision: str = "a1c2e3f4b5d6"
down_revision: str | None = "d7f023f05843"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
