"""Every error Potluck answers with, rendered as ``{"error": ..., "detail": ...}``."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: str
    detail: str
    field: str | None = None


class PotluckError(Exception):
    """Base of every error a person can act on. ``status`` is the HTTP status it maps to."""

    status: ClassVar[int] = 400
    # When true, the boundary commits what the operation wrote before answering with the
    # error (a failed sign-in is recorded so that guessing can be throttled).
    keeps_writes: ClassVar[bool] = False

    def __init__(
        self, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        # Extra response headers, such as Retry-After on a throttled request.
        self.headers = headers or {}

    def body(self) -> ErrorBody:
        return ErrorBody(error=type(self).__name__, detail=self.detail, field=self.field)


class BadRequest(PotluckError):
    status = 400


class NotSignedIn(PotluckError):
    status = 401


class Forbidden(PotluckError):
    status = 403


class CsrfFailed(Forbidden):
    pass


class NotFound(PotluckError):
    status = 404


class Conflict(PotluckError):
    status = 409


class InvalidInput(PotluckError):
    status = 422


class TooManyAttempts(PotluckError):
    status = 429


def responses(*errors: type[PotluckError]) -> dict[int | str, dict[str, Any]]:
    """Declare a route's errors so they appear in the OpenAPI document."""
    declared: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = declared.setdefault(error.status, {"model": ErrorBody, "description": ""})
        names = [n for n in entry["description"].split(", ") if n]
        names.append(error.__name__)
        entry["description"] = ", ".join(names)
    return declared
