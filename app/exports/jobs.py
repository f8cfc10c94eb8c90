"""Export jobs: long exports run in the background, with progress, for the one user who asked.

Life of a job: `start` (in the request's transaction, audited `export_job.start`) adds a queued row; once that
transaction commits, the process's `JobRunner` runs it in a bounded thread pool, each step in its own
transaction: mark it running, build the export through `registry.run` as the requesting user (audited
`export.<kind>` and `export_job.complete` in the same transaction as the sealed result), or mark it failed
with a fixed, content-free message (audited `export_job.fail`). `open_result` hands the file out (audited
`export_job.download`).

Any process can report on and serve any job: everything lives in the row. A runner touches `heartbeat_at` of
the jobs it holds every `HEARTBEAT` seconds; a queued or running job whose heartbeat is older than `STALE` was
orphaned by a restart or a crash and is marked failed the next time anyone looks. Finished files are sealed
under the project's ANALYSIS-zone data key with associated data bound to the job row, and jobs are deleted
`RETENTION` after they finish (or are started, for ones that never finished).

A job is found only by its owner, inside a project where they may still export: anyone else gets 404.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, event, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from app.audit.service import Outcome
from app.auth import sessions
from app.auth.policy import Action
from app.context import Context
from app.db import unit_of_work
from app.encryption import DataIntegrityError, Sealed, aad_of
from app.errors import AppError, ConflictError, NotFoundError
from app.exports import registry
from app.exports.models import ExportJob, JobStatus
from app.keys import service as data_keys
from app.keys.service import OwnerType
from app.projects.models import Project
from app.runtime import Runtime
from crypto.errors import CryptoError
from crypto.keyring import Zone, open_field, seal_field

log = logging.getLogger("harbour.exports")

RETENTION = timedelta(hours=24)
STALE = timedelta(minutes=2)
HEARTBEAT = 30.0
MAX_UNFINISHED_PER_USER = 5
MAX_WORKERS = 2

INTERRUPTED = "Harbour restarted while this export ran, so it stopped. Start it again."
INTERNAL = (
    "The export failed because of an internal error; no file was made. Start it again or tell an admin."
)
UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


@dataclass(frozen=True)
class JobFile:
    """A finished job's file, ready to hand out."""

    data: bytes
    media_type: str
    filename: str


def _now(runtime: Runtime) -> datetime:
    return runtime.clock()


def _mine(ctx: Context) -> Select[ExportJob]:
    """The caller's jobs in projects where they may still export (nothing for the system)."""
    if ctx.actor is None:
        return select(ExportJob).where(ExportJob.id.is_(None))
    return select(ExportJob).where(
        ExportJob.user_id == ctx.actor.user_id,
        ExportJob.project_id.in_(ctx.actor.project_ids(Action.EXPORT_DEIDENTIFIED)),
    )


def sweep(session: Session, runtime: Runtime) -> None:
    """Delete expired jobs with their files, and fail jobs whose runner stopped answering."""
    now = _now(runtime)
    session.execute(delete(ExportJob).where(ExportJob.expires_at < now))
    session.execute(
        update(ExportJob)
        .where(ExportJob.status.in_(UNFINISHED), ExportJob.heartbeat_at < now - STALE)
        .values(status=JobStatus.FAILED.value, message=INTERRUPTED, finished_at=now, runner=None)
    )


def start(ctx: Context, *, project_id: uuid.UUID, kind: str, fmt: str) -> ExportJob:
    """Queue an export of a project for the caller (audited `export_job.start`); run it after commit."""
    exporter = registry.get(kind, fmt)
    if (
        ctx.actor is None
        or not ctx.actor.may_in(Action.EXPORT_DEIDENTIFIED, project_id)
        or ctx.session.get(Project, project_id) is None
    ):
        raise NotFoundError()
    sweep(ctx.session, ctx.runtime)
    unfinished = ctx.session.scalar(
        select(func.count())
        .select_from(ExportJob)
        .where(ExportJob.user_id == ctx.actor.user_id, ExportJob.status.in_(UNFINISHED))
    )
    if (unfinished or 0) >= MAX_UNFINISHED_PER_USER:
        raise ConflictError(
            f"You already have {MAX_UNFINISHED_PER_USER} exports under way: wait for one to finish."
        )
    now = _now(ctx.runtime)
    job = ExportJob(
        id=uuid.uuid4(),
        project_id=project_id,
        user_id=ctx.actor.user_id,
        kind=exporter.kind,
        fmt=exporter.fmt,
        status=JobStatus.QUEUED.value,
        progress=0,
        heartbeat_at=now,
        created_at=now,
        expires_at=now + RETENTION,
    )
    ctx.session.add(job)
    ctx.session.flush()
    ctx.audit(
        "export_job.start", object_type="export_job", object_id=job.id, project_id=project_id, reason=kind
    )
    return job


def get(ctx: Context, *, job_id: uuid.UUID) -> ExportJob:
    """One of the caller's jobs (orphans marked failed first); NotFoundError for anyone else's."""
    sweep(ctx.session, ctx.runtime)
    job = ctx.session.scalars(_mine(ctx).where(ExportJob.id == job_id)).one_or_none()
    if job is None:
        raise NotFoundError()
    ctx.session.refresh(job)
    return job


def count(ctx: Context, *, project_id: uuid.UUID | None = None) -> int:
    """How many jobs the caller has (in one project, or in all)."""
    sweep(ctx.session, ctx.runtime)
    query = _mine(ctx)
    if project_id is not None:
        query = query.where(ExportJob.project_id == project_id)
    return ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def list_jobs(
    ctx: Context, *, project_id: uuid.UUID | None = None, offset: int = 0, limit: int = 50
) -> list[ExportJob]:
    """The caller's jobs, newest first (call `count` first: it sweeps)."""
    query = _mine(ctx)
    if project_id is not None:
        query = query.where(ExportJob.project_id == project_id)
    query = query.order_by(ExportJob.created_at.desc(), ExportJob.id).offset(offset).limit(limit)
    return list(ctx.session.scalars(query))


def filename(job: ExportJob, project_name: str) -> str:
    """The download's file name, such as `demo-incidents.csv`."""
    return f"{project_name}-{job.kind}.{job.fmt}"


def open_result(ctx: Context, *, job_id: uuid.UUID) -> JobFile:
    """Decrypt a finished job's file for its owner (audited `export_job.download`); 404 otherwise."""
    job = get(ctx, job_id=job_id)
    if job.status != JobStatus.DONE.value or job.result is None:
        raise NotFoundError("This export has no file: it is not finished, it failed, or it expired.")
    cipher = data_keys.dek_for(
        ctx.session,
        ctx.runtime.keys,
        zone=Zone.ANALYSIS,
        owner_type=OwnerType.PROJECT,
        owner_id=job.project_id,
        create=False,
    )
    try:
        data = open_field(cipher.key, job.result.blob, aad=aad_of(job, "result"))
    except CryptoError:
        raise DataIntegrityError() from None
    project = ctx.session.get(Project, job.project_id)
    exporter = registry.get(job.kind, job.fmt)
    ctx.audit("export_job.download", object_type="export_job", object_id=job.id, project_id=job.project_id)
    return JobFile(data, exporter.media_type, filename(job, project.name if project else "export"))


def _claim(runtime: Runtime, job_id: uuid.UUID, runner: str) -> ExportJob | None:
    """Mark a queued job running for this runner; None if it is gone or someone else took it."""
    with unit_of_work(runtime.sessions) as session:
        now = _now(runtime)
        claimed = session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.status == JobStatus.QUEUED.value)
            .values(status=JobStatus.RUNNING.value, progress=10, runner=runner, heartbeat_at=now)
        )
        if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
            return None
        return session.get(ExportJob, job_id)


def _build(runtime: Runtime, job_id: uuid.UUID) -> None:
    """Build, seal and store the file, in one transaction with its audit entries."""
    with unit_of_work(runtime.sessions) as session:
        job = session.get(ExportJob, job_id)
        if job is None or job.status != JobStatus.RUNNING.value:
            return
        actor = sessions.actor_for(session, user_id=job.user_id)
        if actor is None or not actor.may_in(Action.EXPORT_DEIDENTIFIED, job.project_id):
            raise NotFoundError("You may no longer export this project.")
        finish(Context(session, runtime, actor), job)


def finish(ctx: Context, job: ExportJob) -> None:
    """Build a job's export as `ctx`'s actor and seal it into the job (audited `export_job.complete`).

    The runner calls it in the job's own transaction; the demo loader calls it directly, in its own.
    """
    _exporter, data = registry.run(ctx, kind=job.kind, fmt=job.fmt, project_id=job.project_id)
    dek = data_keys.dek_for(
        ctx.session,
        ctx.runtime.keys,
        zone=Zone.ANALYSIS,
        owner_type=OwnerType.PROJECT,
        owner_id=job.project_id,
        create=True,
    )
    job.result = Sealed(seal_field(dek.key, data, aad=aad_of(job, "result"), dek_id=dek.id))
    now = _now(ctx.runtime)
    job.size = len(data)
    job.status = JobStatus.DONE.value
    job.progress = 100
    job.finished_at = now
    job.heartbeat_at = now
    job.expires_at = now + RETENTION
    job.runner = None
    ctx.audit("export_job.complete", object_type="export_job", object_id=job.id, project_id=job.project_id)


def _fail(runtime: Runtime, job_id: uuid.UUID, message: str) -> None:
    """Mark a job failed with a content-free message (audited `export_job.fail`)."""
    with unit_of_work(runtime.sessions) as session:
        job = session.get(ExportJob, job_id)
        if job is None or job.status not in UNFINISHED:
            return
        now = _now(runtime)
        job.status = JobStatus.FAILED.value
        job.message = message[:200]
        job.finished_at = now
        job.runner = None
        actor = sessions.actor_for(session, user_id=job.user_id)
        Context(session, runtime, actor).audit(
            "export_job.fail",
            object_type="export_job",
            object_id=job.id,
            project_id=job.project_id,
            outcome=Outcome.FAILED,
        )


def run(runtime: Runtime, job_id: uuid.UUID, *, runner: str = "inline") -> None:
    """Run one queued job to the end: done with its sealed file, or failed with a clear message."""
    if _claim(runtime, job_id, runner) is None:
        return
    try:
        _build(runtime, job_id)
    except AppError as exc:
        # AppError messages are written for users and carry no content.
        _fail(runtime, job_id, exc.message if exc.status_code < 500 else INTERNAL)
    except Exception as exc:  # a clean failure for any other error; logged by type only, never content
        log.warning("export job %s failed: %s", job_id, type(exc).__name__)
        _fail(runtime, job_id, INTERNAL)


class JobRunner:
    """The bounded pool of one process that runs export jobs, keeping their heartbeats fresh."""

    def __init__(self, runtime: Runtime, *, workers: int = MAX_WORKERS, executor: Executor | None = None):
        self.runtime = runtime
        self.id = secrets.token_hex(8)
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="harbour-export"
        )
        self._held: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    def submit(self, job_id: uuid.UUID) -> Future[None]:
        """Queue a committed job on the pool."""
        with self._lock:
            self._held.add(job_id)
            if self._beater is None and not isinstance(self._executor, InlineExecutor):
                self._beater = threading.Thread(
                    target=self._beat, name="harbour-export-heartbeat", daemon=True
                )
                self._beater.start()
        return self._executor.submit(self._run, job_id)

    def submit_after_commit(self, session: Session, job_id: uuid.UUID) -> None:
        """Queue the job once the transaction that created it has committed (never if it rolls back)."""
        event.listen(session, "after_commit", lambda _session: self.submit(job_id), once=True)

    def _run(self, job_id: uuid.UUID) -> None:
        try:
            run(self.runtime, job_id, runner=self.id)
        finally:
            with self._lock:
                self._held.discard(job_id)

    def _beat(self) -> None:
        """Tell other processes every HEARTBEAT seconds that the jobs held here are alive."""
        while not self._stop.wait(HEARTBEAT):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                with unit_of_work(self.runtime.sessions) as session:
                    session.execute(
                        update(ExportJob)
                        .where(ExportJob.id.in_(held), ExportJob.status.in_(UNFINISHED))
                        .values(heartbeat_at=_now(self.runtime))
                    )
            except Exception as exc:  # keep beating: a missed beat only risks a false "interrupted"
                log.warning("export heartbeat failed: %s", type(exc).__name__)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones are left to finish or to be found orphaned after restart."""
        self._stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


class InlineExecutor(Executor):
    """Runs each job at once in the submitting thread (tests and the demo loader)."""

    def submit(self, fn: Callable[..., None], /, *args: object, **kwargs: object) -> Future[None]:  # type: ignore[override]
        """Run `fn` now and return its finished future."""
        future: Future[None] = Future()
        try:
            fn(*args, **kwargs)
            future.set_result(None)
        except BaseException as exc:  # surfaced through the future like a pool would
            future.set_exception(exc)
        return future
