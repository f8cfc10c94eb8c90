"""Group commit of the audit entries of sensitive reads: one durable commit for many requests.

Why: every sensitive read writes an audit entry, and a commit is an fsync (SQLite, synchronous=FULL) or a WAL
flush (PostgreSQL) under the chain lock. One commit per read makes the chain lock and the disk the
bottleneck of every read. Here one writer thread per process commits the entries of all waiting reads
together while each request still waits for its own entry to be durable.

How it is used (and why it cannot be misused):
- A route whose only write is its audit entries is marked with `app.deps.reads_only`. Its unit of work is
  `app.db.read_unit_of_work`: a read-only transaction (SQLite: deferred BEGIN, no write lock; PostgreSQL:
  READ ONLY). In such a session `Context.audit` validates the entry and keeps it (`defer`) instead of
  writing it, and `app.db.touch` keeps bookkeeping updates (a session's last-seen time). Any other write
  raises `ReadOnlyUnitOfWorkError`: a route that changes data cannot be marked by mistake and silently lose
  the atomicity of change and entry.
- After the route returned, the read transaction ends and `collect` hands the kept entries and updates to
  the process's `GroupCommitter`; the request thread blocks on its future. The committer thread drains its
  queue, runs the updates, appends every entry to the chain in one transaction (`audit.service.append`: one
  chain lock, on PostgreSQL the advisory lock shared by every process, one head read), commits once, then
  resolves every future. Only then does the dependency return and FastAPI send the response.
- Fail closed: if the batch cannot be committed (database error, sealed keys, the wait times out), every
  request of the batch gets `ServiceUnavailableError` (503) and no content. A timed-out entry may still be
  committed later: the log may show a read that was refused, never miss one that was served.
- Writes (and any request not marked) keep today's path: the entry in the same transaction as the change.

Batching is natural, with no timer: while one batch commits, the next requests queue, and the next batch
takes all of them (at most `MAX_BATCH`). The thread starts on first use and ends after `IDLE_SECONDS`
without work, so the CLI and tests start no thread they do not need.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass, field

from sqlalchemy import Update
from sqlalchemy.orm import Session, sessionmaker

from app.audit import service as audit_log
from app.db import deferred_writes, is_read_only, unit_of_work
from app.errors import ServiceUnavailableError
from crypto.keyring import KeyStore

log = logging.getLogger("harbour.audit")

MAX_BATCH = 256
IDLE_SECONDS = 30.0
WAIT_SECONDS = 30.0
_DEFERRED_ENTRIES = "harbour.deferred_audit"


@dataclass
class Batch:
    """What one read must make durable before it replies: its audit entries and bookkeeping updates."""

    entries: Sequence[audit_log.PendingEntry]
    writes: Sequence[Update] = ()
    done: Future[None] = field(default_factory=Future)


def defer(session: Session, pending: audit_log.PendingEntry) -> None:
    """Keep an entry of a read-only unit of work for the group commit that follows the read."""
    if not is_read_only(session):
        raise RuntimeError("only a read-only unit of work defers audit entries")
    session.info.setdefault(_DEFERRED_ENTRIES, []).append(pending)


def deferred_entries(session: Session) -> list[audit_log.PendingEntry]:
    """The entries a read-only unit of work has kept (taken: a second call returns none)."""
    entries: list[audit_log.PendingEntry] = session.info.pop(_DEFERRED_ENTRIES, [])
    return entries


class GroupCommitter:
    """One writer thread per process that appends queued entries together and commits once per batch."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: Callable[[], KeyStore],
        *,
        wait_seconds: float = WAIT_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        """A committer writing through `sessions`; `keys` gives the key store (raises while sealed)."""
        self._sessions = sessions
        self._keys = keys
        self._wait = wait_seconds
        self._idle = idle_seconds
        self._queue: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.commits = 0  # batches committed, for tests and measurements

    def submit(self, batch: Batch) -> Future[None]:
        """Queue a batch; its future resolves once it is committed (or fails with the commit's error)."""
        with self._lock:
            if self._closed:
                raise ServiceUnavailableError("Harbour is shutting down.")
            self._queue.put(batch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="harbour-group-commit", daemon=True)
                self._thread.start()
        return batch.done

    def commit(self, batch: Batch) -> None:
        """Queue a batch and wait until it is durable; ServiceUnavailableError (503) if it is not."""
        done = self.submit(batch)
        try:
            done.result(timeout=self._wait)
        except ServiceUnavailableError:
            raise
        except (FutureTimeoutError, Exception) as exc:
            log.error("audit group commit failed: %s", type(exc).__name__)
            raise ServiceUnavailableError("The access log could not be written; nothing was shown.") from None

    def close(self) -> None:
        """Finish queued work and stop the thread (the process is shutting down)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=self._wait)

    def _next_batches(self) -> list[Batch] | None:
        """Block for work, then drain what else is queued; None when idle too long or closing."""
        try:
            first = self._queue.get(timeout=self._idle)
        except queue.Empty:
            with self._lock:
                if not self._queue.empty():  # something arrived while timing out: keep going
                    return []
                self._thread = None
                return None
        if first is None:
            return None
        batches = [first]
        while len(batches) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this batch
                break
            batches.append(item)
        return batches

    def _run(self) -> None:
        while True:
            batches = self._next_batches()
            if batches is None:
                return
            if batches:
                self._commit(batches)

    def _commit(self, batches: list[Batch]) -> None:
        """Write every batch in one transaction; resolve all futures with the one outcome."""
        try:
            with unit_of_work(self._sessions) as session:
                for batch in batches:
                    for statement in batch.writes:
                        session.execute(statement)
                entries = [pending for batch in batches for pending in batch.entries]
                audit_log.append(session, keys=self._keys(), entries=entries)
        except BaseException as exc:  # every waiting request must hear about it, whatever it was
            for batch in batches:
                batch.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.commits += 1
        for batch in batches:
            batch.done.set_result(None)


def collect(committer: Callable[[], GroupCommitter]) -> Callable[[Session], Callable[[], None] | None]:
    """The `after_read` of a read-only unit of work: take its kept entries and writes for the committer."""

    def after_read(session: Session) -> Callable[[], None] | None:
        batch = Batch(entries=deferred_entries(session), writes=deferred_writes(session))
        if not batch.entries and not batch.writes:
            return None
        return lambda: committer().commit(batch)

    return after_read
