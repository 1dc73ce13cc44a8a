"""One payment per donor and currency per payday, small totals carried forward."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.pledges.rules import Charge, DonorCommodity, PledgeKind, donor_payments


def make_charge(
    pledge_id: int, donor_id: int, amount: int, *, project_id: int = 1, commodity: str = "EUR"
) -> Charge:
    return Charge(pledge_id, donor_id, project_id, pledge_id, amount, commodity, PledgeKind.GIFT)


@st.composite
def charge_lists(draw: st.DrawFn) -> list[Charge]:
    count = draw(st.integers(min_value=0, max_value=40))
    return [
        make_charge(
            pledge_id,
            draw(st.integers(min_value=1, max_value=6)),
            draw(st.integers(min_value=1, max_value=900)),
            project_id=draw(st.integers(min_value=1, max_value=4)),
            commodity=draw(st.sampled_from(["EUR", "USD", "JPY"])),
        )
        for pledge_id in range(1, count + 1)
    ]


carried_maps = st.dictionaries(
    st.tuples(st.integers(min_value=1, max_value=8), st.sampled_from(["EUR", "USD", "JPY"])),
    st.integers(min_value=0, max_value=900),
    max_size=10,
)
minimums = st.fixed_dictionaries(
    {},
    optional={
        "EUR": st.integers(min_value=0, max_value=1500),
        "USD": st.integers(min_value=0, max_value=1500),
    },
)


class TestDonorPayments:
    def test_one_payment_across_all_projects(self) -> None:
        charges = [
            make_charge(1, 7, 300, project_id=1),
            make_charge(2, 7, 450, project_id=2),
            make_charge(3, 8, 500, project_id=1),
        ]
        result = donor_payments(charges, {"EUR": 200}, {})
        assert [(p.donor_id, p.amount, len(p.charges)) for p in result.payments] == [
            (7, 750, 2),
            (8, 500, 1),
        ]
        assert result.carried == {}

    def test_one_payment_per_currency(self) -> None:
        charges = [make_charge(1, 7, 300), make_charge(2, 7, 450, commodity="USD")]
        result = donor_payments(charges, {}, {})
        assert [(p.commodity, p.amount) for p in result.payments] == [("EUR", 300), ("USD", 450)]

    def test_total_below_the_minimum_is_carried(self) -> None:
        result = donor_payments([make_charge(1, 7, 150)], {"EUR": 200}, {})
        assert result.payments == ()
        assert result.carried == {(7, "EUR"): 150}

    def test_carried_amount_is_paid_once_the_total_reaches_the_minimum(self) -> None:
        result = donor_payments([make_charge(1, 7, 150)], {"EUR": 200}, {(7, "EUR"): 150})
        (payment,) = result.payments
        assert (payment.amount, payment.carried_in) == (300, 150)
        assert result.carried == {}

    def test_carried_amount_without_new_charges_keeps_waiting(self) -> None:
        result = donor_payments([], {"EUR": 200}, {(7, "EUR"): 150})
        assert result.carried == {(7, "EUR"): 150}

    def test_carried_amount_alone_is_paid_when_it_meets_the_minimum(self) -> None:
        # The instance lowered its minimum since.
        result = donor_payments([], {"EUR": 100}, {(7, "EUR"): 150})
        assert [(p.amount, p.carried_in, p.charges) for p in result.payments] == [(150, 150, ())]

    def test_total_exactly_at_the_minimum_is_paid(self) -> None:
        assert donor_payments([make_charge(1, 7, 200)], {"EUR": 200}, {}).carried == {}

    def test_commodity_without_a_minimum_is_always_paid(self) -> None:
        assert len(donor_payments([make_charge(1, 7, 1)], {"USD": 500}, {}).payments) == 1

    def test_negative_minimum_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="minimum charge in EUR cannot be negative"):
            donor_payments([], {"EUR": -1}, {})

    def test_negative_carried_amount_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Donor 7 cannot carry a negative amount of EUR"):
            donor_payments([], {}, {(7, "EUR"): -1})

    def test_non_positive_charge_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="charge for pledge 1 must be positive"):
            donor_payments([make_charge(1, 7, 0)], {}, {})

    @given(charges=charge_lists(), minimum=minimums, carried=carried_maps)
    def test_value_is_conserved_exactly(
        self, charges: list[Charge], minimum: dict[str, int], carried: dict[DonorCommodity, int]
    ) -> None:
        result = donor_payments(charges, minimum, carried)
        before: dict[str, int] = defaultdict(int)
        after: dict[str, int] = defaultdict(int)
        for charge in charges:
            before[charge.commodity] += charge.amount
        for (_, commodity), amount in carried.items():
            before[commodity] += amount
        for payment in result.payments:
            after[payment.commodity] += payment.amount
        for (_, commodity), amount in result.carried.items():
            after[commodity] += amount
        assert {k: v for k, v in before.items() if v} == {k: v for k, v in after.items() if v}

    @given(charges=charge_lists(), minimum=minimums, carried=carried_maps)
    def test_payments_respect_the_minimum_and_carry_only_what_is_below_it(
        self, charges: list[Charge], minimum: dict[str, int], carried: dict[DonorCommodity, int]
    ) -> None:
        result = donor_payments(charges, minimum, carried)
        for payment in result.payments:
            assert payment.amount >= minimum.get(payment.commodity, 0)
            assert payment.amount == payment.carried_in + sum(c.amount for c in payment.charges)
        for (_, commodity), amount in result.carried.items():
            assert 0 < amount < minimum.get(commodity, 0)

    @given(charges=charge_lists(), minimum=minimums, carried=carried_maps)
    def test_one_payment_or_carry_per_donor_and_currency(
        self, charges: list[Charge], minimum: dict[str, int], carried: dict[DonorCommodity, int]
    ) -> None:
        result = donor_payments(charges, minimum, carried)
        paid = [(p.donor_id, p.commodity) for p in result.payments]
        assert paid == sorted(set(paid))
        assert not set(paid) & set(result.carried)
        settled = [c for p in result.payments for c in p.charges]
        assert len(settled) == len(set(settled))
        assert all(c in settled or (c.donor_id, c.commodity) in result.carried for c in charges)

    @given(charges=charge_lists(), minimum=minimums, data=st.data())
    def test_order_of_charges_changes_nothing(
        self, charges: list[Charge], minimum: dict[str, int], data: st.DataObject
    ) -> None:
        shuffled = data.draw(st.permutations(charges))
        assert donor_payments(shuffled, minimum, {}) == donor_payments(charges, minimum, {})
