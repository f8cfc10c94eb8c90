"""The in-process items of the benchmark: ingest (1), audit verify (4), search (5), exports (6), memory (8).

Each figure is measured against a baseline in the same run, on the same database and engine: a plaintext
table made only for the benchmark (`bench_*`, never part of Harbour's schema) stands in for "the same work
without security".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from app.audit import service as audit_log
from app.audit.models import AuditEvent
from app.db import make_engine
from app.exports import registry
from app.incidents.models import Incident, IncidentTarget
from app.incidents.service import EXPORT_COLUMNS
from app.ingest import formats, tokens
from app.interviews import service as interviews
from scripts.perf import bench_data
from scripts.perf.bench_env import Installation
from scripts.perf.bench_report import Row, at_least, at_most, median, percentile

BENCH_METADATA = MetaData()
PLAIN_VERSION = Table(
    "bench_plain_version",
    BENCH_METADATA,
    Column("id", String(36), primary_key=True),
    Column("original", LargeBinary),
    Column("text", Text),
)
PLAIN_SEGMENT = Table(
    "bench_plain_segment",
    BENCH_METADATA,
    Column("id", String(36), primary_key=True),
    Column("version_id", String(36), index=True),
    Column("seq", Integer),
    Column("speaker", Text),
    Column("text", Text),
)
PLAIN_TOKEN = Table(
    "bench_plain_token",
    BENCH_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("segment_id", String(36), index=True),
    Column("word", String(64), index=True),
)


def create_bench_tables(engine: Engine) -> None:
    """The plaintext baseline tables (benchmark only)."""
    BENCH_METADATA.create_all(engine)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# ---- 1. ingest -------------------------------------------------------------------------------------------


def plain_ingest(inst: Installation, filename: str, data: bytes) -> None:
    """The baseline: the same parse, then the file, its text and its turns inserted in plaintext."""
    parsed = formats.parse(data, filename, max_bytes=inst.settings.max_upload_bytes)
    version_id = str(uuid.uuid4())
    with inst.runtime.sessions.begin() as session:
        session.execute(insert(PLAIN_VERSION), {"id": version_id, "original": data, "text": parsed.text})
        session.execute(
            insert(PLAIN_SEGMENT),
            [
                {
                    "id": str(uuid.uuid4()),
                    "version_id": version_id,
                    "seq": seq,
                    "speaker": t.speaker,
                    "text": t.text,
                }
                for seq, t in enumerate(parsed.turns)
            ],
        )


def bench_ingest(inst: Installation, sizes: Sequence[tuple[int, int]]) -> list[Row]:
    """Item 1: MB/s of upload+approve against parse + plaintext insert, per size and format."""
    rows: list[Row] = []
    warm = bench_data.transcript_text(5_000, seed=5).encode("utf-8")
    inst.ingest(inst.new_interview(), "warm-up.txt", warm)  # first-use costs (imports, caches) excluded
    plain_ingest(inst, "warm-up.txt", warm)
    for size, repeats in sizes:
        text = bench_data.transcript_text(size, seed=size)
        megabytes = len(text.encode("utf-8")) / 1e6
        for extension in ("txt", "docx"):
            data = text.encode("utf-8") if extension == "txt" else bench_data.docx_bytes(text)
            name = f"transcript.{extension}"
            harbour: list[float] = []
            plain: list[float] = []
            for _ in range(repeats):  # interleaved, so both sides see the same machine load
                interview_id = inst.new_interview()
                harbour.append(_timed(lambda: inst.ingest(interview_id, name, data)))  # noqa: B023
                plain.append(_timed(lambda: plain_ingest(inst, name, data)))  # noqa: B023
            mine, base = megabytes / median(harbour), megabytes / median(plain)
            ratio = mine / base
            rows.append(
                Row(
                    "1",
                    f"ingest {_size(size)} .{extension} (MB/s)",
                    f"{mine:.2f}",
                    f"{base:.2f}",
                    ratio,
                    ">= 0.50",
                    at_least(ratio, 0.5),
                )
            )
    return rows


def _size(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1000:g} KB"


# ---- 4. audit verify -------------------------------------------------------------------------------------


def _message(values: Any) -> bytes:
    """What verify hashes for one entry: its previous hash and its canonical bytes."""
    return bytes(values.prev_hash) + audit_log.canonical_bytes(
        seq=values.seq,
        occurred_at=values.occurred_at,
        actor_id=values.actor_id,
        actor_role=values.actor_role,
        action=values.action,
        object_type=values.object_type,
        object_id=values.object_id,
        project_id=values.project_id,
        outcome=values.outcome,
        reason=values.reason,
    )


def seed_audit(inst: Installation, count: int, batch: int = 10_000) -> list[bytes]:
    """Append `count` chained entries; every entry's hashed bytes (prev_hash + canonical), in seq order."""
    key = audit_log.chain_key(inst.runtime.keys)
    with inst.runtime.sessions() as session:
        stored = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        messages = [_message(event) for event in stored]
        seq, prev = (stored[-1].seq, stored[-1].entry_hash) if stored else (0, audit_log.GENESIS_HASH)
        session.rollback()
    actors = [uuid.uuid4() for _ in range(20)]
    started = datetime(2025, 1, 1, tzinfo=UTC)
    made = 0
    while made < count:
        rows: list[dict[str, Any]] = []
        for _ in range(min(batch, count - made)):
            seq += 1
            values: dict[str, Any] = {
                "seq": seq,
                "occurred_at": started + timedelta(microseconds=seq * 1013),
                "actor_id": actors[seq % len(actors)],
                "actor_role": "coder",
                "action": "transcript.read_pseudonymised",
                "object_type": "transcript_version",
                "object_id": str(uuid.uuid4()),
                "project_id": inst.project_id,
                "outcome": "ok",
                "reason": None if seq % 3 else "search",
            }
            canonical = audit_log.canonical_bytes(**values)
            messages.append(prev + canonical)
            digest = audit_log.entry_hash(key, prev, canonical)
            rows.append({**values, "prev_hash": prev, "entry_hash": digest})
            prev = digest
        with inst.runtime.sessions.begin() as session:
            session.execute(insert(AuditEvent.__table__), rows)
        made += len(rows)
    return messages


def hash_stored_entries(inst: Installation, messages: Sequence[bytes]) -> None:
    """The baseline: the same streamed SELECT of the same rows as verify, and hashlib over the same bytes."""
    options = {"stream_results": True, "yield_per": audit_log.VERIFY_BATCH}
    sha256 = hashlib.sha256
    index = 0
    with inst.runtime.engine.connect().execution_options(read_only=True) as connection:  # as verify_log
        with connection.execute(audit_log._RAW_ENTRIES, execution_options=options) as result:  # noqa: SLF001
            for rows in result.partitions():
                for _row in rows:
                    sha256(messages[index]).digest()
                    index += 1
        connection.rollback()
    if index != len(messages):
        raise RuntimeError(f"read {index} audit entries, expected {len(messages)}")


def verify_log(inst: Installation) -> None:
    """`harbour audit verify`'s work: `verify` over the whole log on a read-only connection."""
    with (
        inst.runtime.engine.connect().execution_options(read_only=True) as connection,
        Session(bind=connection) as session,
    ):
        report = audit_log.verify(session, keys=inst.runtime.keys)
    if not report.ok:
        raise RuntimeError(f"benchmark chain does not verify: {report}")


def bench_verify(inst: Installation, count: int, repeats: int) -> list[Row]:
    """Item 4: `verify` over `count` entries against reading the same rows and hashlib over the same bytes."""
    messages = seed_audit(inst, count)
    verify_log(inst)  # first-use costs (imports, statement compilation) and a warm page cache for both
    mine: list[float] = []
    base: list[float] = []
    for _ in range(repeats):  # interleaved, so both sides see the same machine load
        mine.append(_timed(lambda: verify_log(inst)))
        base.append(_timed(lambda: hash_stored_entries(inst, messages)))
    took, baseline = median(mine), median(base)
    ratio = took / baseline
    return [
        Row(
            "4",
            f"audit verify, {len(messages):,} entries (s)",
            f"{took:.2f}",
            f"{baseline:.2f}",
            ratio,
            "<= 3.00",
            at_most(ratio, 3.0),
            note="baseline: the same streamed SELECT of the same rows, then hashlib.sha256 over each entry's "
            f"prev_hash + canonical bytes (the bytes verify's HMAC covers); median of {repeats}",
        )
    ]


# ---- 5. search -------------------------------------------------------------------------------------------


@dataclass
class SearchCorpus:
    """What was seeded for item 5 and the queries to run."""

    transcripts: int
    queries: list[str]


def seed_search(inst: Installation, count: int, per_kind: int, size: int = 20_000) -> SearchCorpus:
    """Ingest `count` transcripts of about `size` bytes for real, and their words into a plaintext index;
    `per_kind` queries of each kind (rare, mid-frequency and common words, two-word pairs)."""
    for number in range(count):
        text = bench_data.transcript_text(size, seed=10_000 + number)
        inst.ingest(inst.new_interview(), "transcript.txt", text.encode("utf-8"))
        parsed = formats.parse(text.encode("utf-8"), "t.txt", max_bytes=inst.settings.max_upload_bytes)
        version_id = str(uuid.uuid4())
        segments = [
            {"id": str(uuid.uuid4()), "version_id": version_id, "seq": seq, "speaker": None, "text": t.text}
            for seq, t in enumerate(parsed.turns)
        ]
        words = [
            {"segment_id": segment["id"], "word": word}
            for segment in segments
            for word in sorted(set(tokens.tokenise(str(segment["text"]))))
        ]
        with inst.runtime.sessions.begin() as session:
            session.execute(insert(PLAIN_VERSION), {"id": version_id, "original": b"", "text": ""})
            session.execute(insert(PLAIN_SEGMENT), segments)
            session.execute(insert(PLAIN_TOKEN), words)
    vocab = bench_data.vocabulary()
    rare, mid, common = vocab.rare(per_kind), vocab.words[200 : 200 + per_kind], vocab.common(per_kind)
    queries = [*rare, *mid, *common] + [f"{a} {b}" for a, b in zip(common, mid, strict=True)]
    return SearchCorpus(count, queries)


def plain_search(inst: Installation, query: str) -> int:
    """The baseline: the same query shape over a plaintext word index, snippets cut the same way."""
    words = list(dict.fromkeys(tokens.query_tokens(query)))
    with inst.runtime.sessions() as session:
        matching = (
            select(PLAIN_TOKEN.c.segment_id)
            .where(PLAIN_TOKEN.c.word.in_(words))
            .group_by(PLAIN_TOKEN.c.segment_id)
            .having(func.count(func.distinct(PLAIN_TOKEN.c.word)) == len(words))
        )
        texts = session.scalars(
            select(PLAIN_SEGMENT.c.text)
            .where(PLAIN_SEGMENT.c.id.in_(matching))
            .order_by(PLAIN_SEGMENT.c.version_id, PLAIN_SEGMENT.c.seq)
            .limit(interviews.MAX_SEARCH_RESULTS)
        ).all()
        session.rollback()
    return len([interviews._snippet(text, set(words)) for text in texts])  # noqa: SLF001 - same cut


def harbour_search(inst: Installation, query: str) -> int:
    """One search through the service (audited, decrypting the hits), committed."""
    with inst.context() as ctx:
        return len(interviews.search(ctx, query=query))


def bench_search(inst: Installation, count: int, rounds: int, per_kind: int) -> list[Row]:
    """Item 5: search p50/p99 over `count` transcripts of about 20 KB, against a plaintext word index."""
    corpus = seed_search(inst, count, per_kind)
    harbour_search(inst, corpus.queries[0])  # first-use costs excluded
    plain_search(inst, corpus.queries[0])
    mine: list[float] = []
    base: list[float] = []
    hits = 0
    for _ in range(rounds):
        for query in corpus.queries:
            began = time.perf_counter()
            hits += harbour_search(inst, query) > 0
            mine.append(time.perf_counter() - began)
            base.append(_timed(lambda: plain_search(inst, query)))  # noqa: B023
    if not hits:
        raise RuntimeError("no benchmark search found anything: the corpus or the queries are wrong")
    rows = []
    for label, p in (("p50", 50.0), ("p99", 99.0)):
        ours, theirs = percentile(mine, p) * 1000, percentile(base, p) * 1000
        ratio = ours / theirs
        budgeted = label == "p99"
        rows.append(
            Row(
                "5",
                f"search {label}, {count:,} x 20 KB (ms)",
                f"{ours:.1f}",
                f"{theirs:.1f}",
                ratio,
                "<= 100 ms" if budgeted else "-",
                ("PASS" if ours <= 100 else "MISS") if budgeted else "INFO",
            )
        )
    return rows


# ---- 6. exports ------------------------------------------------------------------------------------------

_TACTICS = ["threat_family", "detention_abroad", "interpol_notice", "extradition_request", "surveillance"]
_STATES = ["TR", "DE", "RU", "KZ", "SE", "FR"]


def seed_incidents(inst: Installation, count: int, batch: int = 10_000) -> None:
    """`count` incidents of the project, each with its primary target, inserted directly."""
    made = 0
    while made < count:
        incidents: list[dict[str, Any]] = []
        targets: list[dict[str, Any]] = []
        for number in range(made, min(count, made + batch)):
            incident_id = uuid.uuid4()
            year = 2005 + number % 20
            incidents.append(
                {
                    "id": incident_id,
                    "project_id": inst.project_id,
                    "tactic": _TACTICS[number % len(_TACTICS)],
                    "stage": 1 + number % 3,
                    "target_person_id": inst.interviewee_id,
                    "origin_state": "UZ",
                    "locus_state": _STATES[number % len(_STATES)],
                    "residence_state": _STATES[(number // 7) % len(_STATES)],
                    "onset_min": datetime(year, 1 + number % 12, 1, tzinfo=UTC).date(),
                    "onset_max": datetime(year, 1 + number % 12, 28, tzinfo=UTC).date(),
                    "onset_precision": "month",
                    "completion_status": "completed",
                    "occurrence_confidence": "probable",
                    "evidence_basis": "direct",
                    "conflict_flags": [],
                    "overrides": {},
                    "n_mentions": 1 + number % 4,
                    "status": "final",
                    "created_at": datetime.now(UTC),
                    "updated_at": datetime.now(UTC),
                }
            )
            targets.append(
                {
                    "id": uuid.uuid4(),
                    "incident_id": incident_id,
                    "person_id": inst.interviewee_id,
                    "role": "primary",
                }
            )
        with inst.runtime.sessions.begin() as session:
            session.execute(insert(Incident.__table__), incidents)
            session.execute(insert(IncidentTarget.__table__), targets)
        made += len(incidents)


# The baseline reads exactly the columns the real export reads.
_PLAIN_COLUMNS = EXPORT_COLUMNS


def plain_export(inst: Installation, fmt: str) -> int:
    """The baseline: the same columns selected in one query and written by csv / openpyxl write-only."""
    with inst.runtime.sessions() as session:
        rows = [
            list(row)
            for row in session.execute(select(*_PLAIN_COLUMNS).where(Incident.project_id == inst.project_id))
        ]
        session.rollback()
    header = [column.key for column in _PLAIN_COLUMNS]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        return len(buffer.getvalue().encode("utf-8"))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("incidents")
    sheet.append(header)
    for row in rows:
        sheet.append([str(v) if isinstance(v, uuid.UUID | list) else v for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return len(out.getvalue())


def harbour_export(inst: Installation, fmt: str) -> int:
    """The real export: extraction, de-identification, the writer and its audit entry."""
    with inst.context() as ctx:
        _, data = registry.run(ctx, kind="incidents", fmt=fmt, project_id=inst.project_id)
    return len(data)


def bench_exports(inst: Installation, count: int) -> list[Row]:
    """Item 6: seconds to extract and export `count` incidents as CSV and XLSX; budget 10 s per 100,000."""
    for fmt in ("csv", "xlsx"):  # first-use costs (imports, registry) excluded
        harbour_export(inst, fmt)
        plain_export(inst, fmt)
    seed_incidents(inst, count)
    budget = 10.0 * count / 100_000
    rows = []
    for fmt in ("csv", "xlsx"):
        mine = _timed(lambda: harbour_export(inst, fmt))  # noqa: B023
        base = _timed(lambda: plain_export(inst, fmt))  # noqa: B023
        ratio = mine / base
        rows.append(
            Row(
                "6",
                f"export {count:,} incidents .{fmt} (s)",
                f"{mine:.2f}",
                f"{base:.2f}",
                ratio,
                f"<= {budget:g} s",
                "PASS" if mine <= budget else "MISS",
                note="" if count == 100_000 else "budget scaled from 10 s per 100,000",
            )
        )
    return rows


# ---- 8. memory -------------------------------------------------------------------------------------------


def bench_memory(inst: Installation, size: int) -> list[Row]:
    """Item 8: peak RSS growth of a fresh process ingesting one transcript of `size` bytes, over its size.

    The two child processes (Harbour, and parse + plaintext insert for the note) run side by side: peak
    memory does not depend on timing. On SQLite the plaintext child writes to a database file of its own,
    so neither waits for the other's write lock.
    """
    text = bench_data.transcript_text(size, seed=8)
    path = inst.data_dir / "memory-transcript.txt"
    path.write_bytes(text.encode("utf-8"))
    plain_url = inst.database_url
    if inst.postgres_server is None:
        plain_url = f"sqlite:///{inst.data_dir / 'memory-plain.db'}"
        engine = make_engine(plain_url)
        create_bench_tables(engine)
        engine.dispose()
    children = {}
    for mode, url in (("harbour", inst.database_url), ("plain", plain_url)):
        interview_id, warm_up_id = inst.new_interview(), inst.new_interview()
        arguments = [
            sys.executable,
            "-m",
            "scripts.perf.bench_memory",
            mode,
            str(inst.data_dir),
            url,
            str(path),
            str(interview_id),
            str(warm_up_id),
        ]
        children[mode] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            arguments,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
    results = {}
    for mode, child in children.items():
        out, err = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"item 8's {mode} child failed:\n{err[-2000:]}")
        results[mode] = json.loads(out.strip().splitlines()[-1])
    size_mb = path.stat().st_size / 1e6
    mine = results["harbour"]["grown"] / 1e6
    base = results["plain"]["grown"] / 1e6
    ratio = mine / size_mb
    return [
        Row(
            "8",
            f"ingest {_size(size)} .txt peak memory (MB)",
            f"{mine:.0f}",
            f"{size_mb:.1f} (file)",
            ratio,
            "<= 10.00",
            at_most(ratio, 10.0),
            note=f"parse + plaintext insert alone grows {base:.0f} MB ({base / size_mb:.1f}x the file)",
        )
    ]


def current_rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
