"""The instance's minimum charge per currency: below it, a donor's total waits for a later
payday, since payment fees are per payment and tiny payments would mostly feed the processor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from potluck.errors import InvalidInput
from potluck.money import CURRENCIES, Commodity, MoneyError, amount_from_decimal


@dataclass(frozen=True, slots=True)
class MinimumCharge:
    """A default minimum in each currency's major unit, and exceptions per currency.

    ``default`` is decimal text such as ``"2.00"``: two euros, two dollars. Currencies without
    minor units (JPY) take its whole part. ``per_currency`` maps a code to its own minimum,
    already in smallest units.
    """

    default: str = "2.00"
    per_currency: Mapping[str, int] = field(default_factory=dict)

    def units(self, currency: Commodity) -> int:
        """The minimum payment in ``currency``, in its smallest unit."""
        found = self.per_currency.get(currency.code)
        if found is not None:
            return found
        whole, _, fraction = self.default.partition(".")
        fraction = fraction[: currency.exponent]
        return amount_from_decimal(f"{whole}.{fraction}" if fraction else whole, currency).units

    def table(self, currencies: Iterable[Commodity]) -> dict[str, int]:
        """The minimum of each of ``currencies``, keyed by code."""
        return {currency.code: self.units(currency) for currency in currencies}


def parse_minimum_charge(text: str, known: Mapping[str, Commodity] = CURRENCIES) -> MinimumCharge:
    """Read the ``POTLUCK_MINIMUM_CHARGE`` setting.

    Args:
        text: comma-separated entries. An entry ``EUR=2.50`` sets one currency's minimum; an
            entry without a code (``2.00``) sets the default for every other currency. Empty
            text means the built-in default of 2.00.
        known: the currencies a code may name.

    Raises InvalidInput naming the entry that is not a currency code, not a number, negative,
    more precise than its currency allows, or given twice.
    """
    default = "2.00"
    default_seen = False
    per_currency: dict[str, int] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        code, equals, number = entry.partition("=")
        if not equals:
            if default_seen:
                raise InvalidInput(
                    f"The minimum charge gives two defaults ('{default}' and '{entry}').",
                    field="minimum_charge",
                )
            default = _checked_default(entry)
            default_seen = True
            continue
        code, number = code.strip().upper(), number.strip()
        currency = known.get(code)
        if currency is None:
            raise InvalidInput(
                f"'{code}' in the minimum charge is not a currency code such as EUR.",
                field="minimum_charge",
            )
        if code in per_currency:
            raise InvalidInput(f"The minimum charge names {code} twice.", field="minimum_charge")
        try:
            units = amount_from_decimal(number, currency).units
        except MoneyError as error:
            raise InvalidInput(
                f"The minimum charge for {code}: {error}", field="minimum_charge"
            ) from error
        if units < 0:
            raise InvalidInput(
                f"The minimum charge for {code} cannot be negative ({number}).",
                field="minimum_charge",
            )
        per_currency[code] = units
    return MinimumCharge(default=default, per_currency=per_currency)


def _checked_default(entry: str) -> str:
    whole, dot, fraction = entry.partition(".")
    if not whole.isdigit() or (dot and not fraction.isdigit()):
        raise InvalidInput(
            f"The default minimum charge '{entry}' is not a number such as 2.00.",
            field="minimum_charge",
        )
    return f"{int(whole)}.{fraction}" if dot else str(int(whole))
