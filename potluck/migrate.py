"""Run Alembic migrations from inside Potluck (``potluck db upgrade``, ``potluck serve``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_PACKAGE = Path(__file__).resolve().parent


def migrations_dir() -> Path:
    """The migration scripts: shipped inside the wheel, or beside the package in a checkout."""
    for candidate in (_PACKAGE / "_migrations", _PACKAGE.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    msg = f"Potluck's migrations are missing: looked in {_PACKAGE / '_migrations'} and beside it."
    raise FileNotFoundError(msg)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s",
    )
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Fail if the models have changes that no migration describes."""
    command.check(alembic_config(url))
