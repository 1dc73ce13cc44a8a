"""The peers operations under the interfaces: throttling, sessions and races, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import Conflict
from potluck.people import service
from potluck.people.models import Peer, SignInFailure
from tests.people.conftest import CountRows
from tests.people.factories import DEFAULT_PASSWORD, make_peer

THROTTLE = service.Throttle(attempts=3, window=timedelta(minutes=10))


def _attempt(
    database: Database, clock: FrozenClock, email: str, password: str, address: str
) -> Peer:
    with database.transaction() as session:
        try:
            return service.authenticate(
                session,
                email=email,
                password=password,
                address=address,
                now=clock.now(),
                throttle=THROTTLE,
            )
        except service.WrongCredentials:
            # As the request boundary does: the failure is kept although the call failed.
            session.commit()
            raise


class TestAuthenticate:
    def test_throttles_one_email_from_any_address(
        self, database: Database, clock: FrozenClock, ada: Peer
    ) -> None:
        for number in range(THROTTLE.attempts):
            with pytest.raises(service.WrongCredentials):
                _attempt(database, clock, "ada@example.org", "guess", f"10.0.0.{number}")
        with pytest.raises(service.SignInThrottled):
            _attempt(database, clock, "ada@example.org", DEFAULT_PASSWORD, "10.9.9.9")

    def test_throttles_one_address_across_emails(
        self, database: Database, clock: FrozenClock, ada: Peer
    ) -> None:
        for number in range(THROTTLE.attempts):
            with pytest.raises(service.WrongCredentials):
                _attempt(database, clock, f"guess{number}@example.org", "guess", "10.0.0.1")
        with pytest.raises(service.SignInThrottled):
            _attempt(database, clock, "ada@example.org", DEFAULT_PASSWORD, "10.0.0.1")
        assert (
            _attempt(database, clock, "ada@example.org", DEFAULT_PASSWORD, "10.0.0.2").id == ada.id
        )

    def test_failures_age_out_one_at_a_time(
        self, database: Database, clock: FrozenClock, ada: Peer
    ) -> None:
        for _ in range(THROTTLE.attempts):
            with pytest.raises(service.WrongCredentials):
                _attempt(database, clock, "ada@example.org", "guess", "10.0.0.1")
            clock.advance(timedelta(minutes=2))
        # Failures at 0, 2 and 4 minutes; now is 6. The first is a window old at 10.
        with pytest.raises(service.SignInThrottled) as throttled:
            _attempt(database, clock, "ada@example.org", DEFAULT_PASSWORD, "10.0.0.1")
        assert throttled.value.retry_at == clock.now() + timedelta(minutes=4)
        assert "try again in 4 minutes" in throttled.value.detail
        clock.advance(timedelta(minutes=4))
        assert (
            _attempt(database, clock, "ada@example.org", DEFAULT_PASSWORD, "10.0.0.1").id == ada.id
        )

    def test_throttled_attempts_are_not_recorded(
        self, database: Database, clock: FrozenClock, ada: Peer, count_rows: CountRows
    ) -> None:
        for _ in range(THROTTLE.attempts + 2):
            with pytest.raises((service.WrongCredentials, service.SignInThrottled)):
                _attempt(database, clock, "ada@example.org", "guess", "10.0.0.1")
        # Otherwise a patient guesser would keep the account locked forever.
        assert count_rows(SignInFailure) == THROTTLE.attempts

    def test_junk_in_the_email_is_recorded_safely(
        self, database: Database, clock: FrozenClock, count_rows: CountRows
    ) -> None:
        with pytest.raises(service.WrongCredentials):
            _attempt(database, clock, "ada\x00@example.org" + "x" * 400, "guess", "10.0.0.1")
        with database.transaction(write=False) as session:
            recorded = session.scalars(select(SignInFailure.email)).one()
        assert recorded.startswith("ada@example.org")
        assert len(recorded) == 254

    def test_throttle_needs_a_real_limit(self) -> None:
        with pytest.raises(ValueError, match="at least one attempt"):
            service.Throttle(attempts=0, window=timedelta(minutes=1))


class TestSignUpRace:
    def test_losing_a_race_for_an_email_is_a_conflict_not_a_crash(
        self,
        database: Database,
        clock: FrozenClock,
        monkeypatch: pytest.MonkeyPatch,
        count_rows: CountRows,
    ) -> None:
        with database.transaction() as session:
            make_peer(session, email="ada@example.org")
        # As if another request inserted the same email between our check and our insert.
        monkeypatch.setattr(service, "find_peer_by_email", lambda _session, _email: None)
        with database.transaction() as session:
            with pytest.raises(Conflict, match=r"ada@example\.org"):
                service.sign_up(
                    session,
                    email="ada@example.org",
                    display_name="Impostor",
                    password=DEFAULT_PASSWORD,
                    now=clock.now(),
                )
            # The transaction is still usable for whatever the request does next.
            make_peer(session, email="grace@example.org")
        assert count_rows(Peer) == 2


class TestSessions:
    def test_expire_after_their_lifetime(
        self, database: Database, clock: FrozenClock, ada: Peer
    ) -> None:
        with database.transaction() as session:
            secret = service.start_session(
                session, ada, now=clock.now(), lifetime=timedelta(days=1)
            )
        with database.transaction(write=False) as session:
            signed_in = service.peer_for_session(session, secret, now=clock.now())
            assert signed_in is not None
            assert signed_in.id == ada.id
            later = clock.now() + timedelta(days=1)
            assert service.peer_for_session(session, secret, now=later) is None

    def test_unknown_secret_is_nobody(self, database: Database, clock: FrozenClock) -> None:
        with database.transaction(write=False) as session:
            assert service.peer_for_session(session, "made-up", now=clock.now()) is None
