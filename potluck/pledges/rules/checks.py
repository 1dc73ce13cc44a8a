"""Refusals of needs and pledges that cannot be cleared, each naming the problem."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from potluck.errors import InvalidInput
from potluck.pledges.rules.needs import FundingRule, Need
from potluck.pledges.rules.pledges import AllOrNothing, Crowdmatch, Gift, Pledge, Share
from potluck.pledges.rules.preview import least_share_cap, preview_share

# Which pledge kinds each funding rule clears. An all-or-nothing need takes nothing but
# all-or-nothing pledges, so that nobody pays toward a goal that fails; a shared need splits what
# gifts leave, which crowdmatch's "more patrons, more each" would contradict.
ACCEPTED: dict[FundingRule, tuple[type[Pledge], ...]] = {
    FundingRule.OPEN: (Gift, Crowdmatch),
    FundingRule.ALL_OR_NOTHING: (AllOrNothing,),
    FundingRule.SHARED: (Gift, Share),
}


def _in_units(amount: int, commodity: str) -> str:
    # The rules know no commodity's precision, so they say which unit they count in.
    return f"{amount} (in the smallest unit of {commodity})"


def check_need(need: Need) -> None:
    """Refuse a need that cannot be cleared: a non-positive amount, a goal without a deadline,
    a recurring cost with one, or an all-or-nothing rule on something that is not a goal.

    Args:
        need: the need as it would be stored.
    """
    if not need.commodity:
        raise InvalidInput(f"Need {need.id} has no commodity.", field="commodity")
    if need.amount <= 0:
        what = "target" if need.is_goal else "cost"
        raise InvalidInput(
            f"Need {need.id}'s {what} must be positive, not {need.amount}.", field="amount"
        )
    if need.raised < 0:
        raise InvalidInput(
            f"Need {need.id} cannot have raised a negative amount ({need.raised}).",
            field="raised",
        )
    if need.is_goal and need.deadline is None:
        raise InvalidInput(
            f"Need {need.id} is a one-off goal and needs a deadline (or make it recurring).",
            field="deadline",
        )
    if not need.is_goal and need.deadline is not None:
        raise InvalidInput(
            f"Need {need.id} recurs every {need.per}; only a one-off goal has a deadline.",
            field="deadline",
        )
    if need.deadline is not None and need.deadline.tzinfo is None:
        raise InvalidInput(f"Need {need.id}'s deadline must say its time zone.", field="deadline")
    if need.funding is FundingRule.ALL_OR_NOTHING and not need.is_goal:
        raise InvalidInput(
            f"Need {need.id} recurs; only a one-off goal with a deadline can be all-or-nothing.",
            field="funding",
        )


def check_pledge(pledge: Pledge, need: Need, *, as_of: datetime | None = None) -> None:
    """Refuse a pledge that cannot be cleared against ``need``.

    Args:
        pledge: the pledge as it would be stored.
        need: the need it is toward; it must be the need ``pledge.need_id`` names.
        as_of: when the pledge is being made or changed. Given, a pledge toward a goal whose
            deadline has passed is refused too; the clearing itself leaves it out, since it
            only re-checks what was stored.

    Refused: amounts, rates, limits or caps that are zero or negative; a crowdmatch limit below
    its rate (the patron could never be active); a commodity other than the need's; a kind the
    need's funding rule does not clear.
    """
    if pledge.need_id != need.id:
        raise InvalidInput(
            f"Pledge {pledge.id} is toward need {pledge.need_id}, not need {need.id}.",
            field="need_id",
        )
    if pledge.commodity != need.commodity:
        raise InvalidInput(
            f"Pledge {pledge.id} is in {pledge.commodity}, but need {need.id} is counted in "
            f"{need.commodity}.",
            field="commodity",
        )
    _check_terms(pledge)
    if type(pledge) not in ACCEPTED[need.funding]:
        accepted = " or ".join(kind.kind for kind in ACCEPTED[need.funding])
        raise InvalidInput(
            f"Need {need.id} is funded {need.funding.value}: it takes {accepted} pledges, "
            f"not {pledge.kind}.",
            field="kind",
        )
    if as_of is not None and need.deadline is not None and need.deadline < as_of:
        raise InvalidInput(
            f"Need {need.id}'s deadline ({need.deadline.isoformat()}) has passed; "
            f"{pledge.kind} pledges can no longer be added.",
            field="need_id",
        )


def _check_terms(pledge: Pledge) -> None:
    # Payday checks every pledge it clears, so the common case is kept to a few comparisons.
    if isinstance(pledge, Gift | AllOrNothing):
        if pledge.amount <= 0:
            _positive(pledge.amount, "amount", pledge)
    elif isinstance(pledge, Crowdmatch):
        _positive(pledge.rate, "rate", pledge)
        _positive(pledge.limit, "limit", pledge)
        if pledge.limit < pledge.rate:
            raise InvalidInput(
                f"Crowdmatch pledge {pledge.id} has a limit of "
                f"{_in_units(pledge.limit, pledge.commodity)} below its rate of "
                f"{pledge.rate}: it could never be active.",
                field="limit",
            )
    else:
        _positive(pledge.cap, "cap", pledge)


def _positive(value: int, field: str, pledge: Pledge) -> None:
    if value <= 0:
        raise InvalidInput(
            f"The {field} of {pledge.kind} pledge {pledge.id} must be positive, not {value}.",
            field=field,
        )


def check_new_share(cost: int, caps_of_others: Sequence[int], cap: int) -> int:
    """Refuse a new share pledge whose cap is below the share it would be offered today;
    otherwise return what it would pay today.

    Args:
        cost: the need's cost for the period left after gifts, in the smallest unit.
        caps_of_others: the caps of the need's other active share pledges.
        cap: the new pledge's cap.

    The share quoted is the least cap that joins the paying set today: ``⌈C/|S|⌉`` for the set
    ``S`` the sharers would form were the new cap unlimited.
    """
    if cap <= 0:
        raise InvalidInput(f"A cap must be positive, not {cap}.", field="cap")
    least = least_share_cap(cost, caps_of_others)
    if cap < least:
        raise InvalidInput(
            f"A cap of {cap} is below the current share of {least}; raise it to at least "
            f"{least} to share this cost.",
            field="cap",
        )
    return preview_share(cost, caps_of_others, cap, joining=(0,)).today
