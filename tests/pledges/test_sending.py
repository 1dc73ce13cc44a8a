"""Starting and sending thousands of payments at once, as a payday does: the same rules as one
at a time, a settlement's receipts and fees exact per project, and nothing posted twice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.ledger.models import Account, Transfer
from potluck.ledger.service import accounts
from potluck.pledges.payments import books, rules, sending, service, starting, takeback
from potluck.pledges.payments.base import (
    ChargeRequest,
    ChargeResult,
    EventKind,
    PaymentLine,
    PaymentState,
    ProviderEvent,
    ProviderUnavailable,
)
from potluck.pledges.payments.models import Payment, PaymentNotice
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.settings import PaymentSettings
from potluck.pledges.payments.simulated import SimulatedProvider
from tests.payments.factories import (
    Giving,
    funds,
    make_giving,
    reload,
    save_test_card,
    transfer_count,
)
from tests.people.factories import DEFAULT_NOW
from tests.pledges.stored import DECLINED

PROVIDERS = ProviderRegistry.from_settings(PaymentSettings(simulated_payments=True))
DISPUTED_LATER = "4000000000000259"


@pytest.fixture
def senders() -> Iterator[Executor]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def a_start(
    giving: Giving, reference: str, amounts: Sequence[int], provider: str = "simulated"
) -> starting.PaymentStart:
    return starting.PaymentStart(
        reference,
        giving.donor.id,
        "EUR",
        [
            PaymentLine(giving.projects[i % len(giving.projects)].id, amount, f"pledge {i}")
            for i, amount in enumerate(amounts)
        ],
        provider,
    )


def payment_rows(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Payment)) or 0)


def start_all(database: Database, starts: Sequence[starting.PaymentStart]) -> dict[str, int]:
    with database.transaction() as session:
        started = starting.start_payments(session, starts, now=DEFAULT_NOW)
    return {reference: s.payment_id for reference, s in started.items()}


def send_all(
    database: Database,
    payment_ids: Sequence[int],
    senders: Executor,
    providers: ProviderRegistry = PROVIDERS,
) -> dict[int, str]:
    """Prepare, charge and record, each step as the payday does it; the states recorded,
    before the events the provider said would follow are applied."""
    with database.transaction() as session:
        prepared = sending.prepare_many(session, payment_ids, providers=providers, now=DEFAULT_NOW)
    results = sending.charge(prepared, providers=providers, senders=senders)
    with database.transaction() as session:
        recorded = sending.record_many(session, results, now=DEFAULT_NOW)
    for event in recorded.later:
        with database.transaction() as session:
            service.apply_event(session, event, now=DEFAULT_NOW)
    return {**prepared.states, **recorded.states}


class TestStartPayments:
    def test_many_are_stored_as_one_at_a_time_would_store_them(self, database: Database) -> None:
        with database.transaction() as session:
            givings = [make_giving(session, projects=3) for _ in range(4)]
        starts = [
            a_start(giving, f"bulk-{n}", (100 * (n + 1), 250, 75), provider)
            for n, (giving, provider) in enumerate(
                zip(givings, ("simulated", "manual", "stripe", "simulated"), strict=True)
            )
        ]
        ids = start_all(database, starts)
        with database.transaction(write=False) as session:
            for start in starts:
                payment = service.get_payment(session, ids[start.reference])
                assert payment.payment_state is PaymentState.AWAITING
                assert (payment.donor_id, payment.provider, payment.amount) == (
                    start.donor_id,
                    start.provider,
                    sum(line.amount for line in start.lines),
                )
                assert [(x.position, x.project_id, x.amount, x.memo) for x in payment.lines] == [
                    (n, line.project_id, line.amount, line.memo)
                    for n, line in enumerate(start.lines)
                ]
                manual = start.provider == "manual"
                assert payment.bank_code == (rules.reference_code(payment.id) if manual else None)

    def test_starting_again_answers_the_same_payments_and_writes_nothing(
        self, database: Database
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session, projects=2)
        first = start_all(database, [a_start(giving, "again-1", (500, 300))])
        with database.transaction() as session:
            single = service.start_payment(
                session,
                reference="again-2",
                donor_id=giving.donor.id,
                currency="EUR",
                lines=list(a_start(giving, "again-2", (40,)).lines),
                provider="simulated",
                now=DEFAULT_NOW,
            ).id
        both = [a_start(giving, "again-1", (500, 300)), a_start(giving, "again-2", (40,))]
        assert start_all(database, both) == {"again-1": first["again-1"], "again-2": single}
        assert payment_rows(database) == 2

    def test_a_reference_taken_with_other_content_is_a_conflict_and_nothing_is_written(
        self, database: Database
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session, projects=2)
        start_all(database, [a_start(giving, "taken", (500, 300))])
        with pytest.raises(Conflict) as raised:
            start_all(
                database, [a_start(giving, "fresh", (10,)), a_start(giving, "taken", (500, 301))]
            )
        assert raised.value.field == "lines.1.amount"
        assert payment_rows(database) == 1

    def test_a_bad_start_is_refused_naming_it_and_nothing_is_written(
        self, database: Database
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session)
        nowhere = starting.PaymentStart(
            "nowhere", giving.donor.id, "EUR", [PaymentLine(10**9, 100, "")], "simulated"
        )
        with pytest.raises(NotFound) as raised:
            start_all(database, [a_start(giving, "fine", (10,)), nowhere])
        assert raised.value.field == "lines.0.project_id"
        with pytest.raises(InvalidInput) as refused:
            start_all(database, [a_start(giving, "twice", (10,)), a_start(giving, "twice", (10,))])
        assert "own reference" in refused.value.detail
        assert payment_rows(database) == 0


def fee_transfers(database: Database) -> dict[str, tuple[int, int]]:
    """Every fee transfer: id → (funds account paying it, amount)."""
    with database.transaction(write=False) as session:
        rows = session.execute(
            select(Transfer.id, Transfer.debit_account_id, Transfer.amount).where(
                Transfer.id.like("settlement:%:fee:%") | Transfer.id.like("%:fee")
            )
        )
        return {transfer_id: (account, amount) for transfer_id, account, amount in rows}


def shares_by_funds(database: Database, payment_ids: Sequence[int]) -> dict[int, int]:
    """What each funds account owes of the payments' fees: its lines' split_fee shares."""
    owed: dict[int, int] = {}
    with database.transaction(write=False) as session:
        for payment_id in payment_ids:
            payment = service.get_payment(session, payment_id)
            lines = sorted(payment.lines, key=lambda line: line.position)
            shares = rules.split_fee(payment.fee or 0, [line.amount for line in lines])
            for line, share in zip(lines, shares, strict=True):
                receipt = session.get(
                    Transfer, rules.receipt_transfer_id(payment.id, line.position)
                )
                assert receipt is not None
                assert receipt.amount == line.amount
                if share:
                    owed[receipt.credit_account_id] = owed.get(receipt.credit_account_id, 0) + share
    return owed


class Unreachable(SimulatedProvider):
    """The simulated processor behind a network that is down."""

    def charge_many(
        self, requests: Sequence[ChargeRequest], *, senders: Executor
    ) -> list[ChargeResult]:
        del senders
        return [ProviderUnavailable("The processor cannot be reached.") for _ in requests]


class TestSendMany:
    def test_payments_that_succeed_together_are_one_settlement_exact_per_project(
        self, database: Database, senders: Executor
    ) -> None:
        with database.transaction() as session:
            givings = [make_giving(session, projects=2) for _ in range(3)]
            # Every donor gives to the first donor's projects too, so funds are shared.
            shared = givings[0].projects
            givings = [Giving(g.donor, [*shared, *g.projects], g.stewards) for g in givings]
            for giving in givings:
                save_test_card(session, giving.donor)
        ids = start_all(
            database,
            [a_start(g, f"s-{n}", (1999, 1001, 333, 77)) for n, g in enumerate(givings)],
        )
        states = send_all(database, list(ids.values()), senders)
        assert set(states.values()) == {"succeeded"}
        settlement = rules.settlement_id(ids.values())
        fees = fee_transfers(database)
        # One fee transfer per funds account, not one per line.
        assert set(fees) == {
            rules.settlement_fee_transfer_id(settlement, account) for account, _ in fees.values()
        }
        assert dict(fees.values()) == shares_by_funds(database, list(ids.values()))
        with database.transaction(write=False) as session:
            total_fees = sum(service.get_payment(session, pid).fee or 0 for pid in ids.values())
            batches = set(
                session.scalars(select(Transfer.batch_id).where(Transfer.kind == "transfer"))
            )
        assert sum(amount for _, amount in fees.values()) == total_fees
        assert batches == {settlement}
        projects = {p.id: p for g in givings for p in g.projects}.values()
        assert sum(funds(database, p, "simulated") for p in projects) == (
            3 * (1999 + 1001 + 333 + 77) - total_fees
        )

    def test_recording_and_sending_again_post_nothing_twice(
        self, database: Database, senders: Executor
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session, projects=2)
            save_test_card(session, giving.donor)
        ids = list(start_all(database, [a_start(giving, "once", (900, 100))]).values())
        with database.transaction() as session:
            prepared = sending.prepare_many(session, ids, providers=PROVIDERS, now=DEFAULT_NOW)
        results = sending.charge(prepared, providers=PROVIDERS, senders=senders)
        for _ in range(2):
            with database.transaction() as session:
                sending.record_many(session, results, now=DEFAULT_NOW)
        posted = transfer_count(database)
        assert send_all(database, ids, senders) == {ids[0]: "succeeded"}
        assert transfer_count(database) == posted
        assert reload(database, ids[0]).attempts == 1

    def test_declines_missing_cards_and_bank_transfers(
        self, database: Database, senders: Executor
    ) -> None:
        with database.transaction() as session:
            declined, no_card, by_bank = (make_giving(session) for _ in range(3))
            save_test_card(session, declined.donor, DECLINED)
        ids = start_all(
            database,
            [
                a_start(declined, "declined", (500,)),
                a_start(no_card, "no-card", (500,)),
                a_start(by_bank, "by-bank", (500,), provider="manual"),
            ],
        )
        states = send_all(database, list(ids.values()), senders)
        assert states == {
            ids["declined"]: "failed",
            ids["no-card"]: "failed",
            ids["by-bank"]: "awaiting",
        }
        with database.transaction(write=False) as session:
            notices = dict(
                iter(session.execute(select(PaymentNotice.payment_id, PaymentNotice.kind)))
            )
            failure = service.get_payment(session, ids["declined"])
        assert notices == {ids["declined"]: "declined", ids["no-card"]: "no-method"}
        assert failure.failure_code == "generic_decline"
        assert reload(database, ids["by-bank"]).attempts == 0
        assert transfer_count(database) == 0

    def test_an_unreachable_provider_leaves_payments_processing_until_sent_again(
        self, database: Database, senders: Executor
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session)
            save_test_card(session, giving.donor)
        ids = list(start_all(database, [a_start(giving, "later", (700,))]).values())
        down = ProviderRegistry([Unreachable()])
        assert send_all(database, ids, senders, down) == {ids[0]: "processing"}
        assert transfer_count(database) == 0
        assert send_all(database, ids, senders) == {ids[0]: "succeeded"}
        payment = reload(database, ids[0])
        assert payment.attempts == 2
        assert funds(database, giving.projects[0], "simulated") == 700 - (payment.fee or 0)

    def test_a_dispute_of_a_settled_payment_takes_back_all_of_it_from_the_same_funds(
        self, database: Database, senders: Executor, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            disputed, kept = make_giving(session, projects=2), make_giving(session)
            kept = Giving(kept.donor, disputed.projects, kept.stewards)
            save_test_card(session, disputed.donor, DISPUTED_LATER)
            save_test_card(session, kept.donor)
        ids = start_all(
            database,
            [a_start(disputed, "disputed", (1200, 800)), a_start(kept, "kept", (3000, 500))],
        )
        send_all(database, list(ids.values()), senders)
        disputed_payment = reload(database, ids["disputed"])
        assert disputed_payment.payment_state is PaymentState.DISPUTED
        kept_payment = reload(database, ids["kept"])
        # What is left is the payment that was kept, less its own fee shares and the fee the
        # processor kept of the disputed one: a dispute takes back the whole amount.
        shares = rules.split_fee(kept_payment.fee or 0, [3000, 500])
        lost = rules.split_fee(disputed_payment.fee or 0, [1200, 800])
        assert funds(database, disputed.projects[0], "simulated") == 3000 - shares[0] - lost[0]
        assert funds(database, disputed.projects[1], "simulated") == 500 - shares[1] - lost[1]
        assert funds(database, disputed.projects[0], "simulated", purpose="owed") == 0
        # The dispute booked again changes nothing.
        posted = transfer_count(database)
        with database.transaction() as session:
            payment = service.get_payment(session, ids["disputed"])
            takeback.take_back(
                session,
                payment,
                before=0,
                after=payment.amount,
                tag=takeback.DISPUTE,
                why="disputed by the donor's bank",
                now=clock.now(),
            )
        assert transfer_count(database) == posted

    def test_a_refund_event_of_a_settled_payment_reverses_it(
        self, database: Database, senders: Executor
    ) -> None:
        with database.transaction() as session:
            giving = make_giving(session, projects=2)
            save_test_card(session, giving.donor)
        ids = list(start_all(database, [a_start(giving, "refunded", (2500, 1500))]).values())
        send_all(database, ids, senders)
        event = ProviderEvent(
            provider="simulated",
            event_id="refund-1",
            kind=EventKind.REFUNDED,
            event_type="charge.refunded",
            payment_id=ids[0],
            details={"refunded_in_full": "yes"},
        )
        with database.transaction() as session:
            applied = service.apply_event(session, event, now=DEFAULT_NOW + timedelta(days=1))
        assert applied.applied
        assert [funds(database, p, "simulated") for p in giving.projects] == [0, 0]


class TestOpenFunds:
    def test_the_same_accounts_as_opening_one_at_a_time(self, database: Database) -> None:
        with database.transaction() as session:
            giving = make_giving(session, projects=3)
            custodian = books.custodian_for(session, "simulated", now=DEFAULT_NOW)
            one = accounts.open_account(
                session,
                owner="project",
                purpose="funds",
                project_id=giving.projects[0].id,
                custodian_id=custodian.id,
                commodity="EUR",
                now=DEFAULT_NOW,
            )
            wanted = {(p.id, custodian.id, "EUR") for p in giving.projects}
            opened = books.open_funds(session, wanted, now=DEFAULT_NOW)
            assert opened[giving.projects[0].id, custodian.id, "EUR"] == one.id
            for project in giving.projects[1:]:
                again = accounts.open_account(
                    session,
                    owner="project",
                    purpose="funds",
                    project_id=project.id,
                    custodian_id=custodian.id,
                    commodity="EUR",
                    now=DEFAULT_NOW,
                )
                assert opened[project.id, custodian.id, "EUR"] == again.id
                stored = session.get(Account, again.id)
                assert stored is not None
                assert (stored.no_negative, stored.chain_id) == (
                    True,
                    accounts.ensure_chain(session, project.id),
                )
            assert books.open_funds(session, wanted, now=DEFAULT_NOW) == opened


class TestSettlementFees:
    @given(
        st.lists(
            st.tuples(
                st.integers(0, 10_000),
                st.lists(
                    st.tuples(st.integers(1, 5), st.integers(1, 100_000)), min_size=1, max_size=8
                ),
            ),
            max_size=20,
        )
    )
    def test_each_account_pays_the_sum_of_its_lines_shares(
        self, drawn: list[tuple[int, list[tuple[int, int]]]]
    ) -> None:
        payments = [(min(fee, sum(a for _, a in lines)), lines) for fee, lines in drawn]
        totals = rules.settlement_fees(payments)
        expected: dict[int, int] = {}
        brought: dict[int, int] = {}
        for fee, lines in payments:
            for (account, amount), share in zip(
                lines, rules.split_fee(fee, [a for _, a in lines]), strict=True
            ):
                expected[account] = expected.get(account, 0) + share
                brought[account] = brought.get(account, 0) + amount
        assert totals == {account: total for account, total in expected.items() if total}
        assert sum(totals.values()) == sum(fee for fee, _ in payments)
        assert all(0 < totals[account] <= brought[account] for account in totals)

    def test_a_settlement_is_named_by_its_smallest_payment(self) -> None:
        assert rules.settlement_id([42, 7, 19]) == "settlement:7"
        assert rules.settlement_fee_transfer_id("settlement:7", 12) == "settlement:7:fee:12"
