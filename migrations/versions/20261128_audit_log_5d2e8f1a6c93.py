"""the tamper-evident audit log

Revision ID: 5d2e8f1a6c93
Revises: 3a7c1e9d2b40
Create Date: 2026-11-28 17:30:00
"""

from collections.abc import Sequence

revision: str = "5d2e8f1a6c93"
down_revision: str | None = "3a7c1e9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
