"""The ``potluck`` command: serve the site, fill a demo instance, manage the database."""

from __future__ import annotations

from datetime import timedelta

import typer
import uvicorn
from rich.console import Console

from potluck.clock import SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.demo import fill
from potluck.housekeeping import start_housekeeping, tidy
from potluck.ledger.cli import app as ledger_cli
from potluck.migrate import upgrade
from potluck.pledges.cli import app as payday_cli
from potluck.pledges.payments.cli import app as payments_cli
from potluck.pledges.scheduler import start_payday_scheduler

cli = typer.Typer(
    help="Potluck: keep owner-less projects running, on open books.", no_args_is_help=True
)
db_cli = typer.Typer(help="The database: migrations.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(ledger_cli, name="ledger")
cli.add_typer(payments_cli, name="payments")
cli.add_typer(payday_cli, name="payday")
console = Console()


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads", help="Alembic revision to reach.")) -> None:
    """Bring the database's schema up to date with the migrations."""
    settings = Settings()
    upgrade(settings.resolved_database_url, revision)
    console.print(f"[green]Database at {_safe(settings.resolved_database_url)} is at {revision}.")


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (use PostgreSQL for more than one)."),
) -> None:
    """Run the migrations, then serve the site and the API, and each payday when it is due."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    # Generate (or load) the development secret before workers start, so they share it.
    settings.resolved_secret_key  # noqa: B018
    console.print(
        f"[bold]Potluck[/] at http://{host}:{port} on {_safe(settings.resolved_database_url)}"
    )
    # Paydays run in this process beside the site; a lease in the database lets only one of
    # several servers on one PostgreSQL run each payday.
    scheduler = start_payday_scheduler(settings)
    keeper = start_housekeeping(settings)
    try:
        uvicorn.run(
            "potluck.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
        )
    finally:
        if scheduler is not None:
            scheduler.stop()
        if keeper is not None:
            keeper.stop()


@cli.command()
def housekeeping() -> None:
    """Expire the holds whose timeout has passed and forget dead sessions and old failed
    sign-ins, once (``potluck serve`` does this every few minutes by itself)."""
    settings = Settings()
    database = Database(settings.resolved_database_url)
    try:
        tidied = tidy(
            database,
            now=SystemClock().now(),
            sign_in_window=timedelta(seconds=settings.sign_in_window_seconds),
        )
    finally:
        database.dispose()
    console.print(
        f"Expired {tidied.holds_expired} hold(s); {tidied.debts_repaid} project(s) paid back "
        f"what they owed; forgot {tidied.sessions_forgotten} dead session(s) and "
        f"{tidied.failures_forgotten} old failed sign-in(s)."
    )


@cli.command()
def demo() -> None:
    """Fill this instance with believable demo peers, projects and stewards (idempotent)."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    try:
        report = fill(database)
    finally:
        database.dispose()
    for line in report:
        console.print(line)


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def main() -> None:
    cli()
