"""The `harbour` command run in-process, as an operator meets it, against a throw-away installation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.context import Context
from app.db import unit_of_work
from app.runtime import Runtime
from app.settings import Settings
from tests.databases import DatabaseFactory

FAST_ARGON2 = {"argon2_memory_kib": 8192, "argon2_time_cost": 1, "argon2_parallelism": 1}


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
    tmp_path: Path, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, label: str = "cli"
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


@pytest.fixture
def harbour(
    tmp_path: Path,
    databases: DatabaseFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Harbour:
    """The command, against a fresh data directory and database of the backend under test."""
    return Harbour(harbour_env(tmp_path, databases, monkeypatch), capsys)
