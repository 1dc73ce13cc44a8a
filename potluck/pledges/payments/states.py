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
from potluck.pledges.payments import books, methods, rules, takeback
from potluck.pledges.payments.base import PaymentState
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
    session: Session,
    payment: Payment,
    change: rules.Change,
    *,
    why: str,
    now: datetime,
    amount: int | None = None,
) -> bool:
    """The money went back: a dispute (of ``amount``, or all that was not refunded yet) or a
    refund of all that was left. Take it back out of the books (``takeback``), tell the donor.
    """
    new = rules.next_state(payment.payment_state, change)
    if new is None:
        return False
    left = payment.amount - payment.refunded
    if change is rules.Change.DISPUTE:
        taken = left if amount is None else max(0, min(amount, left))
        tag = takeback.DISPUTE
        after = payment.refunded + taken
    else:
        tag = takeback.refund_tag(payment.amount)
        after = payment.amount
    takeback.take_back(
        session, payment, before=payment.refunded, after=after, tag=tag, why=why, now=now
    )
    if change is rules.Change.REFUND:
        payment.refunded = payment.amount
    payment.state = new.value
    payment.reversed_at = now
    payment.updated_at = now
    session.flush()
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


def refund_part(session: Session, payment: Payment, *, total: int, now: datetime) -> bool:
    """Part of a settled payment went back to the donor, ``total`` so far: take what is new
    back out of the books. A total that covers the whole payment is a full refund."""
    if payment.payment_state is not PaymentState.SUCCEEDED or total <= payment.refunded:
        return False
    if total >= payment.amount:
        return reverse(session, payment, rules.Change.REFUND, why="refunded to the donor", now=now)
    takeback.take_back(
        session,
        payment,
        before=payment.refunded,
        after=total,
        tag=takeback.refund_tag(total),
        why="refunded in part to the donor",
        now=now,
    )
    payment.refunded = total
    payment.updated_at = now
    session.flush()
    methods.add_notice(
        session,
        peer_id=payment.donor_id,
        payment_id=payment.id,
        kind="refunded",
        message=f"{money(payment, total)} of your payment of {money(payment, payment.amount)} "
        "was refunded to you.",
        now=now,
    )
    return True


def reinstate(session: Session, payment: Payment, *, now: datetime) -> bool:
    """A dispute was decided for the project and the money came back: undo the dispute."""
    new = rules.next_state(payment.payment_state, rules.Change.REINSTATE)
    if new is None:
        return False
    takeback.undo_dispute(session, payment, why="dispute decided for the project", now=now)
    payment.state = new.value
    payment.updated_at = now
    session.flush()
    return True
