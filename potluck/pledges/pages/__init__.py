"""HTML pages: a project's needs, a need with its coverage chart and pledge form, the "what
would I pay" preview, a donor's giving, and the paydays."""

from fastapi import APIRouter

from potluck.pledges.pages import needs, paydays, pledges

router = APIRouter(include_in_schema=False)
for module in (needs, pledges, paydays):
    router.include_router(module.router)
