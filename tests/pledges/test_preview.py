""" "What would I pay today, and as others join?" for share and crowdmatch pledges."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.pledges.rules import (
    check_new_share,
    crowdmatch,
    default_joining,
    least_share_cap,
    preview_crowdmatch,
    preview_share,
    share_charges,
)
from tests.pledges.test_share import sharers_in

costs = st.integers(min_value=0, max_value=50_000)
caps_lists = st.lists(st.integers(min_value=1, max_value=6_000), max_size=25)
caps = st.integers(min_value=1, max_value=6_000)
joining = st.lists(st.integers(min_value=0, max_value=12), max_size=6)


@st.composite
def patron_terms(draw: st.DrawFn) -> tuple[int, int]:
    rate = draw(st.integers(min_value=1, max_value=9))
    return rate, draw(st.integers(min_value=rate, max_value=rate * 25 + 8))


terms_lists = st.lists(patron_terms(), max_size=25)
UNLIMITED = 10**9


class TestPreviewShare:
    def test_hosting_example(self) -> None:
        # 30.00 EUR left to share among caps of 15.00, 12.00 and 10.00; a newcomer capped at
        # 8.00 brings the share to 7.50, and it keeps falling as others join.
        preview = preview_share(3000, [1500, 1200, 1000], 800, joining=(0, 1, 2, 6))
        assert (preview.today, preview.paying) == (750, 4)
        assert preview.points == ((4, 750), (5, 600), (6, 500), (10, 300))

    def test_cap_below_the_share_pays_nothing_today(self) -> None:
        preview = preview_share(3000, [1500, 1200, 1000], 500, joining=(0, 2))
        assert (preview.today, preview.paying) == (0, 3)
        # With two more who accept any share, six share 30.00: 5.00 each, within the cap.
        assert preview.points == ((4, 0), (6, 500))

    def test_gifts_covering_the_cost_mean_nothing_to_pay(self) -> None:
        assert preview_share(0, [100], 100, joining=(0, 1)).points == ((2, 0), (3, 0))

    def test_default_curve_reaches_four_times_the_pledges(self) -> None:
        assert default_joining(10) == (0, 1, 2, 5, 10, 20, 50, 100)
        assert default_joining(999)[-1] == 2000

    def test_non_positive_cap_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Every cap must be positive"):
            preview_share(100, [0], 10)

    def test_negative_joining_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="cannot be negative"):
            preview_share(100, [10], 10, joining=(-1,))

    @given(cost=costs, others=caps_lists, mine=caps)
    def test_today_is_what_payday_would_charge(
        self, cost: int, others: list[int], mine: int
    ) -> None:
        preview = preview_share(cost, others, mine, joining=(0,))
        assert preview.today == share_charges(cost, [*others, mine])[-1]
        assert preview.paying == len(sharers_in(cost, [*others, mine]))

    @given(cost=costs, others=caps_lists, mine=caps, counts=joining)
    def test_points_are_what_payday_would_charge_with_newcomers(
        self, cost: int, others: list[int], mine: int, counts: list[int]
    ) -> None:
        preview = preview_share(cost, others, mine, joining=counts)
        for count, (peers, charge) in zip(counts, preview.points, strict=True):
            everyone = [*others, mine, *[max(cost, 1)] * count]
            assert peers == len(everyone)
            assert charge == share_charges(cost, everyone)[len(others)]

    @given(cost=costs, others=caps_lists, mine=caps)
    def test_charge_never_rises_as_others_join(
        self, cost: int, others: list[int], mine: int
    ) -> None:
        preview = preview_share(cost, others, mine, joining=range(15))
        paying = [charge for _, charge in preview.points]
        member_from = next(
            (
                k
                for k in range(15)
                if len(others) in sharers_in(cost, [*others, mine, *[max(cost, 1)] * k])
            ),
            15,
        )
        tail = paying[member_from:]
        assert all(later <= earlier for earlier, later in pairwise(tail))

    @given(cost=costs, others=caps_lists)
    def test_least_cap_is_exactly_the_threshold_to_join(self, cost: int, others: list[int]) -> None:
        least = least_share_cap(cost, others)
        if cost <= 0:
            assert least == 0
            return
        assert len(others) in sharers_in(cost, [*others, least])
        if least > 1:
            assert len(others) not in sharers_in(cost, [*others, least - 1])


class TestCheckNewShare:
    def test_cap_below_the_current_share_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="cap of 500 is below the current share of 750"):
            check_new_share(3000, [1500, 1200, 1000], 500)

    def test_cap_at_the_current_share_is_accepted(self) -> None:
        assert check_new_share(3000, [1500, 1200, 1000], 750) == 750

    def test_first_sharer_must_cover_the_whole_cost(self) -> None:
        with pytest.raises(InvalidInput, match="at least 3000"):
            check_new_share(3000, [], 2999)

    def test_any_cap_is_accepted_when_gifts_cover_the_cost(self) -> None:
        assert check_new_share(0, [], 1) == 0

    def test_non_positive_cap_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="cap must be positive, not 0"):
            check_new_share(100, [], 0)


class TestPreviewCrowdmatch:
    def test_snowdrift_example(self) -> None:
        # Three patrons at 0.10 allow 10, 5 and 100 patrons; a fourth at 0.10 up to 1.00 makes
        # four: 0.40 each. A fifth makes 0.50. A sixth would make 0.60, past the 0.50 limit, so
        # that patron is suspended and five still pay 0.50. Ten active pay 1.00 each; with
        # eleven who could, there are ten places and the earlier 1.00 limit keeps its own.
        others = [(10, 100), (10, 50), (10, 1000)]
        preview = preview_crowdmatch(others, 10, 100, joining=(0, 1, 2, 7, 8))
        assert (preview.today, preview.paying) == (40, 4)
        assert preview.points == ((4, 40), (5, 50), (6, 50), (11, 100), (12, 0))

    def test_limit_that_cannot_take_the_crowd_pays_nothing(self) -> None:
        preview = preview_crowdmatch([(1, 50)] * 5, 1, 3, joining=(0,))
        assert (preview.today, preview.paying) == (0, 5)

    def test_non_positive_rate_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="must be positive"):
            preview_crowdmatch([], 0, 10)

    @given(others=terms_lists, mine=patron_terms())
    def test_today_is_what_payday_would_charge(
        self, others: list[tuple[int, int]], mine: tuple[int, int]
    ) -> None:
        preview = preview_crowdmatch(others, *mine, joining=(0,))
        outcome = crowdmatch([*others, mine])
        assert preview.paying == outcome.size
        assert preview.today == (mine[0] * outcome.size if outcome.active[-1] else 0)

    @given(others=terms_lists, mine=patron_terms(), counts=joining)
    def test_points_are_what_payday_would_charge_with_newcomers(
        self, others: list[tuple[int, int]], mine: tuple[int, int], counts: list[int]
    ) -> None:
        preview = preview_crowdmatch(others, *mine, joining=counts)
        for count, (peers, charge) in zip(counts, preview.points, strict=True):
            everyone = [*others, mine, *[(1, UNLIMITED)] * count]
            outcome = crowdmatch(everyone)
            assert peers == len(everyone)
            assert charge == (mine[0] * outcome.size if outcome.active[len(others)] else 0)
