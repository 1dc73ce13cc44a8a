"""``potluck payments ...``: bank transfers awaited and their confirmation, the custodian's
admins, and sending a payment again after the provider was out of reach."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.clock import SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.errors import NotFound, PotluckError
from potluck.money import MoneyError, amount_from_decimal
from potluck.people.models import Peer
from potluck.pledges.payments import methods, rules, service
from potluck.pledges.payments.base import ProviderName
from potluck.pledges.payments.models import Payment
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.pledges.payments.schemas import money_text

app = typer.Typer(
    help="Payments: confirm bank transfers, appoint who may, send a payment again.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


def _database() -> Database:
    return Database(Settings().resolved_database_url)


def _peer(session: Session, email: str) -> Peer:
    peer = session.scalar(select(Peer).where(Peer.email == email.strip().lower()))
    if peer is None:
        raise NotFound(f"No peer has the email {email}.", field="email")
    return peer


def _fail(error: PotluckError) -> typer.Exit:
    errors.print(f"[red]{error.detail}[/red]")
    return typer.Exit(1)


@app.command()
def awaiting() -> None:
    """List the bank transfers still awaited, oldest first."""
    database = _database()
    try:
        with database.transaction(write=False) as session:
            payments = list(
                session.scalars(
                    select(Payment)
                    .where(
                        Payment.provider == ProviderName.MANUAL.value,
                        Payment.state == "awaiting",
                    )
                    .order_by(Payment.created_at, Payment.id)
                )
            )
            table = Table("Code", "Payment", "Since", "Amount")
            for payment in payments:
                table.add_row(
                    payment.bank_code or "",
                    str(payment.id),
                    payment.created_at.strftime("%Y-%m-%d %H:%M"),
                    money_text(payment.amount, payment.currency),
                )
        console.print(table if payments else "No bank transfer is awaited.")
    finally:
        database.dispose()


@app.command()
def confirm(
    code: Annotated[str, typer.Argument(help="The reference code on the transfer: PL-...")],
    received: Annotated[str, typer.Option(help="What arrived, such as 12.34.")],
    by: Annotated[str, typer.Option(help="Email of the steward or admin confirming.")],
) -> None:
    """Confirm that a bank transfer arrived; it is then posted to the projects' books."""
    payment_id = rules.parse_reference_code(code)
    if payment_id is None:
        errors.print(f"[red]'{code}' is not a reference code (mistyped?).[/red]")
        raise typer.Exit(1)
    database = _database()
    try:
        with database.transaction() as session:
            payment = service.get_payment(session, payment_id)
            try:
                amount = amount_from_decimal(received, service.commodity_of(payment))
            except MoneyError as error:
                errors.print(f"[red]{error}[/red]")
                raise typer.Exit(1) from error
            confirmed = service.confirm_manual_payment(
                session,
                payment_id,
                confirmer=_peer(session, by),
                received_amount=amount.units,
                now=SystemClock().now(),
            )
            console.print(
                f"Payment {confirmed.id} confirmed: "
                f"{money_text(confirmed.received or 0, confirmed.currency)} is in the books."
            )
    except PotluckError as error:
        raise _fail(error) from error
    finally:
        database.dispose()


@app.command("appoint-admin")
def appoint_admin(
    email: Annotated[str, typer.Argument(help="The peer who may confirm for every project.")],
    provider: Annotated[str, typer.Option(help="Whose custodian: manual, simulated or stripe.")] = (
        ProviderName.MANUAL.value
    ),
) -> None:
    """Let a peer confirm what arrives at a provider's custodian, for every project."""
    database = _database()
    try:
        with database.transaction() as session:
            peer = _peer(session, email)
            methods.appoint_custodian_admin(
                session, provider=provider, peer_id=peer.id, appointed_by=None,
                now=SystemClock().now(),
            )  # fmt: skip
        console.print(f"{email} may now confirm what arrives through {provider}.")
    except PotluckError as error:
        raise _fail(error) from error
    finally:
        database.dispose()


@app.command()
def execute(payment_id: Annotated[int, typer.Argument(help="The payment to send.")]) -> None:
    """Send a payment to its provider, or ask how it went; never charges twice."""
    database = _database()
    try:
        payment = service.execute_payment(
            database, payment_id, providers=ProviderRegistry.from_settings(), clock=SystemClock()
        )
        console.print(f"Payment {payment.id} is {payment.state}.")
    except PotluckError as error:
        raise _fail(error) from error
    finally:
        database.dispose()
