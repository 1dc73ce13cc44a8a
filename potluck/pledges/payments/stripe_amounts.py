"""How Stripe writes an amount of money, which for a few currencies is not how ISO 4217 (and
so Potluck) counts it. Pure functions; no I/O.

Potluck keeps every amount in the ISO 4217 minor unit of its currency. Stripe's API takes
"the currency's smallest unit" too, with these exceptions (Stripe's currency guide, "Minor
units in API amounts", "Zero-decimal currencies" and "Special cases"):

- **Zero-decimal in Stripe**: BIF, CLP, DJF, GNF, JPY, KMF, KRW, MGA, PYG, RWF, UGX, VND, VUV,
  XAF, XOF, XPF take whole units. ISO agrees for all but MGA, which ISO gives two decimals:
  an MGA amount goes to Stripe in whole ariary, and only whole ariary can be charged.
- **ISK** has no decimals in ISO, but Stripe's API keeps two for it and takes only multiples
  of 100: 5 ISK is sent as 500.
- **Three-decimal currencies** (BHD, JOD, KWD, OMR, TND) go in thousandths, as in ISO, but
  the last digit must be 0: only whole hundredths can be charged.
- HUF and TWD are charged with their two decimals like any other currency (their special
  cases concern payouts, which Potluck does not make).

An amount Stripe cannot take is refused here with the step it would need, before anything
is sent: rounding it would charge a donor something other than what the clearing says.
"""

from __future__ import annotations

from potluck.errors import InvalidInput

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
     "VUV", "XAF", "XOF", "XPF"}
)  # fmt: skip
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
TWO_DECIMAL_IN_API = frozenset({"ISK"})
"""Currencies without decimals that Stripe's API still counts in hundredths."""


_POWERS: tuple[int, ...] = tuple(10**k for k in range(19))


class NotChargeable(InvalidInput):
    """An amount that Stripe's API cannot express in its currency."""


def stripe_exponent(currency: str, iso_exponent: int) -> int:
    """How many decimals Stripe's API counts ``currency`` in."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in TWO_DECIMAL_IN_API:
        return 2
    return iso_exponent


def charge_step(currency: str, iso_exponent: int) -> int:
    """The smallest chargeable step, in ISO minor units: every charge is a multiple of it."""
    code = currency.upper()
    drop = iso_exponent - stripe_exponent(code, iso_exponent)
    step = _POWERS[drop] if drop > 0 else 1
    if code in THREE_DECIMAL:
        step = max(step, 10)
    return step


def to_stripe(amount: int, currency: str, iso_exponent: int) -> int:
    """``amount`` (ISO minor units) as Stripe's API writes it; refuses one Stripe cannot take."""
    step = charge_step(currency, iso_exponent)
    if amount % step:
        raise NotChargeable(
            f"Stripe charges {currency.upper()} only in steps of {step} of its smallest unit; "
            f"{amount} is not a multiple of {step}.",
            field="amount",
        )
    shift = stripe_exponent(currency, iso_exponent) - iso_exponent
    return amount * _POWERS[shift] if shift >= 0 else amount // _POWERS[-shift]


def from_stripe(amount: int, currency: str, iso_exponent: int) -> int:
    """An amount Stripe reports (a charge, refund, dispute or fee) in ISO minor units. Where
    Stripe counts finer than ISO (ISK), a fraction of the ISO unit rounds half up: Stripe
    itself takes only whole units of such a currency."""
    shift = stripe_exponent(currency, iso_exponent) - iso_exponent
    if shift <= 0:
        return amount * _POWERS[-shift]
    scale = _POWERS[shift]
    return (amount + scale // 2) // scale
