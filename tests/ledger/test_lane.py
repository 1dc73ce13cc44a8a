"""The group-commit lane for single transfers (``potluck.ledger.lane``): it must answer exactly
what the ordinary route answers, write each accepted transfer once, and keep the books whole
when many requests share one transaction."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from potluck import idempotency
from potluck.app import create_app
from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.idempotency import IdempotencyRecord
from potluck.ledger import lane
from potluck.ledger.models import Account, Transfer
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import accounts
from potluck.people import service as people
from potluck.people.models import ApiToken
from potluck.people.rules import secret_hash
from tests.ledger.factories import DEFAULT_NOW, make_custodian, make_project, make_steward
from tests.people.factories import make_peer
from tests.support.books import assert_books_verify

TRANSFERS = "/api/v1/ledger/transfers"


@dataclass
class World:
    """Books built the same way, with the same names, in any fresh database."""

    funds: int
    given: int
    world: int
    other_funds: int
    steward: dict[str, str]
    stranger: dict[str, str]
    reader: dict[str, str]


def build(database: Database, tag: str) -> World:
    with database.transaction() as session:
        project = make_project(session, slug=f"lane-{tag}")
        project.name = "Lane"
        other = make_project(session, slug=f"other-{tag}")
        other.name = "Other"
        custodian = make_custodian(session, name="Lane host")
        donor = make_peer(session, email=f"donor-{tag}@example.org", display_name="Donor")
        steward = make_peer(session, email=f"steward-{tag}@example.org", display_name="Steward")
        stranger = make_peer(session, email=f"stranger-{tag}@example.org", display_name="Other")
        make_steward(session, project, steward)
        make_steward(session, other, stranger)

        def opened(**where: Any) -> int:
            return accounts.open_account(session, commodity="EUR", now=DEFAULT_NOW, **where).id

        funds = opened(owner="project", purpose="funds", project_id=project.id,
                       custodian_id=custodian.id)  # fmt: skip
        other_funds = opened(owner="project", purpose="funds", project_id=other.id,
                             custodian_id=custodian.id)  # fmt: skip
        given = opened(owner="peer", purpose="given", peer_id=donor.id)
        world = accounts.world_account(session, "EUR", now=DEFAULT_NOW).id

        def token(peer: Any, scope: str = "read-write") -> dict[str, str]:
            made = people.create_token(session, peer, name="lane", scope=scope, now=DEFAULT_NOW)
            return {"Authorization": f"Bearer {made.secret}"}

        return World(funds, given, world, other_funds, token(steward), token(stranger),
                     token(steward, "read"))  # fmt: skip


def scenario(w: World) -> list[tuple[dict[str, str], dict[str, Any] | str]]:
    """Requests covering every answer the route gives: accepted, repeated, refused for
    funds, for a reused id, for an unknown account, for someone else's books, for a
    read-only or unknown token, for a malformed id, with and without keys."""
    give = {"id": "t1", "debit_account_id": w.given, "credit_account_id": w.funds, "amount": 1000}
    spend = {"debit_account_id": w.funds, "credit_account_id": w.world, "amount": 600}
    keyed = {**w.steward, "Idempotency-Key": "k1"}
    return [
        (w.steward, give),
        (w.steward, {**spend, "id": "t2"}),
        (w.steward, {**spend, "id": "t3"}),
        (w.steward, give),
        (w.steward, {**give, "amount": 999}),
        (w.steward, {**give, "id": "t4", "debit_account_id": 999_999}),
        (w.stranger, {**give, "id": "t5"}),
        (w.reader, {**give, "id": "t6"}),
        ({"Authorization": "Bearer nobody-has-this-token"}, {**give, "id": "t7"}),
        (w.steward, {**give, "id": "bad id!"}),
        (w.steward, {**give, "id": "t8", "amount": "lots"}),
        (keyed, {**spend, "id": "t9", "amount": 100}),
        (keyed, {**spend, "id": "t9", "amount": 100}),
        (keyed, {**spend, "id": "t9", "amount": 101}),
        (w.steward, {**spend, "id": "h1", "kind": "hold", "amount": 200, "timeout_seconds": 60}),
        (w.steward, {"id": "p1", "kind": "post", "pending_id": "h1", "amount": 150}),
        (w.steward, {"id": "r1", "reverses_id": "t9", "amount": 100}),
        (w.steward, {"id": "t10", "debit_account_id": w.given, "credit_account_id": w.world,
                     "amount": 5}),
        ({**w.steward, "Idempotency-Key": "x" * 300}, {**give, "id": "t11"}),
        ({**w.steward, "Content-Type": "text/plain"}, '{"id": "t12"}'),
    ]  # fmt: skip


def answers(client: TestClient, w: World) -> list[tuple[int, bytes, str | None]]:
    got = []
    for headers, body in scenario(w):
        if isinstance(body, str):
            answer = client.post(TRANSFERS, content=body, headers=headers)
        else:
            answer = client.post(TRANSFERS, json=body, headers=headers)
        replayed = answer.headers.get("Idempotent-Replayed")
        got.append((answer.status_code, answer.content, replayed))
    return got


@pytest.fixture
def second_database(request: pytest.FixtureRequest, database: Database) -> Iterator[Database]:
    """Another fresh database on the same engine."""
    name = "sqlite" if database.engine.dialect.name == "sqlite" else "postgres"
    with request.getfixturevalue(f"{name}_factory").database() as other:
        yield other
        assert_books_verify(other)


def test_the_lane_answers_exactly_as_the_route_does(
    database: Database,
    second_database: Database,
    app_settings: Settings,
    clock: FrozenClock,
) -> None:
    grouped = create_app(app_settings, clock=clock, database=database)
    routed = create_app(
        app_settings.model_copy(update={"group_commit": False}),
        clock=clock,
        database=second_database,
    )
    with TestClient(grouped) as lane_client, TestClient(routed) as route_client:
        through_lane = answers(lane_client, build(database, "a"))
        through_route = answers(route_client, build(second_database, "a"))
    statuses = [status for status, _, _ in through_route]
    # The scenario reaches every kind of answer, so the comparison means something.
    assert set(statuses) == {201, 401, 403, 404, 409, 422}
    assert through_route[12][2] == "true"
    for number, (by_lane, by_route) in enumerate(zip(through_lane, through_route, strict=True)):
        assert by_lane == by_route, number

    def books(db: Database) -> list[tuple[Any, ...]]:
        with db.transaction(write=False) as session:
            rows = session.execute(select(Transfer).order_by(Transfer.chain_id, Transfer.seq))
            return [(t.id, t.seq, t.kind, t.amount, t.hash) for t in rows.scalars()]

    assert books(database) == books(second_database)


@pytest.fixture
def group_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    write = lane.GroupWriter.write

    def counted(self: lane.GroupWriter, group: list[lane.Submission]) -> list[idempotency.Answer]:
        sizes.append(len(group))
        return write(self, group)

    monkeypatch.setattr(lane.GroupWriter, "write", counted)
    return sizes


def fire(app: FastAPI, requests: list[tuple[dict[str, str], dict[str, Any]]]) -> list[int]:
    """All at once, on one event loop, as concurrent clients of one server process."""

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lane") as client:
            sent = [client.post(TRANSFERS, json=body, headers=h) for h, body in requests]
            return [answer.status_code for answer in await asyncio.gather(*sent)]

    return asyncio.run(run())


def balance(database: Database, account_id: int) -> int:
    with database.transaction(write=False) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.credits_posted - account.debits_posted


def test_concurrent_requests_share_groups_and_never_overdraw(
    database: Database, app: FastAPI, group_sizes: list[int]
) -> None:
    w = build(database, "b")
    fire(app, [(w.steward, {"id": "fill", "debit_account_id": w.given,
                            "credit_account_id": w.funds, "amount": 30})])  # fmt: skip
    spends = [
        ({**w.steward, "Idempotency-Key": f"key-{n % 45}"},
         {"id": f"s{n % 45}", "debit_account_id": w.funds, "credit_account_id": w.world,
          "amount": 1})
        for n in range(50)
    ]  # fmt: skip
    statuses = fire(app, spends)
    # 45 distinct transfers, 30 affordable. A repeated key gets its first use's answer, or
    # 409 while that is still in flight.
    assert Counter(statuses[:45]) == Counter({201: 30, 409: 15})
    assert set(statuses[45:]) <= {201, 409}
    assert max(group_sizes) > 1, group_sizes
    assert balance(database, w.funds) == 0
    with database.transaction(write=False) as session:
        spent = session.scalars(select(Transfer.id).where(Transfer.id.like("s%"))).all()
        stored = session.scalars(select(IdempotencyRecord.key)).all()
    assert len(spent) == len(set(spent)) == 30
    # The token's "last used" is kept, as for any API call.
    with database.transaction(write=False) as session:
        used = session.scalars(select(ApiToken.name).where(ApiToken.last_used_at.is_not(None)))
        assert used.all() == ["lane"]
    assert sorted(stored) == sorted(f"key-{n}" for n in range(45))
    # Retrying now replays each first answer and writes nothing more.
    again = Counter(fire(app, spends[:45]))
    assert again == Counter({201: 30, 409: 15})
    assert balance(database, w.funds) == 0


def test_a_group_that_cannot_be_written_whole_is_written_one_by_one(
    database: Database, clock: FrozenClock, group_sizes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build(database, "c")
    record_done = idempotency.record_done
    refused: list[int] = []

    def once_taken(*args: Any, **kwargs: Any) -> bool:
        if not refused:
            refused.append(len(args[1]))
            return False  # as if another server took one of the keys meanwhile
        return record_done(*args, **kwargs)

    monkeypatch.setattr(idempotency, "record_done", once_taken)
    secret = w.steward["Authorization"].removeprefix("Bearer ")
    group = [
        lane.Submission(
            secret_hash(secret),
            TransferRequest(f"g{n}", "transfer", w.given, w.funds, 10),
            (f"caller-{n % 2}", f"g{n}", f"digest-{n}"),
        )
        for n in range(12)
    ]
    writer = lane.GroupWriter(database, clock, path=TRANSFERS)
    answers = writer.write(group)
    assert [a.status_code for a in answers] == [201] * 12
    assert refused == [12]
    assert group_sizes == [12] + [1] * 12
    assert balance(database, w.funds) == 120
    with database.transaction(write=False) as session:
        assert len(session.scalars(select(IdempotencyRecord.key)).all()) == 12
    # Written again as a group, every request is answered from its key, and nothing moves.
    replayed = writer.write(group)
    assert [a.body for a in replayed] == [a.body for a in answers]
    assert balance(database, w.funds) == 120
