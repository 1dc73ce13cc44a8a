"""Instance settings, read from the environment with the ``POTLUCK_`` prefix."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where the development instance keeps its database and its generated secret.
VAR_DIR = Path.cwd() / "var"

# Strings that people copy from examples; a production instance refuses to start with one.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "development", "insecure", "potluck"}
)
MIN_SECRET_LENGTH = 32


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POTLUCK_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means a SQLite file under var/.",
    )
    secret_key: str = Field(
        default="",
        description="Signs session cookies. Generated and kept under var/ in development.",
    )
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public address.")
    var_dir: Path = VAR_DIR
    # Failed sign-ins allowed per email and per address within the window before refusing.
    sign_in_attempts: int = 5
    sign_in_window_seconds: int = 15 * 60
    session_days: int = 30
    group_commit: bool = Field(
        default=True,
        description="Write single transfers posted with an API token in groups, one "
        "transaction per group (potluck.ledger.lane).",
    )
    housekeeping_seconds: int = Field(
        default=300,
        ge=0,
        description="How often a server expires due holds and forgets dead sessions; 0: never.",
    )

    @model_validator(mode="after")
    def _secret_is_real_in_production(self) -> Self:
        if self.mode is Mode.PRODUCTION:
            key = self.secret_key.strip()
            if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
                msg = (
                    "POTLUCK_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters in production mode."
                )
                raise ValueError(msg)
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.var_dir / 'potluck.sqlite3'}"

    @cached_property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        # Only development reaches here: production was validated above.
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")
