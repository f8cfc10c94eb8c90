"""data keys and the core of the identity vault

Revision ID: 3a7c1e9d2b40
Revises: 273298105b58
Create Date: 2026-11-28 17:30:00
"""

from collections.abc import Sequence

revision: str = "3a7c1e9d2b40"
down_revision: str | None = "273298105b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
