"""What providers report after the fact (webhooks), applied once per provider and event id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from potluck.pledges.payments import rules, states
from potluck.pledges.payments.base import (
    EventKind,
    PaymentState,
    ProviderEvent,
    ProviderUnavailable,
)
from potluck.pledges.payments.models import Payment, PaymentEvent


def event_seen(session: Session, provider: str, event_id: str) -> bool:
    """Whether a provider's event was applied already (a redelivery)."""
    return (
        session.scalar(
            select(PaymentEvent.id).where(
                PaymentEvent.provider == provider, PaymentEvent.event_id == event_id
            )
        )
        is not None
    )


@dataclass(frozen=True)
class AppliedEvent:
    applied: bool
    """False when this event was seen before, or changes nothing."""
    outcome: str
    payment_id: int | None


def _claim(session: Session, event: ProviderEvent, *, payment_id: int | None, outcome: str,
           now: datetime) -> bool:  # fmt: skip
    """Record the event; False if it already was (by a delivery running at the same time)."""
    values = {
        "provider": event.provider,
        "event_id": event.event_id[:255],
        "event_type": event.event_type[:80],
        "payment_id": payment_id,
        "outcome": outcome[:500],
        "received_at": now,
    }
    table: Table = PaymentEvent.__table__  # type: ignore[assignment]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _payment_for(session: Session, event: ProviderEvent) -> Payment | None:
    payment_id = None
    if event.payment_id is not None:
        payment_id = session.scalar(
            select(Payment.id).where(
                Payment.id == event.payment_id, Payment.provider == event.provider
            )
        )
    if payment_id is None and event.provider_ref is not None:
        payment_id = session.scalar(
            select(Payment.id).where(
                Payment.provider == event.provider, Payment.provider_ref == event.provider_ref
            )
        )
    return states.get_payment(session, payment_id, lock=True) if payment_id is not None else None


_WHY = {
    EventKind.DISPUTED: "disputed by the donor's bank",
    EventKind.REFUNDED: "refunded to the donor",
}


def apply_event(session: Session, event: ProviderEvent, *, now: datetime) -> AppliedEvent:
    """Apply what a provider reports about a payment, once per (provider, event id).

    The event is recorded in the same transaction as its effect, so a second delivery (or one
    racing this one) changes nothing. Events about unknown payments, and changes that no
    longer apply (a failure after the success), are recorded and ignored.
    """
    if event_seen(session, event.provider, event.event_id):
        return AppliedEvent(False, f"Event {event.event_id} was already applied.", None)
    payment = _payment_for(session, event)
    if payment is None:
        outcome = f"Ignored: no {event.provider} payment matches {event.provider_ref or '-'}."
        _claim(session, event, payment_id=None, outcome=outcome, now=now)
        return AppliedEvent(False, outcome, None)
    if (
        event.provider_ref is not None
        and payment.provider_ref is not None
        and event.provider_ref != payment.provider_ref
    ):
        outcome = (
            f"Ignored: payment {payment.id} is {payment.provider_ref}, not {event.provider_ref}."
        )
        if event.kind is EventKind.SUCCEEDED:
            outcome += f" The donor was charged twice: refund {event.provider_ref}."
        _claim(session, event, payment_id=payment.id, outcome=outcome, now=now)
        return AppliedEvent(False, outcome, payment.id)
    if event.provider_ref is not None and payment.provider_ref is None:
        payment.provider_ref = event.provider_ref
    change = rules.CHANGE_OF_EVENT[event.kind]
    partial_refund = (
        event.kind is EventKind.REFUNDED and event.details.get("refunded_in_full") == "no"
    )
    total = event.amount or 0
    if partial_refund:
        applies = payment.payment_state is PaymentState.SUCCEEDED and total > payment.refunded
        new = payment.payment_state if applies else None
    else:
        new = rules.next_state(payment.payment_state, change)
    if new is None:
        outcome = (
            f"Ignored: payment {payment.id} is {payment.state}"
            + (
                f" with {states.money(payment, payment.refunded)} refunded"
                if partial_refund
                else ""
            )
            + f"; {event.event_type} changes nothing."
        )
    elif partial_refund:
        outcome = (
            f"Payment {payment.id} was refunded in part ({states.money(payment, total)} in all)."
        )
    else:
        outcome = f"Payment {payment.id} {new.value}."
    if not _claim(session, event, payment_id=payment.id, outcome=outcome, now=now):
        return AppliedEvent(False, f"Event {event.event_id} was already applied.", payment.id)
    if new is None:
        session.flush()
        return AppliedEvent(False, outcome, payment.id)
    if event.kind is EventKind.SUCCEEDED:
        if event.fee is None:
            raise ProviderUnavailable(
                f"Event {event.event_id} reports payment {payment.id} succeeded without its fee."
            )
        states.settle(session, payment, fee=event.fee, now=now)
    elif event.kind is EventKind.FAILED:
        states.fail(
            session,
            payment,
            code=event.failure_code or "failed",
            message=event.failure_message or "The payment was declined.",
            now=now,
        )
    elif event.kind is EventKind.REINSTATED:
        states.reinstate(session, payment, now=now)
    elif partial_refund:
        states.refund_part(session, payment, total=total, now=now)
    else:
        states.reverse(
            session,
            payment,
            change,
            why=_WHY[event.kind],
            now=now,
            amount=event.amount if event.kind is EventKind.DISPUTED else None,
        )
    session.flush()
    return AppliedEvent(True, outcome, payment.id)
