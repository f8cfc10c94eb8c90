"""Shared fixtures: one schema built by `alembic upgrade head` per run, each test rolled back at the end.

The suite runs on SQLite by default and on PostgreSQL when HARBOUR_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import migrate
from app.db import make_engine
from app.keys import provider as key_provider
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from crypto.keyring import KeyStore
from crypto.passwords import PasswordParams, Passwords
from tests.auth_support import clock, ctx, login_as  # noqa: F401 - fixtures shared by every package
from tests.cli_support import FAST_ARGON2, harbour  # noqa: F401 - harbour is a fixture
from tests.databases import DatabaseFactory


def pytest_report_header() -> str:
    """Say which database this run targets."""
    from tests.databases import server_url

    return f"harbour database backend: {'postgresql' if server_url() else 'sqlite'}"


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """Makes empty databases of the backend under test."""
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with keys, shared by the whole run."""
    return tmp_path_factory.mktemp("harbour-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path, databases: DatabaseFactory) -> Settings:
    """Settings for the shared test database, with fast argon2 parameters."""
    return Settings(data_dir=data_dir, database_url=databases.new("main"), **FAST_ARGON2)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def keystore(settings: Settings) -> KeyStore:
    """A file-provider key store made once per run."""
    return key_provider.create_keystore(settings)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The shared engine, its schema built once by the migrations."""
    engine = make_engine(settings.sqlalchemy_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    """A fast password hasher for tests (production parameters are checked in tests/crypto)."""
    return Passwords(PasswordParams(memory_kib=8192, time_cost=1, parallelism=1))


@pytest.fixture
def runtime(settings: Settings, engine: Engine, keystore: KeyStore) -> Iterator[Runtime]:
    """A runtime whose sessions all join one outer transaction, rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    runtime = Runtime.open(settings, unlock=False, engine=engine)
    runtime.keystore = keystore
    runtime.sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
    yield runtime
    outer.rollback()
    connection.close()


@pytest.fixture
def db(runtime: Runtime) -> Iterator[Session]:
    """A session inside the test's transaction."""
    with runtime.sessions() as session:
        yield session


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    """The application over the test's transaction."""
    return create_app(settings, runtime=runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTPS test client (so Secure cookies are sent)."""
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client
