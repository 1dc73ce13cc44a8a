"""Payment settings, read from the environment with the same ``POTLUCK_`` prefix as the rest."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from potluck.config import Mode

DEFAULT_BANK_INSTRUCTIONS = (
    "Ask the stewards of the project for the bank account that receives its money, and write "
    "the reference code on the transfer so that they can tell whose it is."
)


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POTLUCK_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    stripe_secret_key: str = Field(
        default="", description="Stripe secret key (sk_...); empty turns Stripe off."
    )
    stripe_publishable_key: str = Field(
        default="", description="Stripe publishable key (pk_...), for saving a card in the page."
    )
    stripe_webhook_secret: str = Field(
        default="", description="Signing secret of the Stripe webhook endpoint (whsec_...)."
    )
    stripe_api_base: str = Field(
        default="", description="Stripe API address; empty means Stripe's own. For tests."
    )
    stripe_max_network_retries: int = Field(default=2, ge=0, le=5)
    simulated_payments: bool | None = Field(
        default=None,
        description="Offer the simulated card processor. Empty: on, except in production.",
    )
    manual_bank_instructions: str = Field(
        default=DEFAULT_BANK_INSTRUCTIONS,
        description="What a donor paying by bank transfer is told: account holder, IBAN, BIC.",
    )

    @model_validator(mode="after")
    def _stripe_is_complete(self) -> Self:
        if not self.stripe_secret_key:
            return self
        if not self.stripe_secret_key.startswith(("sk_", "rk_")):
            msg = "POTLUCK_STRIPE_SECRET_KEY must be a Stripe secret key (sk_... or rk_...)."
            raise ValueError(msg)
        if not self.stripe_webhook_secret.startswith("whsec_"):
            msg = (
                "POTLUCK_STRIPE_WEBHOOK_SECRET must be set to the webhook endpoint's signing "
                "secret (whsec_...) when Stripe is on; without it no payment outcome can be "
                "trusted."
            )
            raise ValueError(msg)
        return self

    @property
    def simulated_on(self) -> bool:
        if self.simulated_payments is None:
            return self.mode is not Mode.PRODUCTION
        return self.simulated_payments
