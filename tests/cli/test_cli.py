"""The `harbour` command as an operator meets it: help, init, users, projects, demo and clean errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.cli_support import Harbour


def _password_from(output: str) -> str:
    for line in output.splitlines():
        if "password:" in line.lower():
            return line.split(":", 1)[1].split()[0]
    raise AssertionError("no password printed")


def test_help_lists_the_commands(harbour: Harbour) -> None:
    result = harbour("--help")
    assert result.code == 0
    for command in ("init", "serve", "users", "projects", "demo", "migrate"):
        assert command in result.out


def test_every_command_has_help(harbour: Harbour) -> None:
    for args in (
        ["init"],
        ["serve"],
        ["demo"],
        ["users", "add"],
        ["users", "list"],
        ["users", "disable"],
        ["projects", "add"],
        ["projects", "grant"],
        ["migrate"],
    ):
        result = harbour(*args, "--help")
        assert result.code == 0, args
        assert "Usage" in result.out


def test_init_creates_data_dir_keys_database_and_a_one_time_admin_password(harbour: Harbour) -> None:
    result = harbour("init")
    assert result.code == 0, result.err
    password = _password_from(result.out)
    assert len(password) >= 15
    data_dir: Path = harbour.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "keys" / "root.key").stat().st_mode) == 0o600
    listed = harbour("users", "list")
    assert listed.code == 0
    assert "admin" in listed.out
    assert password not in listed.out


def test_a_second_init_refuses_and_changes_nothing(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    data_dir: Path = harbour.data_dir
    before = {
        p: p.read_bytes()
        for p in data_dir.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }
    again = harbour("init")
    assert again.code != 0
    assert again.err.startswith("error:")
    assert len(again.err.strip().splitlines()) == 1
    after = {
        p: p.read_bytes()
        for p in data_dir.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }
    assert after == before


def test_unknown_role_is_a_one_line_error(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    result = harbour("users", "add", "x", "--role", "nosuchrole")
    assert result.code != 0
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert "unknown role" in result.err
    assert "Traceback" not in result.err + result.out


def test_commands_before_init_say_what_to_do(harbour: Harbour) -> None:
    result = harbour("users", "list")
    assert result.code != 0
    assert "harbour init" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_missing_argument_is_a_one_line_usage_error(harbour: Harbour) -> None:
    result = harbour("users", "add")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1


def test_users_and_projects_round_trip(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    assert harbour("projects", "add", "fieldwork").code == 0
    added = harbour("users", "add", "iris.interviewer", "--role", "interviewer", "--project", "fieldwork")
    assert added.code == 0, added.err
    assert len(_password_from(added.out)) >= 15
    assert harbour("users", "add", "cody", "--role", "coder").code != 0
    assert harbour("users", "add", "cody", "--role", "coder", "--project", "fieldwork").code == 0
    assert harbour("projects", "grant", "fieldwork", "cody", "auditor").code == 0
    duplicate = harbour("projects", "grant", "fieldwork", "cody", "auditor")
    assert duplicate.code != 0
    assert "already" in duplicate.err
    listed = harbour("users", "list")
    assert "interviewer in fieldwork" in listed.out
    assert "auditor in fieldwork" in listed.out
    assert harbour("users", "disable", "cody").code == 0
    assert "disabled" in harbour("users", "list").out
    assert harbour("users", "disable", "nobody").code != 0
    projects = harbour("projects", "list")
    assert "fieldwork" in projects.out


def test_demo_loads_once_and_prints_a_login_per_role(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    result = harbour("demo")
    assert result.code == 0, result.err
    for role in ("admin", "interviewer", "coder", "auditor"):
        assert role in result.out
    assert "Registered 3 fictional persons" in result.out
    status = harbour("keys", "status")
    assert status.code == 0
    assert "identity" in status.out
    assert harbour("audit", "verify").code == 0
    again = harbour("demo")
    assert again.code != 0
    assert "already loaded" in again.err


def test_serve_refuses_several_workers_on_sqlite(harbour: Harbour, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARBOUR_DATABASE_URL", raising=False)
    result = harbour("serve", "--workers", "2")
    assert result.code != 0
    assert "PostgreSQL" in result.err


def test_serve_refuses_to_start_when_the_key_file_is_readable_by_others(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    key_file = harbour.data_dir / "keys" / "root.key"
    key_file.chmod(0o644)
    result = harbour("serve", "--port", "8765")
    assert result.code == 1
    assert "keys are sealed" in result.err
    assert len(result.err.strip().splitlines()) == 1
