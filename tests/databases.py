"""Throw-away databases for tests: a file per database on SQLite, a fresh database per run on PostgreSQL.

HARBOUR_TEST_DATABASE_URL names a PostgreSQL server and maintenance database (for example
postgresql+psycopg://postgres@127.0.0.1:5432/test); each run creates uniquely named databases beside it and
drops them at the end, so concurrent runs and developer data never collide.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

POSTGRES_URL_VARIABLE = "HARBOUR_TEST_DATABASE_URL"


def server_url() -> str | None:
    """The PostgreSQL server to test against, if this run targets PostgreSQL."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


class DatabaseFactory:
    """Creates empty databases of the backend under test and drops them when closed."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.server = server_url()
        self.created: list[str] = []

    @property
    def backend(self) -> str:
        """'postgresql' or 'sqlite'."""
        return "postgresql" if self.server else "sqlite"

    def new(self, label: str = "db") -> str:
        """The URL of a new, empty database."""
        name = f"harbour_test_{label}_{secrets.token_hex(4)}"
        if self.server is None:
            return f"sqlite:///{self.tmp_dir / (name + '.db')}"
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(self.server).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        """Drop every database this factory made."""
        if self.server is None or not self.created:
            return
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
