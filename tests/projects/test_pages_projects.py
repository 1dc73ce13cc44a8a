"""Home, explore and a project's own pages, driven like a browser without JavaScript,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from potluck.db import Database
from potluck.people.models import Peer
from potluck.projects import service
from tests.projects.conftest import Census
from tests.projects.factories import form_token, make_project
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
