"""The provider interface: what a payment is asked to do and what a provider answers.

Plain values only, so that the pure rules, the service and every provider share them without
importing one another. A provider never touches the database: the service reads a payment,
hands a :class:`ChargeRequest` to the provider outside any transaction, and records the
:class:`ChargeOutcome` in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from potluck.errors import PotluckError


class PaymentState(StrEnum):
    AWAITING = "awaiting"
    """Created and not yet sent to a provider, or waiting for a manual bank transfer."""
    PROCESSING = "processing"
    """Handed to the provider; the outcome is not known yet."""
    SUCCEEDED = "succeeded"
    """The money arrived; it is in the books."""
    FAILED = "failed"
    """Declined or impossible; nothing was received."""
    DISPUTED = "disputed"
    """The donor's bank pulled the money back; the books carry the reversal."""
    REFUNDED = "refunded"
    """The money went back to the donor; the books carry the reversal."""


class ProviderName(StrEnum):
    MANUAL = "manual"
    SIMULATED = "simulated"
    STRIPE = "stripe"


@dataclass(frozen=True)
class PaymentLine:
    """One project's part of a payment."""

    project_id: int
    amount: int
    """In the payment currency's smallest unit; positive."""
    memo: str
    """What the line pays for, shown in the books: ``pledge 17, need 4``."""


@dataclass(frozen=True)
class SavedMethod:
    """A donor's saved way to pay at one provider (a card, in practice)."""

    id: int
    customer_ref: str | None
    """The provider's customer (``cus_...``), when the provider keeps customers."""
    method_ref: str
    """The provider's payment method (``pm_...``), or the simulated test card number."""


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: int
    reference: str
    idempotency_key: str
    """Derived from the payment alone: sending the same payment again can never charge twice."""
    donor_id: int
    currency: str
    amount: int
    description: str
    method: SavedMethod | None
    provider_ref: str | None = None
    """The provider's id of the charge when an earlier attempt got that far: the provider
    then looks it up instead of sending anything new."""


@dataclass(frozen=True)
class ChargeOutcome:
    state: PaymentState
    """SUCCEEDED, FAILED, PROCESSING (the provider will tell later) or AWAITING (manual)."""
    provider_ref: str | None = None
    """The provider's id of the charge (``pi_...``), to match its later events."""
    fee: int | None = None
    """The processor's fee in the payment's currency, known once it succeeded."""
    failure_code: str | None = None
    failure_message: str | None = None
    later: tuple[ProviderEvent, ...] = ()
    """Events the provider already knows will follow (the simulated processor's disputes);
    applied right after the outcome, as a webhook would be."""


class EventKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DISPUTED = "disputed"
    REFUNDED = "refunded"
    REINSTATED = "reinstated"
    """A dispute was decided for the project: the money came back."""


@dataclass(frozen=True)
class ProviderEvent:
    """Something a provider tells about a payment, after the fact (a webhook)."""

    provider: str
    event_id: str
    """Unique per provider; an event is applied at most once."""
    kind: EventKind
    event_type: str
    """The provider's own name for it: ``payment_intent.succeeded``."""
    payment_id: int | None = None
    """Potluck's payment id, when the provider echoes it back (Stripe metadata)."""
    provider_ref: str | None = None
    fee: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    amount: int | None = None
    """For a refund, how much has gone back in all (providers report the running total);
    for a dispute, how much it takes."""
    details: dict[str, str] = field(default_factory=dict)


class PaymentProvider(Protocol):
    """What every way of paying offers to the payment service."""

    @property
    def name(self) -> str: ...

    @property
    def custodian_name(self) -> str:
        """Who holds the money once it arrived: the custodian in the books."""
        ...

    @property
    def custodian_kind(self) -> str: ...

    @property
    def needs_saved_method(self) -> bool:
        """Whether a payment needs a saved card of the donor's to be sent."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        """Ask for the money. Must be safe to call again with the same request: the provider
        answers with the first outcome instead of charging twice."""
        ...


class ProviderUnavailable(PotluckError):
    """The provider could not be reached or answered with a server error; nothing is known to
    have happened, and sending the same payment again is safe."""

    status = 503


ChargeResult = ChargeOutcome | ProviderUnavailable
"""What a provider answered for one payment of a batch: the outcome, or that it could not be
reached (the payment then stays processing, to be sent again)."""


@runtime_checkable
class ChargesInBatches(Protocol):
    """A provider that answers a batch of charges at once."""

    def charge_many(
        self, requests: Sequence[ChargeRequest], *, senders: Executor
    ) -> list[ChargeResult]:
        """One result per request, in order; each as ``charge`` would answer it."""
        ...


def charge_each(
    provider: PaymentProvider, requests: Sequence[ChargeRequest], *, senders: Executor
) -> list[ChargeResult]:
    """Charge each request on its own, several at once on ``senders``: one result per request,
    in order."""

    def one(request: ChargeRequest) -> ChargeResult:
        try:
            return provider.charge(request)
        except ProviderUnavailable as error:
            return error

    return list(senders.map(one, requests))


def charge_many(
    provider: PaymentProvider, requests: Sequence[ChargeRequest], *, senders: Executor
) -> list[ChargeResult]:
    """Charge a batch: through the provider's own ``charge_many`` when it has one, otherwise
    each on its own with :func:`charge_each`."""
    if not requests:
        return []
    if isinstance(provider, ChargesInBatches):
        return provider.charge_many(requests, senders=senders)
    return charge_each(provider, requests, senders=senders)
