"""A live Harbour server in its own process group, fictional seed data, and a concurrent client runner.

Used by `scripts/load`, `scripts/bench` and tests/reliability. Everything here is fictional test data on a
throw-away data directory; nothing is printed of transcript text or identities.

    with start_server(data_dir, database_url, workers=1, env=FAST_ARGON2_ENV) as server:
        world = seed(server, interviews_count=4)
        result = run_load(server.url, standard_mix(world), clients=8, seconds=5)
        print(result.table())

The server runs `uvicorn app.main:app_from_environment --factory` (the factory `harbour serve` uses) in
development mode over plain http on 127.0.0.1 with demo settings (HARBOUR_DEMO_MODE=true,
HARBOUR_REQUIRE_TOTP=false), so seeded users log in with a password alone. `Server.kill()` sends SIGKILL to
the whole process group (the uvicorn supervisor and every worker): a real crash.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx2 as httpx

from app.auth import service as users
from app.auth import sessions
from app.auth.models import Role, User
from app.coding import codebook
from app.coding import service as coding
from app.context import Context
from app.db import unit_of_work
from app.identities import service as identities
from app.interviews import service as interviews
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings

_R = TypeVar("_R")
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

FAST_ARGON2_ENV: dict[str, str] = {
    "HARBOUR_ARGON2_MEMORY_KIB": "8192",
    "HARBOUR_ARGON2_TIME_COST": "1",
    "HARBOUR_ARGON2_PARALLELISM": "1",
}
"""Cheap password hashing for tests and `--fast` runs (production defaults: 65536 KiB, 3, 4)."""

DEMO_ENV: dict[str, str] = {
    "HARBOUR_ENVIRONMENT": "development",
    "HARBOUR_COOKIE_SECURE": "false",
    "HARBOUR_DEMO_MODE": "true",
    "HARBOUR_REQUIRE_TOTP": "false",
    "HARBOUR_LOG_LEVEL": "WARNING",
}
"""Plain http on localhost, password-only logins: the settings of `./scripts/run --demo`."""

STARTUP_SECONDS = 60.0


class ServerError(RuntimeError):
    """The server could not be initialised or did not become healthy."""


def harbour_env(data_dir: Path, database_url: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment for `harbour` and the server: no inherited HARBOUR_*, demo settings, `env`."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("HARBOUR_")}
    base |= DEMO_ENV
    base["HARBOUR_DATA_DIR"] = str(data_dir)
    if database_url:
        base["HARBOUR_DATABASE_URL"] = database_url
    return base | dict(env or {})


def settings_from(env: Mapping[str, str]) -> Settings:
    """Settings as a process started with `env` reads them (HARBOUR_* only)."""
    harbour = {
        key.removeprefix("HARBOUR_").lower(): value for key, value in env.items() if key[:8] == "HARBOUR_"
    }
    return Settings.model_validate(harbour)


def is_initialised(data_dir: Path) -> bool:
    """Whether `harbour init` has run on this data directory (its keys exist)."""
    return (data_dir / "keys").is_dir()


def init_data_dir(env: Mapping[str, str]) -> None:
    """Run `harbour init` (keys, schema, first admin) with this environment."""
    done = subprocess.run(  # noqa: S603 - our own command line, no shell
        [str(BIN / "harbour"), "init"], env=dict(env), cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ServerError(f"harbour init failed: {done.stderr.strip()}")


def run_harbour(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `harbour ARGS...` as a separate process with this environment and capture its output."""
    return subprocess.run(  # noqa: S603 - our own command line, no shell
        [str(BIN / "harbour"), *args], env=dict(env), cwd=REPO, capture_output=True, text=True, check=False
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running uvicorn with Harbour in its own process group."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    database_url: str
    workers: int
    env: dict[str, str]
    log_path: Path

    @property
    def pid(self) -> int:
        """The uvicorn supervisor's process id (also the process group id)."""
        return self.process.pid

    @property
    def settings(self) -> Settings:
        """The settings the server runs with."""
        return settings_from(self.env)

    def alive(self) -> bool:
        """Whether the supervisor process is still running."""
        return self.process.poll() is None

    def _signal_group(self, signum: signal.Signals) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 20.0) -> None:
        """Shut down gracefully (SIGTERM to the group), killing it if it does not end in time."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._signal_group(signal.SIGKILL)  # any worker the supervisor left behind

    def kill(self) -> None:
        """Crash it: SIGKILL to the whole process group (supervisor and every worker), then reap."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=30)

    def log(self) -> str:
        """What the server wrote to stdout and stderr (logs never hold content)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _wait_healthy(server: Server, deadline: float) -> None:
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not server.alive():
                raise ServerError(
                    f"the server exited with {server.process.returncode}: {server.log()[-2000:]}"
                )
            try:
                if client.get(f"{server.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    server.kill()
    raise ServerError(f"the server did not answer /healthz in time: {server.log()[-2000:]}")


def start_server(
    data_dir: Path,
    database_url: str,
    workers: int,
    env: dict[str, str] | None = None,
    *,
    startup_seconds: float = STARTUP_SECONDS,
) -> Server:
    """Initialise `data_dir` if needed, start uvicorn with N workers on a free port, wait for /healthz 200.

    `database_url` empty means SQLite in the data directory. `env` adds or overrides HARBOUR_* variables
    (for example FAST_ARGON2_ENV). Several workers need PostgreSQL, as with `harbour serve`.
    """
    full_env = harbour_env(data_dir, database_url, env)
    settings = settings_from(full_env)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers > 1 and settings.is_sqlite:
        raise ValueError("several workers need PostgreSQL: SQLite allows one writer process")
    if not is_initialised(data_dir):
        init_data_dir(full_env)
    port = free_port()
    log_path = data_dir.with_name(f"{data_dir.name}.server.log")
    command = [
        str(BIN / "uvicorn"),
        "app.main:app_from_environment",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-server-header",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command, env=full_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}", data_dir, database_url, workers, full_env, log_path)
    try:
        _wait_healthy(server, time.monotonic() + startup_seconds)
    except BaseException:
        server.kill()
        raise
    return server


def restart(server: Server) -> Server:
    """Start a new server on the same data and settings (after `stop` or `kill`)."""
    return start_server(server.data_dir, server.database_url, server.workers, server.env)


# ---------------------------------------------------------------------------------------------- seeding

PERSON_NAMES = (
    "Ravshan Toshmatov",
    "Gulnora Qodirova",
    "Bekzod Yuldashev",
    "Malika Ergasheva",
    "Timur Sadikov",
    "Zarina Nurmatova",
)
"""Fictional interviewees."""

TRANSCRIPT = (
    "Interviewer: When did the summons arrive?\n\n"
    "{name}: It came in March, and two officers asked my mother where I lived.\n\n"
    "Interviewer: What happened after you left the country?\n\n"
    "{name}: They called my brother every week and told him that {name} must come home.\n\n"
    "Interviewer: Did anything happen at the border?\n\n"
    "{name}: My cousin was held for six hours and his passport was taken.\n"
)
"""A fictional transcript with no phone numbers or addresses (nothing to flag); `{name}` is pseudonymised."""


@dataclass(frozen=True)
class Account:
    """A seeded user: its password (password login) and an API token issued for the run."""

    username: str
    password: str
    token: str
    user_id: uuid.UUID
    role: str

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header of this account's token."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class SeededInterview:
    """An interview with an approved pseudonymised transcript of `length` code points."""

    id: uuid.UUID
    person_id: uuid.UUID
    length: int


@dataclass(frozen=True)
class World:
    """What the seed made: a project, one account per role, people and approved interviews, the codes."""

    project_id: uuid.UUID
    project_name: str
    interviewer: Account
    coder: Account
    auditor: Account
    persons: tuple[uuid.UUID, ...]
    interviews: tuple[SeededInterview, ...]
    code_ids: tuple[uuid.UUID, ...]


def _account(ctx: Context, *, username: str, role: Role, project: str) -> Account:
    made = users.create(ctx, username=username, role=role, project_name=project)
    made.user.must_change_password = False  # a known password, as the demo accounts have
    ctx.session.flush()
    token = issue_token(ctx, made.user)
    return Account(username, made.one_time_password, token, made.user.id, role.value)


def issue_token(ctx: Context, user: User, lifetime: timedelta = timedelta(hours=2)) -> str:
    """An API token for `user`, audited as `harbour users token` does."""
    row, clear = sessions.issue_token(ctx.session, ctx.runtime, user=user, lifetime=lifetime)
    ctx.audit("auth.token_issue", object_type="api_token", object_id=row.id, reason="operator")
    return clear


@contextmanager
def system_context(settings: Settings) -> Iterator[Context]:
    """One committed transaction on the installation, as the system, with its keys unlocked."""
    runtime = Runtime.open(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            yield Context(session, runtime, None)
    finally:
        runtime.close()


def seed(server: Server | Settings, *, interviews_count: int = 4, project: str | None = None) -> World:
    """Create through the service layer a project, an interviewer, a coder and an auditor (known passwords,
    no TOTP in demo mode, an API token each), one fictional person and one approved interview per
    `interviews_count`, and assign the coder to every interview (not blind)."""
    settings = server.settings if isinstance(server, Server) else server
    name = project or f"load-{uuid.uuid4().hex[:8]}"
    with system_context(settings) as ctx:
        made = projects.create(ctx, name=name)
        interviewer = _account(ctx, username=f"{name}-interviewer", role=Role.INTERVIEWER, project=name)
        coder = _account(ctx, username=f"{name}-coder", role=Role.CODER, project=name)
        auditor = _account(ctx, username=f"{name}-auditor", role=Role.AUDITOR, project=name)
        persons: list[uuid.UUID] = []
        seeded: list[SeededInterview] = []
        for index in range(interviews_count):
            person_name = PERSON_NAMES[index % len(PERSON_NAMES)]
            person = identities.register(ctx, project_id=made.id, legal_name=person_name).person
            persons.append(person.id)
            interview = interviews.create(
                ctx,
                project_id=made.id,
                interviewee_person_id=person.id,
                interview_month="2025-03",
                mode="in_person",
                languages=["uz"],
                interviewer_id=interviewer.user_id,
            )
            text = TRANSCRIPT.format(name=person_name).encode()
            interviews.upload(ctx, interview_id=interview.id, filename="transcript.txt", data=text)
            interviews.approve(ctx, interview_id=interview.id)
            coding.assign(ctx, interview_id=interview.id, coder_ids=[coder.user_id], blind=False)
            length = len(interviews.read_pseudonymised(ctx, interview_id=interview.id).text.reveal())
            seeded.append(SeededInterview(interview.id, person.id, length))
        code_ids = tuple(code.id for code in codebook.tree(ctx, project_id=made.id))
        return World(made.id, name, interviewer, coder, auditor, tuple(persons), tuple(seeded), code_ids)


# ---------------------------------------------------------------------------------------------- load

Call = Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]
"""One request of an operation: `await call(client, rng)` returns the response."""


@dataclass(frozen=True)
class Operation:
    """A named kind of request, its share of the mix, the statuses that count as answered correctly, and
    those that are a deliberate refusal under load (`shed`, such as a login's 503 with Retry-After when the
    password gate is full): counted apart, never as errors."""

    name: str
    weight: float
    call: Call
    expected: frozenset[int] = frozenset({200})
    shed: frozenset[int] = frozenset()


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks; NaN for no values."""
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class OperationStats:
    """What one operation did during a run: statuses, errors, refusals (`shed`) and the latencies (seconds)
    of the requests answered other than by a refusal."""

    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    shed: int = 0

    @property
    def requests(self) -> int:
        """Requests sent (answered or not)."""
        return self.statuses.total() + sum(self.errors[key] for key in self.errors if key.startswith("exc:"))

    @property
    def error_count(self) -> int:
        """Transport failures plus answers with an unexpected status."""
        return sum(self.errors.values())


@dataclass
class LoadResult:
    """Per-operation statistics of one run and its wall-clock duration."""

    stats: dict[str, OperationStats]
    elapsed: float
    clients: int

    @property
    def requests(self) -> int:
        """All requests sent."""
        return sum(item.requests for item in self.stats.values())

    @property
    def errors(self) -> int:
        """All errors."""
        return sum(item.error_count for item in self.stats.values())

    @property
    def shed(self) -> int:
        """All deliberate refusals under load (not errors)."""
        return sum(item.shed for item in self.stats.values())

    def count(self, name: str, status: int | None = None) -> int:
        """Requests of one operation answered (with one status, if given)."""
        item = self.stats[name]
        return item.statuses[status] if status is not None else sum(item.statuses.values())

    def table(self) -> str:
        """A plain-text table: requests, req/s, p50/p95/p99 (ms) and errors per operation, then the total."""
        columns = ("requests", "req/s", "p50 ms", "p95 ms", "p99 ms")
        header = f"{'operation':<14} " + " ".join(f"{column:>8}" for column in columns) + "   errors     shed"
        lines = [header, "-" * len(header)]
        everything: list[float] = []
        for item in self.stats.values():
            everything += item.latencies
            lines.append(self._row(item.name, item.latencies, item.requests, item.error_count, item.shed))
        lines.append("-" * len(header))
        lines.append(self._row("all", everything, self.requests, self.errors, self.shed))
        lines.append(f"{self.clients} clients, {self.elapsed:.1f} s")
        for item in self.stats.values():
            for kind, number in sorted(item.errors.items()):
                lines.append(f"  {item.name}: {number} x {kind}")
        return "\n".join(lines)

    def _row(self, name: str, latencies: list[float], requests: int, errors: int, shed: int) -> str:
        rate = requests / self.elapsed if self.elapsed > 0 else 0.0
        cells = [percentile(latencies, p) * 1000 for p in (50, 95, 99)]
        shown = " ".join(f"{'-' if math.isnan(cell) else f'{cell:.1f}':>8}" for cell in cells)
        return f"{name:<14} {requests:>8} {rate:>8.1f} {shown} {errors:>8} {shed:>8}"


async def _client_loop(
    client: httpx.AsyncClient,
    operations: Sequence[Operation],
    stats: dict[str, OperationStats],
    rng: random.Random,
    should_go: Callable[[], bool],
) -> None:
    weights = [operation.weight for operation in operations]
    while should_go():
        operation = rng.choices(operations, weights)[0]
        item = stats[operation.name]
        started = time.perf_counter()
        try:
            response = await operation.call(client, rng)
        except httpx.HTTPError as exc:
            item.errors[f"exc:{type(exc).__name__}"] += 1
            continue
        item.statuses[response.status_code] += 1
        if response.status_code in operation.shed and "retry-after" in response.headers:
            item.shed += 1  # refused at once: not in the latencies of the work done
            continue
        item.latencies.append(time.perf_counter() - started)
        if response.status_code not in operation.expected:
            item.errors[f"status {response.status_code}"] += 1


async def run_load_async(
    base_url: str,
    operations: Sequence[Operation],
    *,
    clients: int,
    seconds: float | None = None,
    requests: int | None = None,
    seed: int = 0,
    timeout: float = 60.0,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Run `clients` concurrent clients over the weighted mix for `seconds` or until `requests` were sent
    (or `stop` is set), recording latency, status and errors per operation."""
    if seconds is None and requests is None:
        raise ValueError("give seconds or requests")
    if not operations:
        raise ValueError("no operations")
    stats = {operation.name: OperationStats(operation.name) for operation in operations}
    started = time.monotonic()
    deadline = started + seconds if seconds is not None else math.inf
    budget = [requests if requests is not None else -1]

    def should_go() -> bool:
        if stop is not None and stop.is_set():
            return False
        if time.monotonic() >= deadline:
            return False
        if budget[0] == 0:
            return False
        if budget[0] > 0:
            budget[0] -= 1
        return True

    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them under a request.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        rngs = [random.Random(f"{seed}-{index}") for index in range(clients)]  # noqa: S311 - a load mix
        await asyncio.gather(*(_client_loop(client, operations, stats, rng, should_go) for rng in rngs))
    return LoadResult(stats, time.monotonic() - started, clients)


def run_coroutine(coroutine: Coroutine[Any, Any, _R]) -> _R:
    """Run a coroutine to completion on a new event loop in a new thread: callers may already be inside a
    running loop (a test session that drives a browser keeps one), where `asyncio.run` refuses to start."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harbour-load") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_load(
    base_url: str,
    operations: Sequence[Operation],
    *,
    clients: int,
    seconds: float | None = None,
    requests: int | None = None,
    seed: int = 0,
    timeout: float = 60.0,
    stop: threading.Event | None = None,
) -> LoadResult:
    """`run_load_async` from synchronous code (its own event loop, in its own thread)."""
    return run_coroutine(
        run_load_async(
            base_url,
            operations,
            clients=clients,
            seconds=seconds,
            requests=requests,
            seed=seed,
            timeout=timeout,
            stop=stop,
        )
    )


# ------------------------------------------------------------------------------------- the standard mix


def login_operation(world: World, weight: float) -> Operation:
    """Password login for an API token (`POST /api/v1/auth/token`, argon2 verify; audited)."""

    async def call(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        account = rng.choice((world.coder, world.interviewer, world.auditor))
        body = {"username": account.username, "password": account.password, "code": "", "expires": "1h"}
        return await client.post("/api/v1/auth/token", json=body)

    return Operation("login", weight, call, frozenset({201}), shed=frozenset({503}))


def read_operation(world: World, weight: float, reads: list[uuid.UUID] | None = None) -> Operation:
    """A sensitive read: the coder reads a pseudonymised transcript (audited); 200s are counted in `reads`."""

    async def call(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        interview = rng.choice(world.interviews)
        url = f"/api/v1/interviews/{interview.id}/transcripts/latest/pseudonymised"
        response = await client.get(url, headers=world.coder.headers)
        if reads is not None and response.status_code == 200:
            reads.append(interview.id)
        return response

    return Operation("read", weight, call)


def coding_operation(world: World, weight: float, made: list[uuid.UUID] | None = None) -> Operation:
    """A coding write: the coder applies one code to a random span; created ids are added to `made`."""

    async def call(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        interview = rng.choice(world.interviews)
        start = rng.randrange(0, interview.length - 1)
        end = rng.randrange(start + 1, min(interview.length, start + 80) + 1)
        body = {"start": start, "end": end, "code_ids": [str(rng.choice(world.code_ids))]}
        response = await client.post(
            f"/api/v1/interviews/{interview.id}/codings", json=body, headers=world.coder.headers
        )
        if made is not None and response.status_code == 201:
            made.extend(uuid.UUID(item["id"]) for item in response.json())
        return response

    return Operation("coding", weight, call, frozenset({201}))


def export_operation(world: World, weight: float, kind: str = "codings") -> Operation:
    """A de-identified CSV export of the project (audited)."""

    async def call(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        url = f"/api/v1/projects/{world.project_id}/exports/{kind}"
        return await client.get(url, params={"format": "csv"}, headers=world.coder.headers)

    return Operation("export", weight, call)


def standard_mix(
    world: World,
    *,
    reads: list[uuid.UUID] | None = None,
    made: list[uuid.UUID] | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[Operation]:
    """Logins, sensitive reads, coding writes and exports, weighted (default 10/50/30/10)."""
    share = {"login": 10.0, "read": 50.0, "coding": 30.0, "export": 10.0} | dict(weights or {})
    return [
        login_operation(world, share["login"]),
        read_operation(world, share["read"], reads),
        coding_operation(world, share["coding"], made),
        export_operation(world, share["export"]),
    ]


@dataclass(frozen=True)
class ChainReport:
    """The outcome of `harbour audit verify` run as a separate process."""

    ok: bool
    entries: int | None
    output: str


def verify_audit(env: Mapping[str, str]) -> ChainReport:
    """Run `harbour audit verify` on the installation `env` points at and parse its entry count."""
    done = run_harbour(env, "audit", "verify")
    output = (done.stdout + done.stderr).strip()
    entries: int | None = None
    marker = "Audit log verified: "
    if done.returncode == 0 and marker in output:
        entries = int(output.split(marker, 1)[1].split()[0])
    return ChainReport(done.returncode == 0 and entries is not None, entries, output)
