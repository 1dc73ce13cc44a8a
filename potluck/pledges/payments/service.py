"""Payments: starting one, sending it to its provider, confirming a bank transfer by hand,
and applying what providers report afterwards.

Every operation but :func:`execute_payment` works inside the caller's transaction and only
flushes. ``execute_payment`` talks to a provider, which must never happen inside an open
transaction, so it opens its own short ones around the call.

Whenever a payment enters SUCCEEDED its money is posted to the books in the same transaction,
and whenever it leaves SUCCEEDED for DISPUTED or REFUNDED the reversal is; the transfer ids
come from the payment, so nothing is ever posted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from potluck.clock import Clock
from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.ledger.service.books import is_steward
from potluck.money import BUILTIN_COMMODITIES, Commodity
from potluck.people.models import Peer
from potluck.pledges.payments import books, methods, rules, sending, starting, states
from potluck.pledges.payments.base import (
    ChargeOutcome,
    PaymentLine,
    PaymentState,
    ProviderName,
    ProviderUnavailable,
)
from potluck.pledges.payments.events import AppliedEvent, apply_event, event_seen
from potluck.pledges.payments.models import Payment, PaymentLineRow
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.starting import PaymentStart
from potluck.pledges.payments.states import get_payment
from potluck.projects.models import Project, Steward

__all__ = [
    "AppliedEvent",
    "ProviderRegistry",
    "apply_event",
    "awaiting_manual_payments",
    "can_confirm",
    "commodity_of",
    "confirm_manual_payment",
    "consecutive_failures",
    "event_seen",
    "execute_payment",
    "get_payment",
    "payments_of",
    "project_slugs",
    "record_outcome",
    "start_payment",
    "visible_payment",
]

FAILURES_BEFORE_PAUSE = rules.FAILURES_BEFORE_PAUSE


# --- reading -------------------------------------------------------------------------------


def payments_of(session: Session, donor_id: int) -> list[Payment]:
    """A donor's payments, newest first, with their lines."""
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.donor_id == donor_id)
            .options(selectinload(Payment.lines))
            .order_by(Payment.created_at.desc(), Payment.id.desc())
        )
    )


def consecutive_failures(session: Session, donor_id: int, *, currency: str | None = None) -> int:
    """How many of the donor's payments failed in a row, counting back from the newest
    (only those in ``currency`` when given). Payday retries a failed donor at the next payday
    and pauses their pledges at :data:`FAILURES_BEFORE_PAUSE`."""
    query = select(Payment.state).where(Payment.donor_id == donor_id)
    if currency is not None:
        query = query.where(Payment.currency == currency)
    states = session.scalars(query.order_by(Payment.created_at.desc(), Payment.id.desc()))
    return rules.trailing_failures(PaymentState(state) for state in states)


def can_confirm(session: Session, payment: Payment, peer_id: int) -> bool:
    """A steward of a project the payment pays, or an admin of its custodian."""
    if methods.is_custodian_admin(session, payment.provider, peer_id):
        return True
    return any(is_steward(session, line.project_id, peer_id) for line in payment.lines)


def visible_payment(session: Session, payment_id: int, viewer: Peer) -> Payment:
    """A payment as its donor, a steward of a project in it, or its custodian's admin sees it;
    anyone else is told it does not exist."""
    payment = get_payment(session, payment_id)
    if payment.donor_id != viewer.id and not can_confirm(session, payment, viewer.id):
        raise NotFound(f"Payment {payment_id} does not exist.", field="payment_id")
    return payment


def awaiting_manual_payments(session: Session, peer: Peer) -> list[Payment]:
    """Bank transfers still awaited that ``peer`` may confirm, oldest first."""
    query = (
        select(Payment)
        .where(
            Payment.provider == ProviderName.MANUAL.value,
            Payment.state == PaymentState.AWAITING.value,
        )
        .options(selectinload(Payment.lines))
        .order_by(Payment.created_at, Payment.id)
    )
    if not methods.is_custodian_admin(session, ProviderName.MANUAL.value, peer.id):
        stewarded = select(Steward.project_id).where(
            Steward.peer_id == peer.id, Steward.ended_at.is_(None)
        )
        query = query.where(
            Payment.id.in_(
                select(PaymentLineRow.payment_id).where(PaymentLineRow.project_id.in_(stewarded))
            )
        )
    return list(session.scalars(query))


# --- starting ------------------------------------------------------------------------------


def _existing(session: Session, reference: str, wanted: PaymentStart) -> Payment | None:
    stored = starting.stored_starts(session, [reference]).get(reference)
    if stored is None:
        return None
    differing = starting.differing_field(stored.start, wanted)
    if differing is not None:
        raise starting.reference_taken(reference, stored.payment_id, differing)
    return get_payment(session, stored.payment_id)


def start_payment(
    session: Session,
    *,
    reference: str,
    donor_id: int,
    currency: str,
    lines: Sequence[PaymentLine],
    provider: str,
    now: datetime,
) -> Payment:
    """Create a payment of ``lines`` by ``donor_id``, awaiting its sending (or, for a bank
    transfer, the donor). Idempotent on ``reference``: the same content answers with the first
    payment; different content is a Conflict naming the first field that differs.

    A payday starts thousands at once with ``starting.start_payments``, by the same rules."""
    wanted = starting.check_start(
        PaymentStart(reference, donor_id, currency, lines, provider),
        currency=lambda code: starting.currency_of(session, code),
        project_exists=lambda project_id: session.get(Project, project_id) is not None,
        donor_exists=lambda peer_id: session.get(Peer, peer_id) is not None,
    )
    found = _existing(session, reference, wanted)
    if found is not None:
        return found
    inserted = starting.insert_payments(session, [wanted], now=now)
    if reference not in inserted:
        # Another writer took the reference since it was looked for: answer with theirs.
        found = _existing(session, reference, wanted)
        if found is None:
            raise Conflict(
                f"Payment reference '{reference}' could not be written; try again.",
                field="reference",
            )
        return found
    return get_payment(session, inserted[reference])


# --- sending -------------------------------------------------------------------------------


def execute_payment(
    database: Database, payment_id: int, *, providers: ProviderRegistry, clock: Clock
) -> Payment:
    """Send a payment to its provider and record the outcome. Call it outside any open
    transaction: it opens its own, short ones, and none is open while the provider is asked.

    Safe to repeat: a payment that succeeded or failed is not sent again, and a payment whose
    outcome was lost (a crash after sending) is sent again with the same idempotency key, so
    the provider answers with the first outcome instead of charging twice. A bank transfer
    stays AWAITING until confirmed. Raises ProviderUnavailable when the provider cannot be
    reached; the payment then stays PROCESSING and may be executed again later.

    A payday sends thousands at once with ``sending``, which prepares them the same way.
    """
    with database.transaction() as session:
        prepared = sending.prepare_many(session, [payment_id], providers=providers, now=clock.now())
    for name, requests in prepared.requests.items():
        for request in requests:
            outcome = providers.get(name).charge(request)
            with database.transaction() as session:
                record_outcome(session, payment_id, outcome, now=clock.now())
            for event in outcome.later:
                with database.transaction() as session:
                    apply_event(session, event, now=clock.now())
    with database.transaction(write=False) as session:
        return get_payment(session, payment_id)


def record_outcome(
    session: Session, payment_id: int, outcome: ChargeOutcome, *, now: datetime
) -> Payment:
    """Write what the provider answered: the money in the books on success, the reason and
    a notice to the donor on failure; nothing yet while it is still processing."""
    payment = get_payment(session, payment_id, lock=True)
    if outcome.provider_ref is not None and payment.provider_ref is None:
        payment.provider_ref = outcome.provider_ref
        payment.updated_at = now
    if outcome.state is PaymentState.SUCCEEDED:
        if outcome.fee is None:
            raise ProviderUnavailable(
                f"Payment {payment.id} succeeded but its fee is not known yet; it stays "
                "processing until the provider says."
            )
        states.settle(session, payment, fee=outcome.fee, now=now)
    elif outcome.state is PaymentState.FAILED:
        states.fail(
            session,
            payment,
            code=outcome.failure_code or "failed",
            message=outcome.failure_message or "The payment was declined.",
            now=now,
        )
    session.flush()
    return payment


# --- manual confirmation -------------------------------------------------------------------


def confirm_manual_payment(
    session: Session, payment_id: int, *, confirmer: Peer, received_amount: int, now: datetime
) -> Payment:
    """Record that a bank transfer arrived, by a steward of a project it pays or an admin of
    the bank account's custodian. Until then nothing of it is in the books.

    ``received_amount`` is what the confirmer saw arrive, at most the amount asked; anything
    short of it (banks' charges) is recorded as the payment's fee.
    """
    payment = get_payment(session, payment_id, lock=True)
    if payment.provider != ProviderName.MANUAL.value:
        raise InvalidInput(
            f"Payment {payment.id} is paid through {payment.provider}; only bank transfers are "
            "confirmed by hand.",
            field="payment_id",
        )
    if not can_confirm(session, payment, confirmer.id):
        raise Forbidden(
            f"Only a steward of a project that payment {payment.id} pays, or an admin of "
            f"'{books.CUSTODIANS[payment.provider][0]}', may confirm that it arrived."
        )
    if payment.payment_state is not PaymentState.AWAITING:
        raise Conflict(
            f"Payment {payment.id} is already {payment.state}; it can be confirmed only once.",
            field="payment_id",
        )
    if (
        isinstance(received_amount, bool)
        or not isinstance(received_amount, int)
        or not 0 < received_amount <= payment.amount
    ):
        shown = (
            states.money(payment, received_amount)
            if isinstance(received_amount, int)
            else repr(received_amount)
        )
        raise InvalidInput(
            f"Payment {payment.id} asks for {states.money(payment, payment.amount)}; the amount "
            f"received must be more than nothing and at most that, not {shown}.",
            field="received_amount",
        )
    payment.received = received_amount
    payment.confirmed_by_id = confirmer.id
    states.settle(session, payment, fee=payment.amount - received_amount, now=now)
    return payment


def project_slugs(session: Session, payments: Sequence[Payment]) -> dict[int, str]:
    """The slug of every project the ``payments`` pay, to show and link them."""
    ids = {line.project_id for payment in payments for line in payment.lines}
    if not ids:
        return {}
    return dict(session.execute(select(Project.id, Project.slug).where(Project.id.in_(ids))).all())


def commodity_of(payment: Payment) -> Commodity:
    """The currency a payment is in (built in, since payments are only in currencies)."""
    commodity = BUILTIN_COMMODITIES.get(payment.currency)
    if commodity is None:
        raise InvalidInput(f"{payment.currency} is not a currency.", field="currency")
    return commodity
