"""Helpers for the key, identity and security tests: own key stores, contexts, the CLI in-process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url

from app.context import Context
from app.db import unit_of_work
from app.runtime import Runtime
from app.settings import Settings
from crypto.keyring import KeyStore
from crypto.providers import FileKeyProvider
from tests.conftest import FAST_ARGON2
from tests.databases import DatabaseFactory

REPO = Path(__file__).resolve().parents[2]


def fresh_keystore(directory: Path) -> KeyStore:
    """A new key store of its own (tests that rotate or destroy must not touch the shared one)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return KeyStore.create(directory / "keystore.json", FileKeyProvider.create(directory / "root.key"))


@dataclass
class Result:
    """What one command printed and returned."""

    code: int
    out: str
    err: str


class Harbour:
    """Runs `harbour ARGS...` in-process against one data directory and captures what it printed."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = data_dir
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        from app.cli import main

        self.capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    @contextmanager
    def context(self) -> Iterator[Context]:
        """One committed transaction on this installation, as the system, with its keys unlocked."""
        runtime = Runtime.open(Settings())
        try:
            with unit_of_work(runtime.sessions) as session:
                yield Context(session, runtime, None)
        finally:
            runtime.close()


def harbour_env(
    tmp_path: Path, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, label: str = "keys"
) -> Path:
    """Point HARBOUR_* at a fresh data directory and database of the backend under test."""
    data_dir = tmp_path / "harbour-data"
    monkeypatch.setenv("HARBOUR_DATA_DIR", str(data_dir))
    monkeypatch.delenv("HARBOUR_DATABASE_URL", raising=False)
    monkeypatch.delenv("HARBOUR_KEY_PROVIDER", raising=False)
    monkeypatch.delenv("HARBOUR_PASSPHRASE_FILE", raising=False)
    if databases.backend == "postgresql":
        monkeypatch.setenv("HARBOUR_DATABASE_URL", databases.new(label))
    for key, value in FAST_ARGON2.items():
        monkeypatch.setenv(f"HARBOUR_{key.upper()}", str(value))
    monkeypatch.setenv("COLUMNS", "200")
    return data_dir


def libpq_url(sqlalchemy_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq tools (pg_dump, psql) take it."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_dump(sqlalchemy_url: str, out: Path) -> Path:
    """Dump a PostgreSQL database (plain SQL) to a file."""
    subprocess.run(["pg_dump", "--no-owner", "--file", str(out), libpq_url(sqlalchemy_url)], check=True)
    return out


def pg_restore(dump: Path, sqlalchemy_url: str) -> None:
    """Load a plain SQL dump into an empty PostgreSQL database."""
    subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(dump), libpq_url(sqlalchemy_url)],
        check=True,
        capture_output=True,
    )


def harbour_process(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    """Start `harbour ARGS...` as a separate process (its own PKCS#11 library state, killable)."""
    command = [sys.executable, "-c", "from app.cli import main; main()", *args]
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def private_file(path: Path, text: str) -> Path:
    """Write a secret file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path
