"""Where payday meets the payments: the only module of payday that calls them.

Payday decides who pays what; the payments take the money and post it to the projects' books.
Here each donor's payment is started (idempotent on its reference), sent, and its outcome read;
and what the books received for a set of payments is read back for the self-check.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, func, select, text
from sqlalchemy.orm import Session

from potluck.clock import Clock
from potluck.db import Database
from potluck.ledger.models import Account, Transfer
from potluck.pledges.payments import methods
from potluck.pledges.payments import rules as payment_rules
from potluck.pledges.payments.base import (
    PaymentLine,
    PaymentState,
    ProviderName,
    ProviderUnavailable,
)
from potluck.pledges.payments.models import Payment, PaymentLineRow, PaymentMethod
from potluck.pledges.payments.service import (
    FAILURES_BEFORE_PAUSE,
    ProviderRegistry,
    consecutive_failures,
    execute_payment,
    start_payment,
)

__all__ = [
    "FAILURES_BEFORE_PAUSE",
    "FINAL",
    "SUCCEEDED",
    "Line",
    "ProviderRegistry",
    "execute",
    "failures_in_a_row",
    "notice_paused",
    "providers_for",
    "received",
    "start",
    "states",
]

SUCCEEDED = PaymentState.SUCCEEDED.value
FAILED = PaymentState.FAILED.value
FINAL = frozenset(state.value for state in payment_rules.FINAL_STATES)
"""States a payment never leaves by being sent again."""
_CHUNK = 900
_MANY = 20_000


@dataclass(frozen=True, slots=True)
class Line:
    """One project's part of a donor's payment."""

    project_id: int
    amount: int
    memo: str


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


def start(
    session: Session,
    *,
    reference: str,
    donor_id: int,
    currency: str,
    lines: Sequence[Line],
    provider: str,
    now: datetime,
) -> tuple[int, str]:
    """Create (or find) the payment called ``reference``; returns its id and state."""
    payment = start_payment(
        session,
        reference=reference,
        donor_id=donor_id,
        currency=currency,
        lines=[PaymentLine(line.project_id, line.amount, line.memo) for line in lines],
        provider=provider,
        now=now,
    )
    return payment.id, payment.state


def execute(
    database: Database, payment_id: int, *, registry: ProviderRegistry, clock: Clock
) -> str:
    """Send the payment (never twice) and return its state. A provider that cannot be reached
    leaves it processing, to be sent again by a later run."""
    try:
        return execute_payment(database, payment_id, providers=registry, clock=clock).state
    except ProviderUnavailable:
        return PaymentState.PROCESSING.value


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


def _one_of(session: Session, column: str, values: list[Any]) -> TextClause:
    """``column`` is one of ``values``, as one bound parameter: the self-check names a million
    transfers, and a placeholder each would cost more than the lookups."""
    if session.get_bind().dialect.name == "postgresql":
        return text(f"{column} = ANY(:values)").bindparams(values=values)
    # The column names are this module's own constants; only the values are bound.
    return text(f"{column} IN (SELECT value FROM json_each(:values))").bindparams(  # noqa: S608
        values=json.dumps(values)
    )


def received(session: Session, payment_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """What the books say ``payment_ids`` brought in: ``(project id, currency) → amount``,
    summed over the receipt transfers into the projects' funds (before fees, as charged)."""
    ids = sorted(set(payment_ids))
    transfer_ids: list[str] = []
    for start_at in range(0, len(ids), _MANY):
        rows = session.execute(
            select(PaymentLineRow.payment_id, PaymentLineRow.position).where(
                _one_of(session, "payment_lines.payment_id", ids[start_at : start_at + _MANY])
            )
        )
        transfer_ids.extend(
            payment_rules.receipt_transfer_id(payment_id, position) for payment_id, position in rows
        )
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for start_at in range(0, len(transfer_ids), _MANY):
        chunk = transfer_ids[start_at : start_at + _MANY]
        for project_id, commodity, amount in session.execute(
            select(Account.project_id, Transfer.commodity, func.sum(Transfer.amount))
            .join(Account, Account.id == Transfer.credit_account_id)
            .where(_one_of(session, "ledger_transfers.id", chunk))
            .group_by(Account.project_id, Transfer.commodity)
        ):
            totals[int(project_id or 0), str(commodity)] += int(amount)
    return dict(totals)
