"""Which payment providers this instance offers, built from its settings."""

from __future__ import annotations

from collections.abc import Iterable

from potluck.errors import InvalidInput
from potluck.pledges.payments.base import PaymentProvider, ProviderName
from potluck.pledges.payments.manual import ManualProvider
from potluck.pledges.payments.settings import DEFAULT_BANK_INSTRUCTIONS, PaymentSettings
from potluck.pledges.payments.simulated import SimulatedProvider
from potluck.pledges.payments.stripe_provider import StripeProvider


class ProviderRegistry:
    """Maps a provider's name to the provider. Manual bank transfers are always offered; the
    simulated processor unless turned off (off by default in production); Stripe when its
    secret key is set."""

    def __init__(
        self,
        providers: Iterable[PaymentProvider],
        *,
        bank_instructions: str = DEFAULT_BANK_INSTRUCTIONS,
    ) -> None:
        self._by_name: dict[str, PaymentProvider] = {}
        for provider in providers:
            self._by_name[provider.name] = provider
        self.bank_instructions = bank_instructions

    @classmethod
    def from_settings(cls, settings: PaymentSettings | None = None) -> ProviderRegistry:
        settings = settings or PaymentSettings()
        providers: list[PaymentProvider] = [ManualProvider(settings.manual_bank_instructions)]
        if settings.simulated_on:
            providers.append(SimulatedProvider())
        if settings.stripe_secret_key:
            providers.append(
                StripeProvider(
                    secret_key=settings.stripe_secret_key,
                    webhook_secret=settings.stripe_webhook_secret,
                    publishable_key=settings.stripe_publishable_key,
                    api_base=settings.stripe_api_base,
                    max_network_retries=settings.stripe_max_network_retries,
                )
            )
        return cls(providers, bank_instructions=settings.manual_bank_instructions)

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def card_names(self) -> tuple[str, ...]:
        """The offered providers that take a saved card."""
        return tuple(name for name, p in self._by_name.items() if p.needs_saved_method)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> PaymentProvider:
        provider = self._by_name.get(name)
        if provider is None:
            raise InvalidInput(
                f"Payment provider '{name}' is not offered here; this instance offers "
                f"{', '.join(self._by_name)}.",
                field="provider",
            )
        return provider

    @property
    def stripe(self) -> StripeProvider | None:
        provider = self._by_name.get(ProviderName.STRIPE.value)
        return provider if isinstance(provider, StripeProvider) else None
