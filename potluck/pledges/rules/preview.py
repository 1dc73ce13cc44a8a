""" "What would I pay today, and as others join?" — for the form before a share or crowdmatch
pledge is confirmed.

Both previews assume that whoever joins later accepts whatever the mechanism asks of them (their
cap or limit never binds), and that the pledge being previewed is the newest of those already
made, so it is the last to receive a share's spare unit.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from potluck.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Preview:
    """What a new pledge would pay, today and as more peers pledge."""

    today: int
    """What the new pledge would pay at payday if nothing else changed; 0 if it would not pay
    (a share whose cap is below the share, a suspended crowdmatch patron)."""
    paying: int
    """How many pledges would pay today, the new one included if it pays."""
    points: tuple[tuple[int, int], ...]
    """``(peers pledging, what the new pledge pays)``, the new pledge counted among the peers,
    for each number of newcomers asked for."""


def default_joining(pledges: int) -> tuple[int, ...]:
    """Newcomer counts for a preview's curve: 0, 1, 2, 5, 10, 20, 50, … up to at least four
    times the pledges already made (and at least 100), so the curve reads on a log scale."""
    horizon = max(100, 4 * (pledges + 1))
    counts = [0]
    step = 1
    while step <= horizon:
        counts.extend(n for n in (step, 2 * step, 5 * step) if n <= horizon)
        step *= 10
    return tuple(counts)


def _joining(joining: Iterable[int] | None, pledges: int) -> tuple[int, ...]:
    counts = default_joining(pledges) if joining is None else tuple(joining)
    if any(count < 0 for count in counts):
        raise InvalidInput("The number of peers joining cannot be negative.", field="joining")
    return counts


def _check_positive(values: Iterable[int], what: str) -> None:
    if any(value <= 0 for value in values):
        raise InvalidInput(f"Every {what} must be positive.", field=what)


def preview_share(
    cost: int,
    caps_of_others: Sequence[int],
    my_cap: int,
    *,
    joining: Iterable[int] | None = None,
) -> Preview:
    """What a new share pledge would pay of a shared cost, today and as others join.

    Args:
        cost: the need's cost for the period left after gifts, in the smallest unit.
        caps_of_others: the caps of the need's active share pledges, in any order.
        my_cap: the new pledge's cap.
        joining: the numbers of newcomers to evaluate; by default :func:`default_joining`.

    With ``k`` newcomers, the ``j`` largest existing caps (the new one among them) form the
    paying set with the newcomers when the ``j``-th largest cap ``c_j`` accepts
    ``⌈C/(j+k)⌉``, that is when ``k ≥ ⌈C/c_j⌉ − j``. That threshold is computed once per cap,
    and a suffix minimum turns "the largest qualifying ``j``" into a binary search, so each
    point costs ``O(log n)`` after one sort.
    """
    _check_positive(caps_of_others, "cap")
    _check_positive((my_cap,), "cap")
    counts = _joining(joining, len(caps_of_others))
    pledged = len(caps_of_others) + 1
    if cost <= 0:
        return Preview(today=0, paying=0, points=tuple((pledged + k, 0) for k in counts))
    caps = sorted([*caps_of_others, my_cap], reverse=True)
    least_newcomers = [max(0, -(-cost // cap) - rank) for rank, cap in enumerate(caps, 1)]
    for index in range(len(least_newcomers) - 2, -1, -1):
        least_newcomers[index] = min(least_newcomers[index], least_newcomers[index + 1])

    def charge(newcomers: int) -> tuple[int, int]:
        existing = bisect_right(least_newcomers, newcomers)
        size = existing + newcomers
        if existing == 0 or my_cap < caps[existing - 1]:
            return size, 0
        base, extra = divmod(cost, size)
        # Existing payers were all made earlier and newcomers later; the spare units go to
        # the earliest payers.
        return size, base + (1 if existing - 1 < extra else 0)

    paying, today = charge(0)
    return Preview(
        today=today,
        paying=paying,
        points=tuple((pledged + k, charge(k)[1]) for k in counts),
    )


def least_share_cap(cost: int, caps_of_others: Sequence[int]) -> int:
    """The smallest cap with which a new share pledge would pay today: the current share.

    Args:
        cost: the need's cost for the period left after gifts, in the smallest unit.
        caps_of_others: the caps of the need's active share pledges, in any order.

    Were the new cap unlimited, the paying set ``S`` would be the new pledge with the ``j``
    largest other caps for the largest ``j`` with ``c_j·(j+1) ≥ C``. A cap of ``⌈C/|S|⌉`` keeps
    that set stable, and any smaller cap is below the share of every set it could be in.
    Returns 0 when gifts already cover the cost.
    """
    if cost <= 0:
        return 0
    caps = sorted(caps_of_others, reverse=True)
    others = 0
    for rank in range(len(caps), 0, -1):
        if caps[rank - 1] * (rank + 1) >= cost:
            others = rank
            break
    return -(-cost // (others + 1))


def preview_crowdmatch(
    terms_of_others: Sequence[tuple[int, int]],
    my_rate: int,
    my_limit: int,
    *,
    joining: Iterable[int] | None = None,
) -> Preview:
    """What a new crowdmatch pledge would pay, today and as other patrons join.

    Args:
        terms_of_others: the ``(rate, limit)`` of the need's active crowdmatch pledges, in any
            order (the new pledge comes after all of them).
        my_rate: what the new pledge gives per active patron.
        my_limit: the most it gives in a period.
        joining: the numbers of newcomers to evaluate; by default :func:`default_joining`.

    Each newcomer is always active, so with ``k`` newcomers
    ``N* = max{N : k + #{i : ⌊L_i/r_i⌋ ≥ N} ≥ N}``, found by binary search over the sorted
    quotients. The new pledge pays ``r·N*`` while it is active and nothing once suspended —
    the curve rises as patrons join, until the limit would be passed.
    """
    _check_positive((value for pair in terms_of_others for value in pair), "rate and limit")
    _check_positive((my_rate, my_limit), "rate and limit")
    counts = _joining(joining, len(terms_of_others))
    mine = my_limit // my_rate
    quotients = sorted([*(limit // rate for rate, limit in terms_of_others), mine])
    patrons = len(quotients)
    # Patrons with my quotient and a ratio at least mine come first among the borderline:
    # equal ratios were made earlier.
    ahead = sum(
        1
        for rate, limit in terms_of_others
        if limit // rate == mine and limit * my_rate >= my_limit * rate
    )

    def charge(newcomers: int) -> tuple[int, int]:
        low, high = 0, patrons + newcomers
        while low < high:
            size = (low + high + 1) // 2
            if newcomers + patrons - bisect_left(quotients, size) >= size:
                low = size
            else:
                high = size - 1
        size = low
        if mine > size:
            active = True
        elif mine == size:
            above = patrons - bisect_right(quotients, size)
            active = ahead < size - newcomers - above
        else:
            active = False
        return size, (my_rate * size if active else 0)

    size, today = charge(0)
    return Preview(
        today=today,
        paying=size,
        points=tuple((patrons + k, charge(k)[1]) for k in counts),
    )
