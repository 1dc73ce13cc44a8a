"""Payday's clearing: a pure function of (needs, pledges, period) → (charges, coverage)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NoReturn

from potluck.errors import InvalidInput
from potluck.pledges.rules.checks import ACCEPTED, check_need, check_pledge
from potluck.pledges.rules.crowdmatch import crowdmatch_outcome
from potluck.pledges.rules.needs import FundingRule, Need
from potluck.pledges.rules.periods import Apportionment, Period
from potluck.pledges.rules.pledges import (
    AllOrNothing,
    Crowdmatch,
    Gift,
    Pledge,
    PledgeKind,
    PledgeState,
    Share,
)
from potluck.pledges.rules.share import share_charges

# creation_order, as two stable sorts on single attributes: no key tuple per pledge, which at a
# million pledges costs more in allocation and garbage collection than the second sort.
_BY_ID = attrgetter("id")
_BY_CREATION = attrgetter("created_at")


@dataclass(frozen=True, slots=True)
class Charge:
    """What one pledge costs its donor at this payday."""

    pledge_id: int
    donor_id: int
    project_id: int
    need_id: int
    amount: int
    """In the commodity's smallest unit; always positive."""
    commodity: str
    kind: PledgeKind
    """An all-or-nothing charge captures a hold; every other kind is a new charge."""


def _charge_setters() -> tuple[Callable[[object, object], None], ...]:
    names = ("pledge_id", "donor_id", "project_id", "need_id", "amount", "commodity", "kind")
    return tuple(vars(Charge)[name].__set__ for name in names)


(
    _set_pledge,
    _set_donor,
    _set_project,
    _set_need,
    _set_amount,
    _set_commodity,
    _set_kind,
) = _charge_setters()


def _new_charge(  # noqa: PLR0917 - a charge's fields in their order, for speed
    pledge_id: int,
    donor_id: int,
    project_id: int,
    need_id: int,
    amount: int,
    commodity: str,
    kind: PledgeKind,
) -> Charge:
    """``Charge(...)``, built through its slots as ``new_gift`` builds a gift: a payday makes
    half a million of them, and the frozen dataclass's ``__init__`` costs twice as much."""
    charge: Charge = object.__new__(Charge)
    _set_pledge(charge, pledge_id)
    _set_donor(charge, donor_id)
    _set_project(charge, project_id)
    _set_need(charge, need_id)
    _set_amount(charge, amount)
    _set_commodity(charge, commodity)
    _set_kind(charge, kind)
    return charge


@dataclass(frozen=True, slots=True)
class Coverage:
    """How well one need is covered for the period, in its commodity's smallest unit."""

    need_id: int
    project_id: int
    commodity: str
    cost: int
    """The recurring cost apportioned to the period, or what a goal still lacks (its target
    less what earlier paydays raised; 0 once its deadline is behind the period)."""
    pledged: int
    """What the pledges would pay were the need settled in this period: gifts due, active
    crowdmatch, the shares Moulin's mechanism assigns, every all-or-nothing pledge counted."""
    cleared: int
    """What is charged toward the need at this payday."""
    missing: int
    """``max(0, cost − pledged)``: what more pledges would have to promise. Gifts are charged
    in full even past the cost, so ``pledged`` may exceed it and coverage pass 100%."""

    @property
    def covered(self) -> bool:
        """Whether the pledges promise at least the cost for the period."""
        return self.missing == 0


@dataclass(frozen=True, slots=True)
class Clearing:
    """Everything one payday decides. Every list is in need id order, then pledge creation
    order, whatever order the needs and pledges were given in."""

    period: Period
    charges: tuple[Charge, ...]
    coverage: tuple[Coverage, ...]
    """One entry per need given, in need id order."""
    suspended: tuple[int, ...] = ()
    """Crowdmatch pledges that pay nothing: matching them would pass their limit."""
    captured: tuple[int, ...] = ()
    """All-or-nothing pledges whose goal was reached by its deadline; each has a charge."""
    voided: tuple[int, ...] = ()
    """All-or-nothing pledges whose goal failed, or that came after its deadline."""
    held: tuple[int, ...] = ()
    """All-or-nothing pledges whose goal's deadline is after the period: still pending."""


class _Payday:
    """What one clearing accumulates, and the period's constants its needs share."""

    __slots__ = (
        "apportion",
        "captured",
        "charges",
        "coverage",
        "held",
        "period",
        "starts_at",
        "suspended",
        "voided",
    )

    def __init__(self, period: Period) -> None:
        self.period = period
        self.starts_at = period.starts_at
        self.apportion = Apportionment(period)
        self.charges: list[Charge] = []
        self.coverage: list[Coverage] = []
        self.suspended: list[int] = []
        self.captured: list[int] = []
        self.voided: list[int] = []
        self.held: list[int] = []


def clear(needs: Iterable[Need], pledges: Iterable[Pledge], period: Period) -> Clearing:
    """Turn pledges into this payday's charges and report each need's coverage.

    Args:
        needs: every need the pledges are toward (more may be given; each gets a coverage).
        pledges: the pledges to clear, in any order. Paused and cancelled pledges are ignored,
            and so are pledges made at or after the end of the period — they belong to a later
            payday, which keeps a rerun of this payday identical however late it happens.
        period: the payday period being cleared.

    What falls due in the period:

    - a recurring gift, its amount apportioned to the period (:func:`amount_for_period`),
      in full even if it was made during the period; a one-off gift, if it was made within
      the period. Gifts are unconditional: they are charged in full even beyond the cost.
    - a crowdmatch pledge, ``rate·N*`` if it is among the ``N*`` active patrons of its need
      (:func:`~potluck.pledges.rules.crowdmatch.crowdmatch`), else nothing (suspended).
    - a share pledge, its part of what the need's cost for the period leaves after the gifts
      toward it (:func:`~potluck.pledges.rules.share.share_charges`); toward a goal, only
      share pledges made by its deadline take part.
    - an all-or-nothing pledge, only at the payday whose period holds its goal's deadline, and
      only if the goal's ``raised`` amount and the pledges made by the deadline reach the
      target; otherwise it is voided then, or stays held while the deadline is ahead.

    A one-off goal is settled by the payday whose period holds its deadline: a shared goal's
    sharers pay then, together. Once the deadline is behind a period, nothing toward the goal
    is charged again. A period is therefore cleared once it has ended, when its deadlines have
    passed and every pledge made in it is known. The caller ends the holds of all-or-nothing
    pledges that are paused or cancelled, since the clearing ignores those.

    Raises InvalidInput naming the first need or pledge that cannot be cleared: a pledge
    toward a need not given, a duplicate id, or anything :func:`check_need` or
    :func:`check_pledge` refuses.
    """
    by_id: dict[int, Need] = {}
    for need in needs:
        if need.id in by_id:
            raise InvalidInput(f"Need {need.id} is given twice.", field="needs")
        check_need(need)
        by_id[need.id] = need
    groups: dict[int, tuple[Need, list[Pledge], tuple[type[Pledge], ...], str]] = {
        need_id: (need, [], ACCEPTED[need.funding], need.commodity)
        for need_id, need in by_id.items()
    }
    pledges = pledges if isinstance(pledges, Sequence) else tuple(pledges)
    ids = [pledge.id for pledge in pledges]
    if len(set(ids)) != len(ids):
        _refuse_duplicate(ids)
    # Pledges read from storage come in id order; then each need's pledges are in id order
    # already, and only the sort by creation is left to do.
    in_id_order = ids == sorted(ids)
    ends_at = period.ends_at
    active = PledgeState.ACTIVE
    for pledge in pledges:
        if pledge.state is not active or pledge.created_at >= ends_at:
            continue
        entry = groups.get(pledge.need_id)
        if entry is None:
            raise InvalidInput(
                f"Pledge {pledge.id} is toward need {pledge.need_id}, which was not given.",
                field="pledges",
            )
        # check_pledge's conditions, inline: at a million pledges the call per pledge costs
        # more than the checks themselves. It is called only to word the refusal.
        if isinstance(pledge, Share):
            fits = pledge.cap > 0
        elif isinstance(pledge, Crowdmatch):
            fits = 0 < pledge.rate <= pledge.limit
        else:
            fits = pledge.amount > 0
        if not fits or type(pledge) not in entry[2] or pledge.commodity != entry[3]:
            check_pledge(pledge, entry[0])
            raise AssertionError(pledge)  # pragma: no cover - check_pledge refused it
        entry[1].append(pledge)

    payday = _Payday(period)
    for need_id in sorted(groups):
        need, group, _, _ = groups[need_id]
        if not in_id_order:
            group.sort(key=_BY_ID)
        group.sort(key=_BY_CREATION)
        _clear_need(need, group, payday)
    return Clearing(
        period=period,
        charges=tuple(payday.charges),
        coverage=tuple(payday.coverage),
        suspended=tuple(payday.suspended),
        captured=tuple(payday.captured),
        voided=tuple(payday.voided),
        held=tuple(payday.held),
    )


def _refuse_duplicate(ids: list[int]) -> NoReturn:
    seen: set[int] = set()
    for pledge_id in ids:
        if pledge_id in seen:
            raise InvalidInput(f"Pledge {pledge_id} is given twice.", field="pledges")
        seen.add(pledge_id)
    raise AssertionError(ids)  # pragma: no cover - only called with a duplicate


def _clear_need(need: Need, group: list[Pledge], payday: _Payday) -> None:
    if need.per is not None:
        cost = payday.apportion(need.amount, need.per)
    elif need.goal_closed_before(payday.period):
        payday.coverage.append(Coverage(need.id, need.project_id, need.commodity, 0, 0, 0, 0))
        return
    else:
        cost = max(0, need.amount - need.raised)

    if need.funding is FundingRule.ALL_OR_NOTHING:
        pledged, cleared = _clear_all_or_nothing(need, group, payday)
    else:
        pledged, cleared = _clear_gifts_and_more(need, group, cost, payday)
    payday.coverage.append(
        Coverage(
            need.id,
            need.project_id,
            need.commodity,
            cost,
            pledged,
            cleared,
            max(0, cost - pledged),
        )
    )


def _clear_gifts_and_more(
    need: Need, group: list[Pledge], cost: int, payday: _Payday
) -> tuple[int, int]:
    """Open and shared needs: gifts first, then crowdmatch or shares. Returns (pledged,
    cleared)."""
    charges = payday.charges
    project_id, need_id, commodity = need.project_id, need.id, need.commodity
    starts_at, apportion = payday.starts_at, payday.apportion
    whole = apportion.whole
    gifts = 0
    patrons: list[Crowdmatch] = []
    sharers: list[Share] = []
    for pledge in group:
        if isinstance(pledge, Gift):
            if pledge.per is not None:
                units = whole.get(pledge.per)
                if units is None:
                    amount = apportion(pledge.amount, pledge.per)
                else:
                    amount = pledge.amount * units
            elif pledge.created_at >= starts_at:
                amount = pledge.amount
            else:
                continue
            if amount:
                gifts += amount
                charges.append(
                    _new_charge(
                        pledge.id,
                        pledge.donor_id,
                        project_id,
                        need_id,
                        amount,
                        commodity,
                        PledgeKind.GIFT,
                    )
                )
        elif isinstance(pledge, Crowdmatch):
            patrons.append(pledge)
        elif isinstance(pledge, Share):
            sharers.append(pledge)

    matched = 0
    if patrons:
        result = crowdmatch_outcome([p.rate for p in patrons], [p.limit for p in patrons])
        for patron, is_active in zip(patrons, result.active, strict=True):
            if is_active:
                amount = patron.rate * result.size
                matched += amount
                charges.append(
                    _new_charge(
                        patron.id,
                        patron.donor_id,
                        project_id,
                        need_id,
                        amount,
                        commodity,
                        PledgeKind.CROWDMATCH,
                    )
                )
            else:
                payday.suspended.append(patron.id)

    shared = 0
    deadline = need.deadline
    if deadline is not None:
        # Only those who joined by the deadline share a goal, as with all-or-nothing pledges.
        sharers = [sharer for sharer in sharers if sharer.created_at <= deadline]
    if sharers:
        # A goal's sharers pay together when its deadline comes; until then the coverage
        # shows what they would pay.
        settle = deadline is None or need.goal_due_in(payday.period)
        for sharer, amount in zip(
            sharers, share_charges(cost - gifts, [s.cap for s in sharers]), strict=True
        ):
            shared += amount
            if settle and amount:
                charges.append(
                    _new_charge(
                        sharer.id,
                        sharer.donor_id,
                        project_id,
                        need_id,
                        amount,
                        commodity,
                        PledgeKind.SHARE,
                    )
                )
        pledged = gifts + matched + shared
        return pledged, gifts + matched + (shared if settle else 0)
    return gifts + matched, gifts + matched


def _clear_all_or_nothing(need: Need, group: list[Pledge], payday: _Payday) -> tuple[int, int]:
    """Returns (pledged, cleared) for an all-or-nothing goal."""
    deadline = need.deadline
    assert deadline is not None  # check_need refuses an all-or-nothing need without one
    counted = [p for p in group if isinstance(p, AllOrNothing) and p.created_at <= deadline]
    late = [p.id for p in group if p.created_at > deadline]
    pledged = sum(p.amount for p in counted)
    if not need.goal_due_in(payday.period):
        payday.held.extend(p.id for p in counted)
        payday.voided.extend(late)
        return pledged, 0
    if need.raised + pledged >= need.amount:
        for pledge in counted:
            payday.captured.append(pledge.id)
            payday.charges.append(
                _new_charge(
                    pledge.id,
                    pledge.donor_id,
                    need.project_id,
                    need.id,
                    pledge.amount,
                    need.commodity,
                    PledgeKind.ALL_OR_NOTHING,
                )
            )
        payday.voided.extend(late)
        return pledged, pledged
    payday.voided.extend(p.id for p in counted)
    payday.voided.extend(late)
    return pledged, 0
