"""Idempotency keys on changing API calls: replay, refusal, in-progress, crash recovery."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select, update

from potluck.app import create_app
from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.deps import ClockDep, SessionDep
from potluck.errors import Conflict
from potluck.idempotency import (
    RECORDS,
    IdempotencyRecord,
    Keeper,
    Refusal,
    purge_expired,
    respond,
)
from potluck.ledger.models import Custodian, Transfer
from potluck.ledger.service import accounts
from tests.ledger.factories import make_books, make_steward, make_token
from tests.people.factories import make_peer
from tests.support.books import assert_books_verify


class Made(BaseModel):
    id: int
    name: str


router = APIRouter()
release_slow = threading.Event()
slow_started = threading.Event()
calls: dict[str, int] = {}


@router.post("/custodians-plain", status_code=201)
def plain(body: dict[str, str], session: SessionDep, clock: ClockDep) -> Made:
    calls["plain"] = calls.get("plain", 0) + 1
    made = accounts.create_custodian(
        session, name=body["name"], kind="bank-account", now=clock.now()
    )
    return Made(id=made.id, name=made.name)


@router.post("/custodians-in-transaction", status_code=201)
def in_transaction(body: dict[str, str], session: SessionDep, clock: ClockDep) -> object:
    made = accounts.create_custodian(
        session, name=body["name"], kind="bank-account", now=clock.now()
    )
    return respond(session, Made(id=made.id, name=made.name), status_code=201)


@router.post("/slow")
def slow(session: SessionDep) -> dict[str, str]:
    slow_started.set()
    release_slow.wait(10)
    return {"done": "yes"}


@router.post("/boom")
def boom(session: SessionDep, clock: ClockDep) -> dict[str, str]:
    calls["boom"] = calls.get("boom", 0) + 1
    accounts.create_custodian(
        session, name=f"Boom {calls['boom']}", kind="bank-account", now=clock.now()
    )
    msg = "a bug"
    raise RuntimeError(msg)


@router.post("/refuse")
def refuse() -> dict[str, str]:
    calls["refuse"] = calls.get("refuse", 0) + 1
    raise Conflict("Refused, as it always is.")


@pytest.fixture
def test_app(database: Database, clock: FrozenClock, tmp_path: Path) -> FastAPI:
    settings = Settings(
        database_url=database.url,
        secret_key="k" * 40,
        var_dir=tmp_path,
        base_url="http://testserver",
    )
    app = create_app(settings, clock=clock, database=database)
    app.include_router(router, prefix="/api/v1/test")
    calls.clear()
    return app


@pytest.fixture
def api(test_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(test_app, raise_server_exceptions=False) as client:
        yield client


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value, "Authorization": "Bearer someone"}


def count(database: Database, model: type[object]) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


class TestReplay:
    def test_a_retry_gets_the_first_answer_and_no_second_effect(
        self, api: TestClient, database: Database
    ) -> None:
        first = api.post("/api/v1/test/custodians-plain", json={"name": "A"}, headers=key("k1"))
        again = api.post("/api/v1/test/custodians-plain", json={"name": "A"}, headers=key("k1"))
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert calls["plain"] == 1
        assert count(database, Custodian) == 1

    def test_answer_is_stored_with_the_work(self, api: TestClient, database: Database) -> None:
        api.post("/api/v1/test/custodians-in-transaction", json={"name": "A"}, headers=key("k1"))
        with database.transaction(write=False) as session:
            record = session.scalars(select(IdempotencyRecord)).one()
            assert (record.state, record.work_committed, record.status_code) == ("done", True, 201)
            assert record.response_body == b'{"id":1,"name":"A"}'
        again = api.post(
            "/api/v1/test/custodians-in-transaction", json={"name": "A"}, headers=key("k1")
        )
        assert again.json() == {"id": 1, "name": "A"}

    def test_errors_are_replayed_too(self, api: TestClient) -> None:
        first = api.post("/api/v1/test/refuse", headers=key("k1"))
        again = api.post("/api/v1/test/refuse", headers=key("k1"))
        assert first.status_code == again.status_code == 409
        assert calls["refuse"] == 1

    def test_keys_belong_to_their_caller(self, api: TestClient, database: Database) -> None:
        api.post("/api/v1/test/custodians-plain", json={"name": "A"}, headers=key("k1"))
        other = {"Idempotency-Key": "k1", "Authorization": "Bearer someone-else"}
        answer = api.post("/api/v1/test/custodians-plain", json={"name": "B"}, headers=other)
        assert answer.status_code == 201
        assert count(database, Custodian) == 2

    def test_requests_without_a_key_are_untouched(
        self, api: TestClient, database: Database
    ) -> None:
        api.post("/api/v1/test/custodians-plain", json={"name": "A"})
        assert count(database, IdempotencyRecord) == 0


class TestRefusal:
    def test_same_key_other_body_is_422(self, api: TestClient) -> None:
        api.post("/api/v1/test/custodians-plain", json={"name": "A"}, headers=key("k1"))
        answer = api.post("/api/v1/test/custodians-plain", json={"name": "B"}, headers=key("k1"))
        assert answer.status_code == 422
        assert answer.json()["field"] == "Idempotency-Key"
        assert "different body" in answer.json()["detail"]

    def test_same_key_other_address_is_422_naming_the_first(self, api: TestClient) -> None:
        api.post("/api/v1/test/custodians-plain", json={"name": "A"}, headers=key("k1"))
        answer = api.post("/api/v1/test/refuse", headers=key("k1"))
        assert answer.status_code == 422
        assert "POST /api/v1/test/custodians-plain" in answer.json()["detail"]

    def test_an_overlong_key_is_refused(self, api: TestClient) -> None:
        answer = api.post("/api/v1/test/refuse", headers=key("k" * 256))
        assert answer.status_code == 422

    def test_a_concurrent_duplicate_is_told_it_is_in_progress(self, api: TestClient) -> None:
        release_slow.clear()
        slow_started.clear()
        answers: list[int] = []
        first = threading.Thread(
            target=lambda: answers.append(
                api.post("/api/v1/test/slow", headers=key("k1")).status_code
            )
        )
        first.start()
        assert slow_started.wait(10)
        duplicate = api.post("/api/v1/test/slow", headers=key("k1"))
        release_slow.set()
        first.join(10)
        assert duplicate.status_code == 409
        assert "in progress" in duplicate.json()["detail"]
        assert answers == [200]


class TestFailureAndRecovery:
    def test_a_server_error_releases_the_key_and_keeps_nothing(
        self, api: TestClient, database: Database
    ) -> None:
        assert api.post("/api/v1/test/boom", headers=key("k1")).status_code == 500
        assert api.post("/api/v1/test/boom", headers=key("k1")).status_code == 500
        assert calls["boom"] == 2
        assert count(database, Custodian) == 0
        assert count(database, IdempotencyRecord) == 0

    def test_a_claim_abandoned_before_its_work_committed_is_taken_over(
        self, api: TestClient, database: Database, clock: FrozenClock
    ) -> None:
        keeper = Keeper(database, clock, retention=timedelta(hours=72), lease=timedelta(seconds=60))
        first = api.post("/api/v1/test/custodians-plain", json={"name": "A"}, headers=key("k2"))
        assert first.status_code == 201
        with database.transaction() as session:
            fingerprint = session.scalars(select(IdempotencyRecord.caller)).one()
        # A server that claimed k1 and then died: the claim stays, with no work behind it.
        keeper.claim(fingerprint, "k1", "POST", "/api/v1/test/custodians-plain", "x" * 64)
        busy = api.post("/api/v1/test/custodians-plain", json={"name": "B"}, headers=key("k1"))
        assert busy.status_code == 422  # a different request hash than the dead one
        clock.advance(timedelta(seconds=61))
        with database.transaction() as session:
            session.execute(update(RECORDS).where(RECORDS.c.key == "k1").values(request_hash="y"))
        outcome = keeper.claim(fingerprint, "k1", "POST", "/api/v1/test/custodians-plain", "y")
        assert not isinstance(outcome, Refusal)

    def test_work_that_committed_without_an_answer_is_not_repeated(
        self, database: Database, clock: FrozenClock
    ) -> None:
        keeper = Keeper(database, clock, retention=timedelta(hours=72), lease=timedelta(seconds=60))
        keeper.claim("c", "k1", "POST", "/api/v1/x", "h")
        with database.transaction() as session:
            session.execute(update(RECORDS).values(work_committed=True))
        clock.advance(timedelta(minutes=5))
        outcome = keeper.claim("c", "k1", "POST", "/api/v1/x", "h")
        assert isinstance(outcome, Refusal)
        assert (
            "answer was lost" in outcome.error.detail
            or "recording its answer" in outcome.error.detail
        )


class TestRetention:
    def test_keys_are_kept_72_hours_then_purged(
        self, database: Database, clock: FrozenClock
    ) -> None:
        keeper = Keeper(database, clock, retention=timedelta(hours=72), lease=timedelta(seconds=60))
        keeper.claim("c", "old", "POST", "/api/v1/x", "h")
        clock.advance(timedelta(hours=71))
        keeper.claim("c", "new", "POST", "/api/v1/x", "h")
        with database.transaction() as session:
            assert purge_expired(session, now=clock.now()) == 0
        clock.advance(timedelta(hours=2))
        with database.transaction() as session:
            assert purge_expired(session, now=clock.now()) == 1
            assert session.scalars(select(IdempotencyRecord.key)).all() == ["new"]


class TestOnTheBooks:
    def test_a_retried_transfer_is_posted_once(
        self, database: Database, client: TestClient
    ) -> None:
        with database.transaction() as session:
            books = make_books(session)
            steward = make_peer(session)
            make_steward(session, books.project, steward)
            headers = {**make_token(session, steward), "Idempotency-Key": "pay-1"}
        body = {"id": "t1", "debit_account_id": books.given.id,
                "credit_account_id": books.funds.id, "amount": 500}  # fmt: skip
        first = client.post("/api/v1/ledger/transfers", json=body, headers=headers)
        again = client.post("/api/v1/ledger/transfers", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert count(database, Transfer) == 1
        assert_books_verify(database)
