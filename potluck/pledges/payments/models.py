"""Payments, their lines, saved payment methods, inbound provider events and notices to donors.

The database keeps what a bug must not break: a payment's amount is positive and its fee
within it; a state that says the money arrived has its fee and time; a reference is used once;
a provider's event is applied once (unique on provider and event id); lines and applied events
are never changed or deleted (triggers, see the migration).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from potluck.db import Base
from potluck.pledges.payments.base import PaymentState, ProviderName


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


STATES = tuple(state.value for state in PaymentState)
PROVIDERS = tuple(name.value for name in ProviderName)
NOTICE_KINDS = ("declined", "disputed", "refunded", "no-method", "paused")


class PaymentMethod(Base):
    """A donor's saved way to pay at a provider: a Stripe customer and payment method, or a
    simulated test card. Removed methods are kept, since old payments name them."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        CheckConstraint(_in("provider", PROVIDERS), name="provider_known"),
        CheckConstraint("provider <> 'manual'", name="not_manual"),
        Index(
            "uq_payment_methods_active",
            "peer_id",
            "provider",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    """The provider's customer (Stripe ``cus_...``)."""
    method_ref: Mapped[str] = mapped_column(String(255))
    """The provider's payment method (Stripe ``pm_...``), or the simulated test card number."""
    label: Mapped[str] = mapped_column(String(120))
    """What the donor recognises it by: ``Visa ending 4242``."""
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Payment(Base):
    """One donor's payment in one currency, covering one or more projects' lines."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state_known"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee IS NULL OR (fee >= 0 AND fee <= amount)", name="fee_within_amount"),
        CheckConstraint("refunded >= 0 AND refunded <= amount", name="refunded_within_amount"),
        CheckConstraint(
            "received IS NULL OR (received > 0 AND received <= amount)",
            name="received_within_amount",
        ),
        CheckConstraint(
            "state NOT IN ('succeeded', 'disputed', 'refunded') "
            "OR (fee IS NOT NULL AND succeeded_at IS NOT NULL)",
            name="settled_has_fee",
        ),
        CheckConstraint(
            "state NOT IN ('disputed', 'refunded') OR reversed_at IS NOT NULL",
            name="reversal_dated",
        ),
        CheckConstraint("state <> 'failed' OR failed_at IS NOT NULL", name="failure_dated"),
        CheckConstraint("attempts >= 0", name="attempts_natural"),
        Index(
            "uq_payments_provider_ref",
            "provider",
            "provider_ref",
            unique=True,
            sqlite_where=text("provider_ref IS NOT NULL"),
            postgresql_where=text("provider_ref IS NOT NULL"),
        ),
        Index("ix_payments_donor_id_created_at", "donor_id", "created_at"),
        Index("ix_payments_provider_state", "provider", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    """Chosen by the caller (``payday-12/donor-34/EUR``): starting the same payment twice
    returns the first."""
    donor_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    currency: Mapped[str] = mapped_column(ForeignKey("commodities.code"))
    amount: Mapped[int] = mapped_column(BigInteger)
    """The sum of the lines, in the currency's smallest unit."""
    provider: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_methods.id"))
    """The saved card it was sent with; chosen when it is sent."""
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    """The provider's id for it (Stripe ``pi_...``), to match the provider's later events."""
    bank_code: Mapped[str | None] = mapped_column(String(24), unique=True)
    """For a manual payment: the reference code the donor writes on the bank transfer."""
    fee: Mapped[int | None] = mapped_column(BigInteger)
    """What the processor kept, known once the money arrived; split among the lines."""
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    """How much has been refunded so far (a provider reports the running total); each
    refund books only what is new."""
    received: Mapped[int | None] = mapped_column(BigInteger)
    """For a manual payment: what the confirmer saw arrive. The shortfall is the banks' fee."""
    failure_code: Mapped[str | None] = mapped_column(String(80))
    """The provider's reason code for a decline (``insufficient_funds``)."""
    failure_message: Mapped[str | None] = mapped_column(String(500))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("peers.id"))
    """Who confirmed a manual payment's arrival."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """How many times it was handed to the provider (always with the same idempotency key)."""
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    succeeded_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    reversed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    lines: Mapped[list[PaymentLineRow]] = relationship(
        order_by="PaymentLineRow.position", back_populates="payment"
    )

    @property
    def payment_state(self) -> PaymentState:
        return PaymentState(self.state)


class PaymentLineRow(Base):
    """One project's part of a payment. Never changed once written (triggers)."""

    __tablename__ = "payment_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("position >= 0", name="position_natural"),
        UniqueConstraint("payment_id", "position", name="uq_payment_lines_payment_id_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    position: Mapped[int] = mapped_column(Integer)
    """From 0, in the order the lines were given; part of the line's transfer ids."""
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(200))

    payment: Mapped[Payment] = relationship(back_populates="lines")


class PaymentEvent(Base):
    """An event a provider sent about a payment, recorded in the transaction that applied it:
    its presence is what makes a second delivery a no-op. Never changed (triggers)."""

    __tablename__ = "payment_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event_id"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(80))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(500))
    """What applying it did, in a sentence: ``payment 12 succeeded`` or why it was ignored."""
    received_at: Mapped[datetime]


class PaymentNotice(Base):
    """Something a donor should know about one of their payments: a declined card, a dispute."""

    __tablename__ = "payment_notices"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTICE_KINDS), name="kind_known"),
        UniqueConstraint("payment_id", "kind", name="uq_payment_notices_payment_id_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class CustodianAdmin(Base):
    """A peer who may confirm what arrives at a custodian (the instance's bank account), for
    every project, besides the stewards of the projects concerned."""

    __tablename__ = "custodian_admins"
    __table_args__ = (
        UniqueConstraint("custodian_id", "peer_id", name="uq_custodian_admins_custodian_id_peer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    custodian_id: Mapped[int] = mapped_column(ForeignKey("custodians.id"))
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"), index=True)
    appointed_at: Mapped[datetime]
