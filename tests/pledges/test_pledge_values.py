"""The positional constructors that reading pledges by the million and the clearing use build
exactly the pledges and charges the dataclasses' own constructors do."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given

from potluck.pledges.rules import (
    AllOrNothing,
    Charge,
    Crowdmatch,
    Gift,
    Need,
    Pledge,
    clear,
    new_all_or_nothing,
    new_crowdmatch,
    new_gift,
    new_share,
)
from tests.pledges.factories import MARCH
from tests.pledges.strategies import instances


def rebuilt(pledge: Pledge) -> Pledge:
    common = (
        pledge.id,
        pledge.donor_id,
        pledge.need_id,
        pledge.commodity,
        pledge.created_at,
        pledge.state,
    )
    if isinstance(pledge, Gift):
        return new_gift(*common, pledge.amount, pledge.per)
    if isinstance(pledge, AllOrNothing):
        return new_all_or_nothing(*common, pledge.amount)
    if isinstance(pledge, Crowdmatch):
        return new_crowdmatch(*common, pledge.rate, pledge.limit)
    return new_share(*common, pledge.cap)


class TestPositionalConstructors:
    @given(instances())
    def test_same_pledge_as_the_dataclass_builds(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        _, pledges = instance
        for pledge in pledges:
            copy = rebuilt(pledge)
            assert type(copy) is type(pledge)
            assert copy == pledge
            assert hash(copy) == hash(pledge)
            assert repr(copy) == repr(pledge)
            assert dataclasses.asdict(copy) == dataclasses.asdict(pledge)

    @given(instances())
    def test_built_pledges_stay_frozen(self, instance: tuple[list[Need], list[Pledge]]) -> None:
        _, pledges = instance
        for pledge in pledges:
            with pytest.raises(dataclasses.FrozenInstanceError):
                rebuilt(pledge).id = 0  # type: ignore[misc]


class TestClearingCharges:
    @given(instances())
    def test_same_charges_as_the_dataclass_builds(
        self, instance: tuple[list[Need], list[Pledge]]
    ) -> None:
        needs, pledges = instance
        for charge in clear(needs, pledges, MARCH).charges:
            copy = Charge(**dataclasses.asdict(charge))
            assert type(charge) is Charge
            assert copy == charge
            assert hash(copy) == hash(charge)
            assert repr(copy) == repr(charge)
