"""Crash consistency: the server killed with SIGKILL mid-write, several times, loses nothing it acknowledged.

Each round starts clients that register persons, create interviews, upload transcripts, apply codings with
memos and read transcripts, while `harbour keys rotate` re-wraps every zone one data key per transaction (the
approach of tests/keys/test_rotation_crash.py, here killed together with the server, as a power cut would).
After a seeded random delay the whole server process group and the rotation get SIGKILL. After each restart
(and a resumed rotation, when one was interrupted):

- every write the clients got a 2xx for is in the database;
- every transaction is all-or-nothing: each interview, transcript version, person and coding row has its
  audit entry and each such audit entry its row; every data key has its owner;
- every ciphertext in every encrypted column names a data key that exists, unwraps and opens the value;
- the audit chain verifies.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import models
from app.audit import service as audit_log
from app.auth.models import User
from app.db import unit_of_work
from app.encryption import EncryptedColumn
from app.identities import service as identities
from app.identities.models import Person
from app.interviews.models import Interview, TranscriptVersion
from app.keys import provider as key_provider
from app.keys import service as data_keys
from app.keys.models import DataKey
from app.keys.service import OwnerType
from app.projects.models import Project
from app.runtime import Runtime
from app.settings import Settings
from crypto import aead
from crypto.keyring import KeyStore, Zone, open_field
from scripts.perf.harness import (
    FAST_ARGON2_ENV,
    PERSON_NAMES,
    TRANSCRIPT,
    LoadResult,
    Operation,
    Server,
    World,
    restart,
    run_harbour,
    run_load,
    seed,
    start_server,
    system_context,
)
from tests.databases import DatabaseFactory
from tests.keys.helpers import harbour_process

SEED = 20260914
ROUNDS = 3
CLIENTS = 6
EXTRA_PERSONS = 200  # more data keys, so that a rotation one key per transaction is still running at the kill
KILL_AFTER_WRITES = (1, 4)  # acknowledged writes to wait for in a round before the SIGKILL, drawn per round
KILL_JITTER = (0.0, 0.4)  # then a random extra delay, in seconds, so the kill lands mid-request
PROGRESS_SECONDS = 90.0  # a round with no progress for this long ends (and the test reports it)

# Which audit action records the creation of which row (each must have the other).
CREATIONS: dict[str, type[Interview | TranscriptVersion | Person | models.Coding]] = {
    "interview.create": Interview,
    "transcript.upload": TranscriptVersion,
    "person.register": Person,
    "coding.create": models.Coding,
}
OWNERS: dict[str, type[Person | Interview | User | Project]] = {
    OwnerType.PERSON.value: Person,
    OwnerType.INTERVIEW.value: Interview,
    OwnerType.USER.value: User,
    OwnerType.PROJECT.value: Project,
}


@dataclass
class Acknowledged:
    """Ids of the rows whose creation a client saw answered 2xx."""

    interviews: list[uuid.UUID] = field(default_factory=list)
    versions: list[uuid.UUID] = field(default_factory=list)
    persons: list[uuid.UUID] = field(default_factory=list)
    codings: list[uuid.UUID] = field(default_factory=list)

    def total(self) -> int:
        """All acknowledged writes."""
        return len(self.interviews) + len(self.versions) + len(self.persons) + len(self.codings)


def crash_mix(world: World, acked: Acknowledged) -> list[Operation]:
    """Writes that touch data keys, ciphertext and the audit log in one transaction each, and reads."""
    interviewer, coder = world.interviewer.headers, world.coder.headers

    async def register(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        body = {"legal_name": rng.choice(PERSON_NAMES), "notes": "Fictional crash-test person."}
        response = await client.post(
            f"/api/v1/projects/{world.project_id}/persons", json=body, headers=interviewer
        )
        if response.status_code == 201:
            acked.persons.append(uuid.UUID(response.json()["person"]["id"]))
        return response

    async def create(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        body = {
            "interviewee_person_id": str(rng.choice(world.persons)),
            "interview_month": "2025-04",
            "mode": "encrypted_call",
            "languages": ["ru"],
        }
        response = await client.post(
            f"/api/v1/projects/{world.project_id}/interviews", json=body, headers=interviewer
        )
        if response.status_code == 201:
            acked.interviews.append(uuid.UUID(response.json()["id"]))
        return response

    async def upload(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        interview = rng.choice([item.id for item in world.interviews] + acked.interviews)
        data = TRANSCRIPT.format(name=rng.choice(PERSON_NAMES)).encode()
        response = await client.post(
            f"/api/v1/interviews/{interview}/transcripts",
            files={"file": ("transcript.txt", data, "text/plain")},
            headers=interviewer,
        )
        if response.status_code == 201:
            acked.versions.append(uuid.UUID(response.json()["id"]))
        return response

    async def code(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        interview = rng.choice(world.interviews)
        start = rng.randrange(0, interview.length - 1)
        body = {
            "start": start,
            "end": rng.randrange(start + 1, interview.length + 1),
            "code_ids": [str(rng.choice(world.code_ids))],
            "memo": "A fictional memo written during a crash test.",
        }
        response = await client.post(f"/api/v1/interviews/{interview.id}/codings", json=body, headers=coder)
        if response.status_code == 201:
            acked.codings.extend(uuid.UUID(item["id"]) for item in response.json())
        return response

    async def read(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        interview = rng.choice(world.interviews)
        url = f"/api/v1/interviews/{interview.id}/transcripts/latest/pseudonymised"
        return await client.get(url, headers=coder)

    created = frozenset({201})
    return [
        Operation("register", 15, register, created),
        Operation("interview", 15, create, created),
        Operation("upload", 20, upload, created),
        Operation("coding", 35, code, created),
        Operation("read", 15, read),
    ]


def _kill_group(process_id: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process_id, signal.SIGKILL)


def crash_round(
    server: Server, world: World, acked: Acknowledged, rng: random.Random, index: int
) -> LoadResult:
    """Load and rotate, then SIGKILL the server's process group and the rotation at a random moment."""
    keystore = key_provider.keystore_path(server.settings)
    unrotated = keystore.stat().st_mtime_ns
    rotation = harbour_process(["keys", "rotate", "--batch-size", "1"], server.env, start_new_session=True)
    stop = threading.Event()
    results: list[LoadResult] = []
    load = threading.Thread(
        target=lambda: results.append(
            run_load(server.url, crash_mix(world, acked), clients=CLIENTS, seconds=120, seed=index, stop=stop)
        )
    )
    load.start()
    writes = rng.randint(*KILL_AFTER_WRITES)
    wanted = acked.total() + writes
    try:
        # Kill at a random point once some writes were acknowledged (however slow the machine is).
        deadline = time.monotonic() + PROGRESS_SECONDS
        # The rotation has begun once it added a key version (it rewrites the key store).
        while (
            keystore.stat().st_mtime_ns == unrotated
            and rotation.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        wanted = acked.total() + writes
        while acked.total() < wanted and load.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(*KILL_JITTER))
    finally:
        server.kill()
        _kill_group(rotation.pid)
        rotation.wait(timeout=30)
        stop.set()
        load.join(timeout=120)
    assert not load.is_alive()
    assert server.process.returncode == -signal.SIGKILL
    assert acked.total() >= wanted, f"round {index}: the clients got too few writes acknowledged"
    result = results[0]
    for name, stats in result.stats.items():
        refused = {status for status in stats.statuses if 400 <= status < 500}
        assert not refused, f"{name} answered {refused}: the requests themselves are wrong"
    return result


def resume_rotations(server: Server) -> list[str]:
    """Finish every rotation the crash interrupted, as an operator would; returns the zones resumed."""
    runtime = Runtime.open(server.settings)
    try:
        zones = [
            zone.value
            for zone in data_keys.ROTATING_ZONES
            if data_keys.rotation_in_progress(runtime.keys, zone)
        ]
    finally:
        runtime.close()
    for zone in zones:
        done = run_harbour(server.env, "keys", "rotate", "--zone", zone)
        assert done.returncode == 0, done.stderr
    return zones


def _ids(session: Session, model: type[models.Base]) -> set[str]:
    return {str(value) for value in session.scalars(select(model.__table__.c.id))}


def _open_every_ciphertext(session: Session, keys: KeyStore) -> int:
    """Open every non-null value of every encrypted column with the data key its header names."""
    deks: dict[uuid.UUID, bytes] = {}
    for key in session.scalars(select(DataKey)):
        deks[key.id] = keys.unwrap_dek(Zone(key.zone), key.wrapped, aad=data_keys.wrap_aad(key.id))
    opened = 0
    for table in models.Base.metadata.sorted_tables:
        columns = [column for column in table.c if isinstance(column.type, EncryptedColumn)]
        if not columns:
            continue
        assert "id" in table.c, f"{table.name} has encrypted columns but no id"
        for row in session.execute(select(table.c.id, *columns)):
            for column, sealed in zip(columns, row[1:], strict=True):
                if sealed is None:
                    continue
                key_id = aead.read_header(sealed.blob).key_id
                assert key_id in deks, f"{table.name}.{column.name} of {row.id}: its data key is missing"
                open_field(deks[key_id], sealed.blob, aad=aead.aad_for(table.name, column.name, row.id))
                opened += 1
    return opened


def check_consistency(settings: Settings, acked: Acknowledged) -> int:
    """Assert every invariant of a database after a crash; returns how many ciphertexts were opened."""
    runtime = Runtime.open(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            assert set(acked.interviews) <= set(session.scalars(select(Interview.id)))
            assert set(acked.versions) <= set(session.scalars(select(TranscriptVersion.id)))
            assert set(acked.persons) <= set(session.scalars(select(Person.id)))
            assert set(acked.codings) <= set(session.scalars(select(models.Coding.id)))

            for action, model in CREATIONS.items():
                audited = set(
                    session.scalars(
                        select(models.AuditEvent.object_id).where(models.AuditEvent.action == action)
                    )
                )
                rows = _ids(session, model)
                assert rows - audited == set(), f"{model.__tablename__} rows without their {action} entry"
                assert audited - rows == set(), f"{action} entries without their {model.__tablename__} row"

            for owner_type, owner_id in session.execute(select(DataKey.owner_type, DataKey.owner_id)):
                owner = session.get(OWNERS[owner_type], owner_id)
                assert owner is not None, f"a {owner_type} data key without its owner"

            opened = _open_every_ciphertext(session, runtime.keys)
            report = audit_log.verify(session, keys=runtime.keys)
            assert report.ok, (report.first_bad_seq, report.problem)
            return opened
    finally:
        runtime.close()


def test_sigkill_during_writes_and_rotation_loses_no_acknowledged_write(
    tmp_path: Path, databases: DatabaseFactory
) -> None:
    rng = random.Random(SEED)
    workers = 2 if databases.backend == "postgresql" else 1
    server = start_server(tmp_path / "data", databases.new("crash"), workers, FAST_ARGON2_ENV)
    try:
        world = seed(server, interviews_count=3)
        with system_context(server.settings) as ctx:
            for number in range(EXTRA_PERSONS):
                name = PERSON_NAMES[number % len(PERSON_NAMES)]
                identities.register(ctx, project_id=world.project_id, legal_name=name)
        acked = Acknowledged()
        check_consistency(server.settings, acked)
        for index in range(ROUNDS):
            before = acked.total()
            crash_round(server, world, acked, rng, index)
            server = restart(server)
            resume_rotations(server)
            check_consistency(server.settings, acked)
            assert acked.total() >= before
        for kind in (acked.interviews, acked.versions, acked.persons, acked.codings):
            assert kind, acked
        # The server still serves after the last crash, with the data it acknowledged.
        with httpx.Client(base_url=server.url, headers=world.coder.headers) as client:
            listed = client.get(f"/api/v1/interviews/{world.interviews[0].id}/codings")
            assert listed.status_code == 200
    finally:
        server.stop()
