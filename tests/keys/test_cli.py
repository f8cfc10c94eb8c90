"""`harbour keys status | rotate | erase-person`, in-process as an operator runs them."""

from __future__ import annotations

import io
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from app.identities import service as identities
from app.keys import service as data_keys
from app.keys.service import OwnerType
from app.projects import service as projects
from app.settings import Settings
from crypto.keyring import Zone
from tests.cli_support import Harbour
from tests.databases import DatabaseFactory
from tests.keys.helpers import pg_dump, pg_restore

TESTIMONY, INTERVIEW = Zone.TESTIMONY, OwnerType.INTERVIEW


def _setup(harbour: Harbour, people: int = 3) -> list[str]:
    """Initialise, add a project and register persons; their pseudonyms."""
    assert harbour("init").code == 0
    assert harbour("projects", "add", "fieldwork").code == 0
    with harbour.context() as ctx:
        project = projects.get_by_name_or_raise(ctx.session, name="fieldwork")
        return [
            identities.register(
                ctx, project_id=project.id, legal_name=f"Person {n} Namesake"
            ).person.pseudonym
            for n in range(people)
        ]


def _status_rows(output: str) -> dict[tuple[str, str], list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│┃").split("│")]
        if len(cells) == 5 and cells[1].isdigit():
            rows[(cells[0], cells[1])] = [cells[2], cells[4]]
    return rows


def _read(ctx: Context, pseudonym: str) -> identities.IdentityRead:
    [person] = identities.list_by_pseudonym(ctx.session, pseudonym)
    return identities.read_identity(ctx, person.id)


def test_keys_commands_have_help(harbour: Harbour) -> None:
    for args in (["keys"], ["keys", "status"], ["keys", "rotate"], ["keys", "erase-person"]):
        result = harbour(*args, "--help")
        assert result.code == 0, args
        assert "Usage" in result.out


def test_status_lists_every_zone_with_data_key_counts(harbour: Harbour) -> None:
    _setup(harbour, people=3)
    result = harbour("keys", "status")
    assert result.code == 0, result.err
    rows = _status_rows(result.out)
    assert rows[("identity", "1")] == ["primary", "3"]
    assert rows[("testimony", "1")] == ["primary", "0"]
    assert rows[("index", "1")] == ["primary", "pinned (derived keys)"]
    assert rows[("audit", "1")] == ["primary", "pinned (derived keys)"]


def test_rotate_moves_every_zone_to_a_new_version(harbour: Harbour) -> None:
    pseudonyms = _setup(harbour, people=4)
    result = harbour("keys", "rotate", "--batch-size", "3")
    assert result.code == 0, result.err
    assert "Rotated identity: primary version 2, 4 data keys re-wrapped, retired version(s) 1." in result.out
    for zone in ("testimony", "analysis", "totp"):
        assert f"Rotated {zone}: primary version 2" in result.out
    rows = _status_rows(harbour("keys", "status").out)
    assert rows[("identity", "1")] == ["retired", "0"]
    assert rows[("identity", "2")] == ["primary", "4"]
    assert rows[("index", "1")] == ["primary", "pinned (derived keys)"]
    with harbour.context() as ctx:
        for n, pseudonym in enumerate(pseudonyms):
            read = _read(ctx, pseudonym)
            assert read.legal_name is not None
            assert read.legal_name.reveal() == f"Person {n} Namesake"


def test_rotate_refuses_pinned_and_unknown_zones_in_one_line(harbour: Harbour) -> None:
    _setup(harbour, people=0)
    for zone, message in (("index", "pinned"), ("audit", "pinned"), ("nowhere", "unknown zone")):
        result = harbour("keys", "rotate", "--zone", zone)
        assert result.code == 1
        assert message in result.err
        assert len(result.err.strip().splitlines()) == 1


def test_erase_person_asks_first_and_changes_nothing_when_refused(
    harbour: Harbour, monkeypatch: pytest.MonkeyPatch
) -> None:
    [pseudonym] = _setup(harbour, people=1)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    result = harbour("keys", "erase-person", pseudonym)
    assert result.code != 0
    assert "Erase" in result.out
    with harbour.context() as ctx:
        assert not _read(ctx, pseudonym).erased


def test_erase_person_of_an_unknown_pseudonym_is_a_one_line_error(harbour: Harbour) -> None:
    _setup(harbour, people=0)
    result = harbour("keys", "erase-person", "Calm-Otter-10", "--yes")
    assert result.code == 1
    assert "no person" in result.err
    assert harbour("keys", "erase-person", "Calm-Otter-10", "--project", "nope", "--yes").code == 1


def test_erase_person_holds_against_a_backup_taken_before_it(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    victim, bystander = _setup(harbour, people=2)
    interview = uuid.uuid4()
    with harbour.context() as ctx:
        testimony_key = data_keys.dek_for(
            ctx.session,
            ctx.runtime.keys,
            zone=TESTIMONY,
            owner_type=INTERVIEW,
            owner_id=interview,
            create=True,
        )
    settings = Settings()
    # The backup, taken before the erasure.
    if databases.backend == "sqlite":
        backup = tmp_path / "backup.db"
        with sqlite3.connect(settings.data_dir / "harbour.db") as source, sqlite3.connect(backup) as target:
            source.backup(target)  # what an operator's backup does: a consistent copy, WAL included
        restored_url = f"sqlite:///{backup}"
    else:
        dump = pg_dump(settings.sqlalchemy_url, tmp_path / "backup.sql")
        restored_url = databases.new("restored")

    result = harbour("keys", "erase-person", victim, "--project", "fieldwork", "--yes")
    assert result.code == 0, result.err
    assert f"Erased {victim}." in result.out
    assert "destroyed version(s) 1" in result.out

    with harbour.context() as ctx:
        assert _read(ctx, victim).erased
        bystander_read = _read(ctx, bystander)  # everyone else still reads in the live database
        assert bystander_read.legal_name is not None
        assert bystander_read.legal_name.reveal() == "Person 1 Namesake"
        [event] = ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "keys.erase_person")
        ).all()
        [person] = identities.list_by_pseudonym(ctx.session, victim)
        assert (event.object_type, event.object_id) == ("person", str(person.id))
        assert event.reason is None
    rows = _status_rows(harbour("keys", "status").out)
    assert rows[("identity", "1")] == ["destroyed", "0"]
    assert rows[("identity", "2")] == ["primary", "1"]

    # The old backup, restored and opened with the current key store.
    if databases.backend == "postgresql":
        pg_restore(dump, restored_url)
    monkeypatch.setenv("HARBOUR_DATABASE_URL", restored_url)
    with harbour.context() as ctx:
        old_victim = _read(ctx, victim)
        assert old_victim.erased
        assert old_victim.legal_name is None
        assert _read(ctx, bystander).erased  # the documented price: old backups lose all identity data
        same = data_keys.dek_for(
            ctx.session,
            ctx.runtime.keys,
            zone=TESTIMONY,
            owner_type=INTERVIEW,
            owner_id=interview,
            create=False,
        )
        assert same == testimony_key  # testimony in old backups is unaffected


def test_erase_person_again_completes_the_key_destruction(harbour: Harbour) -> None:
    [pseudonym] = _setup(harbour, people=1)
    assert harbour("keys", "erase-person", pseudonym, "--yes").code == 0
    again = harbour("keys", "erase-person", pseudonym)  # no prompt: nothing left to lose
    assert again.code == 0, again.err
    assert "already erased" in again.out
    rows = _status_rows(harbour("keys", "status").out)
    assert rows[("identity", "2")] == ["destroyed", "0"]
    assert rows[("identity", "3")] == ["primary", "0"]
