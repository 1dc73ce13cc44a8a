"""Alembic environment: Potluck's metadata, either database, batch mode on SQLite."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from potluck.config import Settings
from potluck.db import make_engine
from potluck.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or Settings().resolved_database_url


PER_STATEMENT_REFERENCES = "ledger_transfers"
"""On PostgreSQL this table's foreign keys are checked by one trigger per statement instead
(revision 0006), so the comparison with the models leaves them out there."""


def _run(connection: Connection) -> None:
    dialect = connection.dialect.name

    def include(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        del name, reflected, compare_to
        return not (
            dialect == "postgresql"
            and type_ == "foreign_key_constraint"
            and item.table.name == PER_STATEMENT_REFERENCES
        )

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=dialect == "sqlite",
        compare_type=True,
        include_object=include,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
