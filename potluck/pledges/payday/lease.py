"""One payday runner at a time, however many servers share the database.

The runner holds a row of ``payday_leases`` until an expiry it keeps pushing forward. Taking
the lease is one conditional UPDATE (compare-and-swap on the holder), which PostgreSQL's row
lock and SQLite's single writer both make atomic. Every write of the payday renews the lease
in its own transaction, and refuses to commit if the lease was lost, so a runner that stalled
past its expiry can never write beside the one that took over.

A runner killed outright leaves its lease behind. Another runner on the same machine sees
that the holder's process is gone and takes over at once; elsewhere it waits for the expiry.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from potluck.clock import Clock
from potluck.db import Database
from potluck.errors import Conflict
from potluck.ledger.service.accounts import insert_ignoring_conflict
from potluck.pledges.models import PaydayLease

PAYDAY = "payday"
TTL = timedelta(minutes=10)
_NEVER = "nobody"

LEASES: Table = PaydayLease.__table__  # type: ignore[assignment]


class LeaseLost(Conflict):
    """Another runner holds the payday lease now; this one must stop writing."""


class PaydayBusy(Conflict):
    """Another runner is doing the payday right now."""


def new_holder() -> str:
    """``host:pid:random``: who holds a lease, and whether their process still lives."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _gone(holder: str) -> bool:
    """Whether ``holder`` was a process on this machine that no longer runs."""
    host, _, rest = holder.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    """The payday lease as one runner sees it."""

    def __init__(self, database: Database, clock: Clock, *, name: str = PAYDAY) -> None:
        self.database = database
        self.clock = clock
        self.name = name
        self.holder = new_holder()

    def acquire(self) -> bool:
        """Take the lease if it is free, expired, ours, or left by a dead local process."""
        now = self.clock.now()
        with self.database.transaction() as session:
            insert_ignoring_conflict(
                session,
                LEASES,
                {"name": self.name, "holder": _NEVER, "expires_at": now - timedelta(seconds=1)},
            )
            current = session.execute(
                select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == self.name)
            ).one()
            free = (
                current.holder in (self.holder, _NEVER)
                or current.expires_at <= now
                or _gone(current.holder)
            )
            if not free:
                return False
            taken = session.execute(
                update(LEASES)
                .where(LEASES.c.name == self.name, LEASES.c.holder == current.holder)
                .values(holder=self.holder, expires_at=now + TTL)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]

    def renew(self, session: Session) -> None:
        """Push the expiry forward inside ``session``'s transaction; raise LeaseLost (so the
        transaction rolls back) if another runner holds the lease."""
        now = self.clock.now()
        renewed = session.execute(
            update(LEASES)
            .where(LEASES.c.name == self.name, LEASES.c.holder == self.holder)
            .values(expires_at=now + TTL)
        )
        if not renewed.rowcount:  # type: ignore[attr-defined]
            raise LeaseLost(
                "Another runner took over the payday; this one stopped without writing more."
            )

    def refresh(self) -> None:
        """Renew the lease in a transaction of its own, before a long read."""
        with self.database.transaction() as session:
            self.renew(session)

    def release(self) -> None:
        with self.database.transaction() as session:
            session.execute(
                update(LEASES)
                .where(LEASES.c.name == self.name, LEASES.c.holder == self.holder)
                .values(holder=_NEVER, expires_at=self.clock.now() - timedelta(seconds=1))
            )

    def holder_now(self) -> str | None:
        """Who holds the lease and has not let it expire, if anyone."""
        now = self.clock.now()
        with self.database.transaction(write=False) as session:
            row = session.execute(
                select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == self.name)
            ).one_or_none()
        if row is None or row.holder == _NEVER or row.expires_at <= now:
            return None
        return str(row.holder)
