"""What the books benchmarks share: throwaway databases on either engine and seeded books."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from potluck.db import Database
from potluck.ledger.service import accounts
from potluck.migrate import upgrade
from potluck.people.models import Peer
from potluck.projects.models import Project, Steward
from tests.support.postgres import throwaway_cluster

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def machine() -> str:
    return (
        f"{os.cpu_count()} CPU core(s), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}"
    )


def load() -> str:
    """The load average: on a shared machine, other work slows every wall-clock figure."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} core(s)"


@contextmanager
def sqlite_database() -> Iterator[Database]:
    folder = Path(tempfile.mkdtemp(prefix="potluck-bench-"))
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database() -> Iterator[Database]:
    with throwaway_cluster() as cluster:
        cluster.execute("DROP DATABASE IF EXISTS potluck_bench")
        cluster.execute("CREATE DATABASE potluck_bench")
        url = cluster.database_url("potluck_bench")
        upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@contextmanager
def database_for(engine: str) -> Iterator[Database]:
    factory = sqlite_database if engine == "sqlite" else postgres_database
    with factory() as database:
        yield database


@dataclass
class SeededBooks:
    project_id: int
    project_slug: str
    steward_id: int
    funds_id: int
    world_id: int
    given_ids: list[int]


def seed_books(database: Database, *, donors: int, commodity: str = "EUR") -> SeededBooks:
    """One project with funds at one fiscal host, ``donors`` peers with a given account each,
    and the outside world."""
    with database.transaction() as session:
        project = Project(
            slug="bench",
            name="Bench",
            summary="Benchmark project",
            description="",
            licence="MIT",
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(project)
        session.flush()
        custodian = accounts.create_custodian(
            session, name="Bench Host", kind="fiscal-host", now=NOW
        )
        funds = accounts.open_account(
            session,
            owner="project",
            purpose="funds",
            project_id=project.id,
            custodian_id=custodian.id,
            commodity=commodity,
            now=NOW,
        )
        world = accounts.world_account(session, commodity, now=NOW)
        peers = [
            Peer(
                email=f"donor{i}@bench.example",
                display_name=f"Donor {i}",
                password_hash="-",
                bio="",
                created_at=NOW,
            )
            for i in range(donors)
        ]
        session.add_all(peers)
        session.flush()
        session.add(Steward(project_id=project.id, peer_id=peers[0].id, started_at=NOW))
        given = [
            accounts.open_account(
                session,
                owner="peer",
                purpose="given",
                peer_id=peer.id,
                commodity=commodity,
                now=NOW,
            ).id
            for peer in peers
        ]
        return SeededBooks(project.id, project.slug, peers[0].id, funds.id, world.id, given)
