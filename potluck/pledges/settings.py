"""Instance settings of needs, pledges and payday, read from the environment (``POTLUCK_``)."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from potluck.errors import InvalidInput
from potluck.pledges.rules.minimums import MinimumCharge, parse_minimum_charge
from potluck.pledges.rules.schedule import PaydayCadence


class PledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POTLUCK_", env_file=".env", extra="ignore")

    minimum_charge: str = Field(
        default="2.00",
        description=(
            "The smallest payment a payday asks of a donor, per currency: '2.00' for every "
            "currency, or entries such as '2.00,JPY=300,EUR=1.50'. Below it, a donor's total "
            "is carried to the next payday."
        ),
    )
    payday_cadence: PaydayCadence = Field(
        default=PaydayCadence.MONTH, description="'month' (the default) or 'week'."
    )
    payday_schedule: bool = Field(
        default=True,
        description="Whether 'potluck serve' runs each payday by itself once its period ends.",
    )
    payday_check_seconds: int = Field(
        default=300, ge=5, description="How often the scheduled run looks for a payday due."
    )
    payday_senders: int = Field(
        default=4,
        ge=1,
        le=64,
        description="How many payments a payday sends to their providers at the same time.",
    )
    payment_failures_before_pause: int = Field(
        default=3,
        ge=1,
        description="Consecutive failed payments after which a donor's pledges are paused.",
    )

    @field_validator("minimum_charge")
    @classmethod
    def _minimum_is_readable(cls, value: str) -> str:
        try:
            parse_minimum_charge(value)
        except InvalidInput as error:
            raise ValueError(f"POTLUCK_MINIMUM_CHARGE: {error.detail}") from error
        return value

    @cached_property
    def minimum(self) -> MinimumCharge:
        return parse_minimum_charge(self.minimum_charge)
