"""The books' JSON API: reading is public, posting is for the project's stewards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from potluck.db import Database
from tests.ledger.factories import Books, make_books, make_steward, make_token
from tests.people.factories import make_peer
from tests.support.books import assert_books_verify


@dataclass
class Setup:
    books: Books
    steward: dict[str, str]
    stranger: dict[str, str]


@pytest.fixture
def setup(database: Database, client: TestClient) -> Iterator[Setup]:
    with database.transaction() as session:
        books = make_books(session)
        steward = make_peer(session)
        make_steward(session, books.project, steward)
        made = Setup(books, make_token(session, steward), make_token(session, make_peer(session)))
    yield made
    assert_books_verify(database)


def transfer(setup: Setup, tid: str, amount: int, **extra: object) -> dict[str, object]:
    return {
        "id": tid,
        "debit_account_id": setup.books.given.id,
        "credit_account_id": setup.books.funds.id,
        "amount": amount,
        **extra,
    }


class TestPostTransfer:
    def test_steward_posts_into_the_project_books(self, client: TestClient, setup: Setup) -> None:
        answer = client.post(
            "/api/v1/ledger/transfers", json=transfer(setup, "t1", 1234), headers=setup.steward
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["amount"] == 1234
        assert body["amount_text"] == "12.34 EUR"
        assert body["chain"] == f"project:{setup.books.project.id}"
        assert body["seq"] == 1
        assert len(body["hash"]) == 64

    def test_same_id_same_content_answers_like_the_first(
        self, client: TestClient, setup: Setup
    ) -> None:
        first = client.post(
            "/api/v1/ledger/transfers", json=transfer(setup, "t1", 1234), headers=setup.steward
        )
        again = client.post(
            "/api/v1/ledger/transfers", json=transfer(setup, "t1", 1234), headers=setup.steward
        )
        assert again.status_code == 201
        assert again.json() == first.json()

    def test_same_id_other_content_is_409_naming_the_field(
        self, client: TestClient, setup: Setup
    ) -> None:
        client.post(
            "/api/v1/ledger/transfers", json=transfer(setup, "t1", 1234), headers=setup.steward
        )
        answer = client.post(
            "/api/v1/ledger/transfers",
            json=transfer(setup, "t1", 1234, memo="other"),
            headers=setup.steward,
        )
        assert answer.status_code == 409
        assert answer.json() == {
            "error": "TransferIdReused",
            "detail": "Transfer id t1 already names a transfer with a different memo; "
            "choose a new id for a new transfer.",
            "field": "memo",
        }

    def test_someone_else_may_not_post(self, client: TestClient, setup: Setup) -> None:
        answer = client.post(
            "/api/v1/ledger/transfers", json=transfer(setup, "t1", 1), headers=setup.stranger
        )
        assert answer.status_code == 403
        assert "only a steward" in answer.json()["detail"]

    def test_nobody_signed_in_may_not_post(self, client: TestClient, setup: Setup) -> None:
        answer = client.post("/api/v1/ledger/transfers", json=transfer(setup, "t1", 1))
        assert answer.status_code == 401

    def test_insufficient_funds_is_409(self, client: TestClient, setup: Setup) -> None:
        spend = {
            "id": "s1",
            "debit_account_id": setup.books.funds.id,
            "credit_account_id": setup.books.world.id,
            "amount": 1,
        }
        answer = client.post("/api/v1/ledger/transfers", json=spend, headers=setup.steward)
        assert answer.status_code == 409
        assert answer.json()["error"] == "InsufficientFunds"

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"amount": 0}, "amount"), ({"amount": 1.5}, "amount"), ({"kind": "gift"}, "kind"),
         ({"colour": "red"}, "colour"), ({"id": "no spaces"}, "id")],
    )  # fmt: skip
    def test_malformed_input_is_422_naming_the_field(
        self, client: TestClient, setup: Setup, change: dict[str, object], field: str
    ) -> None:
        answer = client.post(
            "/api/v1/ledger/transfers", json={**transfer(setup, "t1", 1), **change},
            headers=setup.steward,
        )  # fmt: skip
        assert answer.status_code == 422
        assert answer.json()["field"] == field


class TestPostBatch:
    def test_hold_and_post_in_one_batch(self, client: TestClient, setup: Setup) -> None:
        batch = {
            "batch_id": "b1",
            "transfers": [
                transfer(setup, "t1", 1000),
                {"id": "h1", "kind": "hold", "debit_account_id": setup.books.funds.id,
                 "credit_account_id": setup.books.world.id, "amount": 600},
                {"id": "p1", "kind": "post", "pending_id": "h1", "amount": 400},
            ],
        }  # fmt: skip
        answer = client.post("/api/v1/ledger/batches", json=batch, headers=setup.steward)
        assert answer.status_code == 201, answer.text
        assert [t["kind"] for t in answer.json()["transfers"]] == ["transfer", "hold", "post"]
        books = client.get(f"/api/v1/projects/{setup.books.project.slug}/books").json()
        assert books["balances"][0]["balance_text"] == "6.00 EUR"

    def test_a_failing_batch_writes_nothing(self, client: TestClient, setup: Setup) -> None:
        batch = {
            "transfers": [
                transfer(setup, "t1", 1000),
                {"id": "s1", "debit_account_id": setup.books.funds.id,
                 "credit_account_id": setup.books.world.id, "amount": 1001},
            ]
        }  # fmt: skip
        answer = client.post("/api/v1/ledger/batches", json=batch, headers=setup.steward)
        assert answer.status_code == 409
        assert answer.json()["field"] == "transfers[1].amount"
        assert client.get("/api/v1/ledger/transfers/t1").status_code == 404


class TestReadBooks:
    def test_balances_transfers_and_one_transfer(self, client: TestClient, setup: Setup) -> None:
        for number in range(3):
            client.post(
                "/api/v1/ledger/transfers",
                json=transfer(setup, f"t{number}", 100),
                headers=setup.steward,
            )
        slug = setup.books.project.slug
        books = client.get(f"/api/v1/projects/{slug}/books").json()
        assert books["head_seq"] == 3
        assert books["balances"] == [
            {"commodity": "EUR", "custodian": setup.books.custodian.name, "balance": 300,
             "balance_text": "3.00 EUR"},
        ]  # fmt: skip
        page = client.get(f"/api/v1/projects/{slug}/books/transfers?per_page=2").json()
        assert [t["id"] for t in page["transfers"]] == ["t2", "t1"]
        assert page["has_more"]
        assert client.get("/api/v1/ledger/transfers/t0").json()["seq"] == 1

    def test_naive_times_are_refused(self, client: TestClient, setup: Setup) -> None:
        slug = setup.books.project.slug
        answer = client.get(f"/api/v1/projects/{slug}/books/transfers?since=2026-01-01T00:00:00")
        assert answer.status_code == 422
        assert answer.json()["field"] == "since"

    def test_unknown_project_is_404(self, client: TestClient, setup: Setup) -> None:
        assert client.get("/api/v1/projects/nope/books").status_code == 404

    def test_commodities_are_listed(self, client: TestClient, setup: Setup) -> None:
        listed = {c["code"]: c for c in client.get("/api/v1/commodities").json()}
        assert listed["JPY"]["exponent"] == 0
        assert listed["cpu-hour"]["kind"] == "resource"


class TestAccountsAndCustodians:
    def test_steward_opens_an_account_at_a_new_custodian(
        self, client: TestClient, setup: Setup
    ) -> None:
        custodian = client.post(
            "/api/v1/custodians",
            json={"name": "Open Host", "kind": "fiscal-host"},
            headers=setup.steward,
        )
        assert custodian.status_code == 201
        answer = client.post(
            f"/api/v1/projects/{setup.books.project.slug}/books/accounts",
            json={"purpose": "funds", "commodity": "USD", "custodian_id": custodian.json()["id"]},
            headers=setup.steward,
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["label"] == f"funds of {setup.books.project.slug} at Open Host (USD)"
        assert answer.json()["no_negative"] is True

    def test_only_stewards_open_accounts(self, client: TestClient, setup: Setup) -> None:
        answer = client.post(
            f"/api/v1/projects/{setup.books.project.slug}/books/accounts",
            json={"purpose": "in-kind", "commodity": "cpu-hour"},
            headers=setup.stranger,
        )
        assert answer.status_code == 403
