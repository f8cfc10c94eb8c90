"""Settings from `HARBOUR_*` environment variables.

Nothing here runs at import time: `Settings()` reads the environment when a command or `create_app` asks for
it, so tests and tools can build their own settings without touching the process environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

KeyProviderName = Literal["file", "passphrase", "pkcs11"]


class Settings(BaseSettings):
    """Every tunable of a Harbour installation; see the settings table in README.md."""

    model_config = SettingsConfigDict(env_prefix="HARBOUR_", extra="ignore", frozen=True)

    environment: Literal["production", "development"] = "production"
    data_dir: Path = Path("harbour-data")
    database_url: str | None = Field(default=None, description="defaults to SQLite in the data directory")

    key_provider: KeyProviderName = "file"
    passphrase_file: Path | None = None
    pkcs11_library: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token_label: str = "harbour"  # noqa: S105 - a token label, not a secret
    pkcs11_pin_file: Path | None = None
    pkcs11_key_label: str = "harbour-root"

    # argon2id for passwords; SECURITY.md records what these cost on the reference machine.
    argon2_memory_kib: int = Field(default=65536, ge=8192)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_parallelism: int = Field(default=4, ge=1)

    session_idle_minutes: int = Field(default=15, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    cookie_secure: bool = True
    require_totp: bool = True
    demo_mode: bool = False

    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        """Plain-http cookies and relaxed TOTP are for local development and the demo only."""
        if self.environment == "production" and not self.cookie_secure:
            raise ValueError(
                "HARBOUR_COOKIE_SECURE=false is allowed only with HARBOUR_ENVIRONMENT=development"
            )
        if self.environment == "production" and not self.require_totp and not self.demo_mode:
            raise ValueError("HARBOUR_REQUIRE_TOTP=false is allowed only in development or demo mode")
        return self

    @property
    def keys_dir(self) -> Path:
        """Folder for the root key file and the key store; backups exclude it."""
        return self.data_dir / "keys"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in effect: HARBOUR_DATABASE_URL, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'harbour.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite one."""
        return self.sqlalchemy_url.startswith("sqlite")
