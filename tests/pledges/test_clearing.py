"""Payday's clearing over whole instances: gifts, shares, crowdmatch and all-or-nothing goals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.pledges.rules import (
    AllOrNothing,
    Cadence,
    Charge,
    Coverage,
    Crowdmatch,
    FundingRule,
    Need,
    Period,
    Pledge,
    PledgeKind,
    PledgeState,
    Share,
    clear,
)
from tests.pledges.factories import (
    MARCH,
    made,
    make_all_or_nothing,
    make_crowdmatch,
    make_gift,
    make_goal,
    make_need,
    make_share,
)
from tests.pledges.references import clear_by_rules
from tests.pledges.strategies import instances

APRIL = MARCH.following()


def charged(
    needs: Sequence[Need], pledges: Sequence[Pledge], period: Period = MARCH
) -> dict[int, int]:
    """Pledge id → amount charged."""
    return {charge.pledge_id: charge.amount for charge in clear(needs, pledges, period).charges}


def coverage_of(
    needs: Sequence[Need], pledges: Sequence[Pledge], period: Period = MARCH
) -> Coverage:
    (coverage,) = clear(needs, pledges, period).coverage
    return coverage


class TestClearGifts:
    def test_monthly_gift_is_charged_each_month(self) -> None:
        needs, pledges = [make_need()], [make_gift(1, 500)]
        assert charged(needs, pledges) == {1: 500}
        assert charged(needs, pledges, APRIL) == {1: 500}

    def test_charge_names_donor_project_need_and_commodity(self) -> None:
        (charge,) = clear(
            [make_need(project_id=9)], [make_gift(1, 500, donor_id=77)], MARCH
        ).charges
        assert charge == Charge(1, 77, 9, 1, 500, "EUR", PledgeKind.GIFT)

    def test_yearly_gift_is_apportioned_to_the_month(self) -> None:
        assert charged([make_need()], [make_gift(1, 10000, per=Cadence.YEAR)]) == {1: 834}

    def test_weekly_gift_counts_the_weeks_of_the_month(self) -> None:
        assert charged([make_need()], [make_gift(1, 500, per=Cadence.WEEK)]) == {1: 2000}

    def test_one_off_gift_is_charged_in_the_period_it_was_made(self) -> None:
        gift = make_gift(1, 2500, per=None, created_at=datetime(2026, 3, 10, tzinfo=UTC))
        assert charged([make_need()], [gift]) == {1: 2500}
        assert charged([make_need()], [gift], APRIL) == {}

    def test_one_off_gift_made_before_the_period_is_not_charged_again(self) -> None:
        assert charged([make_need()], [make_gift(1, 2500, per=None)]) == {}

    def test_gifts_beyond_the_cost_are_charged_in_full(self) -> None:
        needs, pledges = [make_need(amount=4000)], [make_gift(1, 3000), make_gift(2, 3000)]
        assert charged(needs, pledges) == {1: 3000, 2: 3000}
        assert coverage_of(needs, pledges) == Coverage(1, 1, "EUR", 4000, 6000, 6000, 0)

    def test_paused_and_cancelled_pledges_are_ignored(self) -> None:
        pledges = [
            make_gift(1, 500, state=PledgeState.PAUSED),
            make_gift(2, 600, state=PledgeState.CANCELLED),
            make_gift(3, 700),
        ]
        assert charged([make_need()], pledges) == {3: 700}

    def test_pledges_made_after_the_period_wait_for_their_payday(self) -> None:
        late = make_gift(1, 500, created_at=datetime(2026, 4, 1, tzinfo=UTC))
        assert charged([make_need()], [late]) == {}
        assert charged([make_need()], [late], APRIL) == {1: 500}

    def test_gift_in_a_month_too_short_for_a_unit_charges_nothing(self) -> None:
        # 11 units a year: January gets ⌊11/12⌋ = 0, and no zero charge is issued.
        assert (
            charged([make_need()], [make_gift(1, 11, per=Cadence.YEAR)], Period.month(2026, 1))
            == {}
        )

    def test_uncovered_need_shows_what_is_missing(self) -> None:
        coverage = coverage_of([make_need(amount=4000)], [make_gift(1, 1500)])
        assert (coverage.cost, coverage.pledged, coverage.cleared, coverage.missing) == (
            4000,
            1500,
            1500,
            2500,
        )
        assert not coverage.covered

    def test_need_without_pledges_is_reported(self) -> None:
        assert coverage_of([make_need()], []) == Coverage(1, 1, "EUR", 4000, 0, 0, 4000)


class TestClearShared:
    def test_hosting_worked_example(self) -> None:
        # 40.00 EUR a month of hosting; a sponsor gives 10.00, four peers offer to share the
        # remaining 30.00 with caps of 15.00, 12.00, 10.00 and 5.00. Sharing among four would be
        # 7.50 each, above the 5.00 cap; among the other three it is 10.00 each.
        needs = [make_need(funding=FundingRule.SHARED)]
        pledges: list[Pledge] = [
            make_gift(1, 1000),
            make_share(2, 1500),
            make_share(3, 1200),
            make_share(4, 1000),
            make_share(5, 500),
        ]
        assert charged(needs, pledges) == {1: 1000, 2: 1000, 3: 1000, 4: 1000}
        assert coverage_of(needs, pledges) == Coverage(1, 1, "EUR", 4000, 4000, 4000, 0)
        # A fifth sharer with a cap of 8.00 brings everyone down to 7.50.
        pledges.append(make_share(6, 800))
        assert charged(needs, pledges) == {1: 1000, 2: 750, 3: 750, 4: 750, 6: 750}

    def test_nobody_pays_when_the_sharers_cannot_cover_it(self) -> None:
        needs = [make_need(funding=FundingRule.SHARED)]
        pledges: list[Pledge] = [make_share(1, 1000), make_share(2, 1500), make_gift(3, 500)]
        assert charged(needs, pledges) == {3: 500}
        assert coverage_of(needs, pledges) == Coverage(1, 1, "EUR", 4000, 500, 500, 3500)

    def test_gifts_covering_the_cost_leave_sharers_nothing_to_pay(self) -> None:
        needs = [make_need(funding=FundingRule.SHARED)]
        pledges: list[Pledge] = [make_gift(1, 5000), make_share(2, 1000)]
        assert charged(needs, pledges) == {1: 5000}

    def test_remainder_goes_to_the_earliest_sharer_not_the_lowest_id(self) -> None:
        needs = [make_need(amount=1000, funding=FundingRule.SHARED)]
        pledges: list[Pledge] = [
            make_share(1, 5000, created_at=made(30)),
            make_share(2, 5000, created_at=made(10)),
            make_share(3, 5000, created_at=made(20)),
        ]
        assert charged(needs, pledges) == {1: 333, 2: 334, 3: 333}

    def test_same_moment_is_broken_by_id(self) -> None:
        needs = [make_need(amount=1000, funding=FundingRule.SHARED)]
        pledges: list[Pledge] = [make_share(i, 5000, created_at=made(0)) for i in (3, 1, 2)]
        assert charged(needs, pledges) == {1: 334, 2: 333, 3: 333}

    def test_shared_goal_waits_for_its_deadline(self) -> None:
        goal = make_goal(
            amount=90_000,
            raised=30_000,
            funding=FundingRule.SHARED,
            deadline=datetime(2026, 4, 20, tzinfo=UTC),
        )
        pledges: list[Pledge] = [make_share(1, 40_000), make_share(2, 40_000)]
        assert charged([goal], pledges) == {}
        assert coverage_of([goal], pledges) == Coverage(1, 1, "EUR", 60_000, 60_000, 0, 0)
        assert charged([goal], pledges, APRIL) == {1: 30_000, 2: 30_000}

    def test_gifts_to_a_shared_goal_lower_what_its_sharers_pay(self) -> None:
        goal = make_goal(amount=90_000, funding=FundingRule.SHARED)
        pledges: list[Pledge] = [
            make_share(1, 50_000),
            make_share(2, 50_000),
            make_gift(3, 20_000, per=None, created_at=datetime(2026, 3, 2, tzinfo=UTC)),
        ]
        assert charged([goal], pledges) == {1: 35_000, 2: 35_000, 3: 20_000}

    def test_sharer_after_a_goal_s_deadline_does_not_share_it(self) -> None:
        goal = make_goal(amount=90_000, funding=FundingRule.SHARED)
        after = datetime(2026, 3, 16, tzinfo=UTC)
        pledges: list[Pledge] = [
            make_share(1, 50_000),
            make_share(2, 50_000),
            make_share(3, 50_000, created_at=after),
        ]
        assert charged([goal], pledges) == {1: 45_000, 2: 45_000}

    @given(instance=instances())
    def test_share_charges_sum_to_what_gifts_leave_and_respect_caps(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        clearing = clear(needs, pledges, MARCH)
        by_need: dict[int, list[Charge]] = defaultdict(list)
        for charge in clearing.charges:
            by_need[charge.need_id].append(charge)
        caps = {p.id: p.cap for p in pledges if isinstance(p, Share)}
        for coverage in clearing.coverage:
            shares = [c.amount for c in by_need[coverage.need_id] if c.kind is PledgeKind.SHARE]
            gifts = sum(c.amount for c in by_need[coverage.need_id] if c.kind is PledgeKind.GIFT)
            assert sum(shares) in {0, max(0, coverage.cost - gifts)}
        assert all(
            charge.amount <= caps[charge.pledge_id]
            for charge in clearing.charges
            if charge.kind is PledgeKind.SHARE
        )

    @given(
        caps=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=12),
        newcomer=st.integers(min_value=1, max_value=3000),
        gift=st.integers(min_value=0, max_value=3000),
    )
    def test_another_sharer_never_raises_anyone_s_charge(
        self, caps: list[int], newcomer: int, gift: int
    ) -> None:
        needs = [make_need(funding=FundingRule.SHARED)]
        pledges: list[Pledge] = [make_share(i, cap) for i, cap in enumerate(caps, 1)]
        if gift:
            pledges.append(make_gift(100, gift))
        before = charged(needs, pledges)
        after = charged(needs, [*pledges, make_share(len(caps) + 1, newcomer)])
        assert all(after.get(pledge_id, 0) <= amount for pledge_id, amount in before.items())
        assert sum(after.values()) >= sum(before.values())


class TestClearCrowdmatch:
    def test_snowdrift_worked_example(self) -> None:
        pledges: list[Pledge] = [
            make_crowdmatch(1, 10, 100),
            make_crowdmatch(2, 10, 30),
            make_crowdmatch(3, 10, 50),
            make_crowdmatch(4, 10, 20),
            make_crowdmatch(5, 10, 1000),
        ]
        clearing = clear([make_need()], pledges, MARCH)
        assert {c.pledge_id: c.amount for c in clearing.charges} == {1: 30, 3: 30, 5: 30}
        assert clearing.suspended == (2, 4)
        assert clearing.coverage[0].cleared == 90

    def test_gifts_and_crowdmatch_add_up_on_an_open_need(self) -> None:
        pledges: list[Pledge] = [make_gift(1, 1000), make_crowdmatch(2, 5, 500)]
        assert charged([make_need()], pledges) == {1: 1000, 2: 5}

    @given(instance=instances())
    def test_no_active_patron_exceeds_their_limit(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        clearing = clear(needs, pledges, MARCH)
        limits = {p.id: p.limit for p in pledges if isinstance(p, Crowdmatch)}
        for charge in clearing.charges:
            if charge.kind is PledgeKind.CROWDMATCH:
                assert charge.amount <= limits[charge.pledge_id]
                assert charge.pledge_id not in clearing.suspended


class TestClearAllOrNothing:
    def test_goal_reached_by_its_deadline_is_captured(self) -> None:
        # 1,200.00 EUR by 15 March; 1,250.00 pledged.
        pledges: list[Pledge] = [make_all_or_nothing(1, 50_000), make_all_or_nothing(2, 75_000)]
        clearing = clear([make_goal()], pledges, MARCH)
        assert {c.pledge_id: c.amount for c in clearing.charges} == {1: 50_000, 2: 75_000}
        assert clearing.captured == (1, 2)
        assert clearing.voided == ()
        assert clearing.coverage[0] == Coverage(1, 1, "EUR", 120_000, 125_000, 125_000, 0)

    def test_design_example_1200_eur_by_1_march(self) -> None:
        # A deadline at midnight opening March belongs to March, like a pledge made then: the
        # February payday still holds the pledges, the March payday settles them.
        goal = make_goal(deadline=datetime(2026, 3, 1, tzinfo=UTC))
        pledges: list[Pledge] = [
            make_all_or_nothing(1, 70_000),
            make_all_or_nothing(2, 50_000, created_at=datetime(2026, 3, 1, tzinfo=UTC)),
        ]
        assert clear([goal], pledges, Period.month(2026, 2)).held == (1,)
        assert clear([goal], pledges, MARCH).captured == (1, 2)

    def test_goal_short_of_its_target_is_voided(self) -> None:
        pledges: list[Pledge] = [make_all_or_nothing(1, 50_000), make_all_or_nothing(2, 60_000)]
        clearing = clear([make_goal()], pledges, MARCH)
        assert clearing.charges == ()
        assert clearing.voided == (1, 2)
        assert clearing.coverage[0] == Coverage(1, 1, "EUR", 120_000, 110_000, 0, 10_000)

    def test_goal_whose_deadline_is_ahead_stays_held(self) -> None:
        goal = make_goal(deadline=datetime(2026, 4, 2, tzinfo=UTC))
        clearing = clear([goal], [make_all_or_nothing(1, 200_000)], MARCH)
        assert clearing.charges == ()
        assert clearing.held == (1,)
        assert clear([goal], [make_all_or_nothing(1, 200_000)], APRIL).captured == (1,)

    def test_raised_amount_counts_toward_the_target(self) -> None:
        clearing = clear([make_goal(raised=100_000)], [make_all_or_nothing(1, 20_000)], MARCH)
        assert clearing.captured == (1,)

    def test_pledge_after_the_deadline_is_voided_and_not_counted(self) -> None:
        after = datetime(2026, 3, 15, 12, 0, 1, tzinfo=UTC)
        pledges: list[Pledge] = [
            make_all_or_nothing(1, 100_000),
            make_all_or_nothing(2, 50_000, created_at=after),
        ]
        clearing = clear([make_goal()], pledges, MARCH)
        assert clearing.captured == ()
        assert clearing.voided == (1, 2)

    def test_late_pledge_is_voided_while_the_others_are_captured(self) -> None:
        after = datetime(2026, 3, 20, tzinfo=UTC)
        pledges: list[Pledge] = [
            make_all_or_nothing(1, 130_000),
            make_all_or_nothing(2, 5_000, created_at=after),
        ]
        clearing = clear([make_goal()], pledges, MARCH)
        assert (clearing.captured, clearing.voided) == ((1,), (2,))
        assert [c.pledge_id for c in clearing.charges] == [1]

    def test_pledge_at_the_deadline_counts(self) -> None:
        deadline = datetime(2026, 3, 15, 12, tzinfo=UTC)
        clearing = clear(
            [make_goal()], [make_all_or_nothing(1, 120_000, created_at=deadline)], MARCH
        )
        assert clearing.captured == (1,)

    def test_goal_settled_at_an_earlier_payday_is_not_charged_again(self) -> None:
        clearing = clear([make_goal()], [make_all_or_nothing(1, 200_000)], APRIL)
        assert (clearing.charges, clearing.captured, clearing.voided) == ((), (), ())
        assert clearing.coverage[0] == Coverage(1, 1, "EUR", 0, 0, 0, 0)

    def test_paused_pledge_is_not_counted(self) -> None:
        pledges: list[Pledge] = [
            make_all_or_nothing(1, 100_000),
            make_all_or_nothing(2, 50_000, state=PledgeState.PAUSED),
        ]
        assert clear([make_goal()], pledges, MARCH).voided == (1,)

    @given(instance=instances())
    def test_captured_only_when_the_goal_is_reached_by_its_deadline(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        clearing = clear(needs, pledges, MARCH)
        captured = set(clearing.captured)
        for need in needs:
            if need.funding is not FundingRule.ALL_OR_NOTHING:
                continue
            assert need.deadline is not None
            counted = [
                p
                for p in pledges
                if p.need_id == need.id
                and p.state is PledgeState.ACTIVE
                and p.created_at <= need.deadline
                and p.created_at < MARCH.ends_at
            ]
            reached = need.raised + sum(p.amount for p in counted if isinstance(p, AllOrNothing))
            due = MARCH.starts_at <= need.deadline < MARCH.ends_at
            ids = {p.id for p in counted}
            if due and reached >= need.amount:
                assert ids <= captured
            else:
                assert not ids & captured
        for charge in clearing.charges:
            assert (charge.kind is PledgeKind.ALL_OR_NOTHING) == (charge.pledge_id in captured)
        assert not captured & set(clearing.voided)
        assert not captured & set(clearing.held)


class TestClearDeterminism:
    @given(instance=instances(), data=st.data())
    def test_reordering_the_input_changes_nothing(
        self, instance: tuple[list[Need], list[Pledge]], data: st.DataObject
    ) -> None:
        needs, pledges = instance
        shuffled_needs = data.draw(st.permutations(needs))
        shuffled_pledges = data.draw(st.permutations(pledges))
        assert clear(shuffled_needs, shuffled_pledges, MARCH) == clear(needs, pledges, MARCH)

    @given(instance=instances(), month=st.integers(min_value=1, max_value=4))
    def test_matches_a_naive_clearing_rule_by_rule(
        self, instance: tuple[list[Need], list[Pledge]], month: int
    ) -> None:
        needs, pledges = instance
        period = Period.month(2026, month)
        assert charged(needs, pledges, period) == clear_by_rules(needs, pledges, period)

    @given(instance=instances())
    def test_clearing_twice_gives_the_same_charges(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        assert clear(needs, pledges, MARCH) == clear(list(needs), list(pledges), MARCH)

    @given(instance=instances())
    def test_every_charge_is_positive_and_in_its_need_s_commodity(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        clearing = clear(needs, pledges, MARCH)
        by_id = {need.id: need for need in needs}
        for charge in clearing.charges:
            assert charge.amount > 0
            assert charge.commodity == by_id[charge.need_id].commodity
            assert charge.project_id == by_id[charge.need_id].project_id
        assert len({charge.pledge_id for charge in clearing.charges}) == len(clearing.charges)
        assert [c.need_id for c in clearing.coverage] == sorted(by_id)

    @given(instance=instances())
    def test_cleared_is_the_sum_of_the_need_s_charges(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        clearing = clear(needs, pledges, MARCH)
        totals: dict[int, int] = defaultdict(int)
        for charge in clearing.charges:
            totals[charge.need_id] += charge.amount
        for coverage in clearing.coverage:
            assert coverage.cleared == totals[coverage.need_id]
            assert coverage.missing == max(0, coverage.cost - coverage.pledged)


class TestClearRefusals:
    def test_pledge_toward_a_need_not_given(self) -> None:
        with pytest.raises(InvalidInput, match="toward need 2, which was not given"):
            clear([make_need()], [make_gift(1, 500, need_id=2)], MARCH)

    def test_pledge_given_twice(self) -> None:
        with pytest.raises(InvalidInput, match="Pledge 1 is given twice"):
            clear([make_need()], [make_gift(1, 500), make_gift(1, 500)], MARCH)

    def test_need_given_twice(self) -> None:
        with pytest.raises(InvalidInput, match="Need 1 is given twice"):
            clear([make_need(), make_need()], [], MARCH)

    def test_pledge_in_another_commodity(self) -> None:
        with pytest.raises(InvalidInput, match="Pledge 1 is in USD, but need 1 is counted in EUR"):
            clear([make_need()], [make_gift(1, 500, commodity="USD")], MARCH)

    def test_zero_gift(self) -> None:
        with pytest.raises(InvalidInput, match="amount of gift pledge 1 must be positive, not 0"):
            clear([make_need()], [make_gift(1, 0)], MARCH)

    def test_crowdmatch_on_a_shared_need(self) -> None:
        with pytest.raises(InvalidInput, match="takes gift or share pledges, not crowdmatch"):
            clear([make_need(funding=FundingRule.SHARED)], [make_crowdmatch(1, 1, 5)], MARCH)

    def test_gift_on_an_all_or_nothing_goal(self) -> None:
        with pytest.raises(InvalidInput, match="takes all-or-nothing pledges, not gift"):
            clear([make_goal()], [make_gift(1, 500)], MARCH)

    def test_pledges_may_come_from_a_generator(self) -> None:
        pledges = (make_gift(i, 100) for i in (1, 2, 1))
        with pytest.raises(InvalidInput, match="Pledge 1 is given twice"):
            clear([make_need()], pledges, MARCH)

    def test_invalid_need(self) -> None:
        with pytest.raises(InvalidInput, match="Need 1's cost must be positive"):
            clear([make_need(amount=-5)], [], MARCH)

    def test_pledge_after_the_period_is_not_checked_yet(self) -> None:
        # It belongs to a later payday, which will refuse it if it is still wrong then.
        late = make_gift(1, 0, created_at=APRIL.starts_at + timedelta(days=1))
        assert clear([make_need()], [late], MARCH).charges == ()
