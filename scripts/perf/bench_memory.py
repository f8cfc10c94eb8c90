"""Child process of item 8: ingest one file and print how far the peak RSS grew above the start (JSON)."""

from __future__ import annotations

import json
import resource
import sys
import uuid
from pathlib import Path

from app.runtime import Runtime
from scripts.perf import bench_data
from scripts.perf.bench_env import Installation, settings_for
from scripts.perf.bench_local import current_rss, plain_ingest


def main(argv: list[str]) -> None:
    """`bench_memory MODE DATA_DIR DATABASE_URL FILE INTERVIEW_ID WARM_UP_ID`; MODE is harbour or plain."""
    mode, data_dir, url, file, interview, warm_up = argv
    settings = settings_for(Path(data_dir), url)
    runtime = Runtime.open(settings)
    inst = Installation(Path(data_dir), url, settings, runtime)
    data = Path(file).read_bytes()
    # A small file first, so imports and first-use caches are not counted against the large one.
    small = bench_data.transcript_text(5_000, seed=5).encode("utf-8")
    if mode == "harbour":
        inst.ingest(uuid.UUID(warm_up), "warm-up.txt", small)
    else:
        plain_ingest(inst, "warm-up.txt", small)
    start = current_rss()
    if mode == "harbour":
        inst.ingest(uuid.UUID(interview), "transcript.txt", data)
    else:
        plain_ingest(inst, "transcript.txt", data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    runtime.close()
    sys.stdout.write(json.dumps({"start": start, "peak": peak, "grown": max(0, peak - start)}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
