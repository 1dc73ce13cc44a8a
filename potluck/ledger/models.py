"""The books' tables: commodities, custodians, chains, accounts, transfers and open holds.

The database itself keeps the invariants a bug in Python must not be able to break: amounts
are positive, a transfer never moves value from an account to itself, both sides share the
transfer's commodity (composite foreign keys to ``(account id, commodity)``), a hold is resolved
at most once (unique ``pending_id``), an account that forbids a negative balance cannot reach
one (a CHECK on its running totals), and transfers cannot be changed or deleted (triggers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from potluck.db import Base

GENESIS_HASH = "0" * 64
"""The predecessor hash of the first transfer of every chain."""

TRANSFER_KINDS = ("transfer", "hold", "post", "void", "expire")
RESOLUTION_KINDS = ("post", "void", "expire")
OWNER_KINDS = ("project", "peer", "custodian", "world")
CUSTODIAN_KINDS = ("fiscal-host", "payment-provider", "bank-account")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CommodityRow(Base):
    """A commodity the books can count in: every ISO 4217 currency and the resource units,
    built in, plus units an instance defines for itself."""

    __tablename__ = "commodities"
    __table_args__ = (
        CheckConstraint("kind IN ('currency', 'resource')", name="kind_known"),
        CheckConstraint("exponent >= 0 AND exponent <= 18", name="exponent_range"),
    )

    code: Mapped[str] = mapped_column(String(23), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    exponent: Mapped[int] = mapped_column(Integer)
    """Decimal places of the smallest unit: 2 for EUR, 0 for JPY, 3 for cpu-hour."""
    name: Mapped[str] = mapped_column(String(80))


class Custodian(Base):
    """Who physically holds money: a fiscal host, a payment provider's balance, or a steward's
    bank account. Project funds are kept per custodian so the books say who holds what."""

    __tablename__ = "custodians"
    __table_args__ = (CheckConstraint(_in("kind", CUSTODIAN_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime]


class Chain(Base):
    """One hash chain: the instance's books, or one project's. ``head_*`` is the last link,
    updated in the same transaction as the transfers that extend it."""

    __tablename__ = "ledger_chains"
    __table_args__ = (CheckConstraint("head_seq >= 0", name="head_seq_natural"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    """``instance`` or ``project:<id>``; part of every hash in the chain."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), unique=True)
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class Account(Base):
    """An account in one commodity. Balance is credits minus debits; holds reserve debits."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("id", "commodity", name="uq_ledger_accounts_id_commodity"),
        CheckConstraint(_in("owner", OWNER_KINDS), name="owner_known"),
        CheckConstraint("(project_id IS NOT NULL) = (owner = 'project')", name="project_owner"),
        CheckConstraint("(peer_id IS NOT NULL) = (owner = 'peer')", name="peer_owner"),
        CheckConstraint("owner <> 'custodian' OR custodian_id IS NOT NULL", name="custodian_owner"),
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="totals_natural",
        ),
        CheckConstraint(
            "NOT no_negative OR debits_posted + debits_pending <= credits_posted",
            name="no_negative_balance",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    """What the account is, as text: ``project:5:funds:3:EUR``. Opening is get-or-create."""
    owner: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(24))
    """``funds``, ``in-kind``, ``given``, ``owed``, ``holdings`` or ``outside``."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("peers.id"), index=True)
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("custodians.id"))
    """Who holds the value: set for a project's funds and for a custodian's own account."""
    commodity: Mapped[str] = mapped_column(ForeignKey("commodities.code"))
    chain_id: Mapped[int] = mapped_column(ForeignKey("ledger_chains.id"))
    """The books this account's transfers are chained in."""
    no_negative: Mapped[bool] = mapped_column(Boolean)
    """Debits, posted and held, may never exceed posted credits."""
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class Transfer(Base):
    """One immutable movement of ``amount`` from the debit account to the credit account.

    A ``hold`` reserves the amount; exactly one later ``post`` (all or part), ``void`` or
    ``expire`` names it in ``pending_id`` and ends it. Mistakes are undone by a new transfer
    that names the one it corrects in ``reverses_id``.
    """

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(_in("kind", TRANSFER_KINDS), name="kind_known"),
        CheckConstraint(
            f"(pending_id IS NOT NULL) = ({_in('kind', RESOLUTION_KINDS)})",
            name="resolution_names_hold",
        ),
        CheckConstraint("timeout_at IS NULL OR kind = 'hold'", name="timeout_on_hold"),
        CheckConstraint("reverses_id IS NULL OR kind = 'transfer'", name="reversal_kind"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        UniqueConstraint("chain_id", "seq", name="uq_ledger_transfers_chain_id_seq"),
        # On PostgreSQL, revision 0006 replaces this table's foreign keys by one trigger per
        # INSERT statement that checks every new row at once (a foreign key there costs a
        # locked lookup per row), plus triggers that keep referenced rows and their keys.
        ForeignKeyConstraint(
            ["debit_account_id", "commodity"],
            ["ledger_accounts.id", "ledger_accounts.commodity"],
            name="fk_ledger_transfers_debit_account",
        ),
        ForeignKeyConstraint(
            ["credit_account_id", "commodity"],
            ["ledger_accounts.id", "ledger_accounts.commodity"],
            name="fk_ledger_transfers_credit_account",
        ),
        Index("ix_ledger_transfers_chain_id_created_at", "chain_id", "created_at"),
        # Partial, so that the many transfers that end no hold and reverse nothing cost no
        # index entry; still a hold can end only once and a transfer be reversed only once.
        Index(
            "uq_ledger_transfers_pending_id",
            "pending_id",
            unique=True,
            sqlite_where=text("pending_id IS NOT NULL"),
            postgresql_where=text("pending_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_transfers_reverses_id",
            "reverses_id",
            unique=True,
            sqlite_where=text("reverses_id IS NOT NULL"),
            postgresql_where=text("reverses_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Chosen by the client, so that submitting the same transfer twice is harmless."""
    chain_id: Mapped[int] = mapped_column(ForeignKey("ledger_chains.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    """Position in the chain, from 1 with no gaps."""
    kind: Mapped[str] = mapped_column(String(8))
    debit_account_id: Mapped[int] = mapped_column(Integer)
    credit_account_id: Mapped[int] = mapped_column(Integer)
    commodity: Mapped[str] = mapped_column(String(23))
    amount: Mapped[int] = mapped_column(BigInteger)
    """Amount in the commodity's smallest unit."""
    pending_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    """The hold this transfer posts, voids or expires; unique, so a hold ends only once."""
    timeout_at: Mapped[datetime | None]
    """When an unresolved hold expires."""
    reverses_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    """The transfer this one corrects; unique, so a transfer is reversed at most once."""
    batch_id: Mapped[str | None] = mapped_column(String(64))
    """Transfers submitted together as one linked batch share it; they stand or fall together."""
    memo: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 over ``prev_hash`` and every field above; see ``rules.transfer_hash``."""


class OpenHold(Base):
    """A hold not yet posted, voided or expired: a working index, so that finding holds due to
    expire does not scan the transfers. Deleted when the hold ends."""

    __tablename__ = "ledger_open_holds"

    transfer_id: Mapped[str] = mapped_column(ForeignKey("ledger_transfers.id"), primary_key=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    timeout_at: Mapped[datetime | None] = mapped_column(index=True)
