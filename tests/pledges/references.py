"""Naive implementations of the clearing rules, written straight from DESIGN.md, to check the
fast ones against on small inputs."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations

from potluck.pledges.rules import (
    AllOrNothing,
    Crowdmatch,
    FundingRule,
    Gift,
    Need,
    Period,
    Pledge,
    PledgeState,
    Share,
    amount_for_period,
)


def moulin_by_rounds(cost: int, caps: Sequence[int]) -> list[int]:
    """Moulin's procedure as DESIGN.md states it: offer ⌈C/|S|⌉, drop caps below it, repeat."""
    if cost <= 0:
        return [0] * len(caps)
    members = list(range(len(caps)))
    while members:
        share = -(-cost // len(members))
        kept = [index for index in members if caps[index] >= share]
        if len(kept) == len(members):
            break
        members = kept
    charges = [0] * len(caps)
    if members:
        base, extra = divmod(cost, len(members))
        for rank, index in enumerate(members):
            charges[index] = base + (1 if rank < extra else 0)
    return charges


def h_index_by_counting(terms: Sequence[tuple[int, int]]) -> int:
    """``max{N : #{i : L_i/r_i ≥ N} ≥ N}`` with exact fractions, trying every ``N``."""
    return max(
        size
        for size in range(len(terms) + 1)
        if sum(1 for rate, limit in terms if Fraction(limit, rate) >= size) >= size
    )


def largest_affordable_crowd(terms: Sequence[tuple[int, int]]) -> int:
    """The largest set of patrons who can all afford ``r_i·|set|``, by trying every subset."""
    for size in range(len(terms), 0, -1):
        for crowd in combinations(terms, size):
            if all(limit >= rate * size for rate, limit in crowd):
                return size
    return 0


def crowdmatch_active_by_sorting(terms: Sequence[tuple[int, int]]) -> list[bool]:
    """The ``N*`` patrons with the largest exact ratios, ties by position."""
    size = h_index_by_counting(terms)
    ranked = sorted(range(len(terms)), key=lambda i: (-Fraction(terms[i][1], terms[i][0]), i))
    chosen = set(ranked[:size])
    return [index in chosen for index in range(len(terms))]


def clear_by_rules(
    needs: Sequence[Need], pledges: Sequence[Pledge], period: Period
) -> dict[int, int]:
    """Pledge id → charge, need by need and rule by rule as the clearing's docstring states
    them, with the naive mechanisms above and none of the clearing's shortcuts."""
    charges: dict[int, int] = {}
    for need in needs:
        mine = sorted(
            (
                p
                for p in pledges
                if p.need_id == need.id
                and p.state is PledgeState.ACTIVE
                and p.created_at < period.ends_at
            ),
            key=lambda p: (p.created_at, p.id),
        )
        deadline = need.deadline
        if deadline is not None and deadline < period.starts_at:
            continue
        due = deadline is None or period.starts_at <= deadline < period.ends_at
        if need.funding is FundingRule.ALL_OR_NOTHING:
            assert deadline is not None
            counted = [p for p in mine if isinstance(p, AllOrNothing) and p.created_at <= deadline]
            if due and need.raised + sum(p.amount for p in counted) >= need.amount:
                charges.update((p.id, p.amount) for p in counted)
            continue
        gifts = 0
        for p in mine:
            if isinstance(p, Gift):
                if p.per is not None:
                    amount = amount_for_period(p.amount, p.per, period)
                else:
                    amount = p.amount if p.created_at >= period.starts_at else 0
                if amount:
                    charges[p.id] = amount
                    gifts += amount
        patrons = [p for p in mine if isinstance(p, Crowdmatch)]
        terms = [(p.rate, p.limit) for p in patrons]
        size = h_index_by_counting(terms)
        for patron, active in zip(patrons, crowdmatch_active_by_sorting(terms), strict=True):
            if active:
                charges[patron.id] = patron.rate * size
        sharers = [
            p
            for p in mine
            if isinstance(p, Share) and (deadline is None or p.created_at <= deadline)
        ]
        if due:
            cost = (
                amount_for_period(need.amount, need.per, period)
                if need.per is not None
                else max(0, need.amount - need.raised)
            )
            shares = moulin_by_rounds(cost - gifts, [p.cap for p in sharers])
            charges.update(
                (p.id, amount) for p, amount in zip(sharers, shares, strict=True) if amount
            )
    return charges
