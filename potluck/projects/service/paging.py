"""Pages of long lists: which slice was asked for, and how to link to the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from potluck.errors import InvalidInput
from potluck.projects import rules

PER_PAGE = 20
MAX_PER_PAGE = 100

T = TypeVar("T")


@dataclass(frozen=True)
class ResultPage(Generic[T]):
    """One page of a longer list, with what is needed to link to the others."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return rules.page_count(self.total, self.per_page)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise InvalidInput(f"Pages are numbered from 1; {page} is not a page.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(
            f"A page holds between 1 and {MAX_PER_PAGE} results; {per_page} was asked for.",
            field="per_page",
        )
