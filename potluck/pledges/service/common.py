"""What the needs and pledges operations share: states, amounts, and the project a need is of."""

from __future__ import annotations

from sqlalchemy.orm import Session

from potluck.errors import Conflict, InvalidInput
from potluck.money import MAX_UNITS, Commodity, MoneyError, amount_from_decimal, decimal_text
from potluck.pledges.models import Need
from potluck.projects.models import Project

LIVE_STATES = ("active", "paused")


def project_of(session: Session, need: Need) -> Project:
    project = session.get(Project, need.project_id)
    assert project is not None  # the foreign key guarantees it
    return project


def parse_units(text: str, of: Commodity, *, field: str, what: str) -> int:
    """A positive amount typed as decimal text (``12.50``), in ``of``'s smallest unit."""
    try:
        amount = amount_from_decimal(text, of)
    except MoneyError as error:
        raise InvalidInput(f"{what}: {error}", field=field) from error
    return check_units(amount.units, of, field=field, what=what)


def check_units(units: int, of: Commodity, *, field: str, what: str) -> int:
    """``units`` if it is a positive amount of ``of`` the books can hold; refused otherwise."""
    if units <= 0:
        shown = decimal_text(units, of.exponent)
        raise InvalidInput(f"{what} must be more than zero; {shown} {of.code} is not.", field=field)
    if units > MAX_UNITS:
        raise InvalidInput(f"{what} is beyond what the books can hold.", field=field)
    return units


def require_open_project(project: Project) -> None:
    if project.archived_at is not None:
        raise Conflict(
            f"{project.name} is archived and read-only until a new steward adopts it; "
            "its needs take no new pledges."
        )
