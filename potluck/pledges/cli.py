"""``potluck payday``: run the payday now (or show what it would do), see past paydays, or
keep the scheduled payday running in the foreground."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from potluck.clock import SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.errors import PotluckError
from potluck.money import CURRENCIES, Amount
from potluck.pledges.payday import gateway
from potluck.pledges.payday.lease import PaydayBusy
from potluck.pledges.payday.run import PaydayOutcome, run_due_paydays
from potluck.pledges.scheduler import PaydayScheduler
from potluck.pledges.service import paydays
from potluck.pledges.settings import PledgeSettings

app = typer.Typer(
    help="Payday: turn pledges into exact charges, one payment per donor, on the open books.",
    invoke_without_command=True,
)
console = Console()
errors = Console(stderr=True)


def _money(units: int, code: str) -> str:
    currency = CURRENCIES.get(code)
    return Amount(units, currency).display() if currency else f"{units} {code}"


def _database() -> Database:
    return Database(Settings().resolved_database_url)


class RichProgress:
    """Payday's progress as Rich bars, one per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object | None = None

    def begin(self, stage: str, total: int) -> None:
        # A stage with nothing to do shows as done rather than as an empty bar.
        self.task = self.progress.add_task(stage, total=max(total, 1), completed=0 if total else 1)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)  # type: ignore[arg-type]


def _summary_table(title: str, summary: dict[str, object]) -> Table:
    table = Table(title=title)
    for column in ("currency", "charges", "charged", "payments", "asked", "carried"):
        table.add_column(column, justify="left" if column == "currency" else "right")
    currencies = summary.get("currencies", {})
    assert isinstance(currencies, dict)
    for code, entry in currencies.items():
        table.add_row(
            code,
            f"{entry['charges']:,}",
            _money(entry["charged"], code),
            f"{entry['payments']:,}",
            _money(entry["to_pay"], code),
            f"{_money(entry['carried'], code)} ({entry['donors']:,} donors)",
        )
    return table


def _report(outcome: PaydayOutcome) -> None:
    console.print(_summary_table(f"Payday of {outcome.period}", outcome.summary))
    summary = outcome.summary
    console.print(
        f"{summary.get('needs', 0):,} needs, {summary.get('pledges', 0):,} pledges; "
        f"{summary.get('captured', 0):,} all-or-nothing pledges captured, "
        f"{summary.get('voided', 0):,} voided, {summary.get('held', 0):,} held."
    )
    if outcome.check_ok:
        console.print(
            f"[green]Self-check passed[/green] over {len(outcome.check_report):,} project "
            "books: every paid charge is in the books, once."
        )
        return
    table = Table(title="Self-check: the books disagree")
    for column in ("project", "currency", "paid", "received", "captured", "captured in books"):
        table.add_column(column)
    for entry in outcome.check_report:
        if not entry["ok"]:
            table.add_row(
                str(entry["project_id"]),
                entry["commodity"],
                str(entry["paid"]),
                str(entry["received"]),
                str(entry["captured"]),
                str(entry["captured_in_books"]),
            )
    errors.print(table)


@app.callback()
def payday(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what the payday would decide; write nothing."),
    ] = False,
) -> None:
    """Run every payday whose period has ended (and finish one that was interrupted).

    Exits with status 1 if a self-check finds the books disagreeing with the charges, and 2
    if another runner is doing the payday.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = PledgeSettings()
    database = _database()
    try:
        if dry_run:
            _dry_run(database, settings)
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            outcomes = run_due_paydays(
                database,
                clock=SystemClock(),
                settings=settings,
                registry=gateway.ProviderRegistry.from_settings(),
                progress=RichProgress(progress),
            )
    except PaydayBusy as error:
        errors.print(f"[yellow]{error.detail}[/yellow]")
        raise typer.Exit(2) from error
    except PotluckError as error:
        errors.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(1) from error
    finally:
        database.dispose()
    if not outcomes:
        console.print("No payday is due: the current period has not ended yet.")
        return
    for outcome in outcomes:
        _report(outcome)
    if not all(outcome.check_ok for outcome in outcomes):
        raise typer.Exit(1)


def _dry_run(database: Database, settings: PledgeSettings) -> None:
    with database.transaction(write=False) as session:
        preview = paydays.preview_payday(session, now=SystemClock().now(), settings=settings)
    when = "is due" if preview.due else "has not ended; shown as if it ended now"
    console.print(f"Dry run: the payday of {preview.period} {when}. Nothing is written.")
    console.print(_summary_table(f"Payday of {preview.period} (dry run)", preview.plan.summary))
    summary = preview.plan.summary
    console.print(
        f"{summary['needs']:,} needs, {summary['pledges']:,} pledges, "
        f"{summary['uncovered']:,} needs left short; {summary['captured']:,} all-or-nothing "
        f"pledges would be captured and {summary['voided']:,} voided."
    )


@app.command()
def status(limit: Annotated[int, typer.Option(help="How many paydays to list.")] = 12) -> None:
    """List the latest paydays: their period, stage and self-check."""
    database = _database()
    try:
        with database.transaction(write=False) as session:
            rows = paydays.list_paydays(session, limit=limit)
    finally:
        database.dispose()
    if not rows:
        console.print("No payday has run yet.")
        return
    table = Table(title="Paydays")
    for column in ("id", "period", "stage", "charged", "self-check"):
        table.add_column(column)
    for row in rows:
        currencies = row.summary.get("currencies", {})
        charged = ", ".join(_money(c["charged"], code) for code, c in currencies.items())
        check = "—" if row.check_ok is None else ("ok" if row.check_ok else "FAILED")
        table.add_row(
            str(row.id), f"{row.period_start} to {row.period_end}", row.stage, charged, check
        )
    console.print(table)


@app.command()
def schedule() -> None:
    """Run each payday when its period ends, until stopped with Ctrl-C.

    The server does the same in the background unless POTLUCK_PAYDAY_SCHEDULE is off.
    """
    settings = PledgeSettings()
    database = _database()
    scheduler = PaydayScheduler(
        database,
        clock=SystemClock(),
        settings=settings,
        registry=gateway.ProviderRegistry.from_settings(),
        on_outcome=_report,
    )

    def stop(_signal: int, _frame: FrameType | None) -> None:
        scheduler.stop()

    signal.signal(signal.SIGTERM, stop)
    console.print(
        f"Looking for a payday to run every {settings.payday_check_seconds} s; Ctrl-C stops."
    )
    scheduler.start()
    try:
        while scheduler.running:
            scheduler.wait(1.0)
    except KeyboardInterrupt:
        scheduler.stop()
    finally:
        database.dispose()


if __name__ == "__main__":
    app()
