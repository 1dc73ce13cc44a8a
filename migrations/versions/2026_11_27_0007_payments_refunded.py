"""How much of a payment has been refunded so far, so that each partial refund is booked once,
for the part that is new.

Revision ID: 0007
Revises: 0006
Created: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CHECK = "refunded >= 0 AND refunded <= amount"
CHECK_NAME = "ck_payments_refunded_within_amount"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its constraint in place; a batch copy of the table would
        # have to drop the table that payment lines refer to.
        op.execute(
            "ALTER TABLE payments ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0 "
            f"CONSTRAINT {CHECK_NAME} CHECK ({CHECK})"
        )
        return
    op.add_column(
        "payments",
        sa.Column("refunded", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.create_check_constraint(CHECK_NAME, "payments", CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(CHECK_NAME, "payments", type_="check")
    op.drop_column("payments", "refunded")
