"""Storage: the engine for SQLite or PostgreSQL, the declarative base, and transactions.

SQLite runs in WAL mode with foreign keys on and a busy timeout. A transaction that will
write starts with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead
of failing when one upgrades a read lock; read-only transactions stay deferred.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, TextClause, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
# AnyIO's default number of worker threads, each of which may hold a connection.
SQLITE_POOL_SIZE = 40
# Per server process; two processes stay within PostgreSQL's default 100 connections.
POSTGRES_POOL_SIZE = 20
POSTGRES_POOL_OVERFLOW = 20
SQLITE_CHECKPOINT_PAGES = 10_000
SQLITE_CACHE_KIB = 32 * 1024
WRITE = "potluck_write"


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"Refusing to store a naive datetime {value!r}; use the clock."
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class _SqliteConnection(sqlite3.Connection):
    """A connection that lets the next writer of its process in as soon as it commits or
    rolls back (see ``_configure_sqlite``)."""

    writers: threading.Lock
    holds_write_lock = False

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_next_writer_in()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_next_writer_in()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_next_writer_in()

    def _let_next_writer_in(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.writers.release()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if is_sqlite(url):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "factory": _SqliteConnection,
            },
            # Connections are cheap and a thread waiting for one may hold what the others
            # need: keep one per worker thread and never make a thread wait for a connection.
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=-1,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Opening a PostgreSQL connection costs far more than a request: keep as many as the
    # worker threads use at once (a connection beyond the pool is closed when given back).
    return create_engine(
        url,
        echo=echo,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_POOL_OVERFLOW,
        pool_pre_ping=True,
        # The driver prepares a statement it has run five times, and PostgreSQL may then
        # keep one generic plan for it, chosen without the values: planned while a table was
        # small (a fresh instance, before autovacuum has analysed it), "id = ANY($1)" stays a
        # sequential scan as the books grow. Planning each run with its values costs a tenth
        # of a millisecond and keeps index lookups index lookups.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )


def _configure_sqlite(engine: Engine) -> None:
    # SQLite lets one writer in at a time; the others retry on the busy timeout, sleeping
    # between tries for longer and longer (up to 100 ms), so the lock sits free while they
    # sleep. The writers of one process queue here instead and enter as soon as it is free.
    writers = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.writers = writers
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint copies the write-ahead log back into the database and syncs it, which
        # stalls the writer that triggers it; checkpointing every ~40 MB instead of every 4 MB
        # makes those stalls ten times rarer for the same work.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        # A 32 MiB page cache (the default is 2 MiB) keeps the books' indexes in memory.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE):
            dbapi_connection: Any = connection.connection.dbapi_connection
            if not writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
                msg = "database is locked (waited for this process's other writers)"
                raise sqlite3.OperationalError(msg)
            dbapi_connection.holds_write_lock = True
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection._let_next_writer_in()
                raise
        else:
            connection.exec_driver_sql("BEGIN")


AfterCommit = Callable[[], None]


def after_commit(session: Session, action: AfterCommit) -> None:
    """Run ``action`` once the session's transaction commits; drop it on rollback."""
    session.info.setdefault("after_commit", []).append(action)


class Database:
    """One database: its engine and the sessions that work on it."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._write_engine = self.engine.execution_options(**{WRITE: True})
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, write: bool = True) -> Session:
        return (self._writers if write else self._readers)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error, then run after-commit."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        else:
            actions: list[AfterCommit] = session.info.pop("after_commit", [])
        finally:
            session.info.pop("after_commit", None)
            session.close()
        for action in actions:
            action()

    @contextmanager
    def connection(self, *, write: bool = True) -> Iterator[Connection]:
        """One unit of work on a bare connection, for bookkeeping that needs no ORM (and none
        of its cost): commit on success, roll back on any error."""
        with (self._write_engine if write else self.engine).begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def append_only_ddl(dialect: str, table: str) -> list[str]:
    """Statements that make the database itself refuse UPDATE and DELETE on ``table``."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    function = f"{table}_append_only"
    return [
        (
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP; END $$"
        ),
        (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        ),
    ]


def drop_append_only_ddl(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for verb in ("update", "delete")]
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_append_only()",
    ]


def one_of(
    session: Session, column: str, values: Iterable[Any], *, name: str = "values"
) -> TextClause:
    """``column IN values`` as one bound parameter called ``name``: batches name thousands of
    ids, and a placeholder each would cost more than the lookup. ``column`` is a qualified
    column name written in the code (``payments.id``), never input."""
    if session.get_bind().dialect.name == "postgresql":
        return text(f"{column} = ANY(:{name})").bindparams(**{name: list(values)})
    return text(f"{column} IN (SELECT value FROM json_each(:{name}))").bindparams(  # noqa: S608
        **{name: json.dumps(list(values))}
    )
