"""``potluck ledger ...``: check the books, export a project's books, expire holds."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from potluck.clock import SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.errors import PotluckError
from potluck.ledger import export
from potluck.ledger.service import accounts, books, posting
from potluck.ledger.service.verify import verify_books

app = typer.Typer(
    help="The books: verify every hash chain and invariant, export a project's books.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    BEANCOUNT = "beancount"


def _database() -> Database:
    return Database(Settings().resolved_database_url)


@app.command()
def verify(
    project: Annotated[
        str | None, typer.Option(help="Check only this project's books (its slug).")
    ] = None,
) -> None:
    """Recompute every hash chain and check every invariant of the books.

    Exits with status 1, naming the offending ids, if anything is wrong.
    """
    database = _database()
    try:
        started = time.perf_counter()
        try:
            report = verify_books(database, project_slug=project)
        except PotluckError as error:
            errors.print(f"[red]{error.detail}[/red]")
            raise typer.Exit(2) from error
        elapsed = time.perf_counter() - started
    finally:
        database.dispose()
    scope = f"the books of {project}" if project else "all books"
    console.print(f"Checked {scope} in {elapsed:.2f} s:")
    for line in report.checked():
        console.print(f"  • {line}")
    if report.ok:
        console.print("[green]The books verify.[/green]")
        return
    table = Table(title=f"{len(report.problems)} problem(s)", show_lines=False)
    table.add_column("check")
    table.add_column("ids")
    table.add_column("problem")
    for problem in report.problems:
        table.add_row(problem.check, ", ".join(problem.ids), problem.message)
    errors.print(table)
    raise typer.Exit(1)


@app.command("export")
def export_books(
    project: Annotated[str, typer.Argument(help="The project's slug.")],
    format: Annotated[  # noqa: A002 - the option is called --format
        ExportFormat, typer.Option("--format", "-f", help="csv, json or beancount.")
    ] = ExportFormat.JSON,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export one project's books, with every transfer and its hash."""
    database = _database()
    try:
        with database.transaction(write=False) as session:
            try:
                found = books.project_by_slug(session, project)
            except PotluckError as error:
                errors.print(f"[red]{error.detail}[/red]")
                raise typer.Exit(2) from error
            text = export.render(
                books.extract(session, found, accounts.known_commodities(session)), format.value
            )
    finally:
        database.dispose()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote the books of {project} to {output}.")


@app.command()
def expire() -> None:
    """End every hold whose timeout has passed (safe to run at any time, e.g. from cron)."""
    database = _database()
    total = 0
    try:
        while True:
            with database.transaction() as session:
                ended = posting.expire_holds(session, now=SystemClock().now())
            total += len(ended)
            if not ended:
                break
    finally:
        database.dispose()
    console.print(f"Expired {total} hold(s).")


@app.command("add-unit")
def add_unit(
    code: Annotated[str, typer.Argument(help="Lower-case words joined by hyphens: gpu-hour.")],
    precision: Annotated[int, typer.Option(help="Decimal places of the smallest unit.")],
    name: Annotated[str, typer.Option(help="What it is, for people.")],
) -> None:
    """Define a resource unit of this instance's own."""
    database = _database()
    try:
        with database.transaction() as session:
            unit = accounts.define_resource_unit(session, code=code, exponent=precision, name=name)
    except PotluckError as error:
        errors.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(2) from error
    finally:
        database.dispose()
    console.print(f"Unit {unit.code} counts to {unit.exponent} decimal place(s).")
