"""Needs, pledges, and what each payday decided and did.

The database keeps the invariants a bug in Python must not break: amounts are positive, a
pledge's terms fit its kind, a pledge is counted in its need's commodity (a composite foreign
key to ``(need id, commodity)``), one payday per period, one charge per pledge per payday, one
payment per donor per currency per payday.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from potluck.db import Base

CADENCES = ("week", "month", "year")
FUNDING_RULES = ("open", "all-or-nothing", "shared")
PLEDGE_KINDS = ("gift", "all-or-nothing", "crowdmatch", "share")
PLEDGE_STATES = ("active", "paused", "cancelled")
PAYDAY_STAGES = ("cleared", "staged", "executed", "settled", "done")
PAYMENT_STATES = (
    "planned",
    "awaiting",
    "processing",
    "succeeded",
    "failed",
    "disputed",
    "refunded",
)
HOLD_STATES = ("open", "captured", "voided", "expired", "settled")
_STANDING = "state IN ('active', 'paused') AND (kind <> 'gift' OR per IS NOT NULL)"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Need(Base):
    """What a project must cover: a recurring cost, or a one-off goal with a deadline."""

    __tablename__ = "needs"
    __table_args__ = (
        UniqueConstraint("id", "commodity", name="uq_needs_id_commodity"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"per IS NULL OR {_in('per', CADENCES)}", name="per_known"),
        CheckConstraint(_in("funding", FUNDING_RULES), name="funding_known"),
        CheckConstraint("(per IS NULL) = (deadline IS NOT NULL)", name="cost_or_goal"),
        CheckConstraint("funding <> 'all-or-nothing' OR per IS NULL", name="all_or_nothing_goal"),
        Index("ix_needs_project_id_closed_at", "project_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    """Markdown source; rendered and sanitised on display."""
    commodity: Mapped[str] = mapped_column(ForeignKey("commodities.code"))
    amount: Mapped[int] = mapped_column(BigInteger)
    """The recurring cost per ``per``, or a goal's target, in the commodity's smallest unit."""
    per: Mapped[str | None] = mapped_column(String(8))
    """``week``, ``month`` or ``year`` for a recurring cost; empty for a one-off goal."""
    deadline: Mapped[datetime | None]
    """When a one-off goal must be reached; empty for a recurring cost."""
    funding: Mapped[str] = mapped_column(String(16))
    """``open``, ``all-or-nothing`` or ``shared``: how its pledges become charges."""
    created_by_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    """Set when a steward closes the need; paydays no longer clear it."""


class Pledge(Base):
    """A peer's promise toward a need. Only the columns of its kind are set."""

    __tablename__ = "pledges"
    __table_args__ = (
        ForeignKeyConstraint(
            ["need_id", "commodity"],
            ["needs.id", "needs.commodity"],
            name="fk_pledges_need_id_commodity_needs",
        ),
        CheckConstraint(_in("kind", PLEDGE_KINDS), name="kind_known"),
        CheckConstraint(_in("state", PLEDGE_STATES), name="state_known"),
        CheckConstraint(f"per IS NULL OR {_in('per', CADENCES)}", name="per_known"),
        CheckConstraint(
            "kind <> 'gift' OR (amount > 0 AND rate IS NULL AND cap IS NULL)", name="gift_terms"
        ),
        CheckConstraint(
            "kind <> 'all-or-nothing' OR (amount > 0 AND per IS NULL AND rate IS NULL "
            "AND cap IS NULL)",
            name="all_or_nothing_terms",
        ),
        CheckConstraint(
            "kind <> 'crowdmatch' OR (rate > 0 AND cap >= rate AND amount IS NULL AND per IS NULL)",
            name="crowdmatch_terms",
        ),
        CheckConstraint(
            "kind <> 'share' OR (cap > 0 AND amount IS NULL AND per IS NULL AND rate IS NULL)",
            name="share_terms",
        ),
        CheckConstraint("revision >= 1", name="revision_positive"),
        # Covers what a preview reads of a need's pledges (every cap, every rate), so that it
        # never visits the table for them.
        Index("ix_pledges_need_id_state_kind", "need_id", "state", "kind", "cap", "rate"),
        # One standing pledge per donor and need, so that changing one's mind is an edit;
        # one-off gifts may be given again and again.
        Index(
            "uq_pledges_standing",
            "need_id",
            "donor_id",
            unique=True,
            sqlite_where=text(_STANDING),
            postgresql_where=text(_STANDING),
        ),
        Index("ix_pledges_donor_id_state", "donor_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(Integer)
    donor_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    commodity: Mapped[str] = mapped_column(String(23))
    """Always the need's commodity; the composite foreign key makes sure of it."""
    amount: Mapped[int | None] = mapped_column(BigInteger)
    """A gift's or an all-or-nothing pledge's amount, in the smallest unit."""
    per: Mapped[str | None] = mapped_column(String(8))
    """How often a recurring gift falls due; empty for a one-off gift."""
    rate: Mapped[int | None] = mapped_column(BigInteger)
    """A crowdmatch pledge's amount per active patron."""
    cap: Mapped[int | None] = mapped_column(BigInteger)
    """The most a crowdmatch or share pledge pays in one payday period."""
    state: Mapped[str] = mapped_column(String(16), default="active")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    """Shown as "anonymous" on public pages; the donor's name is never published."""
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped by every change of terms; names the all-or-nothing hold in the books."""
    state_reason: Mapped[str] = mapped_column(String(300), default="")
    """Why the pledge was paused or cancelled, when it was not its donor's own choice."""
    created_at: Mapped[datetime]
    """With ``id``, orders pledges for the clearing's tie-breaks; edits never change it."""
    updated_at: Mapped[datetime]


class PledgeHold(Base):
    """The pending transfer an all-or-nothing pledge holds in the books, one per revision."""

    __tablename__ = "pledge_holds"
    __table_args__ = (
        CheckConstraint(_in("state", HOLD_STATES), name="state_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(
            "ix_pledge_holds_captured",
            "pledge_id",
            sqlite_where=text("state = 'captured'"),
            postgresql_where=text("state = 'captured'"),
        ),
    )

    transfer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The hold's id in the books."""
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="open")
    """``open``; ``captured`` by the payday of the goal's deadline; ``settled`` once the donor's
    payment arrived; ``voided`` when the goal failed or the pledge changed; ``expired``."""
    payday_id: Mapped[int | None] = mapped_column(Integer)
    """The payday that captured or voided it."""
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Payday(Base):
    """One run of the clearing for one period, and how far it got."""

    __tablename__ = "paydays"
    __table_args__ = (
        CheckConstraint("period_end > period_start", name="period_ordered"),
        CheckConstraint(_in("stage", PAYDAY_STAGES), name="stage_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, unique=True)
    period_end: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(16))
    """The last stage completed: ``cleared`` → ``staged`` → ``executed`` → ``settled`` →
    ``done``."""
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    minimum_charge: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """The instance's minimum payment per currency when the payday cleared."""
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Counts and totals per currency, written as stages complete."""
    check_ok: Mapped[bool | None] = mapped_column(Boolean)
    """Whether the closing self-check found the books agreeing with the charges."""
    check_report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """One entry per project and currency the self-check compared."""


class PaydayCharge(Base):
    """What one pledge cost its donor at one payday. Written once, by the clearing."""

    __tablename__ = "payday_charges"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("kind", PLEDGE_KINDS), name="kind_known"),
        # Charges not yet part of a payment: carried below the minimum, or whose payment failed.
        Index(
            "ix_payday_charges_outstanding",
            "donor_id",
            "commodity",
            sqlite_where=text("payment_reference IS NULL"),
            postgresql_where=text("payment_reference IS NULL"),
        ),
        Index("ix_payday_charges_payment_reference", "payment_reference"),
        Index("ix_payday_charges_need_id", "need_id"),
    )

    payday_id: Mapped[int] = mapped_column(ForeignKey("paydays.id"), primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), primary_key=True)
    donor_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer)
    need_id: Mapped[int] = mapped_column(Integer)
    commodity: Mapped[str] = mapped_column(String(23))
    amount: Mapped[int] = mapped_column(BigInteger)
    """In the commodity's smallest unit."""
    kind: Mapped[str] = mapped_column(String(16))
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    """The payment that settles it; empty while it is carried to a later payday."""


class PaydayCoverage(Base):
    """How well one need was covered at one payday, as the clearing reported it."""

    __tablename__ = "payday_coverage"

    payday_id: Mapped[int] = mapped_column(ForeignKey("paydays.id"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), primary_key=True, index=True)
    project_id: Mapped[int] = mapped_column(Integer)
    commodity: Mapped[str] = mapped_column(String(23))
    cost: Mapped[int] = mapped_column(BigInteger)
    pledged: Mapped[int] = mapped_column(BigInteger)
    cleared: Mapped[int] = mapped_column(BigInteger)
    missing: Mapped[int] = mapped_column(BigInteger)


class PaydayPayment(Base):
    """One donor's payment in one currency at one payday, across all their projects."""

    __tablename__ = "payday_payments"
    __table_args__ = (
        UniqueConstraint("payday_id", "donor_id", "commodity", name="uq_payday_payments_donor"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("carried_in >= 0 AND carried_in <= amount", name="carried_in_within"),
        CheckConstraint(_in("state", PAYMENT_STATES), name="state_known"),
        Index("ix_payday_payments_payday_id_state", "payday_id", "state"),
    )

    reference: Mapped[str] = mapped_column(String(120), primary_key=True)
    """``payday-<id>/donor-<id>/<currency>``: the payment's idempotency key everywhere."""
    payday_id: Mapped[int] = mapped_column(ForeignKey("paydays.id"))
    donor_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    commodity: Mapped[str] = mapped_column(String(23))
    amount: Mapped[int] = mapped_column(BigInteger)
    """This payday's charges plus what was carried in, in the smallest unit."""
    carried_in: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list[list[Any]]] = mapped_column(JSON)
    """``[[project id, amount, memo], ...]``: what each project receives of it."""
    payment_id: Mapped[int | None] = mapped_column(Integer)
    """The payment's id among the payments, once started."""
    state: Mapped[str] = mapped_column(String(16), default="planned")
    provider: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime]


class PaydayLease(Base):
    """Who may run paydays right now: one row per job, taken with an expiry and renewed."""

    __tablename__ = "payday_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    """``host:pid:random`` of the runner holding it."""
    expires_at: Mapped[datetime]


class PledgeNotice(Base):
    """Something a donor should know about their pledges, shown on their giving page."""

    __tablename__ = "pledge_notices"
    __table_args__ = (Index("ix_pledge_notices_peer_id_created_at", "peer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    """What the notice is about, so that the same event never notifies twice."""
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    dismissed_at: Mapped[datetime | None]
