"""Hypothesis strategies for whole instances: needs of every rule and pledges toward them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from potluck.pledges.rules import (
    AllOrNothing,
    Cadence,
    Crowdmatch,
    FundingRule,
    Gift,
    Need,
    Pledge,
    PledgeState,
    Share,
)

# Moments around March 2026, the period the clearing tests clear: from mid-January to mid-April,
# so that pledges and deadlines fall before, within and after it.
EARLIEST = datetime(2026, 1, 15, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=90 * 24).map(
    lambda hours: EARLIEST + timedelta(hours=hours)
)


@st.composite
def needs(draw: st.DrawFn, need_id: int) -> Need:
    funding = draw(st.sampled_from(list(FundingRule)))
    goal = funding is FundingRule.ALL_OR_NOTHING or draw(st.booleans())
    return Need(
        id=need_id,
        project_id=draw(st.integers(min_value=1, max_value=3)),
        commodity="EUR",
        amount=draw(st.integers(min_value=1, max_value=20_000)),
        per=None if goal else draw(st.sampled_from(list(Cadence))),
        deadline=draw(moments) if goal else None,
        funding=funding,
        raised=draw(st.integers(min_value=0, max_value=5_000)) if goal else 0,
    )


@st.composite
def pledges(draw: st.DrawFn, pledge_id: int, need: Need) -> Pledge:
    common: dict[str, Any] = {
        "id": pledge_id,
        "donor_id": draw(st.integers(min_value=1, max_value=6)),
        "need_id": need.id,
        "commodity": need.commodity,
        # Few distinct moments, so that creation ties are common and ids must break them.
        "created_at": draw(st.sampled_from([EARLIEST, *(draw(moments) for _ in range(2))])),
        "state": draw(
            st.sampled_from([PledgeState.ACTIVE] * 4 + [PledgeState.PAUSED, PledgeState.CANCELLED])
        ),
    }
    amount = draw(st.integers(min_value=1, max_value=5_000))
    if need.funding is FundingRule.ALL_OR_NOTHING:
        return AllOrNothing(amount=amount, **common)
    if draw(st.booleans()):
        per = draw(st.sampled_from([None, *Cadence]))
        return Gift(amount=amount, per=per, **common)
    if need.funding is FundingRule.SHARED:
        return Share(cap=amount, **common)
    rate = draw(st.integers(min_value=1, max_value=50))
    limit = draw(st.integers(min_value=rate, max_value=rate * 12))
    return Crowdmatch(rate=rate, limit=limit, **common)


@st.composite
def instances(
    draw: st.DrawFn, max_needs: int = 4, max_pledges: int = 30
) -> tuple[list[Need], list[Pledge]]:
    """Needs with ids 1..n and pledges with ids 1..m, each toward one of the needs."""
    drawn = [draw(needs(need_id)) for need_id in range(1, draw(st.integers(1, max_needs)) + 1)]
    count = draw(st.integers(min_value=0, max_value=max_pledges))
    toward = [draw(st.sampled_from(drawn)) for _ in range(count)]
    return drawn, [draw(pledges(pledge_id, need)) for pledge_id, need in enumerate(toward, 1)]
