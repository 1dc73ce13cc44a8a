"""Naive implementations of the clearing rules, written straight from DESIGN.md, to check the
fast ones against on small inputs."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations


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
