"""Export jobs: started by a user, run after commit, file sealed to its row, seen only by its owner, audited,
failed clearly when the export breaks or the process that ran it is gone, and deleted when they expire."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from app.exports import jobs, registry
from app.exports.models import ExportJob
from app.runtime import Runtime
from tests.auth_support import Clock, LoggedIn, use
from tests.coding.test_reports import Coded, add_coding


@pytest.fixture
def inline(app: FastAPI, runtime: Runtime) -> Iterator[jobs.JobRunner]:
    """Run jobs in the request's thread once it commits (the test's one connection is not thread-safe)."""
    runner = jobs.JobRunner(runtime, executor=jobs.InlineExecutor())
    app.state.export_jobs = runner
    yield runner
    runner.shutdown()


def _start(client: TestClient, who: LoggedIn, coded: Coded, kind: str = "codings", fmt: str = "csv") -> str:
    use(client, who)
    response = client.post(
        f"/api/v1/projects/{coded.project.id}/export-jobs",
        json={"kind": kind, "format": fmt},
        headers={"x-csrf-token": who.csrf},
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def _actions(ctx: Context, object_id: str) -> list[str]:
    return list(
        ctx.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == object_id).order_by(AuditEvent.seq)
        )
    )


def test_a_job_runs_after_commit_and_hands_its_owner_the_export(
    client: TestClient, ctx: Context, coded: Coded, inline: jobs.JobRunner, clock: Clock
) -> None:
    s = coded.segments
    add_coding(ctx, coded, coded.first, "ZZ1", s[1].char_start, s[1].char_end)
    job_id = _start(client, coded.first, coded)

    status = client.get(f"/api/v1/export-jobs/{job_id}").json()
    assert (status["status"], status["progress"], status["message"]) == ("done", 100, None)
    assert status["download_url"] == f"/api/v1/export-jobs/{job_id}/file"
    got = client.get(status["download_url"])
    assert got.status_code == 200
    assert got.headers["cache-control"] == "no-store"
    assert f'filename="{coded.project.name}-codings.csv"' in got.headers["content-disposition"]
    direct = client.get(f"/api/v1/projects/{coded.project.id}/exports/codings?format=csv")
    header = next(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert header == next(csv.reader(io.StringIO(direct.content.decode("utf-8-sig"))))
    assert len(got.content) == status["size"]

    assert _actions(ctx, job_id) == ["export_job.start", "export_job.complete", "export_job.download"]
    built = ctx.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "export.codings", AuditEvent.actor_id == coded.first.user.id
        )
    ).all()
    assert len(built) == 2  # the job's and the direct download's, both as the coder


def test_the_file_is_sealed_and_bound_to_its_job_row(
    client: TestClient, ctx: Context, coded: Coded, inline: jobs.JobRunner
) -> None:
    job_id = uuid.UUID(_start(client, coded.first, coded))
    other_id = uuid.UUID(_start(client, coded.first, coded, kind="codings", fmt="xlsx"))
    job = ctx.session.get(ExportJob, job_id)
    other = ctx.session.get(ExportJob, other_id)
    assert job is not None
    assert job.result is not None
    assert other is not None
    assert b"pseudonym" not in job.result.blob.lower()
    other.result = job.result  # a ciphertext moved to another row
    ctx.session.flush()
    use(client, coded.first)
    assert client.get(f"/api/v1/export-jobs/{other_id}/file").status_code == 500
    assert client.get(f"/api/v1/export-jobs/{job_id}/file").status_code == 200


def test_nobody_but_the_owner_sees_a_job(client: TestClient, coded: Coded, inline: jobs.JobRunner) -> None:
    job_id = _start(client, coded.first, coded)
    for who in (coded.second, coded.outsider):
        use(client, who)
        for path in (
            f"/api/v1/export-jobs/{job_id}",
            f"/api/v1/export-jobs/{job_id}/file",
            f"/exports/{job_id}",
        ):
            assert client.get(path).status_code == 404, (path, who.user.username)
        assert client.get("/api/v1/export-jobs").json() == []
    use(client, coded.first)
    assert [job["id"] for job in client.get("/api/v1/export-jobs").json()] == [job_id]


def test_a_broken_export_fails_with_a_clear_message_and_is_audited(
    client: TestClient, ctx: Context, coded: Coded, inline: jobs.JobRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_ctx: Context, _project_id: uuid.UUID) -> bytes:
        raise RuntimeError("Fictional Witness said something")  # content that must not leak

    registry.all_formats()  # load the providers before patching
    monkeypatch.setitem(
        registry._exporters,
        ("codings", "csv"),
        registry.ExportFormat("codings", "csv", broken, "text/csv", "broken"),
    )
    job_id = _start(client, coded.first, coded)
    status = client.get(f"/api/v1/export-jobs/{job_id}").json()
    assert status["status"] == "failed"
    assert status["message"] == jobs.INTERNAL
    assert client.get(f"/api/v1/export-jobs/{job_id}/file").status_code == 404
    page = client.get(f"/exports/{job_id}")
    assert "The export failed" in page.text
    assert "Fictional" not in page.text
    assert _actions(ctx, job_id) == ["export_job.start", "export_job.fail"]


def test_a_job_orphaned_by_a_restart_is_failed_on_the_next_look(
    client: TestClient, coded: Coded, clock: Clock, app: FastAPI, runtime: Runtime
) -> None:
    never = jobs.JobRunner(runtime, executor=jobs.InlineExecutor())
    never.submit_after_commit = lambda session, job_id: None  # type: ignore[method-assign]  # a process that died
    app.state.export_jobs = never
    job_id = _start(client, coded.first, coded)
    assert client.get(f"/api/v1/export-jobs/{job_id}").json()["status"] == "queued"
    page = client.get(f"/exports/{job_id}")
    assert '<meta http-equiv="refresh"' in page.text
    assert "jobs.js" in page.text
    assert client.get(f"/exports/{job_id}/status").json() == {
        "status": "queued",
        "progress": 0,
        "message": None,
    }
    clock.advance(minutes=3)
    status = client.get(f"/api/v1/export-jobs/{job_id}").json()
    assert (status["status"], status["message"]) == ("failed", jobs.INTERRUPTED)


def test_jobs_and_their_files_are_deleted_after_they_expire(
    client: TestClient, ctx: Context, coded: Coded, inline: jobs.JobRunner, clock: Clock
) -> None:
    job_id = _start(client, coded.first, coded)
    clock.advance(hours=23)
    assert client.get(f"/api/v1/export-jobs/{job_id}/file").status_code == 200
    clock.advance(hours=2)
    assert client.get(f"/api/v1/export-jobs/{job_id}/file").status_code == 404
    assert client.get("/api/v1/export-jobs").json() == []  # a look that succeeds commits the deletion
    assert ctx.session.get(ExportJob, uuid.UUID(job_id), populate_existing=True) is None


def test_the_pages_start_a_job_show_it_and_hand_out_its_file(
    client: TestClient, coded: Coded, inline: jobs.JobRunner
) -> None:
    use(client, coded.first)
    empty = client.get(f"/projects/{coded.project.id}/exports")
    assert "No export jobs yet" in empty.text
    started = client.post(
        f"/projects/{coded.project.id}/exports",
        data={"export": "codings:xlsx", "csrf_token": coded.first.csrf},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_page = client.get(started.headers["location"])
    assert "The export is ready" in job_page.text
    assert "refresh" not in job_page.text
    listed = client.get("/exports")
    assert "codings (xlsx)" in listed.text
    assert "Showing 1–1 of 1 export jobs" in listed.text
    got = client.get(f"{started.headers['location']}/file")
    assert got.status_code == 200
    assert got.content[:2] == b"PK"


def test_a_form_without_its_csrf_token_starts_nothing(
    client: TestClient, coded: Coded, inline: jobs.JobRunner
) -> None:
    use(client, coded.first)
    refused = client.post(
        f"/projects/{coded.project.id}/exports", data={"export": "codings:csv"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert client.get("/api/v1/export-jobs").json() == []


def test_unfinished_jobs_per_user_are_bounded(
    client: TestClient, coded: Coded, app: FastAPI, runtime: Runtime
) -> None:
    never = jobs.JobRunner(runtime, executor=jobs.InlineExecutor())
    never.submit_after_commit = lambda session, job_id: None  # type: ignore[method-assign]
    app.state.export_jobs = never
    for _ in range(jobs.MAX_UNFINISHED_PER_USER):
        _start(client, coded.first, coded)
    refused = client.post(
        f"/api/v1/projects/{coded.project.id}/export-jobs",
        json={"kind": "codings", "format": "csv"},
        headers={"x-csrf-token": coded.first.csrf},
    )
    assert refused.status_code == 409
