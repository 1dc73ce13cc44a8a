"""The project pages in Chromium: starting a project, handing it on, finding it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from potluck.db import Database
from potluck.people.models import Peer
from tests.people.factories import DEFAULT_PASSWORD
from tests.projects.factories import make_project
from tests.support.browser import distinct_colours

pytestmark = pytest.mark.browser


def sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


class TestStartingAndHandingOn:
    def test_start_invite_accept_and_step_down(
        self, page: Page, browser: Browser, live_server: str, ana: Peer, ben: Peer
    ) -> None:
        page.goto("/projects/new")
        expect(page).to_have_url(re.compile(r"/sign-in\?next="))
        sign_in(page, "ana@example.org")

        page.goto("/")
        page.get_by_role("link", name="Start a project").first.click()
        page.get_by_label("Name", exact=True).fill("Bike Shed")
        page.get_by_label("Summary").fill("Tools and a stand for fixing bicycles.")
        page.get_by_label("Licence").fill("mit or apache-2.0")
        page.get_by_label("Description").fill("# Opening hours\n\nEvery **Saturday**.")
        page.get_by_label("Label of link 1").fill("Chat")
        page.get_by_label("Address of link 1").fill("https://chat.example.org/bikes")
        page.get_by_role("button", name="Start the project").click()

        expect(page).to_have_url(re.compile(r"/projects/bike-shed\?done=created$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Bike Shed")
        expect(page.get_by_role("status")).to_contain_text("you are its first steward")
        expect(page.get_by_text("Licence: MIT OR Apache-2.0")).to_be_visible()
        expect(page.get_by_role("heading", name="Opening hours", level=3)).to_be_visible()
        expect(page.get_by_role("link", name="Chat")).to_have_attribute(
            "href", "https://chat.example.org/bikes"
        )
        assert distinct_colours(page.screenshot(full_page=True)) > 20

        page.get_by_role("link", name="Manage stewards").click()
        expect(page.get_by_text("would have nobody to coordinate it")).to_be_visible()
        page.get_by_label("Their email").fill("ben@example.org")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_role("status")).to_contain_text("Invitation sent")

        bens = browser.new_context(base_url=live_server).new_page()
        sign_in(bens, "ben@example.org")
        bens.goto("/")
        expect(bens.get_by_role("heading", name="Invitations awaiting your answer")).to_be_visible()
        bens.get_by_role("button", name="Accept the invitation to steward Bike Shed").click()
        expect(bens).to_have_url(re.compile(r"/projects/bike-shed\?done=joined$"))
        expect(bens.get_by_role("status")).to_have_text("You are now a steward of this project.")
        bens.context.close()

        page.reload()
        page.get_by_label("Handover note (optional)").fill("The shed key is with **Ben**.")
        page.get_by_role("button", name="Step down as steward").click()
        expect(page).to_have_url(re.compile(r"/projects/bike-shed\?done=stepped-down$"))
        expect(page.get_by_role("link", name="Edit project")).to_have_count(0)
        expect(page.get_by_text("Ana Lima stepped down as steward of Bike Shed.")).to_be_visible()

    def test_a_form_error_is_read_next_to_its_field(self, page: Page, ana: Peer) -> None:
        sign_in(page, "ana@example.org")
        page.goto("/projects/new")
        page.get_by_label("Name", exact=True).fill("Bike Shed")
        page.get_by_label("Summary").fill("Bicycles.")
        page.get_by_label("Licence").fill("Nope-1.0")
        page.get_by_role("button", name="Start the project").click()
        expect(page.get_by_role("alert")).to_contain_text("'Nope-1.0'")
        expect(page.get_by_label("Licence")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Name", exact=True)).to_have_value("Bike Shed")


class TestExplore:
    @pytest.fixture
    def projects(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, name="Bike Shed", slug="bike-shed")
            make_project(session, creator=ana, name="Community Garden", slug="garden")

    @pytest.mark.usefixtures("projects")
    def test_results_follow_the_typing_without_reloading(self, page: Page) -> None:
        page.goto("/explore")
        expect(page.get_by_role("heading", name="2 projects")).to_be_visible()
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_label("Find a project by its name, summary or address").fill("garden")
        expect(page.get_by_role("heading", name="1 project matching “garden”")).to_be_visible()
        expect(page.get_by_role("link", name="Community Garden")).to_be_visible()
        expect(page.get_by_role("link", name="Bike Shed")).to_have_count(0)
        expect(page).to_have_url(re.compile(r"/explore\?q=garden$"))
        assert page.evaluate("window.stillTheSamePage") is True

    @pytest.mark.usefixtures("projects")
    def test_fits_a_phone_screen(self, browser: Browser, live_server: str) -> None:
        phone = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 740})
        page = phone.new_page()
        sign_in(page, "ana@example.org")
        for path in (
            "/",
            "/explore",
            "/projects/new",
            "/projects/bike-shed",
            "/projects/bike-shed/edit",
            "/projects/bike-shed/stewards",
        ):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        phone.close()
