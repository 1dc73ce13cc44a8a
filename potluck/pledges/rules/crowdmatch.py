"""Snowdrift.coop's crowdmatch: each patron gives ``r`` per patron, up to a limit ``L``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class CrowdmatchOutcome:
    """Who is active in a crowdmatch and at what size."""

    size: int
    """``N*``, the number of active patrons; each active patron pays ``r_i·N*``."""
    active: tuple[bool, ...]
    """For each patron, in the order given, whether they are active (else suspended)."""


def crowdmatch_size(terms: Sequence[tuple[int, int]]) -> int:
    """``N* = max{N : #{i : L_i/r_i ≥ N} ≥ N}``, the h-index of the patrons' ratios.

    Args:
        terms: each patron's ``(rate, limit)``, positive, in the commodity's smallest unit.

    ``L/r ≥ N`` is the same as ``⌊L/r⌋ ≥ N`` for a whole ``N``, so the count is taken over
    integer quotients, bucketed by value (no ratio above the number of patrons matters), in
    linear time and without floats.
    """
    return _h_index([limit // rate for rate, limit in terms])


def _h_index(quotients: Sequence[int]) -> int:
    patrons = len(quotients)
    at_least = [0] * (patrons + 1)
    for quotient in quotients:
        at_least[min(quotient, patrons)] += 1
    qualifying = 0
    for size in range(patrons, 0, -1):
        qualifying += at_least[size]
        if qualifying >= size:
            return size
    return 0


def crowdmatch(terms: Sequence[tuple[int, int]]) -> CrowdmatchOutcome:
    """Which patrons are active and the size ``N*`` they match at.

    Args:
        terms: each patron's ``(rate, limit)``, in creation order (earliest first), which breaks
            ties between equal ratios.

    See :func:`crowdmatch_outcome`, which takes the rates and limits as two lists.
    """
    return crowdmatch_outcome([rate for rate, _ in terms], [limit for _, limit in terms])


def crowdmatch_outcome(rates: Sequence[int], limits: Sequence[int]) -> CrowdmatchOutcome:
    """Which patrons are active and the size ``N*`` they match at.

    Args:
        rates: each patron's rate ``r_i``, positive, in creation order (earliest first), which
            breaks ties between equal ratios.
        limits: each patron's limit ``L_i`` per period, in the same order.

    The active set is the ``N*`` patrons with the largest ``L_i/r_i``. Everyone with
    ``⌊L/r⌋ > N*`` is in it (there are fewer than ``N*+1`` of them, or ``N*`` would be larger);
    the remaining places go to patrons with ``⌊L/r⌋ = N*``, by exact ratio, then creation
    order. Every active patron can afford ``r·N*``; a patron who cannot is suspended rather
    than charged less, and admitting any suspended patron would push someone past their limit.
    """
    quotients = [limit // rate for rate, limit in zip(rates, limits, strict=True)]
    size = _h_index(quotients)
    active = [quotient > size for quotient in quotients]
    places = size - sum(active)
    if places:
        borderline = [index for index, quotient in enumerate(quotients) if quotient == size]
        if len(borderline) > places:
            # Only here do exact ratios matter; sorting is stable, so equal ratios keep
            # creation order.
            borderline.sort(key=lambda index: -Fraction(limits[index], rates[index]))
        for index in borderline[:places]:
            active[index] = True
    return CrowdmatchOutcome(size=size, active=tuple(active))
