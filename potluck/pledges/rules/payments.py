"""One payment per donor per currency per payday, small totals carried to the next one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter

from potluck.errors import InvalidInput
from potluck.pledges.rules.clearing import Charge

_BY_PLEDGE = attrgetter("pledge_id")
_BY_DONOR = attrgetter("donor_id")
_AMOUNT = attrgetter("amount")
_COMMODITY = attrgetter("commodity")

DonorCommodity = tuple[int, str]
"""``(donor id, commodity)``: what a payment and a carried amount are kept per."""


@dataclass(frozen=True, slots=True)
class Payment:
    """What one donor is asked to pay in one currency at this payday."""

    donor_id: int
    commodity: str
    amount: int
    """This payday's charges plus what was carried in, in the smallest unit."""
    carried_in: int
    """The part of ``amount`` carried from earlier paydays."""
    charges: tuple[Charge, ...]
    """This payday's charges the payment settles, across all the donor's projects, in pledge
    id order."""


@dataclass(frozen=True, slots=True)
class DonorPayments:
    """The payments of one payday, and what is carried to the next."""

    payments: tuple[Payment, ...]
    """In donor id order, then commodity."""
    carried: Mapping[DonorCommodity, int]
    """What each donor owes but will pay at a later payday; only positive amounts."""


def donor_payments(
    charges: Iterable[Charge],
    minimum_charge: Mapping[str, int],
    carried_forward: Mapping[DonorCommodity, int],
) -> DonorPayments:
    """Batch each donor's charges across all projects into one payment per currency.

    Args:
        charges: this payday's charges (from :func:`clear`), in any order.
        minimum_charge: the instance's smallest payment per commodity, in its smallest unit;
            a commodity not listed has no minimum.
        carried_forward: what each ``(donor, commodity)`` carried in from earlier paydays.

    A donor's total — charges plus what was carried in — is paid if it reaches the minimum and
    carried to the next payday otherwise (payment fees are per payment, so tiny payments would
    mostly feed the processor). A carried amount stays owed until a later total reaches the
    minimum; it does not expire. Value is conserved exactly: per commodity, the charges plus
    the carried-in amounts equal the payments plus the carried-out amounts.
    """
    for commodity, minimum in minimum_charge.items():
        if minimum < 0:
            raise InvalidInput(
                f"The minimum charge in {commodity} cannot be negative ({minimum}).",
                field="minimum_charge",
            )
    # Most of the work is pushed into sorts and C-level maps: one Python step per donor rather
    # than per charge keeps a payday of a million charges to a fraction of a second.
    ordered = sorted(charges, key=_BY_PLEDGE)
    if ordered and min(map(_AMOUNT, ordered)) <= 0:
        bad = next(charge for charge in ordered if charge.amount <= 0)
        raise InvalidInput(
            f"The charge for pledge {bad.pledge_id} must be positive, not {bad.amount}.",
            field="charges",
        )
    ordered.sort(key=_BY_DONOR)
    for (donor_id, commodity), amount in carried_forward.items():
        if amount < 0:
            raise InvalidInput(
                f"Donor {donor_id} cannot carry a negative amount of {commodity} ({amount}).",
                field="carried_forward",
            )
    batches: dict[DonorCommodity, list[Charge]] = {key: [] for key in carried_forward}
    for donor_id, group in groupby(ordered, key=_BY_DONOR):
        donor_charges = list(group)
        commodities = set(map(_COMMODITY, donor_charges))
        if len(commodities) == 1:
            batches[donor_id, commodities.pop()] = donor_charges
        else:
            for commodity in commodities:
                batches[donor_id, commodity] = [
                    charge for charge in donor_charges if charge.commodity == commodity
                ]

    payments: list[Payment] = []
    carried: dict[DonorCommodity, int] = {}
    for key in sorted(batches):
        batch = batches[key]
        carried_in = carried_forward.get(key, 0)
        amount = carried_in + sum(map(_AMOUNT, batch))
        if amount == 0:
            continue
        if amount < minimum_charge.get(key[1], 0):
            carried[key] = amount
            continue
        payments.append(Payment(key[0], key[1], amount, carried_in, tuple(batch)))
    return DonorPayments(payments=tuple(payments), carried=carried)
