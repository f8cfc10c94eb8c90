"""Security test 22: odd and hostile input over HTTP.

Deeply nested JSON, huge integers, NUL bytes and malformed UTF-8 in bodies and query strings, bidi overrides
and zero-width characters, a 10 MB single-line upload beyond the configured limit, path-traversal and
absolute upload names, polyglot files (a PDF named .docx, binary named .txt) and a DOCX carrying author and
company metadata. Every refusal is a 4xx in the error envelope (never a 500) and changes nothing in the
database (a digest of every table but sessions and the audit log); an accepted upload stores only the
sanitised base name and writes no file anywhere; metadata reaches no text, response or stored byte in
clear; and the server still answers afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

import app.models  # noqa: F401 - every table on the metadata the digest walks
from app.context import Context
from app.db import Base
from app.interviews.models import TranscriptVersion
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from tests.auth_support import use
from tests.interviews.conftest import TXT, World, get, new_interview, upload, world  # noqa: F401
from tests.security import canaries

# Rows that every request may touch (its session, the log of what it did) are left out of the digest.
VOLATILE = {"auth_session", "api_token", "audit_event", "audit_checkpoint", "login_failure"}
BIDI = "\u202e\u2066\u200b\u200d\ufeff"


def digest(ctx: Context) -> dict[str, str]:
    """A hash of the rows of every table but the volatile ones."""
    ctx.session.expire_all()
    found: dict[str, str] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in VOLATILE:
            continue
        rows = sorted(repr(tuple(row)) for row in ctx.session.execute(select(table)))
        found[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return found


@pytest.fixture
def server(app: FastAPI) -> Iterator[TestClient]:
    """A client that shows 500s instead of raising them."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def _assert_refused(response: Response, *statuses: int) -> None:
    assert response.status_code in (statuses or range(400, 500)), (response.status_code, response.text[:200])
    assert set(response.json()) == {"error"}
    assert "Traceback" not in response.text


def _send(client: TestClient, who: Any, method: str, url: str, **kwargs: Any) -> Response:
    """A request as this user, with the CSRF token; raw `content` goes as JSON."""
    use(client, who)
    headers = {"x-csrf-token": who.csrf}
    if "content" in kwargs:
        headers["content-type"] = "application/json"
    return client.request(method, url, headers=headers, **kwargs)


def test_hostile_json_and_queries_are_4xx_and_change_nothing(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    project = world.project.id
    persons = f"/api/v1/projects/{project}/persons"
    codes = f"/api/v1/projects/{project}/codes"
    deep = '{"legal_name": "Nodira Sohta", "aliases": ' + "[" * 10_000 + "]" * 10_000 + "}"
    cases: list[tuple[str, Any, str, str, dict[str, Any]]] = [
        ("deep-json", world.interviewer, "POST", persons, {"content": deep}),
        ("deep-json-object", world.coder, "POST", codes, {"content": '{"a":' * 10_000 + "1" + "}" * 10_000}),
        (
            "huge-int",
            world.coder,
            "POST",
            codes,
            {"content": '{"mnemonic": "X", "name": ' + "9" * 5000 + "}"},
        ),
        (
            "huge-int-field",
            world.coder,
            "POST",
            codes,
            {"json": {"mnemonic": "X", "name": "n", "is_flag": 10**40}},
        ),
        ("big-float", world.coder, "POST", codes, {"content": '{"mnemonic": "X", "name": 1e999999}'}),
        (
            "malformed-utf8",
            world.interviewer,
            "POST",
            persons,
            {"content": b'{"legal_name": "\xff\xfe\xc3("}'},
        ),
        ("truncated", world.interviewer, "POST", persons, {"content": b'{"legal_name": "Nodira'}),
        ("nul-in-mnemonic", world.coder, "POST", codes, {"json": {"mnemonic": "A\x00B", "name": "x" * 300}}),
        ("not-json", world.interviewer, "POST", persons, {"content": b"\x00\x01\x02\xff"}),
        (
            "huge-query-int",
            world.coder,
            "GET",
            f"/api/v1/projects/{project}/interviews",
            {"params": {"limit": "9" * 5000}},
        ),
        ("nul-query", world.coder, "GET", "/api/v1/search", {"params": {"q": "a\x00b"}}),
        ("bad-uuid", world.coder, "GET", f"/api/v1/interviews/{'9' * 5000}", {}),
        ("nul-path", world.coder, "GET", "/api/v1/interviews/%00", {}),
        ("malformed-utf8-query", world.coder, "GET", "/api/v1/search?q=" + "%ff%fe" * 200, {}),
    ]
    for name, who, method, url, kwargs in cases:
        before = digest(ctx)
        response = _send(server, who, method, url, **kwargs)
        assert response.status_code != 500, name
        if response.status_code < 400:  # accepted as an ordinary value (a query with no hit)
            assert response.status_code == 200, name
        else:
            _assert_refused(response)
        assert digest(ctx) == before, name
    assert server.get("/healthz").status_code == 200


# ---- uploads --------------------------------------------------------------------------------------


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def _uploaded_name(server: TestClient, world: World, interview_id: str) -> str:  # noqa: F811
    response = get(
        server, world.interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/identified"
    )
    assert response.status_code == 200, response.text
    name: str = response.json()["original_filename"]
    return name


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/tmp/x.txt", "x.txt"),  # noqa: S108 - the hostile name under test, never written
        ("..\\..\\x.txt", "x.txt"),
        ("....//....//y.md", "y.md"),
        ("C:\\Windows\\system32\\z.txt", "z.txt"),
        ("..\\..\\x.docx", None),  # plain text named .docx: refused as not what the extension says
        ("../..", None),
        ("", None),
    ],
)
def test_upload_names_are_reduced_to_a_base_name_and_nothing_is_written_outside_the_store(
    server: TestClient,
    ctx: Context,
    settings: Settings,
    world: World,  # noqa: F811 - fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    filename: str,
    stored: str | None,
) -> None:
    interview = new_interview(server, world)
    workdir = tmp_path / "cwd" / "a" / "b"
    workdir.mkdir(parents=True)
    tmp_before = _files(tmp_path)
    monkeypatch.chdir(workdir)  # a name resolved against the working directory would land in tmp_path
    data_before, absolute_before = _files(settings.data_dir), Path("/tmp/x.txt").exists()  # noqa: S108
    before = digest(ctx)
    response = upload(server, world.interviewer, interview["id"], filename, TXT.encode())
    assert _files(tmp_path) == tmp_before
    assert _files(settings.data_dir) == data_before
    assert Path("/tmp/x.txt").exists() == absolute_before  # noqa: S108
    if stored is None:
        _assert_refused(response)
        assert digest(ctx) == before
        return
    assert response.status_code == 201, response.text
    assert _uploaded_name(server, world, interview["id"]) == stored


def test_polyglot_and_binary_files_are_refused_and_change_nothing(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    interview = new_interview(server, world)
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("word/document.xml", "<x/>")
    cases = {
        "transcript.docx": pdf,  # a PDF named .docx
        "transcript.odt": pdf,
        "transcript.pdf": archive.getvalue(),  # a zip named .pdf
        "transcript.txt": png,  # binary named .txt
        "notes.txt": b"Interviewer: hi\x00\x00\x00\xff\xfe\n\nFarhod: \x00\x01\x02",
        "subtitles.srt": png,
        "speech.json": b"\xef\xbb\xbf" + b"[" * 10_000,
        "transcript.exe": TXT.encode(),
    }
    for filename, data in cases.items():
        before = digest(ctx)
        response = upload(server, world.interviewer, interview["id"], filename, data)
        _assert_refused(response, 415, 422)
        assert digest(ctx) == before, filename


def test_a_single_line_upload_is_parsed_below_the_limit_and_refused_with_413_above_it(
    server: TestClient,
    ctx: Context,
    settings: Settings,
    runtime: Runtime,
    world: World,  # noqa: F811 - fixture
) -> None:
    interview = new_interview(server, world)
    line = ("Farhod Ismoilov: " + "word " * 60_000).encode()  # about 300 kB, one line
    accepted = upload(server, world.interviewer, interview["id"], "one-line.txt", line)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["turns"] == 1
    ten_mb = ("Farhod Ismoilov: " + "x" * (10 * 1024 * 1024)).encode()
    limited = settings.model_copy(update={"max_upload_bytes": 1024 * 1024})
    before = digest(ctx)
    with TestClient(create_app(limited, runtime=runtime), base_url="https://testserver") as small:
        refused = upload(small, world.interviewer, interview["id"], "ten-mb.txt", ten_mb)
        assert refused.status_code == 413
        assert refused.json()["error"]["code"] == "payload_too_large"
        assert small.get("/healthz").status_code == 200
    assert digest(ctx) == before


def _docx(paragraphs: list[str], *, author: str, company: str) -> bytes:
    """A minimal Word file whose properties name an author and a company."""
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    main = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    package = "http://schemas.openxmlformats.org/package/2006"
    office = "http://schemas.openxmlformats.org/officeDocument/2006"
    files = {
        "[Content_Types].xml": (
            f'<Types xmlns="{package}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{package}/relationships">'
            f'<Relationship Id="rId1" Type="{office}/relationships/officeDocument" '
            'Target="word/document.xml"/>'
            "</Relationships>"
        ),
        "word/document.xml": f'<w:document xmlns:w="{main}"><w:body>{body}</w:body></w:document>',
        "docProps/core.xml": (
            f'<cp:coreProperties xmlns:cp="{package}/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}</cp:lastModifiedBy>"
            "</cp:coreProperties>"
        ),
        "docProps/app.xml": (
            f'<Properties xmlns="{office}/extended-properties"><Company>{company}</Company></Properties>'
        ),
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, text in files.items():
            zipped.writestr(name, text)
    return archive.getvalue()


def test_document_metadata_reaches_no_text_response_or_stored_byte_in_clear(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    author = canaries.canary("latin", "author", "NFC")
    company = canaries.canary("cyrillic", "company", "NFC")
    interview = new_interview(server, world)
    data = _docx(
        ["Interviewer: Where did the letter come from?", "Farhod Ismoilov: From the consulate, in spring."],
        author=author,
        company=company,
    )
    response = upload(server, world.interviewer, interview["id"], "letter.docx", data)
    assert response.status_code == 201, response.text
    seen = {"upload": response.content}
    for view in ("identified", "pseudonymised"):
        read = get(
            server, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/{view}"
        )
        assert read.status_code == 200
        assert "consulate" in read.text
        seen[view] = read.content
    review = get(server, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/review")
    seen["review"] = review.content
    ctx.session.expire_all()
    for table in Base.metadata.sorted_tables:  # every stored byte, the sealed original included
        seen[table.name] = repr(list(ctx.session.execute(select(table)))).encode()
    version = ctx.session.scalars(
        select(TranscriptVersion).where(TranscriptVersion.interview_id == uuid.UUID(interview["id"]))
    ).one()
    assert version.original is not None  # the original is kept, sealed: its bytes are ciphertext
    assert canaries.hits(seen, [author, company]) == []
    assert base64.b64encode(data) not in seen["transcript_version"]


def test_bidi_overrides_and_zero_width_characters_in_names_are_never_a_500(
    server: TestClient,
    ctx: Context,
    world: World,  # noqa: F811 - fixture
) -> None:
    project = world.project.id
    spoof = f"Nodira{BIDI}Sohta\u202etxt.exe"
    invisible = "\u200b\u200c\u200d\u2060\ufeff"
    cases = [
        (
            world.interviewer,
            f"/api/v1/projects/{project}/persons",
            {"legal_name": spoof, "aliases": [invisible]},
        ),
        (world.coder, f"/api/v1/projects/{project}/codes", {"mnemonic": "BIDI", "name": spoof}),
        (world.coder, f"/api/v1/projects/{project}/codes", {"mnemonic": "ZW", "name": invisible}),
        (world.coder, f"/api/v1/projects/{project}/codes", {"mnemonic": invisible, "name": "Fictional"}),
    ]
    for who, url, body in cases:
        before = digest(ctx)
        response = _send(server, who, "POST", url, json=body)
        assert response.status_code != 500
        if response.status_code >= 400:
            _assert_refused(response)
            assert digest(ctx) == before
    search = _send(server, world.coder, "GET", "/api/v1/search", params={"q": spoof})
    assert search.status_code in (200, 422)
