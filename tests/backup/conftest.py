"""An installation with real ciphertext (persons, a transcript, codings), and helpers to restore it elsewhere.

Every name and sentence is fictional; canaries are random letters.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service as users
from app.auth import sessions
from app.auth.models import Role
from app.coding import service as coding
from app.coding.models import Code, Coding
from app.context import Context
from app.db import Base
from app.encryption import EncryptedColumn
from app.identities import service as identities
from app.incidents.models import IncidentMention
from app.interviews import service as interviews
from app.interviews.models import TranscriptFlag
from app.keys.models import DataKey
from app.keys.service import wrap_aad
from app.projects import service as projects
from app.settings import Settings
from crypto import aead
from crypto.keyring import KeyStore, Zone, open_field
from tests.cli_support import Harbour
from tests.databases import DatabaseFactory
from tests.security.canaries import canary

PROJECT = "fieldwork"


@dataclass
class Installation:
    """What `populate` made: persons by pseudonym with their legal names, and the canaries planted."""

    persons: dict[str, str] = field(default_factory=dict)
    interview_id: uuid.UUID | None = None
    canaries: list[str] = field(default_factory=list)
    codings: int = 0

    def name(self, index: int) -> str:
        """The legal name of the index-th person registered."""
        return list(self.persons.values())[index]


def _turns(name: str, words: list[str]) -> bytes:
    turns = [
        ("Interviewer", "When did the summons arrive?"),
        (name, f"It came in March. {words[0]} and they took my passport at the border."),
        ("Interviewer", "What happened to your family?"),
        (name, f"My brother was questioned twice. {words[1]}"),
    ]
    return "\n\n".join(f"{speaker}: {text}" for speaker, text in turns).encode("utf-8")


def populate(harbour: Harbour, *, people: int = 3) -> Installation:
    """Initialise, register persons with identity fields, upload and approve a transcript, apply codes."""
    assert harbour("init").code == 0
    assert harbour("projects", "add", PROJECT).code == 0
    made = Installation()
    with harbour.context() as ctx:
        session = ctx.session
        project = projects.get_by_name_or_raise(session, name=PROJECT)
        interviewer = users.create(ctx, username="ivy", role=Role.INTERVIEWER, project_name=PROJECT).user
        coder = users.create(ctx, username="cole", role=Role.CODER, project_name=PROJECT).user
        ids = []
        for n in range(people):
            script = ("latin", "cyrillic", "arabic", "cjk")[n % 4]
            name = f"{canary(script, 'Given', 'NFC')} {canary(script, 'Family', 'NFC')}"
            alias, contact, note = (canary(script, part, "NFD") for part in ("Alias", "Contact", "Note"))
            made.canaries += [name, alias, contact, note]
            person = identities.register(
                ctx, project_id=project.id, legal_name=name, aliases=[alias], contacts=contact, notes=note
            ).person
            made.persons[person.pseudonym] = name
            ids.append(person.id)
        interview = interviews.create(
            ctx,
            project_id=project.id,
            interviewee_person_id=ids[0],
            interview_month="2025-03",
            mode="in_person",
            languages=["ru"],
            interviewer_id=interviewer.id,
        )
        words = [canary("latin", "Text", "NFC"), canary("cyrillic", "Text", "NFC")]
        made.canaries += words
        version = interviews.upload(
            ctx, interview_id=interview.id, filename="t.txt", data=_turns(made.name(0), words)
        )
        for flag in session.scalars(
            select(TranscriptFlag).where(TranscriptFlag.transcript_version_id == version.id)
        ):
            interviews.decide_flag(ctx, interview_id=interview.id, flag_id=flag.id, decision="redact")
        interviews.approve(ctx, interview_id=interview.id)
        made.interview_id = interview.id
        actor = sessions.actor_for(session, user_id=coder.id)
        as_coder = Context(session, ctx.runtime, actor)
        memo = canary("arabic", "Memo", "NFC")
        made.canaries.append(memo)
        bearing = session.scalars(
            select(Code.id).where(Code.project_id == project.id, Code.variable_field.is_not(None)).limit(2)
        ).all()
        for code_id in bearing:
            made.codings += len(
                coding.apply(
                    as_coder, interview_id=interview.id, start=0, end=10, code_ids=[code_id], memo=memo
                )
            )
    return made


def plaintext_digests(session: Session, keys: KeyStore) -> dict[tuple[str, str, str], str]:
    """SHA-256 of the plaintext of every encrypted value, opened independently of the code under test."""
    digests: dict[tuple[str, str, str], str] = {}
    deks: dict[uuid.UUID, bytes] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, EncryptedColumn):
                continue
            for row_id, sealed in session.execute(select(table.c.id, column).where(column.is_not(None))):
                key_id = aead.read_header(sealed.blob).key_id
                if key_id not in deks:
                    row = session.get(DataKey, key_id)
                    assert row is not None
                    deks[key_id] = keys.unwrap_dek(Zone(row.zone), row.wrapped, aad=wrap_aad(row.id))
                plaintext = open_field(
                    deks[key_id], sealed.blob, aad=aead.aad_for(table.name, column.name, row_id)
                )
                digests[(table.name, column.name, str(row_id))] = hashlib.sha256(plaintext).hexdigest()
    return digests


def row_count(session: Session, model: type) -> int:
    """Rows of one model."""
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


COUNTED = (Coding, IncidentMention, DataKey)


@dataclass
class Target:
    """A fresh place to restore into: its data directory and (on PostgreSQL) its empty database."""

    data_dir: Path
    database_url: str | None


def fresh_target(
    tmp_path: Path, databases: DatabaseFactory, label: str, *, keys_from: Path | None = None
) -> Target:
    """A new data directory (holding a copy of a key store when asked) and a new empty database."""
    data_dir = tmp_path / f"restored-{label}"
    if keys_from is not None:
        shutil.copytree(keys_from / "keys", data_dir / "keys")
    url = databases.new(label) if databases.backend == "postgresql" else None
    return Target(data_dir, url)


def use_target(monkeypatch: pytest.MonkeyPatch, target: Target) -> None:
    """Point HARBOUR_* at the target."""
    monkeypatch.setenv("HARBOUR_DATA_DIR", str(target.data_dir))
    if target.database_url is not None:
        monkeypatch.setenv("HARBOUR_DATABASE_URL", target.database_url)


def live_settings() -> Settings:
    """Settings of the installation the environment names."""
    return Settings()
