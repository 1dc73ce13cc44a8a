"""Fresh, migrated databases for each test: a copied SQLite file or a PostgreSQL clone.

The schema is built once per test run by the migrations (``alembic upgrade head``) into a
template; each test then gets its own copy, so tests may commit, open several connections,
and meet the real triggers and constraints.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from potluck.db import Database
from potluck.migrate import upgrade
from tests.support.postgres import Cluster

TEMPLATE = "potluck_template"
_counter = itertools.count()


class SqliteFactory:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.sqlite3"
        upgrade(f"sqlite:///{self.template}")

    @contextmanager
    def database(self) -> Iterator[Database]:
        path = self.folder / f"test-{next(_counter)}.sqlite3"
        shutil.copyfile(self.template, path)
        database = Database(f"sqlite:///{path}")
        try:
            yield database
        finally:
            database.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresFactory:
    def __init__(self, cluster: Cluster, worker: str) -> None:
        self.cluster = cluster
        self.prefix = f"potluck_{worker}"
        self.template = f"{self.prefix}_template"
        cluster.execute(f"DROP DATABASE IF EXISTS {self.template}")
        cluster.execute(f"CREATE DATABASE {self.template}")
        upgrade(cluster.database_url(self.template))

    @contextmanager
    def database(self) -> Iterator[Database]:
        name = f"{self.prefix}_{next(_counter)}"
        self.cluster.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        database = Database(self.cluster.database_url(name))
        try:
            yield database
        finally:
            database.dispose()
            self.cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
