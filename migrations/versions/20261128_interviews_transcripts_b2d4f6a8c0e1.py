"""interviews, transcript versions, segments, flags and search tokens

Revision ID: b2d4f6a8c0e1
Revises: a1c2e3f4b5d6
Create Date: 2026-11-28 17:15:00
"""

from collections.abc import Sequence

revision: str = "b2d4f6a8c0e1"
down_revision: str | None = "a1c2e3f4b5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
