"""Commodities and amounts: what a number in the books is counted in, and exact arithmetic on it.

Every amount is an integer count of its commodity's smallest unit (cents, yen, thousandths of
a cpu-hour). There are no floats anywhere: parsing goes from text straight to integers and
formatting from integers straight to text, so ``parse_amount(str(a)) == a`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

MAX_EXPONENT = 18
# Amounts are stored as signed 64-bit integers; refusing larger ones here keeps every value
# representable on both databases.
MAX_UNITS = 2**63 - 1

CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# Resource units read "what-per-what" and always carry a hyphen, so that their upper-cased
# form (used by beancount) never collides with a three-letter currency code.
RESOURCE_CODE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
MAX_RESOURCE_CODE = 23


class CommodityKind(StrEnum):
    CURRENCY = "currency"
    RESOURCE = "resource"


class MoneyError(ValueError):
    """An amount or commodity that cannot be what it claims to be."""


@dataclass(frozen=True, slots=True)
class Commodity:
    """What an amount is counted in. ``exponent`` is the number of decimal places of its
    smallest unit: 2 for EUR (cents), 0 for JPY, 3 for BHD and for cpu-hour."""

    code: str
    exponent: int
    kind: CommodityKind
    name: str

    def __post_init__(self) -> None:
        check_commodity_code(self.code, self.kind)
        if not 0 <= self.exponent <= MAX_EXPONENT:
            msg = f"{self.code}: precision must be 0 to {MAX_EXPONENT} decimal places."
            raise MoneyError(msg)

    def __str__(self) -> str:
        return self.code


def check_commodity_code(code: str, kind: CommodityKind) -> str:
    """Return ``code`` if it is well-formed for ``kind``; raise MoneyError naming the rule."""
    if kind is CommodityKind.CURRENCY:
        if not CURRENCY_CODE.fullmatch(code):
            msg = f"'{code}' is not a currency code: use three capital letters (ISO 4217)."
            raise MoneyError(msg)
    elif not RESOURCE_CODE.fullmatch(code) or len(code) > MAX_RESOURCE_CODE:
        msg = (
            f"'{code}' is not a resource unit: use lower-case words joined by hyphens, "
            f"such as 'cpu-hour', at most {MAX_RESOURCE_CODE} characters."
        )
        raise MoneyError(msg)
    return code


# ISO 4217 list one (active codes with a defined minor unit), as published by the maintenance
# agency. Codes whose minor unit is "N.A." (gold, SDR, test codes) are not currencies one can
# pay a hosting bill in, and are left out.
_ISO_4217: tuple[tuple[str, int, str], ...] = (
    ("AED", 2, "UAE Dirham"),
    ("AFN", 2, "Afghani"),
    ("ALL", 2, "Lek"),
    ("AMD", 2, "Armenian Dram"),
    ("AOA", 2, "Kwanza"),
    ("ARS", 2, "Argentine Peso"),
    ("AUD", 2, "Australian Dollar"),
    ("AWG", 2, "Aruban Florin"),
    ("AZN", 2, "Azerbaijan Manat"),
    ("BAM", 2, "Convertible Mark"),
    ("BBD", 2, "Barbados Dollar"),
    ("BDT", 2, "Taka"),
    ("BGN", 2, "Bulgarian Lev"),
    ("BHD", 3, "Bahraini Dinar"),
    ("BIF", 0, "Burundi Franc"),
    ("BMD", 2, "Bermudian Dollar"),
    ("BND", 2, "Brunei Dollar"),
    ("BOB", 2, "Boliviano"),
    ("BOV", 2, "Mvdol"),
    ("BRL", 2, "Brazilian Real"),
    ("BSD", 2, "Bahamian Dollar"),
    ("BTN", 2, "Ngultrum"),
    ("BWP", 2, "Pula"),
    ("BYN", 2, "Belarusian Ruble"),
    ("BZD", 2, "Belize Dollar"),
    ("CAD", 2, "Canadian Dollar"),
    ("CDF", 2, "Congolese Franc"),
    ("CHE", 2, "WIR Euro"),
    ("CHF", 2, "Swiss Franc"),
    ("CHW", 2, "WIR Franc"),
    ("CLF", 4, "Unidad de Fomento"),
    ("CLP", 0, "Chilean Peso"),
    ("CNY", 2, "Yuan Renminbi"),
    ("COP", 2, "Colombian Peso"),
    ("COU", 2, "Unidad de Valor Real"),
    ("CRC", 2, "Costa Rican Colon"),
    ("CUP", 2, "Cuban Peso"),
    ("CVE", 2, "Cabo Verde Escudo"),
    ("CZK", 2, "Czech Koruna"),
    ("DJF", 0, "Djibouti Franc"),
    ("DKK", 2, "Danish Krone"),
    ("DOP", 2, "Dominican Peso"),
    ("DZD", 2, "Algerian Dinar"),
    ("EGP", 2, "Egyptian Pound"),
    ("ERN", 2, "Nakfa"),
    ("ETB", 2, "Ethiopian Birr"),
    ("EUR", 2, "Euro"),
    ("FJD", 2, "Fiji Dollar"),
    ("FKP", 2, "Falkland Islands Pound"),
    ("GBP", 2, "Pound Sterling"),
    ("GEL", 2, "Lari"),
    ("GHS", 2, "Ghana Cedi"),
    ("GIP", 2, "Gibraltar Pound"),
    ("GMD", 2, "Dalasi"),
    ("GNF", 0, "Guinean Franc"),
    ("GTQ", 2, "Quetzal"),
    ("GYD", 2, "Guyana Dollar"),
    ("HKD", 2, "Hong Kong Dollar"),
    ("HNL", 2, "Lempira"),
    ("HTG", 2, "Gourde"),
    ("HUF", 2, "Forint"),
    ("IDR", 2, "Rupiah"),
    ("ILS", 2, "New Israeli Sheqel"),
    ("INR", 2, "Indian Rupee"),
    ("IQD", 3, "Iraqi Dinar"),
    ("IRR", 2, "Iranian Rial"),
    ("ISK", 0, "Iceland Krona"),
    ("JMD", 2, "Jamaican Dollar"),
    ("JOD", 3, "Jordanian Dinar"),
    ("JPY", 0, "Yen"),
    ("KES", 2, "Kenyan Shilling"),
    ("KGS", 2, "Som"),
    ("KHR", 2, "Riel"),
    ("KMF", 0, "Comorian Franc"),
    ("KPW", 2, "North Korean Won"),
    ("KRW", 0, "Won"),
    ("KWD", 3, "Kuwaiti Dinar"),
    ("KYD", 2, "Cayman Islands Dollar"),
    ("KZT", 2, "Tenge"),
    ("LAK", 2, "Lao Kip"),
    ("LBP", 2, "Lebanese Pound"),
    ("LKR", 2, "Sri Lanka Rupee"),
    ("LRD", 2, "Liberian Dollar"),
    ("LSL", 2, "Loti"),
    ("LYD", 3, "Libyan Dinar"),
    ("MAD", 2, "Moroccan Dirham"),
    ("MDL", 2, "Moldovan Leu"),
    ("MGA", 2, "Malagasy Ariary"),
    ("MKD", 2, "Denar"),
    ("MMK", 2, "Kyat"),
    ("MNT", 2, "Tugrik"),
    ("MOP", 2, "Pataca"),
    ("MRU", 2, "Ouguiya"),
    ("MUR", 2, "Mauritius Rupee"),
    ("MVR", 2, "Rufiyaa"),
    ("MWK", 2, "Malawi Kwacha"),
    ("MXN", 2, "Mexican Peso"),
    ("MXV", 2, "Mexican Unidad de Inversion (UDI)"),
    ("MYR", 2, "Malaysian Ringgit"),
    ("MZN", 2, "Mozambique Metical"),
    ("NAD", 2, "Namibia Dollar"),
    ("NGN", 2, "Naira"),
    ("NIO", 2, "Cordoba Oro"),
    ("NOK", 2, "Norwegian Krone"),
    ("NPR", 2, "Nepalese Rupee"),
    ("NZD", 2, "New Zealand Dollar"),
    ("OMR", 3, "Rial Omani"),
    ("PAB", 2, "Balboa"),
    ("PEN", 2, "Sol"),
    ("PGK", 2, "Kina"),
    ("PHP", 2, "Philippine Peso"),
    ("PKR", 2, "Pakistan Rupee"),
    ("PLN", 2, "Zloty"),
    ("PYG", 0, "Guarani"),
    ("QAR", 2, "Qatari Rial"),
    ("RON", 2, "Romanian Leu"),
    ("RSD", 2, "Serbian Dinar"),
    ("RUB", 2, "Russian Ruble"),
    ("RWF", 0, "Rwanda Franc"),
    ("SAR", 2, "Saudi Riyal"),
    ("SBD", 2, "Solomon Islands Dollar"),
    ("SCR", 2, "Seychelles Rupee"),
    ("SDG", 2, "Sudanese Pound"),
    ("SEK", 2, "Swedish Krona"),
    ("SGD", 2, "Singapore Dollar"),
    ("SHP", 2, "Saint Helena Pound"),
    ("SLE", 2, "Leone"),
    ("SOS", 2, "Somali Shilling"),
    ("SRD", 2, "Surinam Dollar"),
    ("SSP", 2, "South Sudanese Pound"),
    ("STN", 2, "Dobra"),
    ("SVC", 2, "El Salvador Colon"),
    ("SYP", 2, "Syrian Pound"),
    ("SZL", 2, "Lilangeni"),
    ("THB", 2, "Baht"),
    ("TJS", 2, "Somoni"),
    ("TMT", 2, "Turkmenistan New Manat"),
    ("TND", 3, "Tunisian Dinar"),
    ("TOP", 2, "Pa'anga"),
    ("TRY", 2, "Turkish Lira"),
    ("TTD", 2, "Trinidad and Tobago Dollar"),
    ("TWD", 2, "New Taiwan Dollar"),
    ("TZS", 2, "Tanzanian Shilling"),
    ("UAH", 2, "Hryvnia"),
    ("UGX", 0, "Uganda Shilling"),
    ("USD", 2, "US Dollar"),
    ("USN", 2, "US Dollar (Next day)"),
    ("UYI", 0, "Uruguay Peso en Unidades Indexadas (UI)"),
    ("UYU", 2, "Peso Uruguayo"),
    ("UYW", 4, "Unidad Previsional"),
    ("UZS", 2, "Uzbekistan Sum"),
    ("VED", 2, "Bolivar Soberano"),
    ("VES", 2, "Bolivar Soberano"),
    ("VND", 0, "Dong"),
    ("VUV", 0, "Vatu"),
    ("WST", 2, "Tala"),
    ("XAF", 0, "CFA Franc BEAC"),
    ("XCD", 2, "East Caribbean Dollar"),
    ("XCG", 2, "Caribbean Guilder"),
    ("XOF", 0, "CFA Franc BCEAO"),
    ("XPF", 0, "CFP Franc"),
    ("YER", 2, "Yemeni Rial"),
    ("ZAR", 2, "Rand"),
    ("ZMW", 2, "Zambian Kwacha"),
    ("ZWG", 2, "Zimbabwe Gold"),
)

CURRENCIES: Mapping[str, Commodity] = {
    code: Commodity(code, exponent, CommodityKind.CURRENCY, name)
    for code, exponent, name in _ISO_4217
}

# A thousandth of a cpu-hour is 3.6 seconds, fine enough for grid credit; rooms and seats are
# lent by the hour or month and counted to the hundredth.
RESOURCE_UNITS: Mapping[str, Commodity] = {
    unit.code: unit
    for unit in (
        Commodity("cpu-hour", 3, CommodityKind.RESOURCE, "CPU hour"),
        Commodity("gb-month", 3, CommodityKind.RESOURCE, "Gigabyte-month of storage"),
        Commodity("room-hour", 2, CommodityKind.RESOURCE, "Hour of a room"),
        Commodity("seat-month", 2, CommodityKind.RESOURCE, "Month of a software seat"),
    )
}

BUILTIN_COMMODITIES: Mapping[str, Commodity] = {**CURRENCIES, **RESOURCE_UNITS}


def commodity(code: str, known: Mapping[str, Commodity] = BUILTIN_COMMODITIES) -> Commodity:
    """The commodity called ``code`` among ``known``; raise MoneyError naming it if unknown."""
    found = known.get(code)
    if found is None:
        msg = f"'{code}' is not a known commodity (an ISO 4217 currency or a resource unit)."
        raise MoneyError(msg)
    return found


_AMOUNT = re.compile(r"\s*(?P<sign>[-+]?)(?P<whole>\d[\d,_]*)(?:\.(?P<fraction>\d+))?\s*")


@dataclass(frozen=True, slots=True, order=False)
class Amount:
    """An exact quantity of one commodity, held as an integer of its smallest unit."""

    units: int
    commodity: Commodity

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            msg = f"An amount is a whole number of smallest units, not {self.units!r}."
            raise MoneyError(msg)
        if abs(self.units) > MAX_UNITS:
            msg = f"{self.units} {self.commodity} is beyond what the books can hold."
            raise MoneyError(msg)

    @classmethod
    def zero(cls, of: Commodity) -> Self:
        return cls(0, of)

    def _same(self, other: Amount) -> None:
        if self.commodity != other.commodity:
            msg = f"Cannot combine {self.commodity} with {other.commodity}."
            raise MoneyError(msg)

    def __add__(self, other: Amount) -> Amount:
        self._same(other)
        return Amount(self.units + other.units, self.commodity)

    def __sub__(self, other: Amount) -> Amount:
        self._same(other)
        return Amount(self.units - other.units, self.commodity)

    def __neg__(self) -> Amount:
        return Amount(-self.units, self.commodity)

    def __abs__(self) -> Amount:
        return Amount(abs(self.units), self.commodity)

    def __mul__(self, factor: int) -> Amount:
        # Only whole factors: a fractional one would need a rounding rule, which belongs to
        # whoever splits the amount (see ``split``).
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Amount(self.units * factor, self.commodity)

    __rmul__ = __mul__

    def __lt__(self, other: Amount) -> bool:
        self._same(other)
        return self.units < other.units

    def __le__(self, other: Amount) -> bool:
        self._same(other)
        return self.units <= other.units

    def __gt__(self, other: Amount) -> bool:
        self._same(other)
        return self.units > other.units

    def __ge__(self, other: Amount) -> bool:
        self._same(other)
        return self.units >= other.units

    def __bool__(self) -> bool:
        return self.units != 0

    def split(self, parts: int) -> list[Amount]:
        """``parts`` amounts that differ by at most one smallest unit and sum exactly to this
        one; the larger shares come first."""
        if parts <= 0:
            msg = "An amount can only be split into one or more parts."
            raise MoneyError(msg)
        share, rest = divmod(self.units, parts)
        return [Amount(share + (1 if i < rest else 0), self.commodity) for i in range(parts)]

    def decimal_text(self, *, grouping: bool = False) -> str:
        """The number alone, with exactly the commodity's decimal places: ``-1234.50``."""
        return decimal_text(self.units, self.commodity.exponent, grouping=grouping)

    def __str__(self) -> str:
        return f"{self.decimal_text()} {self.commodity.code}"

    def display(self) -> str:
        """For people: digits grouped by thousands, ``1,234.50 EUR``."""
        return f"{self.decimal_text(grouping=True)} {self.commodity.code}"


def decimal_text(units: int, exponent: int, *, grouping: bool = False) -> str:
    """``units`` smallest units written with ``exponent`` decimal places: ``-1234.50``."""
    whole, fraction = divmod(abs(units), 10**exponent)
    sign = "-" if units < 0 else ""
    whole_text = f"{whole:,}" if grouping else str(whole)
    if exponent == 0:
        return f"{sign}{whole_text}"
    return f"{sign}{whole_text}.{fraction:0{exponent}d}"


def amount_from_decimal(text: str, of: Commodity) -> Amount:
    """Parse a decimal number such as ``12.34`` or ``-1,000`` into an exact amount of ``of``.

    More decimal places than the commodity has are refused rather than rounded: rounding
    money silently is how cents go missing.
    """
    match = _AMOUNT.fullmatch(text)
    if match is None:
        msg = f"'{text}' is not a number such as 12.34."
        raise MoneyError(msg)
    whole_text = match["whole"].replace(",", "").replace("_", "")
    fraction = (match["fraction"] or "").rstrip("0")
    if len(fraction) > of.exponent:
        msg = f"'{text.strip()}' has more decimal places than {of.code} allows ({of.exponent})."
        raise MoneyError(msg)
    units = int(whole_text) * 10**of.exponent + int(fraction.ljust(of.exponent, "0") or "0")
    return Amount(-units if match["sign"] == "-" else units, of)


def parse_amount(text: str, known: Mapping[str, Commodity] = BUILTIN_COMMODITIES) -> Amount:
    """Parse ``"12.34 EUR"`` (or ``"EUR 12.34"``) into an exact amount."""
    parts = text.split()
    if len(parts) != 2:
        msg = f"'{text}' is not an amount such as '12.34 EUR'."
        raise MoneyError(msg)
    first, second = parts
    if first in known:
        return amount_from_decimal(second, known[first])
    return amount_from_decimal(first, commodity(second, known))
