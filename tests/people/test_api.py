"""The peers API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from potluck.idempotency import IdempotencyRecord
from potluck.people import rules, service
from potluck.people.models import ApiToken, Peer, SignInFailure
from tests.people.conftest import CountRows
from tests.people.factories import DEFAULT_PASSWORD, bearer, csrf_token, make_token, sign_in

SIGN_UP = {"email": "grace@example.org", "display_name": "Grace", "password": DEFAULT_PASSWORD}


def _token(database: Database, peer: Peer, scope: str = "read-write") -> str:
    with database.transaction() as session:
        return make_token(session, peer, scope=scope)


def _stored_peer(database: Database, peer_id: int) -> Peer:
    with database.transaction(write=False) as session:
        return service.get_peer(session, peer_id)


class TestSignUp:
    def test_answers_the_new_peer_without_the_password_hash(
        self, client: TestClient, database: Database
    ) -> None:
        answer = client.post("/api/v1/peers", json=SIGN_UP)
        assert answer.status_code == 201
        body = answer.json()
        assert body == {
            "id": body["id"],
            "email": "grace@example.org",
            "display_name": "Grace",
            "bio": "",
            "joined_at": "2026-01-05T09:00:00Z",
        }
        assert answer.headers["location"].endswith(f"/api/v1/peers/{body['id']}")
        assert _stored_peer(database, body["id"]).password_hash.startswith("$argon2id$")

    def test_email_is_stored_lower_cased_and_name_tidied(self, client: TestClient) -> None:
        answer = client.post(
            "/api/v1/peers",
            json={**SIGN_UP, "email": "  Grace@Example.ORG ", "display_name": " Grace   Hopper "},
        )
        assert answer.status_code == 201
        assert answer.json()["email"] == "grace@example.org"
        assert answer.json()["display_name"] == "Grace Hopper"

    def test_duplicate_email_is_a_conflict_naming_it(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        answer = client.post("/api/v1/peers", json={**SIGN_UP, "email": "ADA@example.org"})
        assert answer.status_code == 409
        assert answer.json()["error"] == "Conflict"
        assert "ada@example.org" in answer.json()["detail"]
        assert count_rows(Peer) == 1

    def test_bad_email_writes_nothing(self, client: TestClient, count_rows: CountRows) -> None:
        answer = client.post("/api/v1/peers", json={**SIGN_UP, "email": "grace.example.org"})
        assert answer.status_code == 422
        assert answer.json() == {
            "error": "InvalidInput",
            "detail": "'grace.example.org' is not an email address.",
            "field": "email",
        }
        assert count_rows(Peer) == 0

    def test_short_password_writes_nothing(self, client: TestClient, count_rows: CountRows) -> None:
        answer = client.post("/api/v1/peers", json={**SIGN_UP, "password": "short"})
        assert answer.status_code == 422
        assert answer.json()["field"] == "password"
        assert "at least 10 characters" in answer.json()["detail"]
        assert count_rows(Peer) == 0

    def test_control_characters_are_refused_not_stored(
        self, client: TestClient, count_rows: CountRows
    ) -> None:
        # PostgreSQL refuses NUL in text; this must be a 422, never a 500.
        answer = client.post("/api/v1/peers", json={**SIGN_UP, "display_name": "Gr\x00ace"})
        assert answer.status_code == 422
        assert answer.json()["field"] == "display_name"
        assert count_rows(Peer) == 0


class TestExchangeCredentials:
    def test_right_password_gives_a_token_shown_once(self, client: TestClient, ada: Peer) -> None:
        answer = client.post(
            "/api/v1/auth/tokens",
            json={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "name": "backup"},
        )
        assert answer.status_code == 201
        assert answer.headers["Cache-Control"] == "no-store"
        created = answer.json()
        assert created["secret"].startswith(rules.TOKEN_PREFIX)
        assert created["scope"] == "read"
        assert created["prefix"] == created["secret"][: rules.TOKEN_SHOWN_LENGTH]
        listing = client.get("/api/v1/me/tokens", headers=bearer(created["secret"]))
        assert listing.status_code == 200
        assert [token["name"] for token in listing.json()] == ["backup"]
        assert created["secret"] not in listing.text

    def test_wrong_password_and_unknown_email_read_the_same(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        wrong_password = client.post(
            "/api/v1/auth/tokens",
            json={"email": "ada@example.org", "password": "not her password", "name": "x"},
        )
        unknown_email = client.post(
            "/api/v1/auth/tokens",
            json={"email": "nobody@example.org", "password": DEFAULT_PASSWORD, "name": "x"},
        )
        assert wrong_password.status_code == unknown_email.status_code == 401
        assert wrong_password.json() == unknown_email.json()
        assert wrong_password.json() == {
            "error": "WrongCredentials",
            "detail": service.WRONG_CREDENTIALS,
        }
        # The 401 still commits the failures, or guessing could never be throttled.
        assert count_rows(SignInFailure) == 2
        assert count_rows(ApiToken) == 0

    def test_too_many_failures_are_throttled_until_the_window_passes(
        self, client: TestClient, ada: Peer, clock: FrozenClock, app_settings: Settings
    ) -> None:
        wrong = {"email": "ada@example.org", "password": "guess", "name": "x"}
        right = {**wrong, "password": DEFAULT_PASSWORD}
        for _ in range(app_settings.sign_in_attempts):
            assert client.post("/api/v1/auth/tokens", json=wrong).status_code == 401
        clock.advance(timedelta(minutes=5))
        throttled = client.post("/api/v1/auth/tokens", json=right)
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "SignInThrottled"
        assert "try again in 10 minutes (after 09:15 UTC)" in throttled.json()["detail"]
        assert throttled.headers["retry-after"] == "600"
        clock.advance(timedelta(minutes=10))
        assert client.post("/api/v1/auth/tokens", json=right).status_code == 201

    def test_a_missing_token_name_costs_no_attempt(
        self, client: TestClient, ada: Peer, count_rows: CountRows
    ) -> None:
        answer = client.post(
            "/api/v1/auth/tokens",
            json={"email": "ada@example.org", "password": "a guess", "name": " "},
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "name"
        assert count_rows(SignInFailure) == 0

    def test_unknown_scope_is_refused(self, client: TestClient, ada: Peer) -> None:
        answer = client.post(
            "/api/v1/auth/tokens",
            json={
                "email": "ada@example.org",
                "password": DEFAULT_PASSWORD,
                "name": "x",
                "scope": "admin",
            },
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "scope"


class TestOwnProfile:
    def test_a_token_sees_its_peer_with_email(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        answer = client.get("/api/v1/me", headers=bearer(_token(database, ada, "read")))
        assert answer.status_code == 200
        assert answer.json()["email"] == "ada@example.org"
        assert "password_hash" not in answer.json()

    def test_anonymous_is_told_to_sign_in(self, client: TestClient) -> None:
        answer = client.get("/api/v1/me")
        assert answer.status_code == 401
        assert answer.json()["error"] == "NotSignedIn"

    def test_a_browser_session_counts(self, client: TestClient, ada: Peer) -> None:
        sign_in(client, "ada@example.org")
        assert client.get("/api/v1/me").json()["display_name"] == "Ada Lovelace"


class TestChangeProfile:
    def test_read_write_token_changes_name_and_bio(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        answer = client.patch(
            "/api/v1/me",
            json={"display_name": "Ada  King", "bio": "Wrote the *first* program.\r\n"},
            headers=bearer(_token(database, ada)),
        )
        assert answer.status_code == 200
        stored = _stored_peer(database, ada.id)
        assert (stored.display_name, stored.bio) == ("Ada King", "Wrote the *first* program.")

    def test_a_field_left_out_stays(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        answer = client.patch(
            "/api/v1/me", json={"bio": "Hello"}, headers=bearer(_token(database, ada))
        )
        assert answer.json()["display_name"] == "Ada Lovelace"
        assert answer.json()["bio"] == "Hello"

    def test_read_only_token_is_refused_and_nothing_changes(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        answer = client.patch(
            "/api/v1/me",
            json={"display_name": "Mallory"},
            headers=bearer(_token(database, ada, "read")),
        )
        assert answer.status_code == 403
        assert "read-only" in answer.json()["detail"]
        assert _stored_peer(database, ada.id).display_name == "Ada Lovelace"

    def test_one_bad_field_changes_neither(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        answer = client.patch(
            "/api/v1/me",
            json={"display_name": "   ", "bio": "New bio"},
            headers=bearer(_token(database, ada)),
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "display_name"
        assert _stored_peer(database, ada.id).bio == ""

    def test_browser_needs_the_csrf_header(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        sign_in(client, "ada@example.org")
        refused = client.patch("/api/v1/me", json={"display_name": "Forged"})
        assert refused.status_code == 403
        assert refused.json()["error"] == "CsrfFailed"
        assert _stored_peer(database, ada.id).display_name == "Ada Lovelace"
        allowed = client.patch(
            "/api/v1/me",
            json={"display_name": "Ada Byron"},
            headers={"X-CSRF-Token": csrf_token(client, "/me")},
        )
        assert allowed.status_code == 200
        assert _stored_peer(database, ada.id).display_name == "Ada Byron"


class TestListTokens:
    def test_shows_what_tells_tokens_apart_and_never_a_secret(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        secret = _token(database, ada, "read")
        answer = client.get("/api/v1/me/tokens", headers=bearer(secret))
        assert answer.status_code == 200
        (listed,) = answer.json()
        assert set(listed) == {
            "id",
            "name",
            "prefix",
            "scope",
            "created_at",
            "last_used_at",
            "revoked_at",
        }
        assert listed["prefix"] == secret[: rules.TOKEN_SHOWN_LENGTH]
        assert secret not in answer.text

    def test_records_when_a_token_was_last_used(
        self, client: TestClient, database: Database, ada: Peer, clock: FrozenClock
    ) -> None:
        secret = _token(database, ada, "read")
        clock.advance(timedelta(hours=2))
        client.get("/api/v1/me", headers=bearer(secret))
        with database.transaction(write=False) as session:
            token = session.scalars(select(ApiToken)).one()
        assert token.last_used_at == clock.now()

    def test_only_the_callers_tokens(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        with database.transaction() as session:
            grace = service.sign_up(
                session,
                email="grace@example.org",
                display_name="Grace",
                password=DEFAULT_PASSWORD,
                now=ada.created_at,
            )
            make_token(session, grace)
        answer = client.get("/api/v1/me/tokens", headers=bearer(_token(database, ada)))
        assert len(answer.json()) == 1


class TestCreateToken:
    def test_secret_is_shown_once_and_stored_only_hashed(
        self, client: TestClient, database: Database, ada: Peer
    ) -> None:
        answer = client.post(
            "/api/v1/me/tokens",
            json={"name": "ci", "scope": "read-write"},
            headers=bearer(_token(database, ada)),
        )
        assert answer.status_code == 201
        secret = answer.json()["secret"]
        with database.transaction(write=False) as session:
            stored = session.scalars(select(ApiToken).where(ApiToken.name == "ci")).one()
        columns = [str(getattr(stored, c.key)) for c in ApiToken.__table__.columns]
        assert not any(secret in value for value in columns)
        assert stored.secret_hash == rules.secret_hash(secret)
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    def test_a_retried_creation_never_shows_or_keeps_the_secret_again(
        self, client: TestClient, database: Database, ada: Peer, count_rows: CountRows
    ) -> None:
        headers = {**bearer(_token(database, ada)), "Idempotency-Key": "new-token"}
        body = {"name": "ci", "scope": "read-write"}
        first = client.post("/api/v1/me/tokens", json=body, headers=headers)
        assert first.status_code == 201
        assert first.headers["Cache-Control"] == "no-store"
        secret = first.json()["secret"]
        again = client.post("/api/v1/me/tokens", json=body, headers=headers)
        assert again.status_code == 409
        assert "shown only once" in again.json()["detail"]
        assert secret not in again.text
        assert count_rows(ApiToken) == 2
        with database.transaction(write=False) as session:
            kept = session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.key == "new-token")
            ).one()
        assert kept.status_code == 201
        assert secret.encode() not in (kept.response_body or b"")
        assert secret not in str(kept.response_headers)

    def test_read_only_token_cannot_make_tokens(
        self, client: TestClient, database: Database, ada: Peer, count_rows: CountRows
    ) -> None:
        answer = client.post(
            "/api/v1/me/tokens",
            json={"name": "escalate", "scope": "read-write"},
            headers=bearer(_token(database, ada, "read")),
        )
        assert answer.status_code == 403
        assert count_rows(ApiToken) == 1

    def test_name_is_required(
        self, client: TestClient, database: Database, ada: Peer, count_rows: CountRows
    ) -> None:
        answer = client.post(
            "/api/v1/me/tokens", json={"name": "  "}, headers=bearer(_token(database, ada))
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "name"
        assert count_rows(ApiToken) == 1


class TestRevokeToken:
    def test_revoked_token_stops_working(
        self, client: TestClient, database: Database, ada: Peer, clock: FrozenClock
    ) -> None:
        doomed = _token(database, ada, "read")
        with database.transaction(write=False) as session:
            doomed_id = session.scalars(select(ApiToken.id)).one()
        answer = client.delete(
            f"/api/v1/me/tokens/{doomed_id}", headers=bearer(_token(database, ada))
        )
        assert answer.status_code == 200
        assert answer.json()["revoked_at"] == "2026-01-05T09:00:00Z"
        refused = client.get("/api/v1/me", headers=bearer(doomed))
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]

    def test_another_peers_token_is_not_found(
        self, client: TestClient, database: Database, ada: Peer
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
        answer = client.delete(
            f"/api/v1/me/tokens/{graces_id}", headers=bearer(_token(database, ada))
        )
        assert answer.status_code == 404
        assert client.get("/api/v1/me", headers=bearer(graces)).status_code == 200


class TestPublicProfile:
    def test_shows_name_bio_and_joining_never_email(self, client: TestClient, ada: Peer) -> None:
        answer = client.get(f"/api/v1/peers/{ada.id}")
        assert answer.status_code == 200
        assert answer.json() == {
            "id": ada.id,
            "display_name": "Ada Lovelace",
            "bio": "",
            "joined_at": "2026-01-05T09:00:00Z",
        }
        assert "ada@example.org" not in answer.text

    def test_unknown_peer_is_not_found(self, client: TestClient) -> None:
        answer = client.get("/api/v1/peers/999")
        assert answer.status_code == 404
        assert answer.json()["detail"] == "Peer 999 does not exist."


class TestOpenApi:
    def test_routes_declare_their_errors(self, client: TestClient) -> None:
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert {"409", "422"} <= set(paths["/api/v1/peers"]["post"]["responses"])
        exchange = paths["/api/v1/auth/tokens"]["post"]["responses"]
        assert exchange["401"]["description"] == "WrongCredentials"
        assert exchange["429"]["description"] == "SignInThrottled"
        assert {"401", "403", "404"} <= set(
            paths["/api/v1/me/tokens/{token_id}"]["delete"]["responses"]
        )
