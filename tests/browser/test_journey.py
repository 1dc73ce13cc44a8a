"""A newcomer's first visit in Chromium: sign up, start a project, find it on the explore page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from potluck.db import Database
from potluck.projects.models import ActivityEntry, Project
from tests.support.browser import distinct_colours

pytestmark = pytest.mark.browser


class TestFirstVisit:
    def test_sign_up_start_a_project_and_find_it(self, page: Page, database: Database) -> None:
        page.goto("/")
        page.get_by_role("link", name="Sign up", exact=True).first.click()
        page.get_by_label("Email").fill("river@example.org")
        page.get_by_label("Display name").fill("river mapper")
        page.get_by_label("Password").fill("long enough password")
        page.get_by_role("button", name="Create my account").click()
        expect(page.get_by_role("link", name="river mapper")).to_be_visible()

        page.get_by_role("link", name="Start a project").first.click()
        page.get_by_label("Name", exact=True).fill("Estuary Tiles")
        page.get_by_label("Address", exact=True).fill("estuary-tiles")
        page.get_by_label("Summary").fill("Map tiles of estuaries, free for anyone to use.")
        page.get_by_label("Licence").fill("ODbL-1.0")
        page.get_by_label("Description").fill("We render **tidal** maps every week.")
        page.get_by_role("button", name="Start the project").click()

        expect(page).to_have_url(re.compile(r"/projects/estuary-tiles(\?.*)?$"))
        expect(page.get_by_role("heading", name="Estuary Tiles", level=1)).to_be_visible()
        expect(page.locator("strong", has_text="tidal")).to_be_visible()
        assert distinct_colours(page.screenshot(full_page=True)) > 20

        page.get_by_role("link", name="Explore", exact=True).click()
        page.get_by_role("searchbox").fill("estuar")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/explore\?q=estuar"))
        result = page.get_by_role("link", name="Estuary Tiles")
        expect(result).to_be_visible()
        result.click()
        expect(page).to_have_url(re.compile(r"/projects/estuary-tiles$"))

        with database.transaction(write=False) as session:
            project = session.scalars(select(Project)).one()
            assert [steward.peer.display_name for steward in project.stewards] == ["river mapper"]
            actions = session.scalars(select(ActivityEntry.action)).all()
            assert actions == ["project.created"]

    def test_a_phone_sized_screen_still_shows_the_whole_form(self, page: Page) -> None:
        page.set_viewport_size({"width": 380, "height": 800})
        page.goto("/sign-up")
        button = page.get_by_role("button", name="Create my account")
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 380
        assert distinct_colours(page.screenshot(full_page=True)) > 10
