"""Helpers for the key, identity and security tests: own key stores, contexts, the CLI in-process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import make_url

from crypto.keyring import KeyStore
from crypto.providers import FileKeyProvider

REPO = Path(__file__).resolve().parents[2]


def fresh_keystore(directory: Path) -> KeyStore:
    """A new key store of its own (tests that rotate or destroy must not touch the shared one)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return KeyStore.create(directory / "keystore.json", FileKeyProvider.create(directory / "root.key"))


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
