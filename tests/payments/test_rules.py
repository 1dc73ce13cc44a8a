"""The pure rules of payments, property-tested without a database."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.ledger.rules import TRANSFER_ID
from potluck.pledges.payments import rules
from potluck.pledges.payments.base import PaymentState
from potluck.pledges.payments.rules import Change

line_amounts = st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=30)


@st.composite
def fee_and_lines(draw: st.DrawFn) -> tuple[int, list[int]]:
    amounts = draw(line_amounts)
    return draw(st.integers(min_value=0, max_value=sum(amounts))), amounts


class TestSplitFee:
    @given(fee_and_lines())
    def test_parts_sum_exactly_to_the_fee(self, case: tuple[int, list[int]]) -> None:
        fee, amounts = case
        assert sum(rules.split_fee(fee, amounts)) == fee

    @given(fee_and_lines())
    def test_no_part_is_negative_or_above_its_line(self, case: tuple[int, list[int]]) -> None:
        fee, amounts = case
        for part, amount in zip(rules.split_fee(fee, amounts), amounts, strict=True):
            assert 0 <= part <= amount

    @given(fee_and_lines())
    def test_each_part_is_within_one_unit_of_its_exact_share(
        self, case: tuple[int, list[int]]
    ) -> None:
        fee, amounts = case
        total = sum(amounts)
        for part, amount in zip(rules.split_fee(fee, amounts), amounts, strict=True):
            assert abs(part - Fraction(fee * amount, total)) < 1

    @given(fee_and_lines())
    def test_a_larger_line_never_pays_less(self, case: tuple[int, list[int]]) -> None:
        fee, amounts = case
        parts = rules.split_fee(fee, amounts)
        for i, a in enumerate(amounts):
            for j, b in enumerate(amounts):
                if a > b:
                    assert parts[i] >= parts[j]

    def test_ties_go_to_the_earlier_line(self) -> None:
        assert rules.split_fee(2, [100, 100, 100]) == [1, 1, 0]

    def test_a_single_line_pays_the_whole_fee(self) -> None:
        assert rules.split_fee(59, [2000]) == [59]

    def test_a_fee_above_the_payment_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            rules.split_fee(11, [5, 5])
        assert raised.value.field == "fee"

    def test_no_lines_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            rules.split_fee(0, [])


class TestFeeInChargeCurrency:
    @given(
        st.integers(min_value=1, max_value=10**9),
        st.integers(min_value=1, max_value=10**9),
        st.data(),
    )
    def test_never_more_than_the_charge(
        self, settled: int, charge: int, data: st.DataObject
    ) -> None:
        fee = data.draw(st.integers(min_value=0, max_value=settled))
        converted = rules.fee_in_charge_currency(fee, settled_amount=settled, charge_amount=charge)
        assert 0 <= converted <= charge

    @given(st.integers(min_value=1, max_value=10**9), st.data())
    def test_at_the_same_amount_it_is_the_fee(self, amount: int, data: st.DataObject) -> None:
        fee = data.draw(st.integers(min_value=0, max_value=amount))
        assert rules.fee_in_charge_currency(fee, settled_amount=amount, charge_amount=amount) == fee

    @given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1, max_value=10**6))
    def test_a_larger_fee_never_converts_smaller(self, settled: int, charge: int) -> None:
        converted = [
            rules.fee_in_charge_currency(fee, settled_amount=settled, charge_amount=charge)
            for fee in (0, settled // 3, settled // 2, settled)
        ]
        assert converted == sorted(converted)

    def test_rounds_half_up(self) -> None:
        # 3 of 2 settled is 1.5 of 1 charged.
        assert rules.fee_in_charge_currency(3, settled_amount=2, charge_amount=1) == 1
        assert rules.fee_in_charge_currency(1, settled_amount=2, charge_amount=1) == 1
        assert rules.fee_in_charge_currency(1, settled_amount=4, charge_amount=1) == 0


class TestSimulatedFee:
    @given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=4))
    def test_between_nothing_and_the_amount(self, amount: int, exponent: int) -> None:
        assert 0 <= rules.simulated_fee(amount, exponent) <= amount

    def test_one_and_a_half_percent_and_a_quarter(self) -> None:
        assert rules.simulated_fee(2000, 2) == 30 + 25


class TestReferenceCode:
    @given(st.integers(min_value=1, max_value=2**63 - 1))
    def test_reads_back_as_the_payment_id(self, payment_id: int) -> None:
        assert rules.parse_reference_code(rules.reference_code(payment_id)) == payment_id

    @given(st.integers(min_value=1, max_value=10**12))
    def test_case_spaces_and_lookalikes_do_not_matter(self, payment_id: int) -> None:
        code = rules.reference_code(payment_id)
        typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
        assert rules.parse_reference_code(typed) == payment_id

    @given(st.integers(min_value=1, max_value=10**12), st.data())
    def test_one_mistyped_character_is_caught(self, payment_id: int, data: st.DataObject) -> None:
        code = rules.reference_code(payment_id).replace("-", "")
        index = data.draw(st.integers(min_value=2, max_value=len(code) - 1))
        replacement = data.draw(
            st.sampled_from([c for c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" if c != code[index]])
        )
        typo = code[:index] + replacement + code[index + 1 :]
        assert rules.parse_reference_code(typo) is None

    @given(st.integers(min_value=1, max_value=10**12), st.data())
    def test_two_swapped_neighbours_are_caught(self, payment_id: int, data: st.DataObject) -> None:
        code = rules.reference_code(payment_id).replace("-", "")
        index = data.draw(st.integers(min_value=2, max_value=len(code) - 2))
        if code[index] == code[index + 1]:
            return
        swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
        assert rules.parse_reference_code(swapped) is None

    @given(st.text(max_size=20))
    def test_any_text_is_a_payment_id_or_none(self, text: str) -> None:
        found = rules.parse_reference_code(text)
        assert found is None or rules.parse_reference_code(rules.reference_code(found)) == found

    def test_only_letters_and_digits_a_bank_accepts(self) -> None:
        assert rules.reference_code(1234).replace("-", "").isalnum()


class TestSimulatedCard:
    def test_published_test_numbers_with_spaces(self) -> None:
        card = rules.simulated_card("4000 0000 0000 0002")
        assert card.behaviour is rules.SimulatedBehaviour.DECLINE
        assert card.decline_code == "generic_decline"
        assert card.label == "Visa ending 0002 (test card)"

    def test_a_real_looking_number_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            rules.simulated_card("4111 1111 1111 1111")
        assert raised.value.field == "card_number"
        assert "test card numbers" in raised.value.detail


states = st.sampled_from(list(PaymentState))
changes = st.lists(st.sampled_from(list(Change)), max_size=30)


class TestNextState:
    @given(changes)
    def test_the_books_move_once_in_and_each_dispute_undone_at_most_once(
        self, sequence: list[Change]
    ) -> None:
        state = PaymentState.AWAITING
        posted = taken_back = undone = 0
        for change in sequence:
            new = rules.next_state(state, change)
            if new is None:
                continue
            if new is PaymentState.SUCCEEDED and state is PaymentState.DISPUTED:
                undone += 1  # a dispute decided for the project: undone, not posted again
            elif new is PaymentState.SUCCEEDED:
                assert state not in rules.SETTLED_STATES
                posted += 1
            if new in (PaymentState.DISPUTED, PaymentState.REFUNDED):
                assert state is PaymentState.SUCCEEDED
                taken_back += 1
            assert state is not PaymentState.REFUNDED  # nothing leaves a full refund
            state = new
        assert posted <= 1
        assert undone <= taken_back <= posted + undone
        assert (state is PaymentState.SUCCEEDED) == (posted == 1 and taken_back == undone)

    @given(states, st.sampled_from(list(Change)))
    def test_applying_the_same_change_twice_changes_nothing_more(
        self, state: PaymentState, change: Change
    ) -> None:
        first = rules.next_state(state, change)
        if first is not None and change is not Change.SEND:
            assert rules.next_state(first, change) is None

    @given(st.sampled_from(sorted(rules.FINAL_STATES)))
    def test_a_final_payment_is_never_sent_again(self, state: PaymentState) -> None:
        assert rules.next_state(state, Change.SEND) is None

    def test_a_late_success_after_a_failure_counts(self) -> None:
        assert rules.next_state(PaymentState.FAILED, Change.SUCCEED) is PaymentState.SUCCEEDED

    def test_a_failure_after_the_success_is_ignored(self) -> None:
        assert rules.next_state(PaymentState.SUCCEEDED, Change.FAIL) is None


def _reference_trailing(states_newest_first: list[PaymentState]) -> int:
    settled = [i for i, s in enumerate(states_newest_first) if s in rules.SETTLED_STATES]
    window = states_newest_first[: settled[0]] if settled else states_newest_first
    return sum(1 for s in window if s is PaymentState.FAILED)


class TestTrailingFailures:
    @given(st.lists(states, max_size=20))
    def test_counts_failures_back_to_the_last_payment_that_went_through(
        self, history: list[PaymentState]
    ) -> None:
        assert rules.trailing_failures(history) == _reference_trailing(history)

    def test_payments_in_flight_neither_count_nor_break_the_run(self) -> None:
        history = [
            PaymentState.FAILED,
            PaymentState.AWAITING,
            PaymentState.FAILED,
            PaymentState.PROCESSING,
            PaymentState.FAILED,
            PaymentState.SUCCEEDED,
            PaymentState.FAILED,
        ]
        assert rules.trailing_failures(history) == 3


class TestIdempotencyKey:
    @given(st.integers(min_value=1, max_value=2**31), st.text(min_size=1, max_size=40))
    def test_the_same_for_every_attempt_at_a_payment(self, payment_id: int, reference: str) -> None:
        assert rules.idempotency_key(payment_id, reference) == rules.idempotency_key(
            payment_id, reference
        )
        assert rules.idempotency_key(payment_id, reference) != rules.idempotency_key(
            payment_id + 1, reference
        )
        assert len(rules.idempotency_key(payment_id, reference)) <= 255


class TestTransferIds:
    @given(st.integers(min_value=1, max_value=2**63 - 1), st.integers(min_value=0, max_value=999))
    def test_every_id_the_books_accept(self, payment_id: int, position: int) -> None:
        for made in (
            rules.receipt_transfer_id(payment_id, position),
            rules.fee_transfer_id(payment_id, position),
            rules.reversal_transfer_id(rules.receipt_transfer_id(payment_id, position)),
            rules.reversal_transfer_id(rules.fee_transfer_id(payment_id, position)),
        ):
            assert TRANSFER_ID.fullmatch(made), made


class TestReference:
    @given(st.from_regex(rules.REFERENCE, fullmatch=True))
    def test_well_formed_references_pass(self, reference: str) -> None:
        assert rules.check_reference(reference) == reference

    @pytest.mark.parametrize("reference", ["", " payday", "payday 1", "-x", "a" * 121])
    def test_malformed_references_are_refused(self, reference: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            rules.check_reference(reference)
        assert raised.value.field == "reference"


class TestLineMemo:
    @given(st.text(max_size=300), st.integers(min_value=0, max_value=99))
    def test_a_memo_is_kept_clean_or_refused_naming_its_line(
        self, memo: str, position: int
    ) -> None:
        squeezed = " ".join(memo.split())
        acceptable = len(squeezed) <= rules.MAX_LINE_MEMO_LENGTH and all(
            ord(char) >= 0x20 and char != "\x7f" for char in squeezed
        )
        if acceptable:
            assert rules.check_line_memo(memo, position) == squeezed
            return
        with pytest.raises(InvalidInput) as raised:
            rules.check_line_memo(memo, position)
        assert raised.value.field == f"lines.{position}.memo"
        assert f"Line {position + 1}" in raised.value.detail


# --- taking money back from a payment's lines -------------------------------------------------

line_amounts = st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8)


def one_unit_at_a_time(taken: int, amounts: list[int]) -> list[int]:
    """Highest averages as the method is defined: each unit to the line with the largest
    amount / (parts + 1), the earlier line on a tie."""
    parts = [0] * len(amounts)
    for _ in range(taken):
        best = max(range(len(amounts)), key=lambda i: (Fraction(amounts[i], parts[i] + 1), -i))
        parts[best] += 1
    return parts


class TestTakenBackParts:
    @given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5), st.data())
    def test_is_highest_averages_unit_by_unit(
        self, amounts: list[int], data: st.DataObject
    ) -> None:
        taken = data.draw(st.integers(min_value=0, max_value=sum(amounts)))
        assert rules.taken_back_parts(taken, amounts) == one_unit_at_a_time(taken, amounts)

    @given(line_amounts, st.data())
    def test_exact_capped_and_at_least_the_share_rounded_down(
        self, amounts: list[int], data: st.DataObject
    ) -> None:
        total = sum(amounts)
        taken = data.draw(st.integers(min_value=0, max_value=total))
        parts = rules.taken_back_parts(taken, amounts)
        assert sum(parts) == taken
        for part, amount in zip(parts, amounts, strict=True):
            assert taken * amount // total <= part <= amount

    @given(line_amounts, st.data())
    def test_taking_back_more_never_takes_less_from_a_line(
        self, amounts: list[int], data: st.DataObject
    ) -> None:
        first = data.draw(st.integers(min_value=0, max_value=sum(amounts)))
        second = data.draw(st.integers(min_value=first, max_value=sum(amounts)))
        before = rules.taken_back_parts(first, amounts)
        after = rules.taken_back_parts(second, amounts)
        assert all(b <= a for b, a in zip(before, after, strict=True))

    def test_everything_taken_back_is_every_line_whole(self) -> None:
        assert rules.taken_back_parts(1234, [1000, 200, 34]) == [1000, 200, 34]

    @pytest.mark.parametrize(("taken", "amounts"), [(-1, [5]), (6, [5]), (1, [5, 0]), (0, [])])
    def test_refuses_what_cannot_be_taken(self, taken: int, amounts: list[int]) -> None:
        with pytest.raises(InvalidInput):
            rules.taken_back_parts(taken, amounts)
