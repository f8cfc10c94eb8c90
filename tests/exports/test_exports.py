"""The export registry, the `harbour export` command and the download route: audited, never overwriting."""

from __future__ import annotations

import io
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.context import Context
from app.exports import registry
from app.projects import service as projects
from tests.auth_support import LoggedIn, use
from tests.cli_support import Harbour
from tests.coding.test_reports import Coded, add_coding


def test_the_registry_names_what_exists_when_asked_for_what_does_not() -> None:
    assert {"codings", "code-frequencies", "code-cooccurrence"} <= set(registry.kinds())
    assert registry.formats("codings") == ["csv", "xlsx"]
    with pytest.raises(
        registry.UnknownExportError, match=r"unknown export kind 'nonsense' \(available: .*codings"
    ):
        registry.get("nonsense", "csv")
    with pytest.raises(
        registry.UnknownExportError, match=r"codings cannot be exported as 'qdpx' \(available: csv, xlsx\)"
    ):
        registry.get("codings", "qdpx")


def test_registering_a_pair_twice_is_refused() -> None:
    existing = registry.get("codings", "csv")
    registry.register("codings", "csv", existing.fn, media_type=existing.media_type, description="same")

    def other(ctx: Context, project_id: uuid.UUID) -> bytes:
        return b""

    with pytest.raises(ValueError, match="already registered"):
        registry.register("codings", "csv", other, media_type="text/csv", description="x")


def _audited(ctx: Context, action: str) -> list[AuditEvent]:
    return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_codings_export_is_de_identified_and_audited(
    client: TestClient, ctx: Context, coded: Coded
) -> None:
    s = coded.segments
    formula = coded.text.index("=HYPERLINK")
    add_coding(ctx, coded, coded.first, "=ZZ2", formula, s[1].char_end)
    add_coding(ctx, coded, coded.second, "ZZ1", s[3].char_start, s[3].char_end)
    use(client, coded.first)
    response = client.get(f"/api/v1/projects/{coded.project.id}/exports/codings", params={"format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["codings", "dictionary"]
    rows = list(workbook["codings"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert "memo" not in header
    assert len(data) == 2
    record = dict(zip(header, data[0], strict=True))
    assert record["code"] == "'=ZZ2"
    assert str(record["quote"]).startswith("'=HYPERLINK")
    assert str(record["coder"]).startswith("coder-")
    dumped = repr(rows)
    for who in (coded.first, coded.second):
        assert who.user.username not in dumped
        assert str(who.user.id) not in dumped
    assert "Fictional" not in dumped
    events = _audited(ctx, "export.codings")
    assert [(e.object_id, e.reason) for e in events] == [(str(coded.project.id), "xlsx")]
    listing = client.get(f"/api/v1/projects/{coded.project.id}/exports")
    assert {"kind": "codings", "format": "csv"} in [
        {"kind": e["kind"], "format": e["format"]} for e in listing.json()
    ]
    use(client, coded.outsider)
    assert client.get(f"/api/v1/projects/{coded.project.id}/exports/codings").status_code == 404


def test_an_unknown_export_kind_is_a_clear_error(
    client: TestClient, login_as: Callable[..., LoggedIn]
) -> None:
    coder = login_as(Role.CODER)
    use(client, coder)
    response = client.get(f"/api/v1/projects/{coder.project_id}/exports/nonsense")
    assert response.status_code == 422
    assert "available" in response.json()["error"]["message"]


def test_harbour_export_writes_a_new_private_file_and_audits_it(harbour: Harbour, tmp_path: Path) -> None:
    assert harbour("init").code == 0
    assert harbour("projects", "add", "study").code == 0
    out = tmp_path / "codings.csv"
    result = harbour("export", "codings", "--project", "study", "--format", "csv", "--out", str(out))
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().decode("utf-8-sig").startswith("coding_id,interview_id,interviewee")
    again = harbour("export", "codings", "--project", "study", "--format", "csv", "--out", str(out))
    assert again.code == 1
    assert again.err.count("\n") == 1
    assert "already exists" in again.err
    with harbour.context() as ctx:
        project = projects.get_by_name_or_raise(ctx.session, name="study")
        events = _audited(ctx, "export.codings")
        assert [(e.object_id, e.reason, e.actor_id) for e in events] == [(str(project.id), "csv", None)]


def test_harbour_export_names_the_kinds_and_formats_available(harbour: Harbour, tmp_path: Path) -> None:
    assert harbour("init").code == 0
    out = tmp_path / "x"
    wrong_kind = harbour("export", "nonsense", "--project", "study", "--format", "csv", "--out", str(out))
    assert wrong_kind.code == 1
    assert wrong_kind.err.startswith("error: unknown export kind 'nonsense' (available: ")
    assert wrong_kind.err.count("\n") == 1
    wrong_format = harbour("export", "codings", "--project", "study", "--format", "pdf", "--out", str(out))
    assert "(available: csv, xlsx)" in wrong_format.err
    missing = harbour("export", "codings", "--project", "nowhere", "--format", "csv", "--out", str(out))
    assert missing.code == 1
    assert missing.err.count("\n") == 1
    assert not out.exists()  # a failed export leaves no file behind
