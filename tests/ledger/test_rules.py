"""The pure rules of the books, without a database: planning, hashing, checking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.ledger import rules
from potluck.ledger.rules import (
    AccountFacts,
    BooksChecker,
    ChainHead,
    CheckedAccount,
    HoldExpired,
    InsufficientFunds,
    Totals,
    TransferIdReused,
    TransferRequest,
    TransferRow,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROJECT_CHAIN, INSTANCE_CHAIN, OTHER_PROJECT_CHAIN = 1, 2, 3
FUNDS, WORLD, DONOR, IN_KIND, OTHER_FUNDS, YEN = 1, 2, 3, 4, 5, 6


class MemoryBooks:
    """Books kept in dictionaries: what the service does, minus the database."""

    def __init__(self) -> None:
        self.accounts = {
            FUNDS: AccountFacts(FUNDS, "EUR", 2, PROJECT_CHAIN, True, "funds"),
            WORLD: AccountFacts(WORLD, "EUR", 2, INSTANCE_CHAIN, False, "world"),
            DONOR: AccountFacts(DONOR, "EUR", 2, INSTANCE_CHAIN, False, "donor"),
            IN_KIND: AccountFacts(IN_KIND, "EUR", 2, PROJECT_CHAIN, False, "in kind"),
            OTHER_FUNDS: AccountFacts(OTHER_FUNDS, "EUR", 2, OTHER_PROJECT_CHAIN, True, "o"),
            YEN: AccountFacts(YEN, "JPY", 0, PROJECT_CHAIN, False, "yen"),
        }
        self.totals = {account: Totals() for account in self.accounts}
        self.heads = {
            PROJECT_CHAIN: ChainHead(PROJECT_CHAIN, "project:1", 0, "0" * 64),
            INSTANCE_CHAIN: ChainHead(INSTANCE_CHAIN, "instance", 0, "0" * 64),
            OTHER_PROJECT_CHAIN: ChainHead(OTHER_PROJECT_CHAIN, "project:2", 0, "0" * 64),
        }
        self.rows: dict[str, TransferRow] = {}
        self.open_holds: set[str] = set()

    def post(
        self,
        *requests: TransferRequest,
        now: datetime = NOW,
        system: bool = False,
        batch_id: str | None = None,
    ) -> list[TransferRow]:
        holds = {
            r.id: rules.HoldFacts(
                r.id,
                r.amount,
                r.debit_account_id,
                r.credit_account_id,
                r.commodity,
                r.chain_id,
                r.timeout_at,
                next((e.id for e in self.rows.values() if e.pending_id == r.id), None),
            )
            for r in self.rows.values()
            if r.kind == "hold"
        }
        targets = {
            r.id: rules.ReversalTarget(
                r.id,
                r.kind,
                r.amount,
                r.debit_account_id,
                r.credit_account_id,
                r.commodity,
                next((e.id for e in self.rows.values() if e.reverses_id == r.id), None),
            )
            for r in self.rows.values()
            if r.kind in ("transfer", "post")
        }
        plan = rules.plan_batch(
            list(requests),
            accounts=self.accounts,
            totals=self.totals,
            heads=self.heads,
            instance_chain_id=INSTANCE_CHAIN,
            holds=holds,
            targets=targets,
            existing=self.rows,
            now=now,
            batch_id=batch_id,
            system_kinds=system,
        )
        for account, delta in plan.deltas.items():
            base = self.totals[account]
            self.totals[account] = Totals(
                *(a + b for a, b in zip(base.as_tuple(), delta.as_tuple(), strict=True))
            )
        self.heads = plan.heads
        for row in plan.new_rows:
            self.rows[row.id] = row
        self.open_holds |= {r.id for r in plan.opened_holds}
        self.open_holds -= set(plan.ended_holds)
        return plan.results

    def give(self, tid: str, amount: int) -> TransferRow:
        return self.post(TransferRequest(tid, "transfer", DONOR, FUNDS, amount))[0]

    def check(self, rows: list[TransferRow] | None = None) -> rules.VerifyReport:
        checker = BooksChecker(
            self.heads.values(),
            [CheckedAccount(f, self.totals[i], complete=True) for i, f in self.accounts.items()],
            instance_chain_id=INSTANCE_CHAIN,
        )
        ordered = sorted(rows or list(self.rows.values()), key=lambda r: (r.chain_id, r.seq))
        checker.feed_many(as_tuple(row) for row in ordered)
        targets = {
            r.id: (r.kind, r.amount, r.debit_account_id, r.credit_account_id) for r in ordered
        }
        return checker.finish(self.open_holds, targets)


def as_tuple(row: TransferRow) -> rules.TransferTuple:
    return (
        row.id, row.chain_id, row.seq, row.kind, row.debit_account_id, row.credit_account_id,
        row.commodity, row.amount, row.pending_id,
        rules.time_text(row.timeout_at) if row.timeout_at else None,
        row.reverses_id, row.batch_id, row.memo, rules.time_text(row.created_at),
        row.prev_hash, row.hash,
    )  # fmt: skip


class TestHash:
    def test_chains_each_transfer_to_its_predecessor(self) -> None:
        books = MemoryBooks()
        first = books.give("t1", 100)
        second = books.give("t2", 100)
        assert first.prev_hash == "0" * 64
        assert second.prev_hash == first.hash
        assert (first.seq, second.seq) == (1, 2)

    def test_every_field_changes_the_hash(self) -> None:
        base = ("0" * 64, "project:1", 1, "t1", "transfer", 1, 2, "EUR", 100, None, None, None,
                None, "memo", "2026-03-01 12:00:00.000000")  # fmt: skip
        digest = rules.transfer_hash(*base)
        for index in range(len(base)):
            changed: list[Any] = list(base)
            changed[index] = "x" if isinstance(base[index], str | None) else changed[index] + 1
            assert rules.transfer_hash(*changed) != digest, index

    @given(st.text(min_size=1, max_size=20), st.text(max_size=20))
    def test_field_boundaries_cannot_be_shifted(self, left: str, right: str) -> None:
        # The separator cannot appear in ids or memos, so moving text across a boundary
        # always changes the encoding.
        left, right = left.replace("\x1f", "") or "a", right.replace("\x1f", "")
        a = rules.transfer_hash("0", "k", 1, "t", "transfer", 1, 2, "EUR", 1, None, None, None,
                                None, left + right, "x")  # fmt: skip
        b = rules.transfer_hash("0", "k", 1, "t", "transfer", 1, 2, "EUR", 1, None, None, None,
                                left, right, "x")  # fmt: skip
        assert a != b


class TestPlanTransfer:
    def test_moves_value_from_debit_to_credit(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        assert books.totals[FUNDS].balance == 500
        assert books.totals[DONOR].balance == -500

    def test_refuses_taking_funds_below_zero(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        with pytest.raises(InsufficientFunds, match=r"5\.00 EUR available, 6\.00 asked"):
            books.post(TransferRequest("t2", "transfer", FUNDS, WORLD, 600))

    def test_refuses_one_account_on_both_sides(self) -> None:
        with pytest.raises(InvalidInput, match="must differ"):
            MemoryBooks().post(TransferRequest("t1", "transfer", DONOR, DONOR, 1))

    def test_refuses_mixing_commodities(self) -> None:
        with pytest.raises(InvalidInput, match="counts in JPY but account 2 in EUR"):
            MemoryBooks().post(TransferRequest("t1", "transfer", YEN, WORLD, 1))

    def test_refuses_two_projects_books(self) -> None:
        with pytest.raises(InvalidInput, match="two projects' books"):
            MemoryBooks().post(TransferRequest("t1", "transfer", IN_KIND, OTHER_FUNDS, 1))

    def test_refuses_unknown_account(self) -> None:
        with pytest.raises(NotFound, match="Account 99 does not exist"):
            MemoryBooks().post(TransferRequest("t1", "transfer", 99, FUNDS, 1))

    @pytest.mark.parametrize(
        ("request_", "field"),
        [(TransferRequest("bad id", "transfer", DONOR, FUNDS, 1), "id"),
         (TransferRequest("expire:x", "transfer", DONOR, FUNDS, 1), "id"),
         (TransferRequest("t", "transfer", DONOR, FUNDS, 0), "amount"),
         (TransferRequest("t", "transfer", DONOR, FUNDS, None), "amount"),
         (TransferRequest("t", "gift", DONOR, FUNDS, 1), "kind"),
         (TransferRequest("t", "transfer", DONOR, FUNDS, 1, memo="a\nb"), "memo"),
         (TransferRequest("t", "post"), "pending_id"),
         (TransferRequest("t", "transfer", DONOR, FUNDS, 1, pending_id="h"), "pending_id"),
         (TransferRequest("t", "transfer", DONOR, FUNDS, 1, timeout_seconds=5), "timeout_seconds"),
         (TransferRequest("t", "hold", DONOR, FUNDS, 1, reverses_id="x"), "reverses_id")],
    )  # fmt: skip
    def test_names_the_malformed_field(self, request_: TransferRequest, field: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            MemoryBooks().post(request_)
        assert refused.value.field == field

    def test_lands_in_the_project_chain_when_one_side_is_the_instance(self) -> None:
        books = MemoryBooks()
        row = books.give("t1", 1)
        assert row.chain_id == PROJECT_CHAIN
        peer_only = books.post(TransferRequest("t2", "transfer", WORLD, DONOR, 1))[0]
        assert peer_only.chain_id == INSTANCE_CHAIN


class TestPlanIdempotency:
    def test_same_id_same_content_answers_the_first(self) -> None:
        books = MemoryBooks()
        first = books.give("t1", 500)
        again = books.give("t1", 500)
        assert again == first
        assert books.totals[FUNDS].balance == 500

    def test_same_id_other_content_is_refused_naming_the_field(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        with pytest.raises(TransferIdReused, match="different amount") as refused:
            books.give("t1", 501)
        assert refused.value.field == "amount"

    def test_repeated_id_inside_a_batch_counts_once(self) -> None:
        books = MemoryBooks()
        request = TransferRequest("t1", "transfer", DONOR, FUNDS, 500)
        results = books.post(request, request)
        assert results[0] == results[1]
        assert books.totals[FUNDS].balance == 500


class TestPlanHolds:
    def test_hold_reserves_without_moving(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400, timeout_seconds=60))
        assert books.totals[FUNDS].balance == 1000
        assert books.totals[FUNDS].available == 600

    def test_partial_post_moves_part_and_releases_the_rest(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400))
        books.post(TransferRequest("p1", "post", pending_id="h1", amount=150))
        assert books.totals[FUNDS].as_tuple() == (0, 150, 0, 1000)
        assert books.check().ok

    def test_hold_ends_only_once(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400))
        books.post(TransferRequest("v1", "void", pending_id="h1"))
        with pytest.raises(Conflict, match="already ended with transfer v1"):
            books.post(TransferRequest("p1", "post", pending_id="h1"))

    def test_cannot_post_more_than_held(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400))
        with pytest.raises(InvalidInput, match="holds only 400"):
            books.post(TransferRequest("p1", "post", pending_id="h1", amount=401))

    def test_expired_hold_cannot_be_posted(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400, timeout_seconds=60))
        later = NOW + timedelta(seconds=60)
        with pytest.raises(HoldExpired, match="expired at 2026-03-01 12:01:00"):
            books.post(TransferRequest("p1", "post", pending_id="h1"), now=later)

    def test_only_the_instance_expires_holds(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400, timeout_seconds=60))
        expiry = TransferRequest(rules.expiry_id("h1"), "expire", pending_id="h1")
        with pytest.raises(InvalidInput, match="expire by themselves"):
            books.post(expiry, now=NOW + timedelta(hours=1))
        books.post(expiry, now=NOW + timedelta(hours=1), system=True)
        assert books.totals[FUNDS].available == 1000
        assert books.check().ok

    def test_hold_cannot_expire_before_its_timeout(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400, timeout_seconds=60))
        with pytest.raises(Conflict, match="not due"):
            books.post(TransferRequest("expire:h1", "expire", pending_id="h1"), system=True)


class TestPlanBatch:
    def test_fails_as_a_whole_naming_the_transfer(self) -> None:
        books = MemoryBooks()
        with pytest.raises(InsufficientFunds, match="Transfer b2") as refused:
            books.post(
                TransferRequest("b1", "transfer", DONOR, FUNDS, 100),
                TransferRequest("b2", "transfer", FUNDS, WORLD, 200),
            )
        assert refused.value.field == "transfers[1].amount"
        assert books.rows == {}

    def test_later_transfers_see_earlier_ones(self) -> None:
        books = MemoryBooks()
        books.post(
            TransferRequest("b1", "transfer", DONOR, FUNDS, 300),
            TransferRequest("b2", "hold", FUNDS, WORLD, 300),
            TransferRequest("b3", "post", pending_id="b2"),
            batch_id="batch-1",
        )
        assert books.totals[FUNDS].balance == 0
        assert {r.batch_id for r in books.rows.values()} == {"batch-1"}
        assert books.check().ok


class TestPlanReversal:
    def test_reverses_by_swapping_sides(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        row = books.post(TransferRequest("r1", "transfer", reverses_id="t1"))[0]
        assert (row.debit_account_id, row.credit_account_id, row.amount) == (FUNDS, DONOR, 500)
        assert books.totals[FUNDS].balance == 0

    def test_reverses_only_once(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        books.post(TransferRequest("r1", "transfer", reverses_id="t1", amount=100))
        with pytest.raises(Conflict, match="already reversed by r1"):
            books.post(TransferRequest("r2", "transfer", reverses_id="t1", amount=100))

    def test_cannot_reverse_more_than_moved(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        with pytest.raises(InvalidInput, match="moved 500"):
            books.post(TransferRequest("r1", "transfer", reverses_id="t1", amount=501))

    def test_reversal_must_use_the_swapped_accounts(self) -> None:
        books = MemoryBooks()
        books.give("t1", 500)
        with pytest.raises(InvalidInput, match="debits the account the original credited"):
            books.post(TransferRequest("r1", "transfer", WORLD, DONOR, reverses_id="t1"))


# --- the checker, property-tested -----------------------------------------------------------

steps = st.lists(
    st.tuples(
        st.sampled_from(["give", "spend", "hold", "post", "void", "reverse", "in-kind"]),
        st.integers(min_value=1, max_value=5000),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=40,
)


def run_steps(plan: list[tuple[str, int, int]]) -> MemoryBooks:
    """Apply random operations, skipping those the rules refuse (as a client would)."""
    books = MemoryBooks()
    for number, (action, amount, pick) in enumerate(plan):
        tid = f"s{number}"
        existing = sorted(books.rows)
        chosen = existing[pick % len(existing)] if existing else "none"
        request = {
            "give": TransferRequest(tid, "transfer", DONOR, FUNDS, amount),
            "spend": TransferRequest(tid, "transfer", FUNDS, WORLD, amount),
            "hold": TransferRequest(tid, "hold", FUNDS, WORLD, amount, timeout_seconds=3600),
            "post": TransferRequest(tid, "post", pending_id=chosen, amount=amount),
            "void": TransferRequest(tid, "void", pending_id=chosen),
            "reverse": TransferRequest(tid, "transfer", reverses_id=chosen, amount=amount),
            "in-kind": TransferRequest(tid, "transfer", WORLD, IN_KIND, amount),
        }[action]
        try:
            books.post(request)
        except (Conflict, InvalidInput, NotFound):
            continue
    return books


class TestBooksChecker:
    @given(steps)
    def test_books_built_by_the_rules_always_verify(self, plan: list[tuple[str, int, int]]) -> None:
        books = run_steps(plan)
        report = books.check()
        assert report.ok, report.problems
        assert books.totals[FUNDS].available >= 0
        assert report.transfers == len(books.rows)

    @given(steps, st.data())
    def test_any_altered_field_is_caught(
        self, plan: list[tuple[str, int, int]], data: st.DataObject
    ) -> None:
        books = run_steps([("give", 100, 0), *plan])
        rows = sorted(books.rows.values(), key=lambda r: (r.chain_id, r.seq))
        victim = data.draw(st.sampled_from(rows))
        field = data.draw(st.sampled_from(["amount", "memo", "debit_account_id", "created_at"]))
        altered: dict[str, Any] = {
            "amount": victim.amount + 1,
            "memo": victim.memo + "!",
            "debit_account_id": WORLD if victim.debit_account_id != WORLD else DONOR,
            "created_at": victim.created_at + timedelta(seconds=1),
        }
        tampered = [r._replace(**{field: altered[field]}) if r is victim else r for r in rows]
        report = books.check(tampered)
        assert not report.ok
        assert any(victim.id in p.ids for p in report.problems)

    def test_a_removed_transfer_is_caught(self) -> None:
        books = MemoryBooks()
        books.give("t1", 100)
        books.give("t2", 100)
        report = books.check([books.rows["t1"]])
        assert any("end at seq 1" in p.message for p in report.problems)

    def test_a_wrong_balance_is_caught(self) -> None:
        books = MemoryBooks()
        books.give("t1", 100)
        books.totals[FUNDS] = Totals(0, 0, 0, 150)
        problems = books.check().problems
        assert {p.check for p in problems} >= {"balance", "double-entry"}

    def test_a_forbidden_negative_is_caught(self) -> None:
        books = MemoryBooks()
        books.totals[FUNDS] = Totals(0, 10, 0, 0)
        assert any(p.check == "no-negative" for p in books.check().problems)

    def test_a_hold_ended_twice_is_caught(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400))
        books.post(TransferRequest("v1", "void", pending_id="h1"))
        void = books.rows["v1"]
        twin = void._replace(id="v2", seq=void.seq + 1)
        report = books.check([*books.rows.values(), twin])
        assert any("ended twice" in p.message for p in report.problems)

    def test_an_open_hold_missing_from_the_index_is_caught(self) -> None:
        books = MemoryBooks()
        books.give("t1", 1000)
        books.post(TransferRequest("h1", "hold", FUNDS, WORLD, 400))
        books.open_holds.clear()
        assert any("not listed as open" in p.message for p in books.check().problems)


# --- planning independent requests together (the API's group commit) -------------------------

independent = st.lists(
    st.tuples(
        st.sampled_from(["give", "spend", "hold", "post", "void", "reverse", "in-kind", "other"]),
        st.integers(min_value=1, max_value=3000),
        st.integers(min_value=0, max_value=50),
        st.booleans(),
    ),
    max_size=30,
)


def independent_requests(plan: list[tuple[str, int, int, bool]]) -> list[TransferRequest]:
    """Requests fixed in advance, naming earlier requests' ids (accepted or not), and now and
    then reusing an earlier id, with the same content or another."""
    requests: list[TransferRequest] = []
    for number, (action, amount, pick, reuse) in enumerate(plan):
        earlier = requests[pick % number].id if number else "none"
        holds = [r for r in requests if r.kind == "hold"]
        held = holds[pick % len(holds)] if holds else None
        hold = held.id if held else earlier
        part = min(amount, held.amount or 1) if held else amount
        tid = earlier if reuse and number else f"s{number}"
        requests.append(
            {
                "give": TransferRequest(tid, "transfer", DONOR, FUNDS, amount),
                "spend": TransferRequest(tid, "transfer", FUNDS, WORLD, amount),
                "hold": TransferRequest(tid, "hold", FUNDS, WORLD, amount, timeout_seconds=60),
                "post": TransferRequest(tid, "post", pending_id=hold, amount=part),
                "void": TransferRequest(tid, "void", pending_id=hold),
                "reverse": TransferRequest(tid, "transfer", reverses_id=earlier, amount=amount),
                "in-kind": TransferRequest(tid, "transfer", WORLD, IN_KIND, amount),
                "other": TransferRequest(tid, "transfer", DONOR, OTHER_FUNDS, amount),
            }[action]
        )
    return requests


def plan_each(
    books: MemoryBooks,
    requests: list[TransferRequest],
    allowed: list[set[int] | None] | None = None,
) -> tuple[rules.Plan, list[TransferRow | Exception]]:
    plan, outcomes = rules.plan_each(
        requests,
        accounts=books.accounts,
        totals=books.totals,
        heads=books.heads,
        instance_chain_id=INSTANCE_CHAIN,
        holds={},
        targets={},
        existing=books.rows,
        now=NOW,
        allowed_chain_ids=allowed,
    )
    return plan, list(outcomes)


class TestPlanEach:
    @given(independent)
    def test_each_request_fares_as_if_posted_alone_in_turn(
        self, steps_: list[tuple[str, int, int, bool]]
    ) -> None:
        requests = independent_requests([("give", 3000, 0, False), *steps_])
        plan, outcomes = plan_each(MemoryBooks(), requests)

        alone = MemoryBooks()
        expected: list[TransferRow | Exception] = []
        for request in requests:
            try:
                expected.append(alone.post(request)[0])
            except (Conflict, InvalidInput, NotFound) as error:
                expected.append(error)
        assert len(outcomes) == len(expected)
        for got, wanted in zip(outcomes, expected, strict=True):
            if isinstance(wanted, Exception):
                assert type(got) is type(wanted)
                assert str(got) == str(wanted)
            else:
                assert got == wanted
        # What the merged plan writes is exactly what posting alone wrote, in order.
        assert plan.new_rows == list(alone.rows.values())
        assert plan.heads == alone.heads
        for account, totals in alone.totals.items():
            delta = plan.deltas.get(account, Totals())
            assert delta.as_tuple() == totals.as_tuple()
        assert {r.id for r in plan.opened_holds} - set(plan.ended_holds) == alone.open_holds

    def test_a_refusal_leaves_the_others_standing(self) -> None:
        books = MemoryBooks()
        books.give("t1", 2)
        requests = [TransferRequest(f"x{n}", "transfer", FUNDS, WORLD, 1) for n in range(4)]
        plan, outcomes = plan_each(books, requests)
        assert [isinstance(o, TransferRow) for o in outcomes] == [True, True, False, False]
        assert isinstance(outcomes[2], InsufficientFunds)
        assert [r.id for r in plan.new_rows] == ["x0", "x1"]
        assert plan.deltas[FUNDS].debits_posted == 2

    def test_refuses_only_the_request_outside_its_allowed_books(self) -> None:
        books = MemoryBooks()
        requests = [
            TransferRequest("mine", "transfer", DONOR, FUNDS, 5),
            TransferRequest("theirs", "transfer", DONOR, OTHER_FUNDS, 5),
        ]
        plan, outcomes = plan_each(books, requests, [{PROJECT_CHAIN}, {PROJECT_CHAIN}])
        assert isinstance(outcomes[0], TransferRow)
        assert isinstance(outcomes[1], Forbidden)
        assert "theirs" in str(outcomes[1])
        assert [r.id for r in plan.new_rows] == ["mine"]
        assert OTHER_FUNDS not in plan.deltas

    def test_a_repeated_id_answers_the_first_and_writes_once(self) -> None:
        books = MemoryBooks()
        request = TransferRequest("dup", "transfer", DONOR, FUNDS, 5)
        other = TransferRequest("dup", "transfer", DONOR, FUNDS, 6)
        plan, outcomes = plan_each(books, [request, request, other])
        assert outcomes[0] == outcomes[1]
        assert isinstance(outcomes[2], TransferIdReused)
        assert len(plan.new_rows) == 1
