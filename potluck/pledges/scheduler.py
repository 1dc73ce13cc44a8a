"""The scheduled payday inside ``potluck serve``: a background thread that runs each payday
once its period has ended.

Every server runs one; the payday lease lets only one of them work at a time, even with many
servers on one PostgreSQL, and a payday interrupted by a restart is finished by whichever
server looks next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from potluck.clock import Clock, SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.pledges.models import Payday
from potluck.pledges.payday import gateway
from potluck.pledges.payday.lease import PaydayBusy
from potluck.pledges.payday.run import PaydayOutcome, due, run_due_paydays
from potluck.pledges.settings import PledgeSettings

log = logging.getLogger("potluck.payday")


class PaydayScheduler:
    """Looks every ``settings.payday_check_seconds`` for a payday to run, and runs it."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock,
        settings: PledgeSettings,
        registry: gateway.ProviderRegistry,
        on_outcome: Callable[[PaydayOutcome], None] | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings
        self.registry = registry
        self.on_outcome = on_outcome
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def has_work(self) -> bool:
        """Whether a payday is unfinished or due: a cheap read, so that idle looks take no
        lease and write nothing."""
        with self.database.transaction(write=False) as session:
            unfinished = session.scalar(select(Payday.id).where(Payday.stage != "done").limit(1))
            return (
                unfinished is not None or due(session, self.clock.now(), self.settings) is not None
            )

    def run_once(self) -> list[PaydayOutcome]:
        """Run whatever paydays are due now; nothing if another runner is at it."""
        if not self.has_work():
            return []
        try:
            outcomes = run_due_paydays(
                self.database, clock=self.clock, settings=self.settings, registry=self.registry
            )
        except PaydayBusy:
            log.info("Another runner is doing the payday; looking again later.")
            return []
        for outcome in outcomes:
            if outcome.check_ok:
                log.info("Payday of %s done; the books agree with its charges.", outcome.period)
            else:
                log.error("Payday of %s done, but its self-check failed.", outcome.period)
            if self.on_outcome is not None:
                self.on_outcome(outcome)
        return outcomes

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                # A payday that fails half-way is finished by the next look; the server stays up.
                log.exception("The scheduled payday failed; it will be resumed at the next look.")
            self._stop.wait(self.settings.payday_check_seconds)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="payday-scheduler", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when asked to stop."""
        self._stop.wait(seconds)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop and wait for the current payday step to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def start_payday_scheduler(settings: Settings) -> PaydayScheduler | None:
    """Start the scheduled payday for a server, unless ``POTLUCK_PAYDAY_SCHEDULE`` is off."""
    pledge_settings = PledgeSettings()
    if not pledge_settings.payday_schedule:
        return None
    scheduler = PaydayScheduler(
        Database(settings.resolved_database_url),
        clock=SystemClock(),
        settings=pledge_settings,
        registry=gateway.ProviderRegistry.from_settings(),
    )
    scheduler.start()
    return scheduler
