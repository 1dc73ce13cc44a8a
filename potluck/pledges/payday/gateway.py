"""Where payday meets the payments: the only module of payday that calls them.

Payday decides who pays what; the payments take the money and post it to the projects' books.
Here the donors' payments are started (idempotent on their references), sent and their
outcomes recorded, thousands at a time; and what the books received for a set of payments is
read back for the self-check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from potluck.db import one_of
from potluck.ledger.models import Account, Transfer
from potluck.pledges.payments import methods, sending, starting
from potluck.pledges.payments import rules as payment_rules
from potluck.pledges.payments.base import (
    ChargeResult,
    PaymentLine,
    PaymentState,
    ProviderEvent,
    ProviderName,
)
from potluck.pledges.payments.events import apply_event
from potluck.pledges.payments.models import Payment, PaymentLineRow, PaymentMethod
from potluck.pledges.payments.service import (
    FAILURES_BEFORE_PAUSE,
    ProviderRegistry,
    consecutive_failures,
)

__all__ = [
    "FAILURES_BEFORE_PAUSE",
    "FINAL",
    "SUCCEEDED",
    "Line",
    "ProviderRegistry",
    "Start",
    "apply_later",
    "charge",
    "failures_in_a_row",
    "notice_paused",
    "prepare",
    "providers_for",
    "received",
    "record",
    "start_many",
    "states",
]

SUCCEEDED = PaymentState.SUCCEEDED.value
FAILED = PaymentState.FAILED.value
FINAL = frozenset(state.value for state in payment_rules.FINAL_STATES)
"""States a payment never leaves by being sent again."""
_CHUNK = 900
_MANY = 20_000


Line = PaymentLine
"""One project's part of a donor's payment."""


def providers_for(
    session: Session, donor_ids: Iterable[int], registry: ProviderRegistry
) -> dict[int, str]:
    """How each donor pays, as ``methods.preferred_provider`` decides it — the provider of
    their newest saved card that the instance offers, or a bank transfer — for many donors in
    one query, since a payday asks it of every donor."""
    ids = sorted(set(donor_ids))
    offered = registry.card_names()
    chosen: dict[int, str] = {}
    for start_at in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(PaymentMethod.peer_id, PaymentMethod.provider)
            .where(
                PaymentMethod.peer_id.in_(ids[start_at : start_at + _CHUNK]),
                PaymentMethod.removed_at.is_(None),
                PaymentMethod.provider.in_(offered),
            )
            .order_by(PaymentMethod.created_at.desc(), PaymentMethod.id.desc())
        )
        for peer_id, provider in rows:
            chosen.setdefault(peer_id, provider)
    return {donor_id: chosen.get(donor_id, ProviderName.MANUAL.value) for donor_id in ids}


@dataclass(frozen=True, slots=True)
class Start:
    """A donor's payment at a payday, to be started."""

    reference: str
    donor_id: int
    currency: str
    lines: Sequence[Line]
    provider: str


def start_many(
    session: Session, starts: Sequence[Start], *, now: datetime
) -> dict[str, tuple[int, str]]:
    """Create (or find) the payments called by the starts' references, all at once and by the
    rules of starting one; ``reference → (payment id, state)``."""
    started = starting.start_payments(
        session,
        [
            starting.PaymentStart(
                start.reference,
                start.donor_id,
                start.currency,
                start.lines,
                start.provider,
            )
            for start in starts
        ],
        now=now,
    )
    return {reference: (s.payment_id, s.state) for reference, s in started.items()}


def prepare(
    session: Session, payment_ids: Sequence[int], *, registry: ProviderRegistry, now: datetime
) -> sending.Prepared:
    """Mark the payments as sent and build the providers' requests (see ``sending``)."""
    return sending.prepare_many(session, payment_ids, providers=registry, now=now)


def charge(
    prepared: sending.Prepared, *, registry: ProviderRegistry, senders: Executor
) -> dict[int, ChargeResult]:
    """Ask the providers; outside any transaction. A provider never charges twice."""
    return sending.charge(prepared, providers=registry, senders=senders)


def record(
    session: Session, results: Mapping[int, ChargeResult], *, now: datetime
) -> sending.Recorded:
    """Write the answers: the money in the books, declines with their notices."""
    return sending.record_many(session, results, now=now)


def apply_later(session: Session, event: ProviderEvent, *, now: datetime) -> int | None:
    """Apply an event a provider said would follow (a dispute); the payment's id."""
    return apply_event(session, event, now=now).payment_id


def states(session: Session, payment_ids: Iterable[int]) -> dict[int, str]:
    """The current state of each payment."""
    ids = sorted(set(payment_ids))
    found: dict[int, str] = {}
    for start_at in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Payment.id, Payment.state).where(
                Payment.id.in_(ids[start_at : start_at + _CHUNK])
            )
        )
        found.update({int(pid): str(state) for pid, state in rows})
    return found


def notice_paused(
    session: Session, *, donor_id: int, payment_id: int, message: str, now: datetime
) -> None:
    """Tell the donor, beside the failed payment, that their pledges are paused."""
    methods.add_notice(
        session, peer_id=donor_id, payment_id=payment_id, kind="paused", message=message, now=now
    )


def failures_in_a_row(session: Session, donor_id: int, currency: str) -> int:
    return consecutive_failures(session, donor_id, currency=currency)


def received(session: Session, payment_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """What the books say ``payment_ids`` brought in: ``(project id, currency) → amount``,
    summed over the receipt transfers into the projects' funds (before fees, as charged).

    Each line's receipt is found by its id (``payment_rules.receipt_transfer_id``, written
    here in SQL) in the same statement that reads the lines: a payday's half a million ids
    never travel through Python."""
    ids = sorted(set(payment_ids))
    line = PaymentLineRow.__table__.c
    receipt_id = (
        literal("payment:", String)
        + cast(line.payment_id, String)
        + literal(":", String)
        + cast(line.position, String)
        + literal(":in", String)
    )
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for start_at in range(0, len(ids), _MANY):
        for project_id, commodity, amount in session.execute(
            select(Account.project_id, Transfer.commodity, func.sum(Transfer.amount))
            .select_from(PaymentLineRow)
            .join(Transfer, Transfer.id == receipt_id)
            .join(Account, Account.id == Transfer.credit_account_id)
            .where(one_of(session, "payment_lines.payment_id", ids[start_at : start_at + _MANY]))
            .group_by(Account.project_id, Transfer.commodity)
        ):
            totals[int(project_id or 0), str(commodity)] += int(amount)
    return dict(totals)
