"""The project pages, driven like a browser without JavaScript, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from potluck.db import Database
from potluck.people.models import Peer
from potluck.projects import service
from tests.people.factories import make_peer
from tests.projects.conftest import Census
from tests.projects.factories import add_steward, browser_session, form_token, make_project
from tests.projects.pagecheck import accessibility_problems, visible_text

HTML = {"accept": "text/html"}
NEW_PROJECT = {
    "name": "Bike Shed",
    "slug": "",
    "summary": "Tools and a stand for fixing bicycles.",
    "licence": "mit",
    "description": "Open on *Saturdays*.",
    "link_label": ["Chat", ""],
    "link_url": ["https://chat.example.org/bikes", ""],
}


def sign_in(database: Database, client: TestClient, peer: Peer) -> None:
    with database.transaction() as session:
        browser_session(session, client, peer)


def start(database: Database, creator: Peer, **fields: Any) -> str:
    with database.transaction() as session:
        return make_project(session, creator=creator, **fields).slug


def invite(database: Database, slug: str, inviter: Peer, invitee: Peer) -> int:
    with database.transaction() as session:
        project = service.get_project(session, slug)
        return service.invite_steward(
            session, project, inviter=inviter, peer_id=invitee.id, now=project.created_at
        ).id


def page(client: TestClient, path: str) -> httpx.Response:
    answer: httpx.Response = client.get(path, headers=HTML, follow_redirects=False)
    return answer


def submit(
    client: TestClient, path: str, data: dict[str, Any], *, form_page: str
) -> httpx.Response:
    """Post a form the way a browser does: with the token from the page that shows it."""
    token = form_token(client, form_page)
    answer: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=HTML, follow_redirects=False
    )
    return answer


def error_next_to(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="e-{field}" role="alert">([^<]*)</p>', html)
    assert found is not None, f"no error next to {field}"
    return visible_text(found.group(1))


class TestHomePage:
    def test_says_what_potluck_is_for_and_invites_to_start(self, client: TestClient) -> None:
        answer = page(client, "/")
        assert answer.status_code == 200
        text = visible_text(answer.text)
        assert "Nobody owns a project here" in text
        assert 'href="/projects/new"' in answer.text
        assert "No projects yet." in text
        assert accessibility_problems(answer.text) == []

    def test_lists_recently_started_projects(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, name="Bike Shed", slug="bike-shed")
        answer = page(client, "/")
        assert '<a href="/projects/bike-shed">Bike Shed</a>' in answer.text
        assert accessibility_problems(answer.text) == []

    def test_shows_invitations_awaiting_the_signed_in_peer(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, name="Bike Shed", slug="bike-shed")
        invitation_id = invite(database, "bike-shed", ana, ben)
        sign_in(database, client, ben)
        answer = page(client, "/")
        assert "Invitations awaiting your answer" in answer.text
        assert f'action="/invitations/{invitation_id}/accept"' in answer.text
        assert f'action="/invitations/{invitation_id}/decline"' in answer.text
        assert accessibility_problems(answer.text) == []


class TestExplorePage:
    @pytest.fixture
    def projects(self, database: Database, ana: Peer) -> None:
        for number in range(25):
            start(database, ana, name=f"Community Garden {number}", slug=f"garden-{number}")
        start(database, ana, name="Bike Shed", slug="bike-shed", summary="Fixing bicycles.")

    @pytest.mark.usefixtures("projects")
    def test_search_without_javascript(self, client: TestClient) -> None:
        answer = page(client, "/explore?q=BICYCLES")
        assert answer.status_code == 200
        assert "1 project matching “bicycles”" in visible_text(answer.text)
        assert '<a href="/projects/bike-shed">Bike Shed</a>' in answer.text
        assert "Community Garden" not in answer.text
        assert 'value="bicycles"' in answer.text
        assert accessibility_problems(answer.text) == []

    @pytest.mark.usefixtures("projects")
    def test_pages_keep_the_search(self, client: TestClient) -> None:
        first = page(client, "/explore?q=garden")
        assert "25 projects matching “garden”" in visible_text(first.text)
        assert 'href="/explore?q=garden&amp;page=2"' in first.text
        second = page(client, "/explore?q=garden&page=2")
        assert "Page 2 of 2" in visible_text(second.text)
        assert second.text.count('class="card"') == 5

    @pytest.mark.usefixtures("projects")
    def test_htmx_gets_only_the_results(self, client: TestClient) -> None:
        answer = client.get("/explore?q=bike", headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert "<html" not in answer.text
        assert answer.text.lstrip().startswith('<h2 id="h-results">')
        assert "Bike Shed" in answer.text
        assert "HX-Request" in answer.headers["vary"]

    def test_htmx_restoring_history_gets_the_whole_page(self, client: TestClient) -> None:
        answer = client.get(
            "/explore?q=bike",
            headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
        )
        assert "<html" in answer.text

    def test_nothing_found_suggests_starting_it(self, client: TestClient) -> None:
        answer = page(client, "/explore?q=zeppelin")
        assert "Nothing matches “zeppelin”" in visible_text(answer.text)

    @pytest.mark.usefixtures("projects")
    def test_sorted_by_name(self, client: TestClient) -> None:
        answer = page(client, "/explore?order=name")
        assert answer.text.index("Bike Shed") < answer.text.index("Community Garden 0")


class TestNewProjectPage:
    def test_anonymous_visitors_are_sent_to_sign_in(self, client: TestClient) -> None:
        answer = page(client, "/projects/new")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=/projects/new"

    def test_the_form_is_labelled(self, client: TestClient, database: Database, ana: Peer) -> None:
        sign_in(database, client, ana)
        answer = page(client, "/projects/new")
        assert answer.status_code == 200
        assert accessibility_problems(answer.text) == []
        for label in ("Name", "Address", "Summary", "Licence", "Description"):
            assert f">{label}</label>" in answer.text

    def test_starts_the_project_and_shows_it(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        sign_in(database, client, ana)
        answer = submit(client, "/projects/new", NEW_PROJECT, form_page="/projects/new")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/projects/bike-shed?done=created"
        shown = page(client, answer.headers["location"])
        text = visible_text(shown.text)
        assert "Your project is live, and you are its first steward." in text
        assert "Licence: MIT" in text
        assert '<a href="https://chat.example.org/bikes"' in shown.text
        assert "Ana Lima started Bike Shed and became its first steward." in text

    def test_form_errors_are_shown_next_to_each_field(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        sign_in(database, client, ana)
        before = census()
        answer = submit(
            client,
            "/projects/new",
            {**NEW_PROJECT, "summary": "", "licence": "MIT OR Nope-1.0"},
            form_page="/projects/new",
        )
        assert answer.status_code == 422
        assert "needs a summary" in error_next_to(answer.text, "summary")
        assert "'Nope-1.0'" in error_next_to(answer.text, "licence")
        assert 'value="Bike Shed"' in answer.text
        assert 'value="https://chat.example.org/bikes"' in answer.text
        assert accessibility_problems(answer.text) == []
        assert census() == before

    def test_duplicate_slug_is_named_next_to_the_address(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ben, slug="bike-shed")
        sign_in(database, client, ana)
        before = census()
        answer = submit(
            client, "/projects/new", {**NEW_PROJECT, "slug": "bike-shed"}, form_page="/projects/new"
        )
        assert answer.status_code == 409
        assert "'bike-shed' is already taken" in error_next_to(answer.text, "slug")
        assert census() == before

    def test_a_bad_link_is_named_next_to_the_links(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        sign_in(database, client, ana)
        answer = submit(
            client,
            "/projects/new",
            {**NEW_PROJECT, "link_label": ["Evil"], "link_url": ["javascript:alert(1)"]},
            form_page="/projects/new",
        )
        assert answer.status_code == 422
        assert "Link 1" in error_next_to(answer.text, "links")

    def test_without_a_valid_csrf_token_nothing_is_written(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        sign_in(database, client, ana)
        form_token(client, "/projects/new")
        before = census()
        for token in ({}, {"csrf_token": "forged"}):
            answer = client.post(
                "/projects/new", data={**NEW_PROJECT, **token}, headers=HTML, follow_redirects=False
            )
            assert answer.status_code == 403
            assert "did not come from Potluck" in answer.text
        assert census() == before

    def test_anonymous_posts_are_sent_to_sign_in(self, client: TestClient, census: Census) -> None:
        before = census()
        answer = submit(client, "/projects/new", NEW_PROJECT, form_page="/sign-in")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in")
        assert census() == before


class TestProjectPage:
    def test_shows_everything_about_the_project(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(
            database,
            ana,
            slug="maps",
            name="Maps",
            summary="Mapping walks every Saturday.",
            licence="ODbL-1.0",
            description="# Plan\n\nWalk **north**.\n\n## Gear",
            links=[("Code", "https://code.example/maps")],
        )
        answer = page(client, "/projects/maps")
        assert answer.status_code == 200
        text = visible_text(answer.text)
        for words in ("Maps", "Mapping walks every Saturday.", "Licence: ODbL-1.0", "Ana Lima"):
            assert words in text
        assert "<h3>Plan</h3>" in answer.text
        assert "<h4>Gear</h4>" in answer.text
        assert "<strong>north</strong>" in answer.text
        assert '<a href="https://code.example/maps" rel="nofollow noopener noreferrer">' in (
            answer.text
        )
        assert "Ana Lima started Maps and became its first steward." in text
        assert "Edit project" not in text
        assert accessibility_problems(answer.text) == []

    def test_markdown_with_a_script_is_rendered_harmless(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(
            database,
            ana,
            slug="maps",
            description=(
                '<script>alert("x")</script>\n\n[click](javascript:alert(1))\n\n'
                '<img src=x onerror="alert(2)">'
            ),
        )
        answer = page(client, "/projects/maps")
        description = answer.text[answer.text.index('<div class="description">') :]
        description = description[: description.index("</div>")]
        assert "<script" not in description
        assert 'href="javascript' not in description
        assert "<img" not in description
        assert "&lt;script&gt;" in description

    def test_stewards_see_how_to_edit(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps")
        sign_in(database, client, ana)
        answer = page(client, "/projects/maps")
        assert 'href="/projects/maps/edit"' in answer.text

    def test_the_invitee_sees_the_invitation_with_its_buttons(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, cleo: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        invitation_id = invite(database, "maps", ana, ben)
        sign_in(database, client, cleo)
        assert "You are invited" not in page(client, "/projects/maps").text
        sign_in(database, client, ben)
        answer = page(client, "/projects/maps")
        assert "You are invited to steward Maps" in visible_text(answer.text)
        assert f'action="/invitations/{invitation_id}/accept"' in answer.text
        assert accessibility_problems(answer.text) == []

    def test_an_unknown_project_is_a_404_page(self, client: TestClient) -> None:
        answer = page(client, "/projects/nowhere")
        assert answer.status_code == 404
        assert "No project has the address &#39;nowhere&#39;." in answer.text

    def test_the_log_is_paged(self, client: TestClient, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            for number in range(25):
                service.update_project(
                    session, project, editor=ana, summary=f"Version {number}", now=ana.created_at
                )
        first = page(client, "/projects/maps")
        assert first.text.count("<time") == 20
        assert 'href="/projects/maps?log=2"' in first.text
        second = page(client, "/projects/maps?log=2")
        assert second.text.count("<time") == 6
        assert "started" in visible_text(second.text)


class TestEditPage:
    def test_a_steward_sees_the_form_filled_in(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps", links=[("Code", "https://code.example")])
        sign_in(database, client, ana)
        answer = page(client, "/projects/maps/edit")
        assert answer.status_code == 200
        assert 'value="Maps"' in answer.text
        assert 'value="https://code.example"' in answer.text
        assert 'name="slug"' not in answer.text
        assert accessibility_problems(answer.text) == []

    def test_anonymous_visitors_are_sent_to_sign_in(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps")
        answer = page(client, "/projects/maps/edit")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=/projects/maps/edit"

    def test_a_non_steward_is_forbidden(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer
    ) -> None:
        start(database, ana, slug="maps")
        sign_in(database, client, ben)
        answer = page(client, "/projects/maps/edit")
        assert answer.status_code == 403
        # The error page still shows who is signed in.
        assert '<a href="/me">Ben Okafor</a>' in answer.text

    def test_a_steward_saves_changes(
        self, client: TestClient, database: Database, ana: Peer
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        sign_in(database, client, ana)
        answer = submit(
            client,
            "/projects/maps/edit",
            {"name": "Open Maps", "summary": "Maps.", "licence": "MIT", "description": ""},
            form_page="/projects/maps/edit",
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/projects/maps?done=updated"
        text = visible_text(page(client, "/projects/maps?done=updated").text)
        assert "Changes saved" in text
        assert "Ana Lima changed the name and summary of Open Maps." in text

    def test_a_non_steward_posting_is_forbidden_and_nothing_is_written(
        self, client: TestClient, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        sign_in(database, client, ben)
        before = census()
        answer = submit(
            client,
            "/projects/maps/edit",
            {"name": "Mine", "summary": "Mine.", "licence": "MIT"},
            form_page="/projects/maps",
        )
        assert answer.status_code == 403
        assert census() == before

    def test_an_unknown_licence_is_shown_next_to_the_field(
        self, client: TestClient, database: Database, ana: Peer, census: Census
    ) -> None:
        start(database, ana, slug="maps", name="Maps")
        sign_in(database, client, ana)
        before = census()
        answer = submit(
            client,
            "/projects/maps/edit",
            {"name": "Atlas", "summary": "Maps.", "licence": "Nope"},
            form_page="/projects/maps/edit",
        )
        assert answer.status_code == 422
        assert "'Nope'" in error_next_to(answer.text, "licence")
        assert 'value="Atlas"' in answer.text
        assert census() == before


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
