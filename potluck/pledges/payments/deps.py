"""Request dependencies of the payment routes: the providers this instance offers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from potluck.pledges.payments.registry import ProviderRegistry

STATE_KEY = "payment_providers"


def get_providers(request: Request) -> ProviderRegistry:
    """The instance's providers: set on ``app.state.payment_providers`` by whoever builds the
    app (the tests point Stripe at a fake), otherwise built once from the settings."""
    state = request.app.state
    registry = getattr(state, STATE_KEY, None)
    if not isinstance(registry, ProviderRegistry):
        registry = ProviderRegistry.from_settings()
        setattr(state, STATE_KEY, registry)
    return registry


ProvidersDep = Annotated[ProviderRegistry, Depends(get_providers)]
