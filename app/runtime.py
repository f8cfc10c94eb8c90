"""Everything a running Harbour process holds: settings, the engine, sessions, password hasher, keys.

Built once per process by `create_app` or a CLI command, never at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, utcnow
from app.errors import ServiceUnavailableError
from app.keys import provider as key_provider
from app.settings import Settings
from crypto.errors import KeyUnavailableError
from crypto.keyring import KeyStore
from crypto.passwords import PasswordParams, Passwords

log = logging.getLogger("harbour")


@dataclass
class Runtime:
    """The live parts of one Harbour process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    passwords: Passwords
    keystore: KeyStore | None = None
    sealed_reason: str | None = field(default=None)
    # Injectable so tests can freeze time for sessions, TOTP and throttling.
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def open(cls, settings: Settings, *, unlock: bool = True, engine: Engine | None = None) -> Runtime:
        """Connect to the database and, when asked, unlock the keys (a failure leaves the runtime sealed)."""
        engine = engine or make_engine(settings.sqlalchemy_url)
        runtime = cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            passwords=Passwords(password_params(settings)),
        )
        if unlock:
            runtime.unlock()
        return runtime

    def unlock(self) -> None:
        """Open the key store; on failure stay sealed and remember why (never key material)."""
        try:
            self.keystore = key_provider.open_keystore(self.settings)
            self.sealed_reason = None
        except KeyUnavailableError as exc:
            self.keystore = None
            self.sealed_reason = str(exc)
            log.warning("keys sealed: %s", exc)

    @property
    def keys(self) -> KeyStore:
        """The unlocked key store, or a 503 for every sensitive operation while sealed."""
        if self.keystore is None:
            raise ServiceUnavailableError("Harbour is sealed: its keys are not unlocked.")
        return self.keystore

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def password_params(settings: Settings) -> PasswordParams:
    """The argon2id parameters the settings ask for."""
    return PasswordParams(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )
