"""The geometry of a need's coverage chart: one bar per payday for what was cleared, a line for
what the need cost. Pure integer arithmetic; the page draws the SVG from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from potluck.errors import InvalidInput

TICKS = 4


@dataclass(frozen=True, slots=True)
class CoveragePoint:
    """One payday of a need's history, amounts in the commodity's smallest unit."""

    label: str
    cost: int
    cleared: int


@dataclass(frozen=True, slots=True)
class Bar:
    """One payday's bar, in SVG user units (y grows downwards)."""

    x: int
    y: int
    width: int
    height: int
    centre: int
    """The x of the bar's middle, where the cost line passes and the label sits."""
    cost_y: int
    """The y of the cost line above this bar."""
    point: CoveragePoint


@dataclass(frozen=True, slots=True)
class CoverageChart:
    """Everything needed to draw the chart."""

    width: int
    height: int
    left: int
    """x of the vertical axis."""
    bottom: int
    """y of the horizontal axis (the zero line)."""
    top: int
    """y of the highest tick."""
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[int, int], ...]
    """``(y, value)`` of each horizontal grid line, from zero up."""

    @property
    def cost_points(self) -> str:
        """The cost line as an SVG ``points`` attribute."""
        return " ".join(f"{bar.centre},{bar.cost_y}" for bar in self.bars)


def tick_step(highest: int, ticks: int = TICKS) -> int:
    """The smallest step of the form 1, 2 or 5 × 10^k with ``ticks`` steps reaching
    ``highest`` (at least 1)."""
    if ticks <= 0:
        raise InvalidInput("A chart needs at least one tick.", field="ticks")
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * ticks >= highest:
                return step
        magnitude *= 10


def coverage_chart(
    points: Sequence[CoveragePoint],
    *,
    width: int = 640,
    height: int = 240,
    left: int = 72,
    right: int = 12,
    top: int = 12,
    bottom: int = 36,
) -> CoverageChart:
    """Lay out ``points`` (oldest first) as bars of what was cleared under a line of the cost.

    Args:
        points: one per payday; amounts are never negative.
        width, height: the drawing's size in SVG user units.
        left, right, top, bottom: margins around the plot, for the axis labels.

    The vertical scale starts at zero and ends at a round number no lower than any cost or
    clearing, so bars of different paydays compare by height alone.
    """
    if any(p.cost < 0 or p.cleared < 0 for p in points):
        raise InvalidInput("A chart's amounts cannot be negative.", field="points")
    plot_width = width - left - right
    plot_height = height - top - bottom
    if plot_width <= 0 or plot_height <= 0:
        raise InvalidInput("The chart's margins leave no room to draw.", field="width")
    highest = max((max(p.cost, p.cleared) for p in points), default=0)
    step = tick_step(highest)
    scale_top = step * TICKS
    axis = top + plot_height

    def y_of(value: int) -> int:
        return axis - value * plot_height // scale_top

    slot = plot_width // max(1, len(points))
    bar_width = max(1, slot * 3 // 5)
    bars = []
    for index, point in enumerate(points):
        x = left + index * slot + (slot - bar_width) // 2
        bar_top = y_of(point.cleared)
        bars.append(
            Bar(
                x=x,
                y=bar_top,
                width=bar_width,
                height=axis - bar_top,
                centre=x + bar_width // 2,
                cost_y=y_of(point.cost),
                point=point,
            )
        )
    ticks = tuple((y_of(step * n), step * n) for n in range(TICKS + 1))
    return CoverageChart(
        width=width,
        height=height,
        left=left,
        bottom=axis,
        top=top,
        bars=tuple(bars),
        ticks=ticks,
    )
