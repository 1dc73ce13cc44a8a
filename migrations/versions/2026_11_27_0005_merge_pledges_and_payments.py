"""Join the needs-and-pledges and the payments branches into one history.

Revision ID: 0005
Revises: 0003, 0004
Created: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: both branches are complete; this only makes one head again."""


def downgrade() -> None:
    """Nothing to undo."""
