"""The stewards page and every form's CSRF check, driven like a browser without
JavaScript, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from potluck.db import Database
from potluck.people.models import Peer
from tests.people.factories import make_peer
from tests.projects.conftest import Census
from tests.projects.factories import add_steward, form_token, make_project
from tests.projects.pagecheck import (
    HTML,
    accessibility_problems,
    error_next_to,
    page,
    submit,
    visible_text,
)
from tests.projects.steps import invite, sign_in, start

NEW_PROJECT = {
    "name": "Bike Shed",
    "slug": "",
    "summary": "Tools and a stand for fixing bicycles.",
    "licence": "mit",
    "description": "Open on *Saturdays*.",
    "link_label": ["Chat", ""],
    "link_url": ["https://chat.example.org/bikes", ""],
}


class TestStewardsPage:
    def test_anyone_can_read_who_stewards_the_project(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        answer = page(client, "/projects/maps/stewards")
        assert answer.status_code == 200
        assert "Ana Lima" in visible_text(answer.text)
        assert "Invite a steward" not in answer.text
        assert accessibility_problems(answer.text) == []

    def test_the_last_steward_reads_why_they_cannot_step_down(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        sign_in(database, client, ana)
        answer = page(client, "/projects/maps/stewards")
        text = visible_text(answer.text)
        assert "Invite a steward" in text
        assert "would have nobody to coordinate it" in text
        assert "/stewards/step-down" not in answer.text
        assert accessibility_problems(answer.text) == []

    def test_a_steward_invites_by_email(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        sign_in(database, client, ana)
        answer = submit(
            client,
            "/projects/maps/stewards/invite",
            {"email": "ben@example.org", "message": "Join?"},
            form_page="/projects/maps/stewards",
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/projects/maps/stewards?done=invited"
        shown = page(client, answer.headers["location"])
        assert "Ben Okafor, invited by Ana Lima" in visible_text(shown.text)
        assert "Withdraw" in shown.text

    def test_an_unknown_email_is_shown_next_to_the_field(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        sign_in(database, client, ana)
        before = census()
        answer = submit(
            client,
            "/projects/maps/stewards/invite",
            {"email": "zed@example.org"},
            form_page="/projects/maps/stewards",
        )
        assert answer.status_code == 404
        assert "No peer has the email zed@example.org" in error_next_to(answer.text, "email")
        assert 'value="zed@example.org"' in answer.text
        assert census() == before

    def test_a_non_steward_cannot_invite(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        sign_in(database, client, ben)
        before = census()
        answer = submit(
            client,
            "/projects/maps/stewards/invite",
            {"email": "ben@example.org"},
            form_page="/projects/maps/stewards",
        )
        assert answer.status_code == 403
        assert census() == before

    def test_the_invitee_accepts_from_the_project_page(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        invitation_id = invite(database, "maps", ana, ben)
        sign_in(database, client, ben)
        answer = submit(
            client, f"/invitations/{invitation_id}/accept", {}, form_page="/projects/maps"
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/projects/maps?done=joined"
        text = visible_text(page(client, "/projects/maps?done=joined").text)
        assert "You are now a steward of this project." in text
        assert "Ben Okafor accepted Ana Lima's invitation" in text

    def test_the_invitee_declines(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        invitation_id = invite(database, "maps", ana, ben)
        sign_in(database, client, ben)
        answer = submit(client, f"/invitations/{invitation_id}/decline", {}, form_page="/")
        assert answer.headers["location"] == "/projects/maps?done=declined"
        assert "You are invited" not in page(client, "/projects/maps").text

    def test_a_steward_withdraws_an_invitation(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        invitation_id = invite(database, "maps", ana, ben)
        sign_in(database, client, ana)
        answer = submit(
            client,
            f"/invitations/{invitation_id}/withdraw",
            {},
            form_page="/projects/maps/stewards",
        )
        assert answer.headers["location"] == "/projects/maps/stewards?done=withdrawn"
        shown = visible_text(page(client, answer.headers["location"]).text)
        assert "Invitation withdrawn." in shown
        assert "Ben Okafor, invited by" not in shown

    def test_a_steward_steps_down_with_a_handover_note(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
        sign_in(database, client, ana)
        answer = submit(
            client,
            "/projects/maps/stewards/step-down",
            {"handover_note": "# Keys\n\nThe **server** key is with Ben."},
            form_page="/projects/maps/stewards",
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/projects/maps?done=stepped-down"
        stewards = page(client, "/projects/maps/stewards")
        assert "<h3>Keys</h3>" in stewards.text
        assert "<strong>server</strong>" in stewards.text
        assert accessibility_problems(stewards.text) == []

    def test_the_last_steward_posting_anyway_is_refused_with_the_reason(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps")
        sign_in(database, client, ana)
        before = census()
        answer = submit(
            client,
            "/projects/maps/stewards/step-down",
            {"handover_note": "Bye"},
            form_page="/projects/maps/stewards",
        )
        assert answer.status_code == 409
        assert "nobody to coordinate it" in visible_text(answer.text)
        assert census() == before


class TestCsrf:
    @pytest.mark.parametrize(
        ("path", "who"),
        [
            ("/projects/new", "ana"),
            ("/projects/maps/edit", "ana"),
            ("/projects/maps/stewards/invite", "ana"),
            ("/projects/maps/stewards/step-down", "ana"),
            ("/invitations/2/withdraw", "ana"),
            ("/invitations/2/accept", "cleo"),
            ("/invitations/2/decline", "cleo"),
        ],
    )
    def test_every_form_without_a_valid_token_is_refused_and_writes_nothing(
        self,
        *,
        client: TestClient,
        database: Database,
        census: Census,
        path: str,
        who: str,
        ana: Peer,
        ben: Peer,
        cleo: Peer,
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
            make_peer(session, email="dora@example.org")
        assert invite(database, "maps", ana, cleo) == 2
        sign_in(database, client, {"ana": ana, "cleo": cleo}[who])
        form = {
            **NEW_PROJECT,
            "slug": "fresh",
            "email": "dora@example.org",
            "handover_note": "Bye",
        }
        form_token(client, "/projects/maps")
        before = census()
        for forged in ({}, {"csrf_token": "forged"}):
            answer = client.post(
                path, data={**form, **forged}, headers=HTML, follow_redirects=False
            )
            assert answer.status_code == 403
        assert census() == before
        # The same form with the page's token goes through, so the token was all it lacked.
        accepted = submit(client, path, form, form_page="/projects/maps")
        assert accepted.status_code == 303, accepted.text
