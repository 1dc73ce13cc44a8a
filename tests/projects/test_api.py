"""The projects JSON API under /api/v1, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.people.models import Peer
from potluck.web import csrf
from tests.projects.conftest import Census
from tests.projects.factories import (
    add_steward,
    api_token,
    browser_session,
    form_token,
    make_project,
)
from tests.projects.steps import start

NEW_PROJECT = {
    "name": "Bike Shed",
    "summary": "Tools and a stand for fixing bicycles.",
    "licence": "cc-by-sa-4.0",
    "description": "Open **every** Saturday.",
    "links": [{"label": "Chat", "url": "https://chat.example.org/bikes"}],
}


def token(database: Database, peer: Peer, *, scope: str = "read-write") -> dict[str, str]:
    with database.transaction() as session:
        return api_token(session, peer, scope=scope)


class TestListProjects:
    def test_newest_first_with_paging(
        self, client: TestClient, database: Database, ana: Peer, clock: FrozenClock
    ) -> None:
        for slug in ("first", "second", "third"):
            start(database, ana, slug=slug, now=clock.now())
            clock.advance(timedelta(minutes=1))
        body = client.get("/api/v1/projects", params={"per_page": 2}).json()
        assert [item["slug"] for item in body["items"]] == ["third", "second"]
        assert {key: body[key] for key in ("page", "per_page", "total", "pages")} == {
            "page": 1,
            "per_page": 2,
            "total": 3,
            "pages": 2,
        }
        second = client.get("/api/v1/projects", params={"per_page": 2, "page": 2}).json()
        assert [item["slug"] for item in second["items"]] == ["first"]

    def test_search_and_order_by_name(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="zebra", name="Zebra Crossing Maps")
        start(database, ana, slug="atlas", name="Atlas of Maps")
        start(database, ana, slug="bikes", name="Bike Shed")
        body = client.get("/api/v1/projects", params={"q": "MAPS", "order": "name"}).json()
        assert [item["name"] for item in body["items"]] == ["Atlas of Maps", "Zebra Crossing Maps"]
        assert body["total"] == 2

    def test_too_many_per_page_is_refused(self, client: TestClient) -> None:
        answer = client.get("/api/v1/projects", params={"per_page": 101})
        assert answer.status_code == 422
        assert answer.json()["error"] == "InvalidInput"

    def test_an_unknown_token_is_refused_even_for_reading(self, client: TestClient) -> None:
        answer = client.get("/api/v1/projects", headers={"Authorization": "Bearer pl_nope"})
        assert answer.status_code == 401


class TestCreateProject:
    def test_the_creator_becomes_the_first_steward(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        answer = client.post("/api/v1/projects", json=NEW_PROJECT, headers=token(database, ana))
        assert answer.status_code == 201, answer.text
        assert answer.headers["location"] == "/api/v1/projects/bike-shed"
        body = answer.json()
        assert body["slug"] == "bike-shed"
        assert body["licence"] == "CC-BY-SA-4.0"
        assert body["links"] == NEW_PROJECT["links"]
        assert [s["peer"] for s in body["stewards"]] == [{"id": ana.id, "display_name": "Ana Lima"}]
        activity = client.get("/api/v1/projects/bike-shed/activity").json()
        assert [entry["action"] for entry in activity["items"]] == ["project.created"]

    def test_duplicate_slug_is_a_conflict_naming_it(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ana, slug="bike-shed")
        before = census()
        answer = client.post(
            "/api/v1/projects",
            json={**NEW_PROJECT, "slug": "bike-shed"},
            headers=token(database, ben),
        )
        assert answer.status_code == 409
        assert answer.json() == {
            "error": "Conflict",
            "detail": "The address 'bike-shed' is already taken by another project; "
            "choose another.",
            "field": "slug",
        }
        assert census() == before

    def test_unknown_licence_is_refused_naming_it(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        headers = token(database, ana)
        before = census()
        answer = client.post(
            "/api/v1/projects", json={**NEW_PROJECT, "licence": "MIT OR Nope-2.0"}, headers=headers
        )
        assert answer.status_code == 422
        body = answer.json()
        assert body["error"] == "InvalidInput"
        assert body["field"] == "licence"
        assert "'Nope-2.0'" in body["detail"]
        assert census() == before

    def test_every_problem_is_named_at_once(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        answer = client.post(
            "/api/v1/projects",
            json={
                **NEW_PROJECT,
                "slug": "new",
                "summary": " ",
                "links": [{"label": "", "url": ""}],
            },
            headers=token(database, ana),
        )
        assert answer.status_code == 422
        body = answer.json()
        assert body["field"] == "slug"
        assert "'new' is reserved" in body["detail"]
        assert "needs a summary" in body["detail"]

    def test_unknown_fields_are_refused(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        answer = client.post(
            "/api/v1/projects", json={**NEW_PROJECT, "owner": "me"}, headers=token(database, ana)
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "owner"

    def test_nobody_signed_in_is_refused(self, client: TestClient, census: Census) -> None:
        before = census()
        answer = client.post("/api/v1/projects", json=NEW_PROJECT)
        assert answer.status_code == 401
        assert census() == before

    def test_a_read_only_token_is_refused(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        headers = token(database, ana, scope="read")
        before = census()
        answer = client.post("/api/v1/projects", json=NEW_PROJECT, headers=headers)
        assert answer.status_code == 403
        assert census() == before

    def test_a_browser_must_send_the_csrf_header(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            browser_session(session, client, ana)
        before = census()
        refused = client.post("/api/v1/projects", json=NEW_PROJECT)
        assert refused.status_code == 403
        assert refused.json()["error"] == "CsrfFailed"
        assert census() == before
        header = form_token(client, "/projects/new")
        accepted = client.post("/api/v1/projects", json=NEW_PROJECT, headers={csrf.HEADER: header})
        assert accepted.status_code == 201


class TestGetProject:
    def test_the_project_with_links_and_stewards(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(
            database,
            ana,
            slug="maps",
            name="Maps",
            description="# Maps",
            links=[("Code", "https://code.example/maps")],
        )
        body = client.get("/api/v1/projects/maps").json()
        assert body["name"] == "Maps"
        assert body["description"] == "# Maps"
        assert body["links"] == [{"label": "Code", "url": "https://code.example/maps"}]
        assert body["stewards"][0]["peer"]["display_name"] == "Ana Lima"
        assert "owner" not in body

    def test_an_unknown_slug_is_not_found_naming_it(self, client: TestClient) -> None:
        answer = client.get("/api/v1/projects/nowhere")
        assert answer.status_code == 404
        assert answer.json() == {
            "error": "NotFound",
            "detail": "No project has the address 'nowhere'.",
        }


class TestUpdateProject:
    def test_a_steward_changes_the_project(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        answer = client.patch(
            "/api/v1/projects/maps",
            json={"name": "Open Maps", "links": [{"label": "Site", "url": "https://maps.example"}]},
            headers=token(database, ana),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == "Open Maps"
        assert answer.json()["links"] == [{"label": "Site", "url": "https://maps.example"}]
        entry = client.get("/api/v1/projects/maps/activity").json()["items"][0]
        assert entry["action"] == "project.updated"
        assert entry["details"]["changed"] == ["name", "links"]

    def test_a_non_steward_is_forbidden_and_nothing_is_written(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        headers = token(database, ben)
        before = census()
        answer = client.patch("/api/v1/projects/maps", json={"name": "Mine"}, headers=headers)
        assert answer.status_code == 403
        assert answer.json()["detail"] == (
            "Only stewards of Maps can edit it; you are not one of them."
        )
        assert census() == before
        assert client.get("/api/v1/projects/maps").json()["name"] == "Maps"

    def test_the_slug_cannot_change(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        headers = token(database, ana)
        before = census()
        answer = client.patch("/api/v1/projects/maps", json={"slug": "atlas"}, headers=headers)
        assert answer.status_code == 422
        assert answer.json()["field"] == "slug"
        assert census() == before

    def test_an_unknown_licence_changes_nothing(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        headers = token(database, ana)
        before = census()
        answer = client.patch(
            "/api/v1/projects/maps", json={"name": "Atlas", "licence": "Nope"}, headers=headers
        )
        assert answer.status_code == 422
        assert census() == before


class TestListStewards:
    def test_current_stewards(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
        body = client.get("/api/v1/projects/maps/stewards").json()
        assert [steward["peer"]["display_name"] for steward in body] == ["Ana Lima", "Ben Okafor"]
        assert all(steward["ended_at"] is None for steward in body)


class TestInvitations:
    def invite(self, client: TestClient, headers: dict[str, str], **body: Any) -> Any:
        return client.post("/api/v1/projects/maps/invitations", json=body, headers=headers)

    def test_invite_then_the_invitee_accepts(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        answer = self.invite(
            client, token(database, ana), email="ben@example.org", message="Join us?"
        )
        assert answer.status_code == 201, answer.text
        invitation = answer.json()
        assert invitation["state"] == "pending"
        assert invitation["invitee"] == {"id": ben.id, "display_name": "Ben Okafor"}
        assert invitation["project"] == {"slug": "maps", "name": "Maps"}

        bens = token(database, ben)
        mine = client.get("/api/v1/me/invitations", headers=bens).json()
        assert [i["id"] for i in mine] == [invitation["id"]]
        pending = client.get("/api/v1/projects/maps/invitations").json()
        assert [i["id"] for i in pending] == [invitation["id"]]

        accepted = client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=bens)
        assert accepted.status_code == 200
        assert accepted.json()["state"] == "accepted"
        stewards = client.get("/api/v1/projects/maps/stewards").json()
        assert [s["peer"]["id"] for s in stewards] == [ana.id, ben.id]
        assert client.get("/api/v1/me/invitations", headers=bens).json() == []

    def test_invite_by_peer_id_then_the_invitee_declines(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        invitation = self.invite(client, token(database, ana), peer_id=ben.id).json()
        declined = client.post(
            f"/api/v1/invitations/{invitation['id']}/decline", headers=token(database, ben)
        )
        assert declined.status_code == 200
        assert declined.json()["state"] == "declined"
        actions = [
            e["action"] for e in client.get("/api/v1/projects/maps/activity").json()["items"]
        ]
        assert actions == ["steward.declined", "steward.invited", "project.created"]

    def test_a_steward_withdraws(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        anas = token(database, ana)
        invitation = self.invite(client, anas, email="ben@example.org").json()
        withdrawn = client.post(f"/api/v1/invitations/{invitation['id']}/withdraw", headers=anas)
        assert withdrawn.status_code == 200
        assert withdrawn.json()["state"] == "withdrawn"
        late = client.post(
            f"/api/v1/invitations/{invitation['id']}/accept", headers=token(database, ben)
        )
        assert late.status_code == 409

    def test_only_the_invitee_can_accept(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, cleo: Peer
    ) -> None:
        start(database, ana, slug="maps")
        invitation = self.invite(client, token(database, ana), email="ben@example.org").json()
        answer = client.post(
            f"/api/v1/invitations/{invitation['id']}/accept", headers=token(database, cleo)
        )
        assert answer.status_code == 403

    def test_a_duplicate_invitation_is_a_conflict(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        anas = token(database, ana)
        self.invite(client, anas, email="ben@example.org")
        before = census()
        again = self.invite(client, anas, email="ben@example.org")
        assert again.status_code == 409
        assert "already has a pending invitation" in again.json()["detail"]
        assert census() == before

    def test_a_non_steward_cannot_invite(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        headers = token(database, ben)
        before = census()
        answer = self.invite(client, headers, email="ana@example.org")
        assert answer.status_code == 403
        assert census() == before

    def test_an_unknown_email_is_not_found(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps")
        answer = self.invite(client, token(database, ana), email="zed@example.org")
        assert answer.status_code == 404
        assert answer.json()["field"] == "email"

    def test_my_invitations_need_a_signed_in_peer(self, client: TestClient) -> None:
        assert client.get("/api/v1/me/invitations").status_code == 401

    def test_an_unknown_invitation_is_not_found(
        self, client: TestClient, database: Database, ben: Peer
    ) -> None:
        answer = client.post("/api/v1/invitations/404/accept", headers=token(database, ben))
        assert answer.status_code == 404


class TestStepDown:
    def test_last_steward_is_refused_with_reason(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        headers = token(database, ana)
        before = census()
        answer = client.post("/api/v1/projects/maps/stewards/me/step-down", headers=headers)
        assert answer.status_code == 409
        assert "would have nobody to coordinate it" in answer.json()["detail"]
        assert census() == before

    def test_a_steward_steps_down_with_a_handover_note(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
        answer = client.post(
            "/api/v1/projects/maps/stewards/me/step-down",
            json={"handover_note": "Keys are with Ben."},
            headers=token(database, ana),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["handover_note"] == "Keys are with Ben."
        assert answer.json()["ended_at"] is not None
        stewards = client.get("/api/v1/projects/maps/stewards").json()
        assert [s["peer"]["id"] for s in stewards] == [ben.id]


class TestActivity:
    def test_paged_newest_first(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
        body = client.get("/api/v1/projects/maps/activity", params={"per_page": 2}).json()
        assert [e["action"] for e in body["items"]] == ["steward.joined", "steward.invited"]
        assert body["items"][0]["actor"] == {"id": ben.id, "display_name": "Ben Okafor"}
        assert (body["total"], body["pages"]) == (3, 2)

    @pytest.mark.parametrize("page", ["0", "-1", "two"])
    def test_a_bad_page_is_refused(
        self, client: TestClient, database: Database, ana: Peer, page: str
    ) -> None:
        start(database, ana, slug="maps")
        answer = client.get("/api/v1/projects/maps/activity", params={"page": page})
        assert answer.status_code == 422
        assert answer.json()["field"] == "page"


class TestOpenApi:
    def test_routes_declare_their_errors(self, client: TestClient) -> None:
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        create = paths["/api/v1/projects"]["post"]["responses"]
        assert {"201", "401", "403", "409", "422"} <= set(create)
        assert "Conflict" in create["409"]["description"]
        step_down = paths["/api/v1/projects/{slug}/stewards/me/step-down"]["post"]["responses"]
        assert {"404", "409"} <= set(step_down)
