"""The peers pages, driven like a browser without JavaScript, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.deps import SESSION_COOKIE
from potluck.people import service
from potluck.people.models import ApiToken, Peer, SignInFailure, WebSession
from tests.people.conftest import CountRows
from tests.people.factories import DEFAULT_PASSWORD, bearer, csrf_token, make_token, sign_in

NEW_PEER = {"email": "grace@example.org", "display_name": "Grace", "password": DEFAULT_PASSWORD}


def _post(
    client: TestClient, path: str, data: dict[str, str], *, form_page: str = "/sign-in"
) -> httpx.Response:
    """Submit a form the way a browser does: with the token from the page that shows it."""
    answer: httpx.Response = client.post(
        path, data={**data, "csrf_token": csrf_token(client, form_page)}, follow_redirects=False
    )
    return answer


def _stored_peer(database: Database, email: str) -> Peer:
    with database.transaction(write=False) as session:
        found = service.find_peer_by_email(session, email)
    assert found is not None
    return found


class TestSignUpPage:
    def test_signs_the_new_peer_in_and_goes_to_next(self, client: TestClient) -> None:
        answer = _post(client, "/sign-up", {**NEW_PEER, "next": "/me/tokens"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/me/tokens"
        assert "httponly" in answer.headers["set-cookie"].lower()
        assert "samesite=lax" in answer.headers["set-cookie"].lower()
        assert "Grace" in client.get("/me").text

    def test_without_next_goes_to_own_profile(self, client: TestClient) -> None:
        answer = _post(client, "/sign-up", NEW_PEER)
        assert answer.headers["location"] == "/me"

    def test_form_error_keeps_what_was_typed_except_the_password(
        self, client: TestClient, count_rows: CountRows
    ) -> None:
        answer = _post(client, "/sign-up", {**NEW_PEER, "password": "tiny-pass"})
        assert answer.status_code == 422
        assert 'id="e-password"' in answer.text
        assert "at least 10 characters" in answer.text
        assert 'value="grace@example.org"' in answer.text
        assert 'value="Grace"' in answer.text
        assert "tiny-pass" not in answer.text
        assert count_rows(Peer) == 0

    def test_duplicate_email_names_it_next_to_the_field(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        answer = _post(client, "/sign-up", {**NEW_PEER, "email": "Ada@Example.org"})
        assert answer.status_code == 409
        assert 'id="e-email"' in answer.text
        assert "ada@example.org already exists" in answer.text
        assert count_rows(Peer) == 1

    def test_next_elsewhere_is_ignored(self, client: TestClient) -> None:
        answer = _post(client, "/sign-up", {**NEW_PEER, "next": "//evil.example/phish"})
        assert answer.headers["location"] == "/me"


class TestSignInPage:
    def test_sets_a_session_cookie_and_goes_home(
        self, client: TestClient, ada: Peer, app_settings: Settings
    ) -> None:
        answer = _post(
            client, "/sign-in", {"email": "ada@example.org", "password": DEFAULT_PASSWORD}
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert f"max-age={app_settings.session_days * 86400}" in cookie
        assert "Ada Lovelace" in client.get("/me").text

    def test_goes_to_a_local_next(self, client: TestClient, ada: Peer) -> None:
        answer = _post(
            client,
            "/sign-in",
            {"email": "ada@example.org", "password": DEFAULT_PASSWORD, "next": "/me/tokens?x=1"},
        )
        assert answer.headers["location"] == "/me/tokens?x=1"

    @pytest.mark.parametrize(
        "elsewhere",
        ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"],
    )
    def test_never_goes_to_another_site(
        self, client: TestClient, ada: Peer, elsewhere: str
    ) -> None:
        answer = _post(
            client,
            "/sign-in",
            {"email": "ada@example.org", "password": DEFAULT_PASSWORD, "next": elsewhere},
        )
        assert answer.headers["location"] == "/"

    def test_form_carries_next_along(self, client: TestClient) -> None:
        page = client.get("/sign-in?next=/me/tokens")
        assert '<input type="hidden" name="next" value="/me/tokens">' in page.text
        assert 'href="/sign-up?next=%2Fme%2Ftokens"' in page.text

    def test_wrong_password_and_unknown_email_read_the_same(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        wrong_password = _post(client, "/sign-in", {"email": "ada@example.org", "password": "x"})
        unknown_email = _post(
            client, "/sign-in", {"email": "nobody@example.org", "password": DEFAULT_PASSWORD}
        )
        assert wrong_password.status_code == unknown_email.status_code == 401
        assert service.WRONG_CREDENTIALS in wrong_password.text
        assert service.WRONG_CREDENTIALS in unknown_email.text
        assert 'value="ada@example.org"' in wrong_password.text
        assert SESSION_COOKIE not in wrong_password.headers.get("set-cookie", "")
        # The page answers normally, so the request commits the failures it recorded.
        assert count_rows(SignInFailure) == 2

    def test_too_many_failures_are_throttled_until_the_window_passes(
        self, client: TestClient, ada: Peer, clock: FrozenClock, app_settings: Settings
    ) -> None:
        wrong = {"email": "ada@example.org", "password": "guess"}
        right = {**wrong, "password": DEFAULT_PASSWORD}
        for _ in range(app_settings.sign_in_attempts):
            assert _post(client, "/sign-in", wrong).status_code == 401
        throttled = _post(client, "/sign-in", right)
        assert throttled.status_code == 429
        assert "try again in 15 minutes (after 09:15 UTC)" in throttled.text
        assert 'id="e-password"' in throttled.text
        assert throttled.headers["retry-after"] == "900"
        clock.advance(timedelta(seconds=app_settings.sign_in_window_seconds))
        assert _post(client, "/sign-in", right).status_code == 303

    def test_signing_in_again_ends_the_previous_session(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        sign_in(client, "ada@example.org")
        sign_in(client, "ada@example.org")
        with database.transaction(write=False) as session:
            ended = [s.ended_at is not None for s in session.scalars(select(WebSession))]
        assert sorted(ended) == [False, True]


class TestSignOut:
    def test_kills_the_session_on_the_server(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        sign_in(client, "ada@example.org")
        stolen = client.cookies[SESSION_COOKIE]
        answer = _post(client, "/sign-out", {}, form_page="/me")
        assert answer.status_code == 303
        assert SESSION_COOKIE not in client.cookies
        # A copy of the cookie taken before signing out is worth nothing now.
        client.cookies.set(SESSION_COOKIE, stolen)
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/me", follow_redirects=False).status_code == 303
        with database.transaction(write=False) as session:
            assert session.scalars(select(WebSession)).one().ended_at is not None


class TestCsrf:
    def test_form_without_the_token_is_refused_and_writes_nothing(
        self, client: TestClient, count_rows: CountRows
    ) -> None:
        client.get("/sign-up")
        answer = client.post("/sign-up", data=NEW_PEER, follow_redirects=False)
        assert answer.status_code == 403
        assert count_rows(Peer) == 0

    def test_form_with_a_wrong_token_is_refused_and_writes_nothing(
        self, client: TestClient, count_rows: CountRows
    ) -> None:
        client.get("/sign-up")
        answer = client.post(
            "/sign-up", data={**NEW_PEER, "csrf_token": "0" * 64}, follow_redirects=False
        )
        assert answer.status_code == 403
        assert count_rows(Peer) == 0

    def test_another_browsers_token_is_refused(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        sign_in(client, "ada@example.org")
        with TestClient(client.app) as attacker:
            forged = csrf_token(attacker, "/sign-in")
        answer = client.post(
            "/me", data={"display_name": "Pwned", "csrf_token": forged}, follow_redirects=False
        )
        assert answer.status_code == 403
        assert _stored_peer(database, "ada@example.org").display_name == "Ada Lovelace"

    def test_sign_in_form_needs_it_too(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        client.get("/sign-in")
        answer = client.post(
            "/sign-in",
            data={"email": "ada@example.org", "password": DEFAULT_PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 403
        assert count_rows(WebSession) == 0


class TestOwnProfilePage:
    def test_anonymous_is_sent_to_sign_in_and_back(self, client: TestClient) -> None:
        answer = client.get("/me", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=%2Fme"

    def test_shows_email_to_its_owner(self, client: TestClient, ada: Peer) -> None:
        sign_in(client, "ada@example.org")
        page = client.get("/me")
        assert page.status_code == 200
        assert "ada@example.org" in page.text

    def test_saves_name_and_bio(self, client: TestClient, ada: Peer, database: Database) -> None:
        sign_in(client, "ada@example.org")
        answer = _post(
            client,
            "/me",
            {"display_name": "Ada King", "bio": "Analyst of engines."},
            form_page="/me",
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/me?saved=1"
        assert "Your profile is saved." in client.get(answer.headers["location"]).text
        stored = _stored_peer(database, "ada@example.org")
        assert (stored.display_name, stored.bio) == ("Ada King", "Analyst of engines.")

    def test_bad_name_is_shown_next_to_the_field_and_nothing_changes(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        sign_in(client, "ada@example.org")
        answer = _post(
            client, "/me", {"display_name": "x" * 81, "bio": "Kept on the page"}, form_page="/me"
        )
        assert answer.status_code == 422
        assert 'id="e-display_name"' in answer.text
        assert "Kept on the page" in answer.text
        assert _stored_peer(database, "ada@example.org").bio == ""

    def test_anonymous_post_is_sent_to_sign_in(
        self, client: TestClient, count_rows: CountRows
    ) -> None:
        answer = _post(client, "/me", {"display_name": "Nobody"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=%2Fme"


class TestTokensPage:
    def test_anonymous_is_sent_to_sign_in(self, client: TestClient) -> None:
        answer = client.get("/me/tokens", follow_redirects=False)
        assert answer.headers["location"] == "/sign-in?next=" + quote("/me/tokens", safe="")

    def test_new_token_is_shown_once_and_works(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        sign_in(client, "ada@example.org")
        answer = _post(
            client, "/me/tokens", {"name": "laptop", "scope": "read-write"}, form_page="/me/tokens"
        )
        assert answer.status_code == 201
        assert answer.headers["cache-control"] == "no-store"
        with database.transaction(write=False) as session:
            stored = session.scalars(select(ApiToken)).one()
        start = answer.text.index('<p class="secret"><code id="new-token">') + 39
        secret = answer.text[start : answer.text.index("</code>", start)]
        assert stored.prefix == secret[: len(stored.prefix)]
        assert stored.scope == "read-write"
        assert secret not in client.get("/me/tokens").text
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    def test_missing_name_is_shown_next_to_the_field(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        sign_in(client, "ada@example.org")
        answer = _post(client, "/me/tokens", {"name": "", "scope": "read"}, form_page="/me/tokens")
        assert answer.status_code == 422
        assert 'id="e-name"' in answer.text
        assert count_rows(ApiToken) == 0

    def test_revoke_stops_the_token(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        with database.transaction() as session:
            secret = make_token(session, ada)
            token_id = session.scalars(select(ApiToken.id)).one()
        sign_in(client, "ada@example.org")
        answer = _post(client, f"/me/tokens/{token_id}/revoke", {}, form_page="/me/tokens")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/me/tokens?revoked={token_id}"
        assert "is revoked" in client.get(answer.headers["location"]).text
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401

    def test_another_peers_token_is_not_found(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        with database.transaction() as session:
            grace = service.sign_up(
                session,
                email="grace@example.org",
                display_name="Grace",
                password=DEFAULT_PASSWORD,
                now=ada.created_at,
            )
            graces = make_token(session, grace)
            graces_id = session.scalars(select(ApiToken.id)).one()
        sign_in(client, "ada@example.org")
        answer = _post(client, f"/me/tokens/{graces_id}/revoke", {}, form_page="/me/tokens")
        assert answer.status_code == 404
        assert f"API token {graces_id} does not exist among your tokens." in answer.text
        assert client.get("/api/v1/me", headers=bearer(graces)).status_code == 200


class TestPublicProfilePage:
    def test_shows_name_and_bio_never_email(
        self, client: TestClient, ada: Peer, database: Database
    ) -> None:
        with database.transaction() as session:
            service.update_profile(
                session, session.merge(ada), bio="Poet of *numbers* <script>alert(1)</script>"
            )
        page = client.get(f"/peers/{ada.id}")
        assert page.status_code == 200
        assert "Ada Lovelace" in page.text
        assert "<em>numbers</em>" in page.text
        assert "<script>alert" not in page.text
        assert "ada@example.org" not in page.text

    def test_unknown_peer_is_a_not_found_page(self, client: TestClient) -> None:
        page = client.get("/peers/999", headers={"accept": "text/html"})
        assert page.status_code == 404
        assert "Peer 999 does not exist." in page.text

    def test_unknown_peer_is_a_not_found_page_when_signed_in(
        self, client: TestClient, ada: Peer
    ) -> None:
        sign_in(client, "ada@example.org")
        page = client.get("/peers/999", headers={"accept": "text/html"})
        assert page.status_code == 404
        assert "Ada Lovelace" in page.text
