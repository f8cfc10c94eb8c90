"""Fixtures shared by the key, identity and security tests: a key store of their own and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.context import Context
from app.runtime import Runtime
from crypto.keyring import KeyStore
from tests.databases import DatabaseFactory
from tests.keys.helpers import Harbour, fresh_keystore, harbour_env


@pytest.fixture
def keys(runtime: Runtime, tmp_path: Path) -> KeyStore:
    """A key store of this test's own, installed in the runtime (rotation must not touch the shared one)."""
    runtime.keystore = fresh_keystore(tmp_path / "keys")
    return runtime.keystore


@pytest.fixture
def ctx(db: Session, runtime: Runtime, keys: KeyStore) -> Context:
    """The system acting in the test's transaction."""
    return Context(db, runtime, None)


@pytest.fixture
def harbour(
    tmp_path: Path,
    databases: DatabaseFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Harbour:
    """The command, against a fresh data directory and database of the backend under test."""
    return Harbour(harbour_env(tmp_path, databases, monkeypatch), capsys)
