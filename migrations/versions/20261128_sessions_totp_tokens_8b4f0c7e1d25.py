"""sessions, TOTP and API tokens

Revision ID: 8b4f0c7e1d25
Revises: 5d2e8f1a6c93
Create Date: 2026-11-28 17:30:00
"""

from collections.abc import Sequence

revision: str = "8b4f0c7e1d25"
down_revision: str | None = "5d2e8f1a6c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
