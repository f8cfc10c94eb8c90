"""`scripts/bench --quick` keeps working: it completes and prints every row with a ratio and a verdict.

Benchmarks are not tests: nothing here asserts a time, a figure or a budget, only that one quick run of every
item (in-process items and a live server on 127.0.0.1, both on the backend under test) reports what it
should: each row with a positive ratio, PASS or MISS where the row has a budget, INFO where it has none.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.databases import server_url

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(
    r"^\| (?P<item>[1-8]) +\| (?P<name>.+?) +\| (?P<mine>\S+) +\| (?P<base>.+?) +\| (?P<ratio>\S+) +\| "
    r"(?P<budget>.+?) +\| (?P<verdict>\S+) +\|$"
)


def _bench(*args: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HARBOUR_")}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.perf.bench", "--quick", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quick_run_prints_every_item_with_a_ratio_and_a_verdict() -> None:
    postgres = server_url()
    if postgres:
        backend = "PostgreSQL, 1 process"  # quick mode: one server process (4 by default)
        out = _bench("--local-db", "postgres", "--server-db", "postgres", "--postgres", postgres)
    else:
        backend = "SQLite, 1 process"
        out = _bench("--no-postgres", "--server-db", "sqlite")

    rows = [match for line in out.splitlines() if (match := ROW.match(line))]
    names = [row["name"] for row in rows]
    assert {row["item"] for row in rows} == set("12345678"), out
    assert sum(name.startswith("ingest 20 KB") for name in names) == 2, names  # .txt and .docx
    for wanted in ("sensitive read", "coding write", "audit append", "read p99 during storm vs at rest"):
        assert any(name.startswith(wanted) and backend in name for name in names), (wanted, names)
    assert any(name.startswith("login storm") and backend in name for name in names), names
    for row in rows:
        ratio = float(row["ratio"])
        assert math.isfinite(ratio), row.group(0)
        assert ratio > 0, row.group(0)
        assert row["verdict"] in ({"INFO"} if row["budget"] == "-" else {"PASS", "MISS"}), row.group(0)
    summary = re.search(r"^(\d+) of (\d+) rows within budget or informational; (\d+) MISS$", out, re.M)
    assert summary is not None, out
    assert int(summary[2]) == len(rows), out
