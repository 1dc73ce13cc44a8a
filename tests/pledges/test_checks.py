"""Needs and pledges refused with a message naming the problem."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from potluck.errors import InvalidInput
from potluck.pledges.rules import Cadence, FundingRule, check_need, check_pledge
from tests.pledges.factories import (
    make_all_or_nothing,
    make_crowdmatch,
    make_gift,
    make_goal,
    make_need,
    make_share,
)

BEFORE_DEADLINE = datetime(2026, 3, 1, tzinfo=UTC)
AFTER_DEADLINE = datetime(2026, 3, 16, tzinfo=UTC)


class TestCheckNeed:
    def test_recurring_need_is_accepted(self) -> None:
        check_need(make_need())

    def test_goal_is_accepted(self) -> None:
        check_need(make_goal())

    def test_zero_cost_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Need 1's cost must be positive, not 0") as error:
            check_need(make_need(amount=0))
        assert error.value.field == "amount"

    def test_negative_target_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Need 1's target must be positive, not -1"):
            check_need(make_goal(amount=-1))

    def test_goal_without_deadline_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="one-off goal and needs a deadline"):
            check_need(make_goal(deadline=None))

    def test_recurring_need_with_deadline_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="only a one-off goal has a deadline"):
            check_need(make_need(deadline=AFTER_DEADLINE))

    def test_recurring_all_or_nothing_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="only a one-off goal with a deadline can be all-or"):
            check_need(make_need(funding=FundingRule.ALL_OR_NOTHING))

    def test_deadline_without_time_zone_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="deadline must say its time zone"):
            check_need(make_goal(deadline=datetime(2026, 3, 15)))

    def test_negative_raised_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="cannot have raised a negative amount"):
            check_need(make_goal(raised=-1))

    def test_missing_commodity_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Need 1 has no commodity"):
            check_need(make_need(commodity=""))


class TestCheckPledge:
    def test_each_kind_is_accepted_where_its_rule_clears_it(self) -> None:
        check_pledge(make_gift(1, 500), make_need())
        check_pledge(make_gift(1, 500, per=Cadence.YEAR), make_need(funding=FundingRule.SHARED))
        check_pledge(make_crowdmatch(1, 5, 50), make_need())
        check_pledge(make_share(1, 500), make_need(funding=FundingRule.SHARED))
        check_pledge(make_all_or_nothing(1, 500), make_goal(), as_of=BEFORE_DEADLINE)

    def test_other_commodity_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="is in USD, but need 1 is counted in EUR") as error:
            check_pledge(make_gift(1, 500, commodity="USD"), make_need())
        assert error.value.field == "commodity"

    @pytest.mark.parametrize("amount", [0, -100])
    def test_non_positive_gift_is_refused(self, amount: int) -> None:
        with pytest.raises(InvalidInput, match=f"must be positive, not {amount}"):
            check_pledge(make_gift(1, amount), make_need())

    def test_non_positive_all_or_nothing_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="amount of all-or-nothing pledge 1 must be"):
            check_pledge(make_all_or_nothing(1, 0), make_goal())

    def test_non_positive_rate_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="rate of crowdmatch pledge 1 must be positive"):
            check_pledge(make_crowdmatch(1, 0, 50), make_need())

    def test_limit_below_rate_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match=r"limit of 4 .* below its rate of 5") as error:
            check_pledge(make_crowdmatch(1, 5, 4), make_need())
        assert error.value.field == "limit"

    def test_non_positive_cap_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="cap of share pledge 1 must be positive, not 0"):
            check_pledge(make_share(1, 0), make_need(funding=FundingRule.SHARED))

    def test_share_on_an_open_need_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="funded open: it takes gift or crowdmatch"):
            check_pledge(make_share(1, 500), make_need())

    def test_all_or_nothing_on_an_open_need_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="not all-or-nothing"):
            check_pledge(make_all_or_nothing(1, 500), make_need())

    def test_all_or_nothing_after_the_deadline_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match=r"deadline \(2026-03-15T12:00:00\+00:00\) has"):
            check_pledge(make_all_or_nothing(1, 500), make_goal(), as_of=AFTER_DEADLINE)

    def test_gift_to_a_goal_after_its_deadline_is_refused(self) -> None:
        goal = make_goal(funding=FundingRule.OPEN)
        with pytest.raises(InvalidInput, match="gift pledges can no longer be added"):
            check_pledge(make_gift(1, 500, per=None), goal, as_of=AFTER_DEADLINE)

    def test_without_as_of_the_deadline_is_not_checked(self) -> None:
        check_pledge(make_all_or_nothing(1, 500), make_goal())

    def test_pledge_for_another_need_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="toward need 2, not need 1"):
            check_pledge(make_gift(1, 500, need_id=2), make_need())
