"""A payment's moves between states, each with what it writes: the money into the books on
success, the reversal on a dispute or refund, a notice to the donor on a decline. Each works in
the caller's transaction and does nothing if the move does not apply (see ``rules.next_state``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from potluck.errors import NotFound
from potluck.money import BUILTIN_COMMODITIES, Amount
from potluck.pledges.payments import books, methods, rules
from potluck.pledges.payments.models import Payment


def get_payment(session: Session, payment_id: int, *, lock: bool = False) -> Payment:
    """The payment with its lines; ``lock`` holds its row until the transaction ends, so two
    writers (a webhook and the sender) apply their news one after the other."""
    query = select(Payment).where(Payment.id == payment_id).options(selectinload(Payment.lines))
    if lock:
        query = query.execution_options(populate_existing=True)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=Payment)
    payment = session.scalar(query)
    if payment is None:
        raise NotFound(f"Payment {payment_id} does not exist.", field="payment_id")
    return payment


def money(payment: Payment, units: int) -> str:
    """``units`` of the payment's currency, for people: ``1,234.50 EUR``."""
    return money_in(payment.currency, units)


def money_in(currency: str, units: int) -> str:
    """``units`` of ``currency``, for people: ``1,234.50 EUR``."""
    commodity = BUILTIN_COMMODITIES.get(currency)
    return Amount(units, commodity).display() if commodity else f"{units} {currency}"


def failure_notice(currency: str, amount: int, *, code: str, message: str) -> tuple[str, str]:
    """The notice a donor gets when a payment of ``amount`` fails: its kind and its text."""
    no_method = code == "no_payment_method"
    text = f"Your payment of {money_in(currency, amount)} could not be made: {message} " + (
        "Save a card on your payments page so that the next payday can charge it."
        if no_method
        else "It will be tried again at the next payday; after "
        f"{rules.FAILURES_BEFORE_PAUSE} failures in a row your pledges pause. You can save "
        "another card on your payments page."
    )
    return ("no-method" if no_method else "declined"), text


def settle(session: Session, payment: Payment, *, fee: int, now: datetime) -> bool:
    """The money arrived, less ``fee``: post it to the books."""
    new = rules.next_state(payment.payment_state, rules.Change.SUCCEED)
    if new is None:
        return False
    fee = max(0, min(fee, payment.amount))
    payment.state = new.value
    payment.fee = fee
    payment.succeeded_at = now
    payment.updated_at = now
    session.flush()
    books.post_receipt(session, payment, fee=fee, now=now)
    return True


def fail(session: Session, payment: Payment, *, code: str, message: str, now: datetime) -> bool:
    """Nothing arrived: keep the reason and tell the donor."""
    new = rules.next_state(payment.payment_state, rules.Change.FAIL)
    if new is None:
        return False
    payment.state = new.value
    payment.failure_code = code[:80]
    payment.failure_message = message[:500]
    payment.failed_at = now
    payment.updated_at = now
    session.flush()
    kind, text = failure_notice(payment.currency, payment.amount, code=code, message=message)
    methods.add_notice(
        session, peer_id=payment.donor_id, payment_id=payment.id, kind=kind, message=text, now=now
    )
    return True


def reverse(
    session: Session, payment: Payment, change: rules.Change, *, why: str, now: datetime
) -> bool:
    """The money went back (a dispute or a refund): reverse it in the books, tell the donor."""
    new = rules.next_state(payment.payment_state, change)
    if new is None:
        return False
    payment.state = new.value
    payment.reversed_at = now
    payment.updated_at = now
    session.flush()
    books.post_reversal(session, payment, why=why, now=now)
    disputed = change is rules.Change.DISPUTE
    methods.add_notice(
        session,
        peer_id=payment.donor_id,
        payment_id=payment.id,
        kind="disputed" if disputed else "refunded",
        message=(
            f"Your payment of {money(payment, payment.amount)} was "
            + (
                "disputed with your bank, and the money went back to you. If this was not "
                "you, tell your bank."
                if disputed
                else "refunded to you."
            )
        ),
        now=now,
    )
    return True
