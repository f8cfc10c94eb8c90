"""`scripts/load`: a bounded load test of a live Harbour server, then a check of the audit chain.

For each backend: a fresh data directory (and on PostgreSQL a fresh, uniquely named database, dropped at the
end), `harbour init`, fictional seed data, uvicorn with N workers, then C concurrent clients for T seconds
over a mix of password logins, pseudonymised transcript reads (audited), coding writes and de-identified
CSV exports. Prints throughput, p50/p95/p99 and errors per operation, stops the server, runs
`harbour audit verify` and exits non-zero on any error or a chain that does not verify.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from scripts.perf.harness import FAST_ARGON2_ENV, run_load, seed, standard_mix, start_server, verify_audit

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MAX_SECONDS = 120


@dataclass(frozen=True)
class Outcome:
    """One backend's run: its table, its errors and the audit chain check."""

    backend: str
    errors: int
    shed: int
    chain_ok: bool
    chain_entries: int | None
    reads: int


def say(*lines: str) -> None:
    """Print to stdout at once (the report of this command)."""
    print(*lines, flush=True)  # noqa: T201 - this command's output


def postgres_answers(url: str) -> bool:
    """Whether a PostgreSQL server listens at the URL's host and port."""
    parsed = make_url(url)
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def fresh_postgres_database(server: str) -> Iterator[str]:
    """A new, uniquely named database beside the server's maintenance database, dropped afterwards."""
    name = f"harbour_load_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run_backend(backend: str, database_url: str, workers: int, args: argparse.Namespace) -> Outcome:
    """Initialise, seed, load and verify one installation; print its table."""
    work = Path(tempfile.mkdtemp(prefix=f"harbour-load-{backend}-"))
    env = dict(FAST_ARGON2_ENV) if args.fast else {}
    argon2 = "fast argon2" if args.fast else "production argon2"
    say(f"== {backend}: {workers} worker(s), {args.clients} clients, {args.seconds} s, {argon2}")
    try:
        reads: list[uuid.UUID] = []
        with start_server(work / "data", database_url, workers, env) as server:
            world = seed(server, interviews_count=args.interviews)
            result = run_load(
                server.url,
                standard_mix(world, reads=reads),
                clients=args.clients,
                seconds=args.seconds,
                seed=args.seed,
            )
        say(result.table())
        chain = verify_audit(server.env)
        say(f"audit chain: {'intact' if chain.ok else 'BROKEN'}, {chain.entries} entries ({chain.output})")
        if chain.ok and chain.entries is not None and chain.entries < len(reads):
            say(f"error: {chain.entries} audit entries for {len(reads)} audited reads")
            chain = chain.__class__(False, chain.entries, chain.output)
        return Outcome(backend, result.errors, result.shed, chain.ok, chain.entries, len(reads))
    finally:
        if args.keep:
            say(f"(kept {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/load", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help=f"duration per backend (default 60, at most {MAX_SECONDS})",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "both", "auto"),
        default="auto",
        help="auto (default): both when PostgreSQL answers, else SQLite",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn workers on PostgreSQL (default 4; SQLite always 1)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HARBOUR_TEST_DATABASE_URL") or DEFAULT_POSTGRES,
        help="PostgreSQL server and maintenance database; a fresh database is made beside it and dropped",
    )
    parser.add_argument("--fast", action="store_true", help="cheap argon2 (default: production parameters)")
    parser.add_argument("--interviews", type=int, default=8, help="approved interviews to seed (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the clients")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 0 and {MAX_SECONDS}")
    if args.clients < 1 or args.interviews < 1:
        parser.error("--clients and --interviews must be at least 1")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.backend == "sqlite" and args.workers not in (None, 1):
        parser.error("SQLite serves one worker: use --backend postgresql with --workers above 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load test on the chosen backends; 0 only when there were no errors and every chain verifies."""
    args = parse(argv)
    backends = [args.backend] if args.backend in ("sqlite", "postgresql") else ["sqlite", "postgresql"]
    if args.backend == "auto" and not postgres_answers(args.postgres_url):
        say("(PostgreSQL does not answer: SQLite only)")
        backends = ["sqlite"]
    outcomes: list[Outcome] = []
    for backend in backends:
        if backend == "sqlite":
            outcomes.append(run_backend("sqlite", "", 1, args))
        else:
            with fresh_postgres_database(args.postgres_url) as url:
                outcomes.append(run_backend("postgresql", url, args.workers or 4, args))
    failed = [item for item in outcomes if item.errors or not item.chain_ok]
    for item in outcomes:
        verdict = "ok" if item not in failed else "FAILED"
        say(
            f"{item.backend}: {verdict} ({item.errors} errors, {item.shed} logins shed with 503,"
            f" {item.reads} audited reads,"
            f" chain {'intact' if item.chain_ok else 'broken'} with {item.chain_entries} entries)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
