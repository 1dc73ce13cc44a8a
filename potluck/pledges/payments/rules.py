"""Pure rules of payments: splitting a fee, bank reference codes, simulated cards, the states a
payment moves through, and the ids it writes to the books. No database, no clock, no I/O.

Amounts are integers in the currency's smallest unit.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from potluck.errors import InvalidInput
from potluck.pledges.payments.base import ChargeRequest, EventKind, PaymentState, SavedMethod

K = TypeVar("K", bound=Hashable)

MAX_REFERENCE_LENGTH = 120
MAX_LINE_MEMO_LENGTH = 200
MAX_LINES = 1000
FAILURES_BEFORE_PAUSE = 3
"""After this many failed payments in a row a donor's pledges pause (payday does it)."""
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,119}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- fees ----------------------------------------------------------------------------------


def split_fee(fee: int, amounts: Sequence[int]) -> list[int]:
    """Share ``fee`` among lines in proportion to their ``amounts``.

    Largest remainder: each line first gets the whole part of its exact share; the minor units
    left over go one each to the lines with the largest fractional remainders, the earlier
    line first on a tie. The parts sum to ``fee`` exactly, none is negative, and none exceeds
    its line's amount (so a line's funds never go below zero to pay it).

    Args:
        fee: what the processor kept, ``0 <= fee <= sum(amounts)``.
        amounts: the lines' amounts, each positive, in line order.
    """
    if not amounts:
        raise InvalidInput("A fee is split among one or more lines.", field="lines")
    if any(amount <= 0 for amount in amounts):
        raise InvalidInput("Every line of a payment must have a positive amount.", field="lines")
    total = sum(amounts)
    if not 0 <= fee <= total:
        raise InvalidInput(
            f"A fee of {fee} cannot be taken from a payment of {total}.", field="fee"
        )
    parts = [fee * amount // total for amount in amounts]
    left = fee - sum(parts)
    by_remainder = sorted(
        range(len(amounts)), key=lambda index: (-(fee * amounts[index] % total), index)
    )
    for index in by_remainder[:left]:
        parts[index] += 1
    return parts


def taken_back_parts(taken: int, amounts: Sequence[int]) -> list[int]:
    """How much of each line a take-back of ``taken`` in all (refunds so far, or refunds and
    a dispute) comes from: in proportion to the lines' amounts by highest averages
    (Jefferson's method), a tie going to the earlier line.

    Unlike splitting a fee by largest remainder, this never takes *less* from any line when
    more is taken back in all, so a payment refunded in several parts books each new part as
    ``parts(new total) - parts(old total)``, never negative. The parts sum to ``taken``
    exactly, each is at least its line's share rounded down, and none exceeds its line's
    amount.

    Args:
        taken: ``0 <= taken <= sum(amounts)``.
        amounts: the lines' amounts, each positive, in line order.
    """
    if not amounts or any(amount <= 0 for amount in amounts):
        raise InvalidInput("Every line of a payment must have a positive amount.", field="lines")
    total = sum(amounts)
    if not 0 <= taken <= total:
        raise InvalidInput(
            f"{taken} cannot be taken back from a payment of {total}.", field="amount"
        )
    # Every quotient amount/k >= total/taken is among the ``taken`` largest, so this is the
    # method's own allocation for a smaller total; the few units left go one by one to the
    # largest next quotient, exactly as the method goes on from there.
    parts = [taken * amount // total for amount in amounts]
    waiting = [(Fraction(-amount, part + 1), index) for index, (amount, part) in
               enumerate(zip(amounts, parts, strict=True))]  # fmt: skip
    heapq.heapify(waiting)
    for _ in range(taken - sum(parts)):
        _, index = heapq.heappop(waiting)
        parts[index] += 1
        heapq.heappush(waiting, (Fraction(-amounts[index], parts[index] + 1), index))
    return parts


def settlement_fees(payments: Iterable[tuple[int, Sequence[tuple[K, int]]]]) -> dict[K, int]:
    """What each account pays of the fees of payments settled together.

    Each payment ``(fee, lines)`` has its fee split among its lines ``(account, amount)`` by
    :func:`split_fee`; the parts are summed per account. Accounts whose parts are all zero are
    left out. The totals sum to the sum of the fees, and no account pays more than its lines
    brought in.
    """
    totals: dict[K, int] = {}
    for fee, lines in payments:
        if not fee:
            continue
        for (account, _), part in zip(lines, split_fee(fee, [a for _, a in lines]), strict=True):
            if part:
                totals[account] = totals.get(account, 0) + part
    return totals


def fee_in_charge_currency(fee: int, *, settled_amount: int, charge_amount: int) -> int:
    """A fee the processor reported in its settlement currency, in the charge's currency.

    The settlement shows ``settled_amount`` for the whole charge and ``fee`` out of it; the fee
    is the same share of ``charge_amount``, rounded half up, and never more than the charge.
    """
    if settled_amount <= 0 or charge_amount <= 0 or fee < 0:
        raise InvalidInput(
            f"Cannot convert a fee of {fee} settled from {settled_amount} for a charge of "
            f"{charge_amount}.",
            field="fee",
        )
    converted = (2 * fee * charge_amount + settled_amount) // (2 * settled_amount)
    return min(converted, charge_amount)


def simulated_fee(amount: int, exponent: int) -> int:
    """The simulated processor's fee: 1.5 % of the amount plus a quarter of a major unit,
    rounded down, never more than the amount (a European card's price, roughly)."""
    fixed: int = 10**exponent // 4
    return min(amount, amount * 15 // 1000 + fixed)


# --- bank reference codes ------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
REFERENCE_PREFIX = "PL"
_MIN_DIGITS = 5
# A prime above 31 catches every single mistyped digit and every swap of two neighbours; its
# remainder is written as two more digits, so the code keeps to the letters and digits that
# every bank's reference field accepts.
_CHECK_MODULUS = 1021
# Scrambled, so that the check digits of small ids do not merely repeat the id.
_CHECK_FACTOR = 389


def _check(value: int) -> int:
    return value * _CHECK_FACTOR % _CHECK_MODULUS


def _base32(value: int, width: int) -> str:
    digits = ""
    while value:
        value, digit = divmod(value, 32)
        digits = _CROCKFORD[digit] + digits
    return digits.rjust(width, "0")


def reference_code(payment_id: int) -> str:
    """The code a donor writes on a bank transfer: ``PL-000AB-7Q``.

    The payment id in Crockford's base 32, then two check digits (a multiple of the id modulo
    a prime), so a mistyped or swapped character is caught before anyone looks for the wrong
    payment.
    """
    if payment_id <= 0:
        raise InvalidInput("Reference codes are for saved payments.", field="payment_id")
    check = _base32(_check(payment_id), 2)
    return f"{REFERENCE_PREFIX}-{_base32(payment_id, _MIN_DIGITS)}-{check}"


def _decode(text: str) -> int | None:
    value = 0
    for char in text:
        digit = _CROCKFORD.find(char)
        if digit < 0:
            return None
        value = value * 32 + digit
    return value


def parse_reference_code(text: str) -> int | None:
    """The payment id a reference code names, or None if it is not a valid code.

    Forgiving as Crockford intends: case, spaces and hyphens do not matter, and I, L and O
    are read as 1, 1 and 0.
    """
    clean = "".join(text.upper().split()).replace("-", "")
    if not clean.startswith(REFERENCE_PREFIX):
        return None
    clean = clean[len(REFERENCE_PREFIX) :].translate(_READ_AS)
    if len(clean) < 3:
        return None
    value = _decode(clean[:-2])
    check = _decode(clean[-2:])
    if value is None or check is None or value <= 0 or _check(value) != check:
        return None
    return value


# --- simulated cards -----------------------------------------------------------------------


class SimulatedBehaviour(StrEnum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    DISPUTE = "dispute"
    """Succeeds, then the donor's bank disputes it."""


@dataclass(frozen=True)
class SimulatedCard:
    number: str
    brand: str
    behaviour: SimulatedBehaviour
    decline_code: str | None = None
    message: str | None = None

    @property
    def label(self) -> str:
        return f"{self.brand} ending {self.number[-4:]} (test card)"


# Stripe's published test numbers, so that what works in the demo works the same in a
# Stripe test account.
SIMULATED_CARDS = {
    card.number: card
    for card in (
        SimulatedCard("4242424242424242", "Visa", SimulatedBehaviour.SUCCEED),
        SimulatedCard("5555555555554444", "Mastercard", SimulatedBehaviour.SUCCEED),
        SimulatedCard(
            "4000000000000002",
            "Visa",
            SimulatedBehaviour.DECLINE,
            "generic_decline",
            "Your card was declined.",
        ),
        SimulatedCard(
            "4000000000009995",
            "Visa",
            SimulatedBehaviour.DECLINE,
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        SimulatedCard(
            "4000000000009987",
            "Visa",
            SimulatedBehaviour.DECLINE,
            "lost_card",
            "Your card was declined.",
        ),
        SimulatedCard(
            "4000000000000069",
            "Visa",
            SimulatedBehaviour.DECLINE,
            "expired_card",
            "Your card has expired.",
        ),
        SimulatedCard(
            "4000002760003184",
            "Visa",
            SimulatedBehaviour.DECLINE,
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
        SimulatedCard("4000000000000259", "Visa", SimulatedBehaviour.DISPUTE),
    )
}


def simulated_card(number: str) -> SimulatedCard:
    """The test card ``number`` stands for (spaces and hyphens ignored).

    Only published test numbers are taken: a real card number typed into the demo must not
    end up stored anywhere.
    """
    digits = re.sub(r"[\s-]", "", number)
    card = SIMULATED_CARDS.get(digits)
    if card is None:
        raise InvalidInput(
            "The simulated processor takes only test card numbers, such as "
            "4242 4242 4242 4242 (succeeds), 4000 0000 0000 0002 (declined) or "
            "4000 0000 0000 0259 (disputed after paying).",
            field="card_number",
        )
    return card


# --- states --------------------------------------------------------------------------------


class Change(StrEnum):
    SEND = "send"
    SUCCEED = "succeed"
    FAIL = "fail"
    DISPUTE = "dispute"
    REFUND = "refund"
    REINSTATE = "reinstate"


CHANGE_OF_EVENT = {
    EventKind.SUCCEEDED: Change.SUCCEED,
    EventKind.FAILED: Change.FAIL,
    EventKind.DISPUTED: Change.DISPUTE,
    EventKind.REFUNDED: Change.REFUND,
    EventKind.REINSTATED: Change.REINSTATE,
}

_MOVES: dict[tuple[PaymentState, Change], PaymentState] = {
    (PaymentState.AWAITING, Change.SEND): PaymentState.PROCESSING,
    (PaymentState.AWAITING, Change.SUCCEED): PaymentState.SUCCEEDED,
    (PaymentState.AWAITING, Change.FAIL): PaymentState.FAILED,
    (PaymentState.PROCESSING, Change.SUCCEED): PaymentState.SUCCEEDED,
    (PaymentState.PROCESSING, Change.FAIL): PaymentState.FAILED,
    # The provider said no, then yes (a late authentication, a retried webhook in a new
    # order): the money did arrive, so the books must say so.
    (PaymentState.FAILED, Change.SUCCEED): PaymentState.SUCCEEDED,
    (PaymentState.SUCCEEDED, Change.DISPUTE): PaymentState.DISPUTED,
    (PaymentState.SUCCEEDED, Change.REFUND): PaymentState.REFUNDED,
    # A dispute decided for the project: the money is back, and the books undo the dispute.
    (PaymentState.DISPUTED, Change.REINSTATE): PaymentState.SUCCEEDED,
}

SETTLED_STATES = frozenset({PaymentState.SUCCEEDED, PaymentState.DISPUTED, PaymentState.REFUNDED})
"""States in which the money once arrived (and is in the books, perhaps reversed since)."""
FINAL_STATES = frozenset({PaymentState.FAILED, *SETTLED_STATES})
"""States after which executing the payment again sends nothing."""


def next_state(current: PaymentState, change: Change) -> PaymentState | None:
    """Where ``change`` takes a payment in ``current``, or None if it changes nothing.

    Total on purpose: providers repeat themselves and deliver out of order, so a change that
    does not apply (a failure reported after the success, a second dispute) is ignored, never
    an error. The books move on entering SUCCEEDED from a payment in flight (posted, at most
    once), on leaving it for DISPUTED or REFUNDED (taken back), and on coming back from
    DISPUTED when the dispute is won (the dispute undone).
    """
    return _MOVES.get((current, change))


def trailing_failures(states_newest_first: Iterable[PaymentState]) -> int:
    """How many payments failed in a row, counting back from the newest.

    Payments still in flight (awaiting, processing) neither count nor break the run; a
    payment that went through (even if disputed or refunded since) ends it.
    """
    count = 0
    for state in states_newest_first:
        if state is PaymentState.FAILED:
            count += 1
        elif state in SETTLED_STATES:
            break
    return count


# --- payments and their ids ----------------------------------------------------------------


def check_reference(reference: str) -> str:
    """A payment's idempotency reference: 1 to 120 letters, digits or ``._:/-``."""
    if not REFERENCE.fullmatch(reference):
        raise InvalidInput(
            f"Payment reference '{reference[:MAX_REFERENCE_LENGTH]}' must be 1 to "
            f"{MAX_REFERENCE_LENGTH} letters, digits or '._:/-', starting with a letter or "
            "digit.",
            field="reference",
        )
    return reference


def check_line_memo(memo: str, position: int) -> str:
    if memo.isprintable() and "  " not in memo and memo[:1] != " " and memo[-1:] != " ":
        # Already clean: a printable string has no control character and no whitespace but
        # the plain space, so squeezing it would give it back unchanged.
        clean = memo
    else:
        clean = " ".join(memo.split())
    if len(clean) > MAX_LINE_MEMO_LENGTH or _CONTROL.search(clean):
        raise InvalidInput(
            f"Line {position + 1}: the memo must be at most {MAX_LINE_MEMO_LENGTH} characters "
            "without control characters.",
            field=f"lines.{position}.memo",
        )
    return clean


def idempotency_key(payment_id: int, reference: str) -> str:
    """The key a provider is sent for a payment: the same for every attempt at it."""
    digest = hashlib.sha256(reference.encode()).hexdigest()[:16]
    return f"potluck-payment-{payment_id}-{digest}"


def charge_request(
    *,
    payment_id: int,
    reference: str,
    donor_id: int,
    currency: str,
    amount: int,
    method: SavedMethod | None,
    provider_ref: str | None,
) -> ChargeRequest:
    """What a provider is asked for a payment, the same on every attempt at it."""
    return ChargeRequest(
        payment_id=payment_id,
        reference=reference,
        idempotency_key=idempotency_key(payment_id, reference),
        donor_id=donor_id,
        currency=currency,
        amount=amount,
        description=f"Potluck payment {payment_id} ({reference})",
        method=method,
        provider_ref=provider_ref,
    )


def receipt_transfer_id(payment_id: int, position: int) -> str:
    """The books' id of the money of line ``position`` arriving in its project's funds."""
    return f"payment:{payment_id}:{position}:in"


def fee_transfer_id(payment_id: int, position: int) -> str:
    """The books' id of line ``position``'s part of the processor's fee."""
    return f"payment:{payment_id}:{position}:fee"


def reversal_transfer_id(original_id: str) -> str:
    """The books' id of the transfer that undoes ``original_id`` after a dispute or refund."""
    return f"{original_id}:back"


def settlement_id(payment_ids: Iterable[int]) -> str:
    """The books' batch id of the payments that entered SUCCEEDED together, named by the
    smallest of their ids: a payment enters SUCCEEDED once, so no two settlements share it."""
    return f"settlement:{min(payment_ids)}"


def settlement_fee_transfer_id(settlement: str, account_id: int) -> str:
    """The books' id of what one funds account paid of the processor's fees on a settlement's
    payments: the sum of its lines' shares of each payment's fee."""
    return f"{settlement}:fee:{account_id}"
