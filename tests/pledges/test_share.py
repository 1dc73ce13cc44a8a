"""Moulin's egalitarian mechanism for shared costs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from potluck.pledges.rules import share_charges, sharing_size
from tests.pledges.references import moulin_by_rounds


def sharers_in(cost: int, caps: list[int]) -> set[int]:
    """Positions of the sharers in the paying set, including any whose charge rounds to 0."""
    size = sharing_size(cost, caps)
    if size == 0:
        return set()
    lowest = sorted(caps, reverse=True)[size - 1]
    return {index for index, cap in enumerate(caps) if cap >= lowest}


costs = st.integers(min_value=1, max_value=100_000)
caps_lists = st.lists(st.integers(min_value=1, max_value=20_000), max_size=40)


class TestShareCharges:
    def test_hosting_is_split_among_the_caps_that_allow_it(self) -> None:
        # 30.00 EUR left of the hosting after gifts; the 5.00 cap is below the 7.50 share four
        # sharers would pay, and 10.00 each for three is within the other caps.
        assert share_charges(3000, [1500, 1200, 1000, 500]) == [1000, 1000, 1000, 0]

    def test_another_sharer_lowers_everyone_s_share(self) -> None:
        assert share_charges(3000, [1500, 1200, 1000, 500, 800]) == [750, 750, 750, 0, 750]

    def test_remainder_goes_to_the_earliest_sharers(self) -> None:
        assert share_charges(1000, [5000, 5000, 5000]) == [334, 333, 333]

    def test_remainder_skips_dropped_sharers(self) -> None:
        assert share_charges(1001, [100, 5000, 5000]) == [0, 501, 500]

    def test_nobody_pays_when_no_set_can_cover_the_cost(self) -> None:
        assert share_charges(4000, [500, 1000, 2000, 300, 1500]) == [0] * 5

    def test_nobody_pays_once_gifts_cover_the_cost(self) -> None:
        assert share_charges(0, [100, 200]) == [0, 0]
        assert share_charges(-50, [100, 200]) == [0, 0]

    def test_a_cap_equal_to_the_rounded_up_share_stays(self) -> None:
        # ⌈100/3⌉ = 34: a cap of exactly 34 accepts, though it may pay only 33.
        assert share_charges(100, [34, 34, 34]) == [34, 33, 33]

    def test_equal_caps_are_in_or_out_together(self) -> None:
        assert sharing_size(100, [40, 30, 30, 30]) == 4
        # 130 among the three 30s and the 60 would be 43 each; among fewer, more still.
        assert sharing_size(130, [60, 30, 30, 30]) == 0

    @given(cost=costs, caps=caps_lists)
    def test_charges_sum_to_the_cost_or_to_nothing(self, cost: int, caps: list[int]) -> None:
        assert sum(share_charges(cost, caps)) in {0, cost}

    @given(cost=costs, caps=caps_lists)
    def test_no_charge_exceeds_its_cap(self, cost: int, caps: list[int]) -> None:
        assert all(
            0 <= charge <= cap for charge, cap in zip(share_charges(cost, caps), caps, strict=True)
        )

    @given(cost=costs, caps=caps_lists)
    def test_payers_differ_by_at_most_one_unit(self, cost: int, caps: list[int]) -> None:
        paid = [charge for charge in share_charges(cost, caps) if charge]
        assert not paid or max(paid) - min(paid) <= 1

    @given(cost=costs, caps=caps_lists)
    def test_matches_the_procedure_in_rounds(self, cost: int, caps: list[int]) -> None:
        assert share_charges(cost, caps) == moulin_by_rounds(cost, caps)

    @given(cost=costs, caps=caps_lists, newcomer=st.integers(min_value=1, max_value=20_000))
    def test_another_sharer_never_raises_anyone_s_charge(
        self, cost: int, caps: list[int], newcomer: int
    ) -> None:
        before = share_charges(cost, caps)
        after = share_charges(cost, [*caps, newcomer])
        members = sharers_in(cost, caps)
        assert all(after[index] <= before[index] for index in members)
        # Nobody in the paying set is dropped either: it only grows.
        assert members <= sharers_in(cost, [*caps, newcomer])

    @given(cost=costs, caps=caps_lists, raised=st.integers(min_value=0, max_value=20_000))
    def test_a_higher_cap_never_raises_others_charges(
        self, cost: int, caps: list[int], raised: int
    ) -> None:
        if not caps:
            return
        before = share_charges(cost, caps)
        after = share_charges(cost, [caps[0] + raised, *caps[1:]])
        assert all(after[index] <= before[index] for index in sharers_in(cost, caps) - {0})

    @given(cost=costs, caps=caps_lists)
    def test_payers_are_the_largest_caps(self, cost: int, caps: list[int]) -> None:
        members = sharers_in(cost, caps)
        assert len(members) == sharing_size(cost, caps)
        charges = share_charges(cost, caps)
        assert all(charges[index] == 0 for index in range(len(caps)) if index not in members)
        if members and len(members) < len(caps):
            assert min(caps[i] for i in members) > max(
                cap for index, cap in enumerate(caps) if index not in members
            )
