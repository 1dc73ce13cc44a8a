"""Fixtures shared by every test. Storage tests take ``database`` and so run twice:
once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from potluck.app import create_app
from potluck.clock import FrozenClock
from potluck.config import Settings
from potluck.db import Database
from tests.support.books import assert_books_verify
from tests.support.databases import PostgresFactory, SqliteFactory
from tests.support.postgres import Cluster, throwaway_cluster

# The browser fixtures (Chromium, a live server) are shared by every capability's page tests.
pytest_plugins = ["tests.support.browser"]

settings.register_profile(
    "potluck", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("potluck")


@pytest.fixture(scope="session")
def worker_id_safe(worker_id: str) -> str:
    return worker_id.replace("-", "_")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    return SqliteFactory(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_factory(pg_cluster: Cluster, worker_id_safe: str) -> PostgresFactory:
    return PostgresFactory(pg_cluster, worker_id_safe)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database built by the migrations, on each of the two engines in turn."""
    factory: SqliteFactory | PostgresFactory
    if request.param == "sqlite":
        factory = request.getfixturevalue("sqlite_factory")
    else:
        factory = request.getfixturevalue("postgres_factory")
    with factory.database() as db:
        yield db
        # Money is never lost, created or duplicated: whatever a test did, the books verify.
        assert_books_verify(db)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app_settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        database_url=database.url,
        secret_key="test-secret-key-" + "x" * 32,
        var_dir=tmp_path / "var",
        base_url="http://testserver",
    )


@pytest.fixture
def app(app_settings: Settings, clock: FrozenClock, database: Database) -> FastAPI:
    return create_app(app_settings, clock=clock, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The browser tests are slow; run them last so quick failures show first.
    items.sort(key=lambda item: 1 if item.get_closest_marker("browser") else 0)


os.environ.setdefault("POTLUCK_MODE", "development")
