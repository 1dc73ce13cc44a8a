"""Request dependencies of the needs, pledges and payday routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from potluck.pledges.settings import PledgeSettings


def pledge_settings(request: Request) -> PledgeSettings:
    """The pledge settings of the running app: set on ``app.state`` by whoever made the app
    (tests do), or read from the environment once."""
    found = getattr(request.app.state, "pledge_settings", None)
    if not isinstance(found, PledgeSettings):
        found = PledgeSettings()
        request.app.state.pledge_settings = found
    return found


SettingsDep = Annotated[PledgeSettings, Depends(pledge_settings)]
