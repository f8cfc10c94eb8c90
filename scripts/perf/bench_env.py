"""A throw-away Harbour installation for the benchmark: data directory, keys, migrated database, one project.

SQLite lives in the temporary data directory; PostgreSQL gets a uniquely named database beside the server's
maintenance database (as tests/databases.py does) that `close` drops again.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from app import migrate
from app.auth import service as users
from app.auth.models import Role
from app.context import Context
from app.db import unit_of_work
from app.identities import service as identities
from app.interviews import service as interviews
from app.keys import provider as key_provider
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from scripts.perf import bench_data

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def new_postgres_database(server: str, label: str) -> str:
    """Create a uniquely named database on the server and return its URL."""
    name = f"harbour_bench_{label}_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server: str, url: str) -> None:
    """Drop a database made by `new_postgres_database`."""
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Installation:
    """A data directory with keys, a migrated database, an interviewer and a project with two people."""

    data_dir: Path
    database_url: str
    settings: Settings
    runtime: Runtime
    project_id: uuid.UUID = field(default_factory=uuid.uuid4)
    interviewer_id: uuid.UUID = field(default_factory=uuid.uuid4)
    interviewee_id: uuid.UUID = field(default_factory=uuid.uuid4)
    relative_id: uuid.UUID = field(default_factory=uuid.uuid4)
    postgres_server: str | None = None

    @contextmanager
    def context(self) -> Iterator[Context]:
        """One committed transaction as the system (the CLI's actor)."""
        with unit_of_work(self.runtime.sessions) as session:
            yield Context(session, self.runtime, None)

    def new_interview(self) -> uuid.UUID:
        """A fresh interview with the interviewee (relative linked), its key made now."""
        with self.context() as ctx:
            interview = interviews.create(
                ctx,
                project_id=self.project_id,
                interviewee_person_id=self.interviewee_id,
                interview_month="2024-05",
                mode="in_person",
                languages=["en"],
                linked_person_ids=[self.relative_id],
                interviewer_id=self.interviewer_id,
            )
            return interview.id

    def ingest(self, interview_id: uuid.UUID, filename: str, data: bytes) -> None:
        """Upload (parse, pseudonymise, encrypt, store) then approve (index) one transcript."""
        with self.context() as ctx:
            interviews.upload(ctx, interview_id=interview_id, filename=filename, data=data)
        with self.context() as ctx:
            interviews.approve(ctx, interview_id=interview_id)

    def close(self) -> None:
        """Release connections, drop a PostgreSQL database and remove the data directory."""
        self.runtime.close()
        if self.postgres_server is not None:
            drop_postgres_database(self.postgres_server, self.database_url)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def settings_for(data_dir: Path, database_url: str) -> Settings:
    """Production settings except plain-http cookies on 127.0.0.1 and cheap argon2: the in-process items
    never check a password, and the installation's one user need not cost a second of hashing."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        environment="development",
        cookie_secure=False,
        max_upload_bytes=64 * 1024 * 1024,
        argon2_memory_kib=8192,
        argon2_time_cost=1,
        argon2_parallelism=1,
    )


def install(postgres_server: str | None = None, *, label: str = "main") -> Installation:
    """Make a fresh installation on SQLite (postgres_server None) or on a new PostgreSQL database."""
    data_dir = Path(tempfile.mkdtemp(prefix="harbour-bench-"))
    data_dir.chmod(0o700)
    if postgres_server is None:
        url = f"sqlite:///{data_dir / 'harbour.db'}"
    else:
        url = new_postgres_database(postgres_server, label)
    settings = settings_for(data_dir, url)
    key_provider.create_keystore(settings)
    runtime = Runtime.open(settings, unlock=False)
    migrate.upgrade(runtime.engine)
    runtime.unlock()
    found = Installation(data_dir, url, settings, runtime, postgres_server=postgres_server)
    with found.context() as ctx:
        project = projects.create(ctx, name=f"bench-{secrets.token_hex(3)}")
        interviewer = users.create(
            ctx,
            username=f"bench-int-{secrets.token_hex(3)}",
            role=Role.INTERVIEWER,
            project_name=project.name,
        )
        found.project_id = project.id
        found.interviewer_id = interviewer.user.id
        found.interviewee_id = identities.register(
            ctx,
            project_id=project.id,
            legal_name=bench_data.INTERVIEWEE_NAMES[0],
            aliases=list(bench_data.INTERVIEWEE_NAMES[1:]),
        ).person.id
        found.relative_id = identities.register(
            ctx,
            project_id=project.id,
            legal_name=bench_data.RELATIVE_NAMES[0],
            aliases=list(bench_data.RELATIVE_NAMES[1:]),
        ).person.id
    return found
