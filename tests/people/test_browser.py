"""The peers pages in Chromium: what a newcomer does first, end to end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from potluck.people import rules
from potluck.people.models import Peer
from tests.people.factories import DEFAULT_PASSWORD
from tests.support.browser import distinct_colours

pytestmark = pytest.mark.browser


class TestNewcomer:
    def test_signs_up_makes_a_token_and_signs_out(self, page: Page) -> None:
        page.goto("/me/tokens")
        expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fme%2Ftokens$"))
        page.get_by_role("link", name="Sign up", exact=True).last.click()
        page.get_by_label("Email").fill("grace@example.org")
        page.get_by_label("Display name").fill("Grace Hopper")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Create my account").click()

        expect(page).to_have_url(re.compile(r"/me/tokens$"))
        expect(page.get_by_role("link", name="Grace Hopper")).to_be_visible()
        page.get_by_label("Name").fill("laptop")
        page.get_by_label("What it may do").select_option("read-write")
        page.get_by_role("button", name="Create token").click()
        secret = page.locator(".secret code")
        expect(secret).to_have_text(re.compile(rf"^{rules.TOKEN_PREFIX}\S{{40,}}$"))
        expect(page.get_by_role("cell", name="read-write")).to_be_visible()
        assert distinct_colours(page.screenshot(full_page=True)) > 20

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        page.goto("/me")
        expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fme$"))

    def test_sees_a_wrong_password_next_to_the_form(self, page: Page, ada: Peer) -> None:
        page.goto("/sign-in")
        page.get_by_label("Email").fill("ada@example.org")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text(
            "That email and password do not match an account."
        )
        expect(page.get_by_label("Email")).to_have_value("ada@example.org")
        expect(page.get_by_label("Password")).to_have_value("")
