"""Fixtures shared by the key, identity and security tests: a key store of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.context import Context
from app.runtime import Runtime
from crypto.keyring import KeyStore
from tests.keys.helpers import fresh_keystore


@pytest.fixture
def keys(runtime: Runtime, tmp_path: Path) -> KeyStore:
    """A key store of this test's own, installed in the runtime (rotation must not touch the shared one)."""
    runtime.keystore = fresh_keystore(tmp_path / "keys")
    return runtime.keystore


@pytest.fixture
def ctx(db: Session, runtime: Runtime, keys: KeyStore) -> Context:
    """The system acting in the test's transaction."""
    return Context(db, runtime, None)
