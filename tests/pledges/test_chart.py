"""The geometry of a need's coverage chart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.pledges.rules.chart import CoveragePoint, coverage_chart, tick_step

points = st.lists(
    st.builds(
        CoveragePoint,
        label=st.just("Mar 2026"),
        cost=st.integers(min_value=0, max_value=10**12),
        cleared=st.integers(min_value=0, max_value=10**12),
    ),
    max_size=36,
)


class TestTickStep:
    @pytest.mark.parametrize(
        ("highest", "step"), [(0, 1), (4, 1), (5, 2), (4000, 1000), (4001, 2000), (12_000, 5000)]
    )
    def test_round_steps(self, highest: int, step: int) -> None:
        assert tick_step(highest) == step

    @given(st.integers(min_value=0, max_value=10**15))
    def test_the_smallest_round_step_that_reaches(self, highest: int) -> None:
        step = tick_step(highest)
        assert step * 4 >= highest
        digits = str(step).rstrip("0")
        assert digits in ("1", "2", "5")
        smaller = {"1": step // 2, "2": step // 2, "5": step * 2 // 5}[digits]
        assert smaller == 0 or smaller * 4 < highest


class TestCoverageChart:
    def test_a_fully_covered_payday_reaches_its_cost(self) -> None:
        chart = coverage_chart([CoveragePoint("Jan", 4000, 4000), CoveragePoint("Feb", 4000, 2000)])
        first, second = chart.bars
        assert first.y == first.cost_y
        assert second.height * 2 == first.height

    def test_refuses_negative_amounts(self) -> None:
        with pytest.raises(InvalidInput, match="negative"):
            coverage_chart([CoveragePoint("Jan", -1, 0)])

    @given(points)
    def test_everything_is_drawn_inside_the_plot(self, drawn: list[CoveragePoint]) -> None:
        chart = coverage_chart(drawn)
        assert len(chart.bars) == len(drawn)
        for bar in chart.bars:
            assert chart.left <= bar.x
            assert bar.x + bar.width <= chart.width
            assert chart.top <= bar.y <= chart.bottom
            assert chart.top <= bar.cost_y <= chart.bottom
            assert bar.y + bar.height == chart.bottom
        assert [y for y, _ in chart.ticks] == sorted((y for y, _ in chart.ticks), reverse=True)
        assert chart.ticks[0] == (chart.bottom, 0)

    @given(points)
    def test_more_cleared_is_never_a_shorter_bar(self, drawn: list[CoveragePoint]) -> None:
        bars = coverage_chart(drawn).bars
        ordered = sorted(bars, key=lambda bar: bar.point.cleared)
        assert [bar.height for bar in ordered] == sorted(bar.height for bar in ordered)
