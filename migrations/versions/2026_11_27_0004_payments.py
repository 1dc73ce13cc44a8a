"""payments

Revision ID: 0004
Revises: 0002
Created: 2026-11-27 09:03:39.587513
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import potluck.db
from potluck.db import append_only_ddl, drop_append_only_ddl

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lines and applied provider events are history: the database refuses to change them.
APPEND_ONLY = ("payment_lines", "payment_events")


def upgrade() -> None:
    op.create_table(
        "custodian_admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("custodian_id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("appointed_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["custodian_id"],
            ["custodians.id"],
            name=op.f("fk_custodian_admins_custodian_id_custodians"),
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], name=op.f("fk_custodian_admins_peer_id_peers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custodian_admins")),
        sa.UniqueConstraint(
            "custodian_id", "peer_id", name="uq_custodian_admins_custodian_id_peer"
        ),
    )
    with op.batch_alter_table("custodian_admins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custodian_admins_peer_id"), ["peer_id"], unique=False)

    op.create_table(
        "payment_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=True),
        sa.Column("method_ref", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("provider <> 'manual'", name=op.f("ck_payment_methods_not_manual")),
        sa.CheckConstraint(
            "provider IN ('manual', 'simulated', 'stripe')",
            name=op.f("ck_payment_methods_provider_known"),
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], name=op.f("fk_payment_methods_peer_id_peers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
    )
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_methods_peer_id"), ["peer_id"], unique=False)
        batch_op.create_index(
            "uq_payment_methods_active",
            ["peer_id", "provider"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=23), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("method_id", sa.Integer(), nullable=True),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("bank_code", sa.String(length=24), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("received", sa.BigInteger(), nullable=True),
        sa.Column("failure_code", sa.String(length=80), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("succeeded_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('manual', 'simulated', 'stripe')", name=op.f("ck_payments_provider_known")
        ),
        sa.CheckConstraint(
            "state <> 'failed' OR failed_at IS NOT NULL", name=op.f("ck_payments_failure_dated")
        ),
        sa.CheckConstraint(
            "state IN ('awaiting', 'processing', 'succeeded', 'failed', 'disputed', 'refunded')",
            name=op.f("ck_payments_state_known"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('disputed', 'refunded') OR reversed_at IS NOT NULL",
            name=op.f("ck_payments_reversal_dated"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('succeeded', 'disputed', 'refunded') "
            "OR (fee IS NOT NULL AND succeeded_at IS NOT NULL)",
            name=op.f("ck_payments_settled_has_fee"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_payments_attempts_natural")),
        sa.CheckConstraint(
            "fee IS NULL OR (fee >= 0 AND fee <= amount)",
            name=op.f("ck_payments_fee_within_amount"),
        ),
        sa.CheckConstraint(
            "received IS NULL OR (received > 0 AND received <= amount)",
            name=op.f("ck_payments_received_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"], ["peers.id"], name=op.f("fk_payments_confirmed_by_id_peers")
        ),
        sa.ForeignKeyConstraint(
            ["currency"], ["commodities.code"], name=op.f("fk_payments_currency_commodities")
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"], ["peers.id"], name=op.f("fk_payments_donor_id_peers")
        ),
        sa.ForeignKeyConstraint(
            ["method_id"],
            ["payment_methods.id"],
            name=op.f("fk_payments_method_id_payment_methods"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("bank_code", name=op.f("uq_payments_bank_code")),
        sa.UniqueConstraint("reference", name=op.f("uq_payments_reference")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_donor_id_created_at", ["donor_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_payments_provider_state", ["provider", "state"], unique=False)
        batch_op.create_index(
            "uq_payments_provider_ref",
            ["provider", "provider_ref"],
            unique=True,
            sqlite_where=sa.text("provider_ref IS NOT NULL"),
            postgresql_where=sa.text("provider_ref IS NOT NULL"),
        )

    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("received_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('manual', 'simulated', 'stripe')",
            name=op.f("ck_payment_events_provider_known"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event_id"),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_events_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "payment_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_lines_amount_positive")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_payment_lines_position_natural")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_lines_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_payment_lines_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_lines")),
        sa.UniqueConstraint("payment_id", "position", name="uq_payment_lines_payment_id_position"),
    )
    with op.batch_alter_table("payment_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_lines_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "payment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('declined', 'disputed', 'refunded', 'no-method', 'paused')",
            name=op.f("ck_payment_notices_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_notices_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], name=op.f("fk_payment_notices_peer_id_peers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_notices")),
        sa.UniqueConstraint("payment_id", "kind", name="uq_payment_notices_payment_id_kind"),
    )
    with op.batch_alter_table("payment_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_notices_peer_id"), ["peer_id"], unique=False)

    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only_ddl(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in drop_append_only_ddl(dialect, table):
            op.execute(statement)
    with op.batch_alter_table("payment_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_notices_peer_id"))

    op.drop_table("payment_notices")
    with op.batch_alter_table("payment_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_lines_project_id"))

    op.drop_table("payment_lines")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_payment_id"))

    op.drop_table("payment_events")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payments_provider_ref",
            sqlite_where=sa.text("provider_ref IS NOT NULL"),
            postgresql_where=sa.text("provider_ref IS NOT NULL"),
        )
        batch_op.drop_index("ix_payments_provider_state")
        batch_op.drop_index("ix_payments_donor_id_created_at")

    op.drop_table("payments")
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payment_methods_active",
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_payment_methods_peer_id"))

    op.drop_table("payment_methods")
    with op.batch_alter_table("custodian_admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custodian_admins_peer_id"))

    op.drop_table("custodian_admins")
