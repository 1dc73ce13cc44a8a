"""A peer's promise toward a need, of one of four kinds."""

from __future__ import annotations

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


def creation_order(pledge: Pledge) -> tuple[datetime, int]:
    """The order ties are broken in: earlier pledges first, then lower ids."""
    return (pledge.created_at, pledge.id)
