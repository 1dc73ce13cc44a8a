"""What a project must cover: a recurring cost or a one-off goal, and how it is funded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from potluck.pledges.rules.periods import Cadence, Period


class FundingRule(StrEnum):
    """How the pledges toward a need become charges at payday."""

    # Gifts and crowdmatch pledges are charged as promised, whatever the total.
    OPEN = "open"
    # Kickstarter's assurance contract: all-or-nothing pledges are held until the deadline and
    # captured only if, together, they reach the target.
    ALL_OR_NOTHING = "all-or-nothing"
    # Moulin's egalitarian mechanism: the cost left after gifts is split equally among the
    # sharers whose caps allow it.
    SHARED = "shared"


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    """A cost a project must cover, in one commodity.

    A recurring cost has ``per`` and no ``deadline``; a one-off goal has a ``deadline`` and no
    ``per``. All amounts are in the commodity's smallest unit.
    """

    id: int
    project_id: int
    commodity: str
    amount: int
    """The recurring cost per ``per``, or a one-off goal's target."""
    per: Cadence | None = None
    deadline: datetime | None = None
    """When a one-off goal must be reached; timezone-aware."""
    funding: FundingRule = FundingRule.OPEN
    raised: int = 0
    """What a one-off goal received at earlier paydays; it counts toward the target."""

    @property
    def is_goal(self) -> bool:
        """Whether this is a one-off goal rather than a recurring cost."""
        return self.per is None

    def goal_due_in(self, period: Period) -> bool:
        """Whether this goal's deadline falls within ``period``: its payday decides it.

        A deadline on the boundary between two periods belongs to the later one, as a pledge
        made at that moment does, so a pledge made right at the deadline is still counted.
        """
        return self.deadline is not None and (period.starts_at <= self.deadline < period.ends_at)

    def goal_closed_before(self, period: Period) -> bool:
        """Whether this goal's deadline passed before ``period`` began: an earlier payday
        settled it, and nothing toward it is charged again."""
        return self.deadline is not None and self.deadline < period.starts_at
