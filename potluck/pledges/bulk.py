"""Many rows at once: how payday writes and looks up hundreds of thousands of them.

A payday stores a million charges, starts a hundred thousand payments with a million lines and
reads them all back. Going through the ORM, or a placeholder per value, would cost more than
the databases do, so these go through the driver itself (COPY on PostgreSQL, executemany on
SQLite) and pass a list of values as one bound parameter (an array on PostgreSQL, JSON on
SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from potluck.ledger.rules import time_text

T = TypeVar("T")
_FETCH = 20_000


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``table`` through the driver.

    ``table`` and ``columns`` are this package's own names, never input. On SQLite, times are
    written in the text form SQLAlchemy itself uses for them."""
    names = ", ".join(columns)
    driver: Any = session.connection().connection.driver_connection
    if is_postgresql(session):
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, _with_time_text(rows))
    finally:
        cursor.close()


def execute_many(session: Session, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """Run ``statement`` once per row through the driver: an UPDATE of a hundred thousand
    rows costs what the database does, not SQLAlchemy's processing of each parameter set.

    ``statement`` is this package's own SQL with ``?`` placeholders, never input; on SQLite,
    times are written in the text form SQLAlchemy itself uses for them."""
    driver: Any = session.connection().connection.driver_connection
    if is_postgresql(session):
        with driver.cursor() as cursor:
            cursor.executemany(statement.replace("?", "%s"), list(rows))
        return
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, _with_time_text(rows))
    finally:
        cursor.close()


def _with_time_text(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """``rows`` with their times as text; a batch shares a few times, each formatted once.

    The rows of one statement hold one column's values in one place, so only the columns that
    hold a time or nothing in the first row are looked at in the others; rows with neither (a
    million payment lines) go to the driver as they are, without a Python step each."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return iter(())
    maybe_times = [
        index for index, value in enumerate(first) if value is None or isinstance(value, datetime)
    ]
    if not maybe_times:
        return chain((first,), remaining)
    return _times_as_text(chain((first,), remaining), maybe_times)


def _times_as_text(
    rows: Iterable[Sequence[Any]], maybe_times: Sequence[int]
) -> Iterator[Sequence[Any]]:
    texts: dict[datetime, str] = {}
    for row in rows:
        values = list(row)
        for index in maybe_times:
            value = values[index]
            if isinstance(value, datetime):
                text_of = texts.get(value)
                if text_of is None:
                    text_of = texts[value] = time_text(value)
                values[index] = text_of
        yield values


def raw_rows(session: Session, statement: Select[*tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Run ``statement`` and yield its rows as plain tuples, straight from the driver.

    Paydays and previews read thousands of rows at a time, and SQLAlchemy's per-row result
    processing would cost more than the database does. Values come as the driver gives them:
    on SQLite, timestamps are text.
    """
    for rows in raw_batches(session, statement):
        yield from rows


def raw_batches(
    session: Session, statement: Select[*tuple[Any, ...]]
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """:func:`raw_rows`, thousands of rows at a time: for a loop over a million rows, which
    would otherwise pay for a generator's step per row."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        result = connection.execute(statement)
        while True:
            part = result.fetchmany(_FETCH)
            if not part:
                return
            yield [tuple(row) for row in part]
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), parameters)
        while True:
            rows = cursor.fetchmany(_FETCH)
            if not rows:
                break
            yield rows
    finally:
        cursor.close()


def chunks(values: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
