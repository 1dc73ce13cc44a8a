"""Moulin's egalitarian mechanism: a fixed cost split equally among the sharers who accept it."""

from __future__ import annotations

from collections.abc import Sequence


def sharing_size(cost: int, caps: Sequence[int]) -> int:
    """How many sharers end up paying ``cost`` between them (0 when nobody can).

    Args:
        cost: the cost left to share, in the commodity's smallest unit.
        caps: each sharer's cap ``u_i`` for the period, in any order.

    Moulin's procedure offers the share ``⌈C/|S|⌉`` to the set ``S`` and drops whoever's cap is
    below it, until nobody drops. Dropping always removes the lowest caps, so ``S`` ends as the
    ``k`` largest caps for the largest ``k`` whose ``k``-th largest cap ``c`` accepts
    ``⌈C/k⌉`` — that is, ``c·k ≥ C``. Finding that ``k`` directly takes one sort instead of
    up to ``|S|`` rounds. Sharers with equal caps are in or out together: were the
    ``(k+1)``-th cap equal to the ``k``-th, ``k+1`` would qualify as well.
    """
    if cost <= 0:
        return 0
    ordered = sorted(caps, reverse=True)
    for size in range(len(ordered), 0, -1):
        if ordered[size - 1] * size >= cost:
            return size
    return 0


def share_charges(cost: int, caps: Sequence[int]) -> list[int]:
    """What each sharer pays of ``cost`` under Moulin's mechanism.

    Args:
        cost: the cost left to share after unconditional gifts, in the commodity's smallest
            unit. Nothing is charged when it is zero or less.
        caps: each sharer's cap for the period, in creation order (earliest first), which
            decides who pays the remainder.

    Returns the charges in the order of ``caps``. The paying set ``S`` pays ``⌊C/|S|⌋`` each and
    its ``C mod |S|`` earliest members one unit more, so the charges add up to ``C`` exactly;
    every payer's cap is at least ``⌈C/|S|⌉``, so no charge exceeds a cap. When ``S`` is empty
    every charge is zero and the cost stays uncovered.
    """
    size = sharing_size(cost, caps)
    if size == 0:
        return [0] * len(caps)
    lowest_cap = sorted(caps, reverse=True)[size - 1]
    base, extra = divmod(cost, size)
    charges: list[int] = []
    for cap in caps:
        if cap < lowest_cap:
            charges.append(0)
        elif extra:
            charges.append(base + 1)
            extra -= 1
        else:
            charges.append(base)
    return charges
