"""Snowdrift.coop's crowdmatch: the h-index of the patrons' limits over their rates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from potluck.pledges.rules import crowdmatch, crowdmatch_size
from tests.pledges.references import (
    crowdmatch_active_by_sorting,
    h_index_by_counting,
    largest_affordable_crowd,
)


@st.composite
def patron_terms(draw: st.DrawFn) -> tuple[int, int]:
    rate = draw(st.integers(min_value=1, max_value=12))
    return rate, draw(st.integers(min_value=rate, max_value=rate * 30 + 11))


terms_lists = st.lists(patron_terms(), max_size=30)


class TestCrowdmatchSize:
    def test_snowdrift_example(self) -> None:
        # 10 cents per patron; limits of 1.00, 0.30, 0.50, 0.20 and 10.00 allow 10, 3, 5, 2
        # and 100 patrons. Four allow 3, only three allow 4.
        assert crowdmatch_size([(10, 100), (10, 30), (10, 50), (10, 20), (10, 1000)]) == 3

    def test_nobody_is_zero(self) -> None:
        assert crowdmatch_size([]) == 0

    def test_a_lone_patron_matches_themself(self) -> None:
        assert crowdmatch_size([(5, 5)]) == 1

    def test_ratios_are_compared_exactly(self) -> None:
        # 29/10 is below 3: the floor, not a rounded float, decides.
        assert crowdmatch_size([(10, 29), (10, 29), (10, 29)]) == 2

    @given(terms=terms_lists)
    def test_matches_counting_every_size(self, terms: list[tuple[int, int]]) -> None:
        assert crowdmatch_size(terms) == h_index_by_counting(terms)

    @given(terms=st.lists(patron_terms(), max_size=9))
    def test_is_the_largest_crowd_that_can_afford_itself(
        self, terms: list[tuple[int, int]]
    ) -> None:
        assert crowdmatch_size(terms) == largest_affordable_crowd(terms)

    @given(terms=terms_lists, newcomer=patron_terms())
    def test_a_new_patron_never_shrinks_the_crowd(
        self, terms: list[tuple[int, int]], newcomer: tuple[int, int]
    ) -> None:
        assert crowdmatch_size([*terms, newcomer]) >= crowdmatch_size(terms)


class TestCrowdmatch:
    def test_snowdrift_example_suspends_the_smallest_ratios(self) -> None:
        outcome = crowdmatch([(10, 100), (10, 30), (10, 50), (10, 20), (10, 1000)])
        assert outcome.size == 3
        # The 0.30 limit could pay 3 × 0.10, but only three places exist and three patrons
        # allow more; a fourth place would cost everyone 0.40.
        assert outcome.active == (True, False, True, False, True)

    def test_equal_ratios_are_admitted_in_creation_order(self) -> None:
        outcome = crowdmatch([(1, 2), (1, 2), (1, 2)])
        assert outcome.size == 2
        assert outcome.active == (True, True, False)

    def test_larger_exact_ratio_wins_among_equal_floors(self) -> None:
        # 2.5 and 2.9 both allow two patrons; 2.9 is the larger ratio though made later.
        outcome = crowdmatch([(10, 25), (10, 29), (10, 29)])
        assert outcome.size == 2
        assert outcome.active == (False, True, True)

    def test_limit_below_rate_is_never_active(self) -> None:
        assert crowdmatch([(10, 9)]).active == (False,)

    @given(terms=terms_lists)
    def test_active_set_has_size_n_star(self, terms: list[tuple[int, int]]) -> None:
        outcome = crowdmatch(terms)
        assert sum(outcome.active) == outcome.size

    @given(terms=terms_lists)
    def test_no_active_patron_exceeds_their_limit(self, terms: list[tuple[int, int]]) -> None:
        outcome = crowdmatch(terms)
        assert all(
            rate * outcome.size <= limit
            for (rate, limit), active in zip(terms, outcome.active, strict=True)
            if active
        )

    @given(terms=terms_lists)
    def test_no_suspended_patron_could_be_admitted(self, terms: list[tuple[int, int]]) -> None:
        outcome = crowdmatch(terms)
        crowd = [term for term, active in zip(terms, outcome.active, strict=True) if active]
        larger = outcome.size + 1
        for term, active in zip(terms, outcome.active, strict=True):
            if not active:
                assert any(limit < rate * larger for rate, limit in [*crowd, term])

    @given(terms=terms_lists)
    def test_active_are_the_largest_ratios_then_earliest(
        self, terms: list[tuple[int, int]]
    ) -> None:
        assert list(crowdmatch(terms).active) == crowdmatch_active_by_sorting(terms)
