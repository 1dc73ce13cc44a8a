"""Settings: the secret key rules for development and production."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from potluck.config import MIN_SECRET_LENGTH, PLACEHOLDER_SECRETS, Mode, Settings


class TestSecretKey:
    def test_development_generates_and_keeps_one(self, tmp_path: Path) -> None:
        first = Settings(var_dir=tmp_path, secret_key="").resolved_secret_key
        second = Settings(var_dir=tmp_path, secret_key="").resolved_secret_key
        assert first == second
        assert len(first) >= MIN_SECRET_LENGTH
        assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600

    @pytest.mark.parametrize("placeholder", sorted(PLACEHOLDER_SECRETS))
    def test_production_refuses_a_placeholder(self, tmp_path: Path, placeholder: str) -> None:
        with pytest.raises(ValidationError, match="POTLUCK_SECRET_KEY"):
            Settings(mode=Mode.PRODUCTION, secret_key=placeholder, var_dir=tmp_path)

    @given(st.text(min_size=0, max_size=MIN_SECRET_LENGTH - 1))
    def test_production_refuses_a_short_key(self, key: str) -> None:
        with pytest.raises(ValidationError, match="POTLUCK_SECRET_KEY"):
            Settings(mode=Mode.PRODUCTION, secret_key=key)

    def test_production_accepts_a_real_key(self, tmp_path: Path) -> None:
        key = "k" * MIN_SECRET_LENGTH + "-random"
        settings = Settings(mode=Mode.PRODUCTION, secret_key=key, var_dir=tmp_path)
        assert settings.resolved_secret_key == key
        assert not (tmp_path / "secret_key").exists()

    def test_reads_the_environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("POTLUCK_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
        monkeypatch.setenv("POTLUCK_BASE_URL", "https://potluck.example")
        settings = Settings()
        assert settings.resolved_database_url.endswith("x.sqlite3")
        assert settings.secure_cookies


class TestDatabaseUrl:
    def test_defaults_to_sqlite_under_var(self, tmp_path: Path) -> None:
        settings = Settings(var_dir=tmp_path / "var", database_url="")
        assert settings.resolved_database_url == f"sqlite:///{tmp_path}/var/potluck.sqlite3"
        assert (tmp_path / "var").is_dir()
