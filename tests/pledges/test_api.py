"""The JSON API of needs, pledges and paydays, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.pledges.models import Pledge
from potluck.projects.models import Project
from tests.people.factories import DEFAULT_NOW, bearer, make_token
from tests.pledges.conftest import Census, Commons
from tests.pledges.paydays import pay
from tests.pledges.stored import save_card, stored_goal, stored_need, stored_pledge
from tests.support.books import assert_books_verify


@dataclass(frozen=True)
class Callers:
    steward: dict[str, str]
    ana: dict[str, str]
    ben: dict[str, str]
    ana_reading: dict[str, str]


@pytest.fixture
def callers(database: Database, commons: Commons) -> Iterator[Callers]:
    with database.transaction() as session:
        made = Callers(
            steward=bearer(make_token(session, commons.steward)),
            ana=bearer(make_token(session, commons.ana)),
            ben=bearer(make_token(session, commons.ben)),
            ana_reading=bearer(make_token(session, commons.ana, scope="read")),
        )
    yield made
    assert_books_verify(database)


def need_body(**overrides: object) -> dict[str, object]:
    return {"title": "Hosting", "commodity": "EUR", "amount": 4000, "per": "month", **overrides}


def add_need(client: TestClient, callers: Callers, **overrides: object) -> dict[str, object]:
    answer = client.post(
        "/api/v1/projects/open-tiles/needs", json=need_body(**overrides), headers=callers.steward
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


class TestNeeds:
    def test_a_steward_adds_one_and_anyone_reads_it(
        self, client: TestClient, callers: Callers
    ) -> None:
        answer = client.post(
            "/api/v1/projects/open-tiles/needs", json=need_body(), headers=callers.steward
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert answer.headers["Location"] == f"/api/v1/needs/{body['id']}"
        assert body["amount_text"] == "40.00 EUR"
        assert body["next_payday"]["missing_text"] == "40.00 EUR"
        assert body["last_payday"] is None
        listed = client.get("/api/v1/projects/open-tiles/needs").json()
        assert [need["id"] for need in listed] == [body["id"]]
        assert client.get(f"/api/v1/needs/{body['id']}").json()["title"] == "Hosting"

    def test_a_peer_who_is_not_a_steward_is_refused(
        self, client: TestClient, callers: Callers, census: Census
    ) -> None:
        before = census()
        answer = client.post(
            "/api/v1/projects/open-tiles/needs", json=need_body(), headers=callers.ana
        )
        assert answer.status_code == 403
        assert answer.json()["error"] == "Forbidden"
        assert census() == before

    @pytest.mark.parametrize(
        ("overrides", "field", "words"),
        [
            ({"commodity": "cpu-hour"}, "commodity", "not a currency"),
            ({"amount": 0}, "amount", "greater than 0"),
            ({"per": None, "deadline": "2026-01-01T00:00:00Z"}, "deadline", "already passed"),
            ({"funding": "all-or-nothing"}, "funding", "only a one-off goal"),
        ],
    )
    def test_bad_input_is_answered_naming_it(
        self,
        *,
        client: TestClient,
        callers: Callers,
        census: Census,
        overrides: dict[str, object],
        field: str,
        words: str,
    ) -> None:
        before = census()
        answer = client.post(
            "/api/v1/projects/open-tiles/needs",
            json=need_body(**overrides),
            headers=callers.steward,
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field
        assert words in answer.json()["detail"]
        assert census() == before

    def test_change_and_close(self, client: TestClient, callers: Callers) -> None:
        need = add_need(client, callers)
        changed = client.patch(
            f"/api/v1/needs/{need['id']}", json={"amount": 5000}, headers=callers.steward
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["amount_text"] == "50.00 EUR"
        closed = client.post(f"/api/v1/needs/{need['id']}/close", headers=callers.steward)
        assert closed.json()["closed_at"] is not None
        again = client.post(f"/api/v1/needs/{need['id']}/close", headers=callers.steward)
        assert again.status_code == 409
        assert "already closed" in again.json()["detail"]

    def test_an_unknown_need_is_not_found(self, client: TestClient) -> None:
        answer = client.get("/api/v1/needs/999")
        assert answer.status_code == 404
        assert answer.json() == {"error": "NotFound", "detail": "Need 999 does not exist."}


class TestPledges:
    def test_pledge_then_read_your_giving(self, client: TestClient, callers: Callers) -> None:
        need = add_need(client, callers)
        answer = client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "gift", "amount": 1500, "per": "month"},
            headers=callers.ana,
        )
        assert answer.status_code == 201, answer.text
        pledge = answer.json()
        assert answer.headers["Location"] == f"/api/v1/pledges/{pledge['id']}"
        assert (pledge["next_charge"], pledge["next_charge_text"]) == (1500, "15.00 EUR")
        giving = client.get("/api/v1/me/pledges", headers=callers.ana).json()
        assert [p["id"] for p in giving["pledges"]] == [pledge["id"]]
        assert giving["totals"] == [
            {
                "commodity": "EUR",
                "charges": 1500,
                "owed": 0,
                "total": 1500,
                "minimum": 200,
                "carried": False,
                "total_text": "15.00 EUR",
            }
        ]
        public = client.get(f"/api/v1/needs/{need['id']}/pledges").json()
        assert public[0]["donor"] == "Ana Lima"

    @pytest.mark.parametrize(
        ("body", "status", "field", "words"),
        [
            (
                {"kind": "gift", "amount": 500, "commodity": "USD"},
                422,
                "commodity",
                "This pledge is in USD, but need",
            ),
            ({"kind": "gift", "amount": 0}, 422, "amount", "greater than 0"),
            ({"kind": "gift", "amount": -5}, 422, "amount", "greater than 0"),
            ({"kind": "share", "cap": 500}, 422, "kind", "takes gift or crowdmatch"),
            ({"kind": "crowdmatch", "rate": 50, "cap": 10}, 422, "limit", "below its rate"),
        ],
    )
    def test_bad_pledges_are_refused_naming_the_problem(
        self,
        *,
        client: TestClient,
        callers: Callers,
        census: Census,
        body: dict[str, object],
        status: int,
        field: str,
        words: str,
    ) -> None:
        need = add_need(client, callers)
        before = census()
        answer = client.post(f"/api/v1/needs/{need['id']}/pledges", json=body, headers=callers.ana)
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field
        assert words in answer.json()["detail"]
        assert census() == before

    def test_a_cap_below_the_current_share_is_refused(
        self, client: TestClient, callers: Callers, census: Census
    ) -> None:
        need = add_need(client, callers, funding="shared")
        before = census()
        answer = client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "share", "cap": 1000},
            headers=callers.ana,
        )
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(
            "A cap of 10.00 EUR is below the current share of 40.00 EUR"
        )
        assert census() == before

    def test_an_archived_project_takes_no_pledge(
        self, client: TestClient, callers: Callers, database: Database, census: Census
    ) -> None:
        need = add_need(client, callers)
        with database.transaction() as session:
            project = session.scalars(select(Project).where(Project.slug == "open-tiles")).one()
            project.archived_at = DEFAULT_NOW
        before = census()
        answer = client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "gift", "amount": 500},
            headers=callers.ana,
        )
        assert answer.status_code == 409
        assert "Open Tiles is archived" in answer.json()["detail"]
        assert census() == before

    def test_an_all_or_nothing_pledge_after_the_deadline_is_refused(
        self, client: TestClient, callers: Callers, clock: FrozenClock, census: Census
    ) -> None:
        deadline = DEFAULT_NOW + timedelta(days=3)
        need = add_need(
            client, callers, per=None, deadline=deadline.isoformat(), funding="all-or-nothing"
        )
        clock.set(deadline + timedelta(hours=1))
        before = census()
        answer = client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "all-or-nothing", "amount": 500},
            headers=callers.ana,
        )
        assert answer.status_code == 422
        assert "has passed" in answer.json()["detail"]
        assert census() == before

    def test_change_pause_resume_cancel(self, client: TestClient, callers: Callers) -> None:
        need = add_need(client, callers)
        pledge = client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "gift", "amount": 500, "per": "month"},
            headers=callers.ana,
        ).json()
        path = f"/api/v1/pledges/{pledge['id']}"
        changed = client.patch(path, json={"amount": 700, "anonymous": True}, headers=callers.ana)
        assert (changed.json()["amount"], changed.json()["anonymous"]) == (700, True)
        once = client.patch(path, json={"per": "once"}, headers=callers.ana)
        assert once.json()["per"] is None
        assert client.post(f"{path}/pause", headers=callers.ana).json()["state"] == "paused"
        assert client.post(f"{path}/resume", headers=callers.ana).json()["state"] == "active"
        assert client.post(f"{path}/cancel", headers=callers.ana).json()["state"] == "cancelled"
        refused = client.post(f"{path}/resume", headers=callers.ana)
        assert refused.status_code == 409

    def test_another_peers_pledge_is_theirs_alone(
        self, client: TestClient, callers: Callers
    ) -> None:
        need = add_need(client, callers)
        pledge = client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "gift", "amount": 500},
            headers=callers.ana,
        ).json()
        assert client.get(f"/api/v1/pledges/{pledge['id']}", headers=callers.ben).status_code == 403
        answer = client.post(f"/api/v1/pledges/{pledge['id']}/cancel", headers=callers.ben)
        assert answer.status_code == 403
        assert "another peer's" in answer.json()["detail"]

    def test_signing_in_and_writing_are_required(
        self, client: TestClient, callers: Callers
    ) -> None:
        need = add_need(client, callers)
        path = f"/api/v1/needs/{need['id']}/pledges"
        assert client.post(path, json={"kind": "gift", "amount": 500}).status_code == 401
        reading = client.post(
            path, json={"kind": "gift", "amount": 500}, headers=callers.ana_reading
        )
        assert reading.status_code == 403
        assert client.get("/api/v1/me/pledges").status_code == 401

    def test_a_retry_with_the_same_key_pledges_once(
        self, client: TestClient, callers: Callers, database: Database
    ) -> None:
        need = add_need(client, callers)
        headers = {**callers.ana, "Idempotency-Key": "pledge-once"}
        body = {"kind": "gift", "amount": 500, "per": None}
        first = client.post(f"/api/v1/needs/{need['id']}/pledges", json=body, headers=headers)
        second = client.post(f"/api/v1/needs/{need['id']}/pledges", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        with database.transaction(write=False) as session:
            assert len(session.scalars(select(Pledge)).all()) == 1


class TestPreview:
    def test_a_share_falls_as_others_join(self, client: TestClient, callers: Callers) -> None:
        need = add_need(client, callers, funding="shared", amount=6000)
        client.post(
            f"/api/v1/needs/{need['id']}/pledges",
            json={"kind": "share", "cap": 6000},
            headers=callers.ben,
        )
        answer = client.get(f"/api/v1/needs/{need['id']}/preview?kind=share&cap=4000")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["today"], body["today_text"], body["paying"]) == (3000, "30.00 EUR", 2)
        assert body["least_cap"] == 3000
        assert [(p["peers"], p["pays"]) for p in body["points"][:3]] == [
            (2, 3000),
            (3, 2000),
            (4, 1500),
        ]

    def test_a_crowdmatch_rises_as_patrons_join(self, client: TestClient, callers: Callers) -> None:
        need = add_need(client, callers)
        body = client.get(
            f"/api/v1/needs/{need['id']}/preview?kind=crowdmatch&rate=10&cap=30"
        ).json()
        assert [(p["peers"], p["pays"]) for p in body["points"][:4]] == [
            (1, 10),
            (2, 20),
            (3, 30),
            (6, 0),
        ]

    def test_a_gift_has_nothing_to_preview(self, client: TestClient, callers: Callers) -> None:
        need = add_need(client, callers)
        answer = client.get(f"/api/v1/needs/{need['id']}/preview?kind=gift&cap=10")
        assert answer.status_code == 422
        assert "pays what it says" in answer.json()["detail"]


class TestPaydays:
    def test_results_and_self_check(
        self,
        client: TestClient,
        database: Database,
        clock: FrozenClock,
        commons: Commons,
    ) -> None:
        with database.transaction() as session:
            need = stored_need(session, commons.project)
            save_card(session, commons.ana)
            stored_pledge(session, need, donor=commons.ana, amount=900)
            goal = stored_goal(session, commons.project, deadline=datetime(2026, 1, 25, tzinfo=UTC))
            stored_pledge(session, goal, donor=commons.ana, kind="all-or-nothing", amount=100)
        # Before the first payday, the one that runs clears the period that ended last.
        assert client.get("/api/v1/paydays/preview").status_code == 401
        with database.transaction() as session:
            reader = bearer(make_token(session, commons.ana, scope="read"))
        early = client.get("/api/v1/paydays/preview", headers=reader).json()
        assert (early["due"], early["period"]["start"]) == (True, "2025-12-01")
        clock.set(datetime(2026, 2, 1, 0, 5, tzinfo=UTC))
        due = client.get("/api/v1/paydays/preview", headers=reader).json()
        assert (due["period"]["start"], due["summary"]["currencies"]["EUR"]["charged"]) == (
            "2026-01-01",
            900,
        )
        (outcome,) = pay(database, clock)
        listed = client.get("/api/v1/paydays").json()
        assert [p["id"] for p in listed] == [outcome.payday_id]
        assert listed[0]["check_report"] is None
        one = client.get(f"/api/v1/paydays/{outcome.payday_id}").json()
        assert one["check_ok"] is True
        assert one["summary"]["currencies"]["EUR"]["charged"] == 900
        assert one["summary"]["voided"] == 1
        assert one["check_report"][0]["paid"] == one["check_report"][0]["received"] == 900
        history = client.get(f"/api/v1/needs/{need.id}/coverage").json()
        assert history[0]["coverage"]["cleared_text"] == "9.00 EUR"
        assert client.get("/api/v1/paydays/42").status_code == 404

    def test_the_openapi_document_declares_the_errors(self, client: TestClient) -> None:
        spec = client.get("/api/v1/openapi.json").json()
        answers = spec["paths"]["/api/v1/needs/{need_id}/pledges"]["post"]["responses"]
        assert {"201", "401", "403", "404", "409", "422"} <= set(answers)
