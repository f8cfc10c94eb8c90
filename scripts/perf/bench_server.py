"""The server items of the benchmark: sensitive reads (2), coding writes (3), audit appends (4) and a login
storm (7), each against a bare endpoint served by the same uvicorn command (scripts/perf/bench_app.py).

Uses scripts/perf/harness.py for the environment, `harbour init`, seeding and the concurrent client; the
server is started here because the baseline endpoints need the benchmark-only app factory.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import insert

from app import migrate
from app.db import make_engine
from app.keys import provider as key_provider
from app.runtime import Runtime
from app.settings import Settings
from crypto.passwords import PasswordParams, Passwords
from scripts.perf import harness
from scripts.perf.bench_env import drop_postgres_database, new_postgres_database
from scripts.perf.bench_local import BENCH_METADATA, PLAIN_VERSION
from scripts.perf.bench_report import Row, at_least, at_most, percentile


@contextmanager
def bench_server(
    postgres: str | None,
    workers: int,
    env: dict[str, str] | None = None,
    label: str = "srv",
    interviews: int = 4,
) -> Iterator[tuple[harness.Server, harness.World]]:
    """A fresh installation served by uvicorn with the benchmark factory; seeded; removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="harbour-bench-srv-")) / "data"
    url = new_postgres_database(postgres, label) if postgres else ""
    server: harness.Server | None = None
    try:
        full_env = harness.harbour_env(data_dir, url, env)
        settings = harness.settings_from(full_env)
        _init(settings)
        port = harness.free_port()
        log_path = data_dir.with_name("server.log")
        command = [
            str(harness.BIN / "uvicorn"),
            "scripts.perf.bench_app:bench_app",
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
                command,
                env=full_env,
                cwd=harness.REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = harness.Server(
            process, f"http://127.0.0.1:{port}", data_dir, url, workers, full_env, log_path
        )
        world = harness.seed(settings, interviews_count=interviews)  # while the server starts up
        _wait_healthy(server)
        yield server, world
    finally:
        if server is not None:
            server.stop()
        if postgres and url:
            drop_postgres_database(postgres, url)
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def _init(settings: Settings) -> None:
    """What `harbour init` does but the first administrator (the seed makes the accounts), in this process
    rather than in a new interpreter; plus the benchmark's plaintext tables."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_provider.create_keystore(settings)
    runtime = Runtime.open(settings, unlock=False)
    try:
        migrate.upgrade(runtime.engine)
        BENCH_METADATA.create_all(runtime.engine)
    finally:
        runtime.close()


def _wait_healthy(server: harness.Server, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not server.alive:
            raise harness.ServerError(f"the benchmark server exited:\n{server.log()[-2000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise harness.ServerError("the benchmark server did not become healthy")


def _store_plain(server: harness.Server, body: bytes) -> str:
    """Keep `body` in a plaintext bench row; its id."""
    row_id = str(uuid.uuid4())
    engine = make_engine(server.settings.sqlalchemy_url)
    with engine.begin() as connection:
        connection.execute(insert(PLAIN_VERSION), {"id": row_id, "original": body, "text": ""})
    engine.dispose()
    return row_id


def _get(name: str, url: str, headers: dict[str, str] | None = None) -> harness.Operation:
    async def call(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        return await client.get(url, headers=headers)

    return harness.Operation(name, 1.0, call)


def _post(name: str, url: str) -> harness.Operation:
    async def call(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        return await client.post(url)

    return harness.Operation(name, 1.0, call, frozenset({201}))


@dataclass
class Measured:
    """Throughput and latency of one operation run alone."""

    rate: float
    p50: float
    p99: float
    errors: int


def measure(server: harness.Server, operation: harness.Operation, clients: int, seconds: float) -> Measured:
    """Run one operation with `clients` concurrent clients for `seconds` (after a short warm-up)."""
    harness.run_load(server.url, [operation], clients=clients, seconds=min(1.0, seconds / 4))
    result = harness.run_load(server.url, [operation], clients=clients, seconds=seconds)
    stats = result.stats[operation.name]
    return Measured(
        len(stats.latencies) / result.elapsed,
        percentile(stats.latencies, 50) * 1000,
        percentile(stats.latencies, 99) * 1000,
        stats.error_count,
    )


def _pair_rows(item: str, label: str, mine: Measured, base: Measured, floor: float | None) -> list[Row]:
    ratio = mine.rate / base.rate
    errors = mine.errors + base.errors
    note = f"{errors} errors" if errors else ""
    return [
        Row(
            item,
            f"{label} (req/s)",
            f"{mine.rate:.0f}",
            f"{base.rate:.0f}",
            ratio,
            f">= {floor:.2f}" if floor is not None else "-",
            at_least(ratio, floor) if floor is not None else "INFO",
            note,
        ),
        Row(
            item, f"{label} p50 (ms)", f"{mine.p50:.1f}", f"{base.p50:.1f}", mine.p50 / base.p50, "-", "INFO"
        ),
        Row(
            item, f"{label} p99 (ms)", f"{mine.p99:.1f}", f"{base.p99:.1f}", mine.p99 / base.p99, "-", "INFO"
        ),
    ]


def _reads_and_writes(server: harness.Server, world: harness.World, backend: str, items: set[str],
                      clients: int, seconds: float) -> list[Row]:  # fmt: skip
    """Items 2, 3 and 4 (appends) against the bare endpoints, on a running server."""
    rows: list[Row] = []
    plain_write = _post("plain-write", "/bench/plain")
    if "2" in items:
        interview = world.interviews[0]
        url = f"/api/v1/interviews/{interview.id}/transcripts/latest/pseudonymised"
        first = httpx.get(server.url + url, headers=world.coder.headers, timeout=30)
        first.raise_for_status()
        row_id = _store_plain(server, first.content)
        read = _get("read", url, world.coder.headers)
        bare = _get("bare", f"/bench/plain/{row_id}")
        rows += _pair_rows(
            "2", f"sensitive read, {backend}", measure(server, read, clients, seconds),
            measure(server, bare, clients, seconds), 0.5,
        )  # fmt: skip
    if "3" in items:
        coding = harness.coding_operation(world, 1.0)
        rows += _pair_rows(
            "3", f"coding write, {backend}", measure(server, coding, clients, seconds),
            measure(server, plain_write, clients, seconds), None,
        )  # fmt: skip
    if "4" in items:
        append = _get("append", "/bench/audit")
        rows += _pair_rows(
            "4", f"audit append, {backend}", measure(server, append, clients, seconds),
            measure(server, plain_write, clients, seconds), None,
        )[:1]  # fmt: skip
    return rows


def bench_backend(
    postgres: str | None,
    workers: int,
    items: set[str],
    clients: int,
    seconds: float,
    storm_clients: int,
    interviews: int = 4,
) -> list[Row]:
    """The wanted server items (2, 3, 4 appends, 7 storm) on one backend, all served by one server.

    The server runs with production argon2 (the storm needs it; the other items never hash a password:
    they use API tokens), so one installation, seed and uvicorn start serve every item.
    """
    processes = f"{workers} processes" if workers > 1 else "1 process"
    backend = f"PostgreSQL, {processes}" if postgres else "SQLite, 1 process"
    rows: list[Row] = []
    with bench_server(postgres, workers, {}, label="srv", interviews=interviews) as (server, world):
        # The storm first, on the fresh installation, as when it had a server of its own; the writes of
        # items 3 and 4 (thousands of rows, a grown SQLite WAL) would otherwise weigh on its reads.
        storm = _login_storm(server, world, backend, storm_clients, seconds) if "7" in items else []
        if items & {"2", "3", "4"}:
            rows += _reads_and_writes(server, world, backend, items, clients, seconds)
    return rows + storm


def argon2_rate(seconds: float, threads: int = 2) -> float:
    """Production-parameter argon2 verifications per second in-process, `threads` at a time."""
    passwords = Passwords(PasswordParams(memory_kib=65536, time_cost=3, parallelism=4))
    stored = passwords.hash("a fictional benchmark passphrase")
    done = [0]
    stop = time.monotonic() + seconds

    def work() -> None:
        while time.monotonic() < stop:
            passwords.verify(stored, "a fictional benchmark passphrase")
            done[0] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(threads):
            pool.submit(work)
    return done[0] / (time.monotonic() - started)


def _login_storm(
    server: harness.Server, world: harness.World, backend: str, clients: int, seconds: float
) -> list[Row]:
    """Item 7: logins/s at production argon2 and the read p99 during the storm against at rest.

    Only successful logins (201) count as logins: a throttled (429) or shed (503, Retry-After) answer
    did no password work worth counting, and each is reported apart in the note.
    """
    interview = world.interviews[0]
    read = _get(
        "read", f"/api/v1/interviews/{interview.id}/transcripts/latest/pseudonymised", world.coder.headers
    )
    readers = max(1, clients // 4)
    at_rest = measure(server, read, readers, seconds)
    login = harness.login_operation(world, 1.0)

    async def storm() -> tuple[harness.LoadResult, harness.LoadResult]:
        stop = threading.Event()
        logins = asyncio.create_task(
            harness.run_load_async(server.url, [login], clients=clients, seconds=seconds + 2, stop=stop)
        )
        await asyncio.sleep(1.0)  # the storm is under way
        reads = await harness.run_load_async(server.url, [read], clients=readers, seconds=seconds)
        stop.set()
        return await logins, reads

    logins, reads = harness.run_coroutine(storm())
    login_stats = logins.stats["login"]
    succeeded = logins.count("login", 201)
    login_rate = succeeded / logins.elapsed
    raw = argon2_rate(min(seconds, 5.0))
    during = percentile(reads.stats["read"].latencies, 99) * 1000
    ratio = during / at_rest.p99
    read_errors = reads.stats["read"].error_count
    throttled = logins.count("login", 429)
    other = login_stats.error_count - throttled
    return [
        Row(
            "7",
            f"login storm, {backend}: logins/s vs bare argon2/s",
            f"{login_rate:.1f}",
            f"{raw:.1f}",
            login_rate / raw,
            "-",
            "INFO",
            note=f"{clients} login clients; {succeeded} logins (201) counted; not counted: "
            f"{throttled} throttled (429), {login_stats.shed} shed (503), {other} other errors",
        ),
        Row(
            "7",
            f"read p99 during storm vs at rest, {backend} (ms)",
            f"{during:.1f}",
            f"{at_rest.p99:.1f}",
            ratio,
            "<= 3.00",
            at_most(ratio, 3.0),
            note=f"{readers} reading clients" + (f"; {read_errors} read errors" if read_errors else ""),
        ),
    ]
