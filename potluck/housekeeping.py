"""Housekeeping inside ``potluck serve``: a background thread that every few minutes ends the
holds whose timeout has passed, pays back what projects owe at a custodian from their funds
there (after money went back to a donor that the funds no longer held), and forgets what no
longer serves anyone — browser sessions that ended or expired, and failed sign-ins older than
the throttle's window.

Posting already expires the holds it touches; this ends the others on time, so that a project's
books never show money reserved by a hold whose time is up. Every step is safe to run at any
moment and on several servers at once: an expiry's transfer id is derived from its hold, and
deleting rows that are already gone deletes nothing. ``potluck housekeeping`` runs it once, for
instances that prefer cron.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_

from potluck.clock import Clock, SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.ledger.service import posting
from potluck.people.models import SignInFailure, WebSession
from potluck.pledges.payments import takeback

log = logging.getLogger("potluck.housekeeping")

EXPIRE_PER_TRANSACTION = 1000


@dataclass(frozen=True)
class Tidied:
    """What one round of housekeeping did."""

    holds_expired: int
    sessions_forgotten: int
    failures_forgotten: int
    debts_repaid: int = 0
    """Projects that paid back part of what they owed at a custodian (``takeback``)."""


def expire_due_holds(database: Database, *, now: datetime) -> int:
    """End every hold whose timeout is at or before ``now``, a thousand per transaction."""
    total = 0
    while True:
        with database.transaction() as session:
            ended = posting.expire_holds(session, now=now, limit=EXPIRE_PER_TRANSACTION)
        total += len(ended)
        if len(ended) < EXPIRE_PER_TRANSACTION:
            return total


def tidy(database: Database, *, now: datetime, sign_in_window: timedelta) -> Tidied:
    """One round: expire due holds, then forget dead sessions and old failed sign-ins."""
    expired = expire_due_holds(database, now=now)
    with database.transaction() as session:
        repaid = takeback.repay_owed(session, now=now)
    with database.transaction() as session:
        sessions = session.execute(
            delete(WebSession).where(
                or_(WebSession.expires_at <= now, WebSession.ended_at.is_not(None))
            )
        )
        # A failure older than the window no longer counts towards any throttle.
        failures = session.execute(
            delete(SignInFailure).where(SignInFailure.at <= now - sign_in_window)
        )
    return Tidied(
        holds_expired=expired,
        sessions_forgotten=int(sessions.rowcount),  # type: ignore[attr-defined]
        failures_forgotten=int(failures.rowcount),  # type: ignore[attr-defined]
        debts_repaid=repaid,
    )


class Housekeeper:
    """Runs :func:`tidy` every ``interval`` in a daemon thread until stopped."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock,
        interval: timedelta,
        sign_in_window: timedelta,
        owns_database: bool = False,
    ) -> None:
        self.database = database
        self.owns_database = owns_database
        self.clock = clock
        self.interval = interval
        self.sign_in_window = sign_in_window
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Tidied:
        tidied = tidy(self.database, now=self.clock.now(), sign_in_window=self.sign_in_window)
        if tidied.holds_expired:
            log.info("Expired %d hold(s) whose timeout had passed.", tidied.holds_expired)
        return tidied

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                # Everything here is retried at the next round; the server stays up.
                log.exception("Housekeeping failed; it runs again at the next round.")
            self._stop.wait(self.interval.total_seconds())

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.owns_database:
            self.database.dispose()


def start_housekeeping(settings: Settings) -> Housekeeper | None:
    """Start housekeeping for a server, unless ``POTLUCK_HOUSEKEEPING_SECONDS`` is 0."""
    if settings.housekeeping_seconds <= 0:
        return None
    keeper = Housekeeper(
        Database(settings.resolved_database_url),
        clock=SystemClock(),
        interval=timedelta(seconds=settings.housekeeping_seconds),
        sign_in_window=timedelta(seconds=settings.sign_in_window_seconds),
        owns_database=True,
    )
    keeper.start()
    return keeper
