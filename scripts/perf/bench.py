"""`scripts/bench`: Harbour's performance budgets (issue 10), each figure a ratio to a same-run baseline.

    scripts/bench                 the default run: a few minutes on a 2-core machine, smaller sizes
    scripts/bench --full          the issue's sizes (1,000,000 audit entries, 10,000 x 20 KB transcripts,
                                  100,000 incidents, 5 MB and 20 MB transcripts); much longer
    scripts/bench --quick         seconds-scale sizes, for the test suite (the figures mean little)
    scripts/bench --only 1,5      some items only
    scripts/bench --postgres URL  the PostgreSQL server for the four-process run (default: the local one)
    scripts/bench --no-postgres   skip the PostgreSQL run
    scripts/bench --local-db postgres    run the in-process items on PostgreSQL instead of SQLite
    scripts/bench --server-db postgres   run the server items (2, 3, 4 appends, 7) on PostgreSQL only

Everything talks only to 127.0.0.1. See docs/BENCHMARKS.md for what each item measures and the last table.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from scripts.perf import bench_env, bench_local, bench_server
from scripts.perf.bench_report import Row, table

ITEMS = ("1", "2", "3", "4", "5", "6", "7", "8")


@dataclass(frozen=True)
class Sizes:
    """How much work each item does in one mode."""

    ingest: tuple[tuple[int, int], ...]  # (transcript bytes, repeats)
    audit_entries: int
    verify_repeats: int
    search_transcripts: int
    search_rounds: int
    search_queries: int  # of each kind: rare, mid-frequency, common words, two-word pairs
    incidents: int
    memory_bytes: int
    clients: int
    seconds: float
    storm_clients: int


MODES = {
    "quick": Sizes(((20_000, 1),), 2_000, 1, 3, 1, 3, 300, 100_000, 8, 1.0, 4),
    "default": Sizes(((50_000, 3), (250_000, 1)), 50_000, 3, 20, 1, 10, 5_000, 500_000, 32, 4.0, 16),
    "full": Sizes(
        ((50_000, 5), (5_000_000, 1)), 1_000_000, 3, 10_000, 2, 20, 100_000, 20_000_000, 32, 15.0, 32
    ),
}


def _reachable(url: str) -> bool:
    parsed = make_url(url)
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout=1).close()
    except OSError:
        return False
    return True


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def run(argv: list[str] | None = None) -> list[Row]:
    """Parse the options, run the chosen items and print the table; the rows."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="seconds-scale sizes (the test suite)")
    mode.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    parser.add_argument("--only", default=",".join(ITEMS), help="comma-separated items, e.g. 1,5")
    parser.add_argument("--postgres", default=bench_env.DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL server run")
    parser.add_argument("--local-db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--server-db",
        choices=("sqlite", "postgres", "both"),
        default="both",
        help="where the server items run: SQLite (1 process), PostgreSQL (4 processes) or both",
    )
    args = parser.parse_args(argv)
    sizes = MODES["quick" if args.quick else "full" if args.full else "default"]
    wanted = {item.strip() for item in args.only.split(",") if item.strip()}
    unknown = wanted - set(ITEMS)
    if unknown:
        parser.error(f"unknown items: {', '.join(sorted(unknown))}")
    postgres = None if args.no_postgres else args.postgres
    if postgres and not _reachable(postgres):
        _say(f"(PostgreSQL does not answer at {make_url(postgres).host}: its rows are skipped)")
        postgres = None
    if postgres is None and "postgres" in (args.local_db, args.server_db):
        parser.error("--local-db/--server-db postgres needs a reachable --postgres server")

    rows: list[Row] = []
    started = time.monotonic()

    def step(item: str, label: str, action: Callable[[], list[Row]]) -> None:
        if item not in wanted:
            return
        _say(f"== {item}: {label} ...")
        began = time.monotonic()
        made = action()
        rows.extend(made)
        _say(f"   done in {time.monotonic() - began:.0f} s")

    local = {"1", "4", "5", "6", "8"} & wanted
    if local:
        inst = bench_env.install(postgres if args.local_db == "postgres" else None, label="local")
        try:
            bench_local.create_bench_tables(inst.runtime.engine)
            step("1", "ingest", lambda: bench_local.bench_ingest(inst, sizes.ingest))
            step(
                "4",
                "audit verify",
                lambda: bench_local.bench_verify(inst, sizes.audit_entries, sizes.verify_repeats),
            )
            step(
                "5",
                "search",
                lambda: bench_local.bench_search(
                    inst, sizes.search_transcripts, sizes.search_rounds, sizes.search_queries
                ),
            )
            step("6", "exports", lambda: bench_local.bench_exports(inst, sizes.incidents))
            step("8", "ingest memory", lambda: bench_local.bench_memory(inst, sizes.memory_bytes))
        finally:
            inst.close()
    served = {"2", "3", "4", "7"} & wanted
    if served:
        # One server per backend serves every server item; the storm runs once, on SQLite when it is run.
        backends: list[str | None] = []
        if args.server_db in ("sqlite", "both"):
            backends.append(None)
        if args.server_db in ("postgres", "both") and postgres:
            backends.append(postgres)
        for index, server in enumerate(backends):
            items = served - {"7"} if index > 0 else served
            if not items:
                continue
            workers = (1 if args.quick else 4) if server else 1
            name = f"PostgreSQL ({workers} process{'es' if workers > 1 else ''})" if server else "SQLite"
            step(
                sorted(items)[0],
                f"server items {', '.join(sorted(items))} on {name}",
                lambda server=server, items=items, workers=workers: bench_server.bench_backend(
                    server,
                    workers,
                    items,
                    sizes.clients,
                    sizes.seconds,
                    sizes.storm_clients,
                    2 if args.quick else 4,
                ),
            )

    shown = [row for row in rows if row.item in wanted]
    mode_name = "quick" if args.quick else "full" if args.full else "default"
    sys.stdout.write(f"Harbour benchmark ({mode_name} mode, {time.monotonic() - started:.0f} s)\n\n")
    sys.stdout.write(table(shown) + "\n")
    misses = [row for row in shown if row.status == "MISS"]
    sys.stdout.write(f"\n{len(shown) - len(misses)} of {len(shown)} rows within budget or informational; "
                     f"{len(misses)} MISS\n")  # fmt: skip
    return shown


def main() -> None:
    """Entry point of `python -m scripts.perf.bench`."""
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
