"""A peer's promise toward a need, of one of four kinds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from potluck.pledges.rules.periods import Cadence


class PledgeKind(StrEnum):
    """The four ways to pledge; DESIGN.md, "Pledge kinds and how payday clears them"."""

    GIFT = "gift"
    ALL_OR_NOTHING = "all-or-nothing"
    CROWDMATCH = "crowdmatch"
    SHARE = "share"


class PledgeState(StrEnum):
    """Whether payday clears a pledge."""

    ACTIVE = "active"
    # Paused and cancelled pledges are left out of the clearing altogether.
    PAUSED = "paused"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pledge:
    id: int
    donor_id: int
    need_id: int
    commodity: str
    created_at: datetime
    """When the pledge was made; timezone-aware. With ``id``, it orders pledges for tie-breaks."""
    state: PledgeState = PledgeState.ACTIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class Gift(_Pledge):
    """A fixed amount, once (``per`` is None) or every week, month or year. Unconditional."""

    kind: ClassVar[PledgeKind] = PledgeKind.GIFT
    amount: int
    per: Cadence | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AllOrNothing(_Pledge):
    """An amount toward a one-off goal, charged only if the goal is reached by its deadline."""

    kind: ClassVar[PledgeKind] = PledgeKind.ALL_OR_NOTHING
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Crowdmatch(_Pledge):
    """``rate`` per active patron of the need, at most ``limit`` per payday period."""

    kind: ClassVar[PledgeKind] = PledgeKind.CROWDMATCH
    rate: int
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Share(_Pledge):
    """An equal share of the need's cost for the period, at most ``cap`` per payday period."""

    kind: ClassVar[PledgeKind] = PledgeKind.SHARE
    cap: int


Pledge = Gift | AllOrNothing | Crowdmatch | Share


# Positional constructors for reading pledges by the million. A frozen dataclass's ``__init__``
# sets each field through ``object.__setattr__``; these set the slots through their descriptors
# instead, which is what that call ends in, at less than half the cost. The object is the same
# as the dataclass's own constructor builds (a property test compares them); nothing checks the
# values, exactly as ``__init__`` does not.
_new = object.__new__


def _setter(cls: type, name: str) -> Callable[[object, object], None]:
    """The descriptor of the slot ``name`` of ``cls``, as a function setting it."""
    setter: Callable[[object, object], None] = vars(cls)[name].__set__
    return setter


_set_id, _set_donor, _set_need, _set_commodity, _set_created, _set_state = (
    _setter(_Pledge, name)
    for name in ("id", "donor_id", "need_id", "commodity", "created_at", "state")
)
_set_gift_amount = _setter(Gift, "amount")
_set_gift_per = _setter(Gift, "per")
_set_promise_amount = _setter(AllOrNothing, "amount")
_set_rate = _setter(Crowdmatch, "rate")
_set_limit = _setter(Crowdmatch, "limit")
_set_cap = _setter(Share, "cap")


def _common(  # noqa: PLR0917 - a pledge's fields in their order, for speed
    pledge: _Pledge,
    pledge_id: int,
    donor_id: int,
    need_id: int,
    commodity: str,
    created_at: datetime,
    state: PledgeState,
) -> None:
    _set_id(pledge, pledge_id)
    _set_donor(pledge, donor_id)
    _set_need(pledge, need_id)
    _set_commodity(pledge, commodity)
    _set_created(pledge, created_at)
    _set_state(pledge, state)


def new_gift(  # noqa: PLR0917 - a pledge's fields in their order, for speed
    pledge_id: int,
    donor_id: int,
    need_id: int,
    commodity: str,
    created_at: datetime,
    state: PledgeState,
    amount: int,
    per: Cadence | None,
) -> Gift:
    """``Gift(id=pledge_id, ...)``, built faster; for reading many pledges at once."""
    gift: Gift = _new(Gift)
    _common(gift, pledge_id, donor_id, need_id, commodity, created_at, state)
    _set_gift_amount(gift, amount)
    _set_gift_per(gift, per)
    return gift


def creation_order(pledge: Pledge) -> tuple[datetime, int]:
    """The order ties are broken in: earlier pledges first, then lower ids."""
    return (pledge.created_at, pledge.id)


def new_all_or_nothing(  # noqa: PLR0917 - a pledge's fields in their order, for speed
    pledge_id: int,
    donor_id: int,
    need_id: int,
    commodity: str,
    created_at: datetime,
    state: PledgeState,
    amount: int,
) -> AllOrNothing:
    """``AllOrNothing(id=pledge_id, ...)``, built faster; for reading many pledges at once."""
    promise: AllOrNothing = _new(AllOrNothing)
    _common(promise, pledge_id, donor_id, need_id, commodity, created_at, state)
    _set_promise_amount(promise, amount)
    return promise


def new_crowdmatch(  # noqa: PLR0917 - a pledge's fields in their order, for speed
    pledge_id: int,
    donor_id: int,
    need_id: int,
    commodity: str,
    created_at: datetime,
    state: PledgeState,
    rate: int,
    limit: int,
) -> Crowdmatch:
    """``Crowdmatch(id=pledge_id, ...)``, built faster; for reading many pledges at once."""
    patron: Crowdmatch = _new(Crowdmatch)
    _common(patron, pledge_id, donor_id, need_id, commodity, created_at, state)
    _set_rate(patron, rate)
    _set_limit(patron, limit)
    return patron


def new_share(  # noqa: PLR0917 - a pledge's fields in their order, for speed
    pledge_id: int,
    donor_id: int,
    need_id: int,
    commodity: str,
    created_at: datetime,
    state: PledgeState,
    cap: int,
) -> Share:
    """``Share(id=pledge_id, ...)``, built faster; for reading many pledges at once."""
    sharer: Share = _new(Share)
    _common(sharer, pledge_id, donor_id, need_id, commodity, created_at, state)
    _set_cap(sharer, cap)
    return sharer
