"""needs and pledges: needs, pledges, all-or-nothing holds, paydays and what they decided

Revision ID: 0003
Revises: 0002
Created: 2026-11-27 09:08:03.625059
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import potluck.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payday_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_payday_leases")),
    )
    op.create_table(
        "paydays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("started_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("minimum_charge", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("check_ok", sa.Boolean(), nullable=True),
        sa.Column("check_report", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "stage IN ('cleared', 'staged', 'executed', 'settled', 'done')",
            name=op.f("ck_paydays_stage_known"),
        ),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_paydays_period_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paydays")),
        sa.UniqueConstraint("period_start", name=op.f("uq_paydays_period_start")),
    )
    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("per", sa.String(length=8), nullable=True),
        sa.Column("deadline", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("funding", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "funding <> 'all-or-nothing' OR per IS NULL", name=op.f("ck_needs_all_or_nothing_goal")
        ),
        sa.CheckConstraint(
            "funding IN ('open', 'all-or-nothing', 'shared')", name=op.f("ck_needs_funding_known")
        ),
        sa.CheckConstraint(
            "per IS NULL OR per IN ('week', 'month', 'year')", name=op.f("ck_needs_per_known")
        ),
        sa.CheckConstraint(
            "(per IS NULL) = (deadline IS NOT NULL)", name=op.f("ck_needs_cost_or_goal")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_needs_amount_positive")),
        sa.ForeignKeyConstraint(
            ["commodity"], ["commodities.code"], name=op.f("fk_needs_commodity_commodities")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["peers.id"], name=op.f("fk_needs_created_by_id_peers")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_needs_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
        sa.UniqueConstraint("id", "commodity", name="uq_needs_id_commodity"),
    )
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_needs_project_id_closed_at", ["project_id", "closed_at"], unique=False
        )

    op.create_table(
        "payday_payments",
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("payday_id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("carried_in", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("updated_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('planned', 'awaiting', 'processing', 'succeeded', 'failed', 'disputed', "
            "'refunded')",
            name=op.f("ck_payday_payments_state_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payday_payments_amount_positive")),
        sa.CheckConstraint(
            "carried_in >= 0 AND carried_in <= amount",
            name=op.f("ck_payday_payments_carried_in_within"),
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"], ["peers.id"], name=op.f("fk_payday_payments_donor_id_peers")
        ),
        sa.ForeignKeyConstraint(
            ["payday_id"], ["paydays.id"], name=op.f("fk_payday_payments_payday_id_paydays")
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_payday_payments")),
        sa.UniqueConstraint("payday_id", "donor_id", "commodity", name="uq_payday_payments_donor"),
    )
    with op.batch_alter_table("payday_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payday_payments_payday_id_state", ["payday_id", "state"], unique=False
        )

    op.create_table(
        "pledge_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("dismissed_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], name=op.f("fk_pledge_notices_peer_id_peers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_pledge_notices_key")),
    )
    with op.batch_alter_table("pledge_notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pledge_notices_peer_id_created_at", ["peer_id", "created_at"], unique=False
        )

    op.create_table(
        "payday_coverage",
        sa.Column("payday_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("pledged", sa.BigInteger(), nullable=False),
        sa.Column("cleared", sa.BigInteger(), nullable=False),
        sa.Column("missing", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_payday_coverage_need_id_needs")
        ),
        sa.ForeignKeyConstraint(
            ["payday_id"], ["paydays.id"], name=op.f("fk_payday_coverage_payday_id_paydays")
        ),
        sa.PrimaryKeyConstraint("payday_id", "need_id", name=op.f("pk_payday_coverage")),
    )
    with op.batch_alter_table("payday_coverage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payday_coverage_need_id"), ["need_id"], unique=False)

    op.create_table(
        "pledges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("per", sa.String(length=8), nullable=True),
        sa.Column("rate", sa.BigInteger(), nullable=True),
        sa.Column("cap", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state_reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind <> 'all-or-nothing' OR (amount > 0 AND per IS NULL AND rate IS NULL "
            "AND cap IS NULL)",
            name=op.f("ck_pledges_all_or_nothing_terms"),
        ),
        sa.CheckConstraint(
            "kind <> 'crowdmatch' OR (rate > 0 AND cap >= rate AND amount IS NULL AND per IS NULL)",
            name=op.f("ck_pledges_crowdmatch_terms"),
        ),
        sa.CheckConstraint(
            "kind <> 'gift' OR (amount > 0 AND rate IS NULL AND cap IS NULL)",
            name=op.f("ck_pledges_gift_terms"),
        ),
        sa.CheckConstraint(
            "kind <> 'share' OR (cap > 0 AND amount IS NULL AND per IS NULL AND rate IS NULL)",
            name=op.f("ck_pledges_share_terms"),
        ),
        sa.CheckConstraint(
            "kind IN ('gift', 'all-or-nothing', 'crowdmatch', 'share')",
            name=op.f("ck_pledges_kind_known"),
        ),
        sa.CheckConstraint(
            "per IS NULL OR per IN ('week', 'month', 'year')", name=op.f("ck_pledges_per_known")
        ),
        sa.CheckConstraint(
            "state IN ('active', 'paused', 'cancelled')", name=op.f("ck_pledges_state_known")
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_pledges_revision_positive")),
        sa.ForeignKeyConstraint(["donor_id"], ["peers.id"], name=op.f("fk_pledges_donor_id_peers")),
        sa.ForeignKeyConstraint(
            ["need_id", "commodity"],
            ["needs.id", "needs.commodity"],
            name="fk_pledges_need_id_commodity_needs",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledges")),
    )
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.create_index("ix_pledges_donor_id_state", ["donor_id", "state"], unique=False)
        batch_op.create_index(
            "ix_pledges_need_id_state_kind",
            ["need_id", "state", "kind", "cap", "rate"],
            unique=False,
        )
        batch_op.create_index(
            "uq_pledges_standing",
            ["need_id", "donor_id"],
            unique=True,
            sqlite_where=sa.text(
                "state IN ('active', 'paused') AND (kind <> 'gift' OR per IS NOT NULL)"
            ),
            postgresql_where=sa.text(
                "state IN ('active', 'paused') AND (kind <> 'gift' OR per IS NOT NULL)"
            ),
        )

    op.create_table(
        "payday_charges",
        sa.Column("payday_id", sa.Integer(), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("commodity", sa.String(length=23), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payment_reference", sa.String(length=120), nullable=True),
        sa.CheckConstraint(
            "kind IN ('gift', 'all-or-nothing', 'crowdmatch', 'share')",
            name=op.f("ck_payday_charges_kind_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payday_charges_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payday_id"], ["paydays.id"], name=op.f("fk_payday_charges_payday_id_paydays")
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["pledges.id"], name=op.f("fk_payday_charges_pledge_id_pledges")
        ),
        sa.PrimaryKeyConstraint("payday_id", "pledge_id", name=op.f("pk_payday_charges")),
    )
    with op.batch_alter_table("payday_charges", schema=None) as batch_op:
        batch_op.create_index("ix_payday_charges_need_id", ["need_id"], unique=False)
        batch_op.create_index(
            "ix_payday_charges_outstanding",
            ["donor_id", "commodity"],
            unique=False,
            sqlite_where=sa.text("payment_reference IS NULL"),
            postgresql_where=sa.text("payment_reference IS NULL"),
        )
        batch_op.create_index(
            "ix_payday_charges_payment_reference", ["payment_reference"], unique=False
        )

    op.create_table(
        "pledge_holds",
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payday_id", sa.Integer(), nullable=True),
        sa.Column("created_at", potluck.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", potluck.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'captured', 'voided', 'expired', 'settled')",
            name=op.f("ck_pledge_holds_state_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_pledge_holds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["pledges.id"], name=op.f("fk_pledge_holds_pledge_id_pledges")
        ),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_pledge_holds")),
    )
    with op.batch_alter_table("pledge_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pledge_holds_captured",
            ["pledge_id"],
            unique=False,
            sqlite_where=sa.text("state = 'captured'"),
            postgresql_where=sa.text("state = 'captured'"),
        )
        batch_op.create_index(batch_op.f("ix_pledge_holds_pledge_id"), ["pledge_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pledge_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_holds_pledge_id"))
        batch_op.drop_index(
            "ix_pledge_holds_captured",
            sqlite_where=sa.text("state = 'captured'"),
            postgresql_where=sa.text("state = 'captured'"),
        )

    op.drop_table("pledge_holds")
    with op.batch_alter_table("payday_charges", schema=None) as batch_op:
        batch_op.drop_index("ix_payday_charges_payment_reference")
        batch_op.drop_index(
            "ix_payday_charges_outstanding",
            sqlite_where=sa.text("payment_reference IS NULL"),
            postgresql_where=sa.text("payment_reference IS NULL"),
        )
        batch_op.drop_index("ix_payday_charges_need_id")

    op.drop_table("payday_charges")
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pledges_standing",
            sqlite_where=sa.text(
                "state IN ('active', 'paused') AND (kind <> 'gift' OR per IS NOT NULL)"
            ),
            postgresql_where=sa.text(
                "state IN ('active', 'paused') AND (kind <> 'gift' OR per IS NOT NULL)"
            ),
        )
        batch_op.drop_index("ix_pledges_need_id_state_kind")
        batch_op.drop_index("ix_pledges_donor_id_state")

    op.drop_table("pledges")
    with op.batch_alter_table("payday_coverage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payday_coverage_need_id"))

    op.drop_table("payday_coverage")
    with op.batch_alter_table("pledge_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_pledge_notices_peer_id_created_at")

    op.drop_table("pledge_notices")
    with op.batch_alter_table("payday_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payday_payments_payday_id_state")

    op.drop_table("payday_payments")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index("ix_needs_project_id_closed_at")

    op.drop_table("needs")
    op.drop_table("paydays")
    op.drop_table("payday_leases")
