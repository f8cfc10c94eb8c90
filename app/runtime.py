"""Everything a running Harbour process holds: settings, the engine, sessions, password hasher, keys.

Built once per process by `create_app` or a CLI command, never at import time.

Password work is bounded per process (`PasswordGate`). One argon2id hash at the production parameters
(64 MiB, t=3, p=4) keeps four threads busy for about 0.1 s; a login storm run unbounded in the thread pool
would take every core and starve all other requests. So at most `slots` hashes or verifies run at once, sized
to leave a core for everything else (`(cpus - 1) // parallelism`, at least 1: one on a 2-core machine). A
login beyond that waits, for at most `wait_seconds`, in a queue of at most `max_waiting`; beyond either
bound it gets 503 with Retry-After (`PasswordWorkBusyError`). Waiting, not refusing at once, lets a burst of
real logins (a team starting its day) through with a short delay; bounding the queue keeps waiting logins
from holding the thread pool that reads need. 503 rather than 429: the server is at capacity, the caller did
nothing wrong, and it is not a failed attempt for throttling. Unknown users pass through the same gate, so
"no such user" still costs the same as a wrong password.

The gate bounds how many hashes run; it cannot stop one hash's four lanes from taking both cores of a small
machine. So the hashes run on the gate's own threads, which lower their scheduling priority when they start
(Linux: `setpriority` on the thread; argon2's lane threads inherit it). Reads then win the CPU during a login
storm and logins absorb the delay.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.group_commit import GroupCommitter
from app.db import make_engine, make_sessionmaker, utcnow
from app.errors import ServiceUnavailableError
from app.keys import provider as key_provider
from app.settings import Settings
from crypto.errors import KeyUnavailableError
from crypto.keyring import KeyStore
from crypto.passwords import PasswordParams, Passwords

log = logging.getLogger("harbour")
_T = TypeVar("_T")

PASSWORD_WAIT_SECONDS = 5.0
PASSWORD_QUEUE_PER_SLOT = 8
PASSWORD_NICENESS = 10  # how much lower than the request threads password work is scheduled


class PasswordWorkBusyError(ServiceUnavailableError):
    """Too many logins at once in this process: try again in a moment (503 with Retry-After)."""

    headers = {"Retry-After": "2"}  # noqa: RUF012 - a constant read by the error handler


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def password_slots(parallelism: int, cpus: int | None = None) -> int:
    """How many argon2 computations may run at once and still leave a core for other requests."""
    cpus = cpu_count() if cpus is None else cpus
    return max(1, (cpus - 1) // max(1, parallelism))


class PasswordGate:
    """At most `slots` password computations at once; at most `max_waiting` more wait, each `wait_seconds`."""

    def __init__(self, slots: int, *, max_waiting: int, wait_seconds: float) -> None:
        """A gate with these bounds."""
        self.slots = slots
        self._semaphore = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._pending = 0  # running + waiting
        self._limit = slots + max_waiting
        self._wait = wait_seconds
        self._held = threading.local()  # re-entry (verify -> dummy_verify) must not wait for itself

    def held(self) -> bool:
        """Whether this thread already works within a slot."""
        return bool(getattr(self._held, "slot", False))

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Mark this thread as working for a slot its caller holds (re-entry does not wait)."""
        self._held.slot = True
        try:
            yield
        finally:
            self._held.slot = False

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration of the block; PasswordWorkBusyError when over the bounds."""
        if getattr(self._held, "slot", False):
            yield
            return
        with self._lock:
            if self._pending >= self._limit:
                raise PasswordWorkBusyError("Too many log-ins at once; try again in a moment.")
            self._pending += 1
        try:
            if not self._semaphore.acquire(timeout=self._wait):
                raise PasswordWorkBusyError("Too many log-ins at once; try again in a moment.")
            self._held.slot = True
            try:
                yield
            finally:
                self._held.slot = False
                self._semaphore.release()
        finally:
            with self._lock:
                self._pending -= 1


def lower_thread_priority() -> None:
    """Schedule the calling thread (and threads it starts) below the others of the process, where possible."""
    if sys.platform != "linux":  # elsewhere PRIO_PROCESS with a thread id would renice the whole process
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), current + PASSWORD_NICENESS)
    except OSError as exc:  # pragma: no cover - a sandbox may forbid it; the gate still bounds the work
        log.warning("could not lower the priority of password work: %s", exc)


class GatedPasswords(Passwords):
    """Passwords whose argon2 work passes through a `PasswordGate` and runs on low-priority threads."""

    def __init__(self, params: PasswordParams, gate: PasswordGate) -> None:
        """A hasher with these parameters behind this gate, with one worker thread per slot."""
        super().__init__(params)
        self.gate = gate
        self._workers = ThreadPoolExecutor(
            max_workers=gate.slots, thread_name_prefix="harbour-argon2", initializer=lower_thread_priority
        )

    def _on_worker(self, work: Callable[[], _T]) -> _T:
        """Run argon2 work on a worker thread within a slot; the caller's thread waits for it."""
        if self.gate.held():  # re-entry from work already in a slot (verify -> dummy verify)
            return work()
        with self.gate.slot():
            return self._workers.submit(self._reentrant, work).result()

    def _reentrant(self, work: Callable[[], _T]) -> _T:
        with self.gate.holding():
            return work()

    def hash(self, password: str) -> str:  # noqa: A003 - the Passwords API
        """As Passwords.hash, within a slot, on a low-priority worker."""
        return self._on_worker(lambda: Passwords.hash(self, password))

    def verify(self, hash: str, password: str) -> bool:  # noqa: A002 - the Passwords API
        """As Passwords.verify, within a slot, on a low-priority worker."""
        return self._on_worker(lambda: Passwords.verify(self, hash, password))

    def dummy_verify(self, password: str) -> None:
        """As Passwords.dummy_verify, within a slot (unknown users wait like known ones)."""
        self._on_worker(lambda: Passwords.dummy_verify(self, password))


def gated_passwords(params: PasswordParams) -> GatedPasswords:
    """The process's hasher, its gate sized from the CPU count and the parallelism."""
    slots = password_slots(params.parallelism)
    gate = PasswordGate(
        slots, max_waiting=PASSWORD_QUEUE_PER_SLOT * slots, wait_seconds=PASSWORD_WAIT_SECONDS
    )
    return GatedPasswords(params, gate)


@dataclass
class Runtime:
    """The live parts of one Harbour process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    passwords: Passwords
    keystore: KeyStore | None = None
    sealed_reason: str | None = field(default=None)
    # Injectable so tests can freeze time for sessions, TOTP and throttling.
    clock: Callable[[], datetime] = field(default=utcnow)
    _group_commit: GroupCommitter | None = field(default=None, init=False, repr=False)
    _group_commit_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, unlock: bool = True, engine: Engine | None = None) -> Runtime:
        """Connect to the database and, when asked, unlock the keys (a failure leaves the runtime sealed)."""
        engine = engine or make_engine(settings.sqlalchemy_url)
        runtime = cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            passwords=gated_passwords(password_params(settings)),
        )
        if unlock:
            runtime.unlock()
        return runtime

    def unlock(self) -> None:
        """Open the key store; on failure stay sealed and remember why (never key material)."""
        try:
            self.keystore = key_provider.open_keystore(self.settings)
            self.sealed_reason = None
        except KeyUnavailableError as exc:
            self.keystore = None
            self.sealed_reason = str(exc)
            log.warning("keys sealed: %s", exc)

    @property
    def keys(self) -> KeyStore:
        """The unlocked key store, or a 503 for every sensitive operation while sealed."""
        if self.keystore is None:
            raise ServiceUnavailableError("Harbour is sealed: its keys are not unlocked.")
        return self.keystore

    @property
    def group_commit(self) -> GroupCommitter:
        """The process's audit group committer (app/audit/group_commit.py), made on first use."""
        with self._group_commit_lock:
            if self._group_commit is None:
                self._group_commit = GroupCommitter(self.sessions, lambda: self.keys)
            return self._group_commit

    def close(self) -> None:
        """Finish queued audit commits, then release the database connections."""
        if self._group_commit is not None:
            self._group_commit.close()
        self.engine.dispose()


def password_params(settings: Settings) -> PasswordParams:
    """The argon2id parameters the settings ask for."""
    return PasswordParams(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )
