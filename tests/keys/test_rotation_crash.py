"""A real crash: `harbour keys rotate` killed with SIGKILL mid-way, then run again, loses nothing."""

from __future__ import annotations

import os
import signal
import time
import uuid

from sqlalchemy import Engine, func, select

from app.db import make_engine
from app.identities import service as identities
from app.keys import service as data_keys
from app.keys.models import DataKey
from app.keys.service import OwnerType
from app.projects import service as projects
from app.settings import Settings
from crypto.keyring import Zone
from tests.cli_support import Harbour
from tests.keys.helpers import harbour_process

EXTRA_KEYS = 1500


def _versions(engine: Engine) -> dict[int, int]:
    with engine.connect() as connection:
        query = select(DataKey.kek_version, func.count()).where(DataKey.zone == Zone.IDENTITY.value)
        return dict(connection.execute(query.group_by(DataKey.kek_version)).all())


def test_rotation_killed_with_sigkill_resumes_and_loses_nothing(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    assert harbour("projects", "add", "crash").code == 0
    with harbour.context() as ctx:
        project = projects.get_by_name_or_raise(ctx.session, name="crash")
        people = {
            identities.register(
                ctx, project_id=project.id, legal_name=f"Crash Test {n}"
            ).person.id: f"Crash Test {n}"
            for n in range(5)
        }
        for _ in range(EXTRA_KEYS):
            owner = uuid.uuid4()
            data_keys.dek_for(
                ctx.session,
                ctx.runtime.keys,
                zone=Zone.IDENTITY,
                owner_type=OwnerType.PERSON,
                owner_id=owner,
                create=True,
            )
    engine = make_engine(Settings().sqlalchemy_url)
    try:
        _crash_and_resume(harbour, engine, people)
    finally:
        engine.dispose()


def _crash_and_resume(harbour: Harbour, engine: Engine, people: dict[uuid.UUID, str]) -> None:
    total = EXTRA_KEYS + len(people)

    process = harbour_process(["keys", "rotate", "--zone", "identity", "--batch-size", "1"], dict(os.environ))
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            moved = _versions(engine).get(2, 0)
            if moved >= 20 or process.poll() is not None:
                break
            time.sleep(0.005)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    midway = _versions(engine)
    assert midway.get(2, 0) >= 20, midway
    assert midway.get(1, 0) > 0, "the rotation finished before it could be killed"
    assert sum(midway.values()) == total

    resumed = harbour("keys", "rotate", "--zone", "identity", "--batch-size", "200")
    assert resumed.code == 0, resumed.err
    assert "Resumed and finished identity: primary version 2" in resumed.out
    assert _versions(engine) == {2: total}
    with harbour.context() as ctx:
        for person_id, name in people.items():
            read = identities.read_identity(ctx, person_id)
            assert read.legal_name is not None
            assert read.legal_name.reveal() == name
