"""REFI-QDA: .qdc and .qdpx files valid against the schemas, round trips, the NVivo sample, hostile files."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 - parses only files this test suite made or ships

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth import sessions
from app.auth.models import Role
from app.coding import codebook, refi
from app.coding import service as coding
from app.coding.models import Code, Coding
from app.context import Context
from app.interviews import service as interviews
from app.interviews.models import Interview, Segment, TranscriptVersion
from app.projects import service as projects
from app.projects.models import Project
from tests.auth_support import LoggedIn
from tests.cli_support import Harbour
from tests.coding.conftest import Bench, apply, coder_text, codings_of
from tests.interviews.conftest import World, get, post

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT / "app" / "coding" / "xsd"
SAMPLE = ROOT.parent / "shared" / "refi" / "samples" / "nvivo_project.qdpx"
CB = "{urn:QDA-XML:codebook:1.0}"
PR = "{urn:QDA-XML:project:1.0}"
PASSPORT = "they took my passport at the border"
BROTHER = "My brother was questioned twice"


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD / name)))


def _valid(schema: str, data: bytes) -> None:
    validator = _schema(schema)
    document = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    assert validator.validate(document), validator.error_log


def _actor_ctx(ctx: Context, who: LoggedIn) -> Context:
    return Context(ctx.session, ctx.runtime, sessions.actor_for(ctx.session, user_id=who.user.id))


def _tree(ctx: Context, project_id: uuid.UUID) -> list[tuple[Any, ...]]:
    codes = codebook.tree(ctx, project_id=project_id)
    mnemonic = {code.id: code.mnemonic for code in codes}
    return [
        (
            code.depth,
            code.mnemonic,
            code.name,
            code.definition,
            code.use_when,
            code.not_when,
            code.colour,
            code.is_flag,
            code.variable_field,
            code.variable_value,
            mnemonic.get(code.parent_id) if code.parent_id else None,
        )
        for code in codes
    ]


def _counts(ctx: Context) -> tuple[int, int, int, int]:
    return (
        ctx.session.scalar(select(func.count()).select_from(Project)) or 0,
        ctx.session.scalar(select(func.count()).select_from(Code)) or 0,
        ctx.session.scalar(select(func.count()).select_from(Interview)) or 0,
        ctx.session.scalar(select(func.count()).select_from(Coding)) or 0,
    )


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name), content, compression)
    return buffer.getvalue()


def _qdpx_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# ---- codebook files -------------------------------------------------------------------------------------


def test_the_codebook_downloads_as_a_valid_qdc(client: TestClient, world: World, ctx: Context) -> None:
    response = get(client, world.coder, f"/api/v1/projects/{world.project.id}/codebook.qdc")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{world.project.name}.qdc"'
    data = response.content
    _valid("Codebook-mrt2019.xsd", data)
    root = ET.fromstring(data)  # noqa: S314 - our own output
    assert root.tag == f"{CB}CodeBook"
    assert root.get("origin", "").startswith("Harbour ")
    assert root.find(f"{CB}Sets") is None
    assert len(root.findall(f".//{CB}Code")) == 57
    group_b = next(code for code in root.iter(f"{CB}Code") if code.get("name") == "Stage 1: put on notice")
    children = [child.get("name") for child in group_b.findall(f"{CB}Code")]
    assert children[:2] == ["S1.THREAT_DIRECT", "S1.THREAT_DIGITAL"]
    b1 = group_b.findall(f"{CB}Code")[0]
    assert b1.get("isCodable") == "true"
    assert re.fullmatch(r"#[0-9a-f]{6}", b1.get("color", ""))
    description = b1.findtext(f"{CB}Description") or ""
    assert description.startswith("Explicit threats delivered in person")
    assert "Not when: Messages online" in description
    assert "Harbour mnemonic: B1" in description
    assert "Harbour variable: tactic = S1_THREAT_DIRECT" in description
    assert (
        get(client, world.interviewer, f"/api/v1/projects/{world.project.id}/codebook.qdc").status_code == 404
    )
    events = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.codebook")).all()
    assert [(event.object_id, event.reason) for event in events] == [(str(world.project.id), "qdc")]


def test_a_qdc_round_trip_keeps_names_texts_hierarchy_and_mnemonics(ctx: Context, world: World) -> None:
    data = refi.export_qdc(ctx, project_id=world.project.id)
    target = projects.create(ctx, name="qdc-round-trip", seed_codebook=False)
    result = refi.import_qdc(ctx, project_id=target.id, data=data)
    assert result.codes_created == 57
    assert result.mnemonics_generated == 0
    assert result.ids_changed == 57  # the guids are the source project's codes: taken, so mapped
    assert set(result.code_ids) == {str(code.id) for code in codebook.tree(ctx, project_id=world.project.id)}
    assert _tree(ctx, target.id) == _tree(ctx, world.project.id)
    assert codebook.current_version(ctx.session, target.id) == 1


def test_a_foreign_qdc_keeps_free_guids_and_gets_mnemonics_where_needed(
    client: TestClient, world: World
) -> None:
    parent, child = uuid.uuid4(), uuid.uuid4()
    data = (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="QualCoder">'
        f'<Codes><Code guid="{{{parent}}}" name="Fear" isCodable="true" color="#abc">'
        f"<Description>Expressions of fear.\nHarbour mnemonic: B1</Description>"
        f'<Code guid="{child}" name="Fear of  travel" isCodable="false"/></Code></Codes>'
        f'<Sets><Set guid="{uuid.uuid4()}" name="s"><MemberCode guid="{child}"/></Set></Sets></CodeBook>'
    ).encode()
    response = post(
        client,
        world.coder,
        f"/api/v1/projects/{world.project.id}/codebook.qdc",
        files={"file": ("fear.qdc", data, "application/xml")},
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["code_ids"] == {str(parent): str(parent), str(child): str(child)}
    assert (result["codes_created"], result["ids_changed"], result["mnemonics_generated"]) == (2, 0, 2)
    codes = {
        code["id"]: code
        for code in get(client, world.coder, f"/api/v1/projects/{world.project.id}/codebook").json()["codes"]
    }
    assert codes[str(parent)]["mnemonic"] == "Q1"  # B1 is taken in this project
    assert (codes[str(parent)]["colour"], codes[str(parent)]["definition"]) == (
        "#aabbcc",
        "Expressions of fear.",
    )
    assert (codes[str(child)]["name"], codes[str(child)]["parent_id"]) == ("Fear of travel", str(parent))
    assert codes[str(child)]["colour"] == "#aabbcc"
    interviewer = post(
        client,
        world.interviewer,
        f"/api/v1/projects/{world.project.id}/codebook.qdc",
        files={"file": ("fear.qdc", data, "application/xml")},
    )
    assert interviewer.status_code == 404


XXE_QDC = (
    b'<?xml version="1.0"?><!DOCTYPE CodeBook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
    b'<Code guid="d097e6fd-7671-4d95-a8b6-7795fa4a72e1" name="&xxe;" isCodable="true"/></Codes></CodeBook>'
)
LAUGHS_QDC = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b']><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
    b'<Code guid="d097e6fd-7671-4d95-a8b6-7795fa4a72e1" name="&lol9;" isCodable="true"/></Codes></CodeBook>'
)
DEEP_QDC = (
    b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
    + b'<Code guid="d097e6fd-7671-4d95-a8b6-7795fa4a72e1" name="x" isCodable="true">' * 100
    + b"</Code>" * 100
    + b"</Codes></CodeBook>"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (XXE_QDC, "DTD"),
        (LAUGHS_QDC, "DTD"),
        (DEEP_QDC, "levels deep"),
        (b"<CodeBook xmlns='urn:QDA-XML:codebook:1.0'><Codes>", "not well-formed"),
        (b"PK\x03\x04 not xml at all", "not well-formed"),
        (b"<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>", "not a REFI-QDA codebook"),
        (
            b"<CodeBook xmlns='urn:QDA-XML:codebook:1.0'><Codes><Code name='x' isCodable='true'/></Codes>"
            b"</CodeBook>",
            "guid",
        ),
    ],
)
def test_a_hostile_or_broken_qdc_is_refused_and_changes_nothing(
    client: TestClient, world: World, ctx: Context, data: bytes, message: str
) -> None:
    before = _counts(ctx)
    response = post(
        client,
        world.coder,
        f"/api/v1/projects/{world.project.id}/codebook.qdc",
        files={"file": ("evil.qdc", data, "application/xml")},
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert _counts(ctx) == before


# ---- project files --------------------------------------------------------------------------------------


def _coded(client: TestClient, bench: Bench) -> None:
    apply(
        client,
        bench.coder,
        bench.interview_id,
        PASSPORT,
        [bench.codes["B5"]],
        memo="Passport withheld: a memo.",
    )
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"], bench.codes["H2"]])
    apply(client, bench.second, bench.interview_id, BROTHER, [bench.codes["E1"]])


def test_the_project_downloads_as_a_valid_deidentified_qdpx(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    _coded(client, bench)
    expected_text = coder_text(client, bench.coder, bench.interview_id)["text"]
    response = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/project.qdpx")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('.qdpx"')
    members = _qdpx_members(response.content)
    assert set(members) == {"project.qde", f"sources/{bench.interview_id}.txt"}
    _valid("Project-mrt2019.xsd", members["project.qde"])
    text = members[f"sources/{bench.interview_id}.txt"].decode("utf-8")
    assert text == expected_text
    assert "Farhod" not in text
    assert "Ismoilov" not in text
    root = ET.fromstring(members["project.qde"])  # noqa: S314 - our own output
    users = {user.get("guid"): user.get("name") for user in root.iter(f"{PR}User")}
    assert len(users) == 2
    assert all(name and name.startswith("coder-") for name in users.values())
    for who in (bench.coder, bench.second):
        assert who.user.username.encode() not in members["project.qde"]
        assert str(who.user.id).encode() not in members["project.qde"]
    quotes: list[tuple[str, str]] = []
    mnemonic = {str(code_id): name for name, code_id in bench.codes.items()}
    for selection in root.iter(f"{PR}PlainTextSelection"):
        start, end = int(selection.get("startPosition", "")), int(selection.get("endPosition", ""))
        for coding_element in selection.findall(f"{PR}Coding"):
            assert coding_element.get("creatingUser") in users
            ref = coding_element.find(f"{PR}CodeRef")
            assert ref is not None
            quotes.append((mnemonic[ref.get("targetGUID", "")], text[start:end]))
    assert sorted(quotes) == sorted([("B5", PASSPORT), ("E1", BROTHER), ("H2", BROTHER), ("E1", BROTHER)])
    notes = {note.get("guid"): note.findtext(f"{PR}PlainTextContent") for note in root.iter(f"{PR}Note")}
    assert list(notes.values()) == ["Passport withheld: a memo."]
    refs = [ref.get("targetGUID") for ref in root.iter(f"{PR}NoteRef")]
    assert refs == list(notes)
    actions = ctx.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("export.project") == 1
    assert (
        get(client, bench.interviewer, f"/api/v1/projects/{bench.world.project.id}/project.qdpx").status_code
        == 404
    )


def test_withdrawn_turns_and_their_codings_are_left_out_of_the_export(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    _coded(client, bench)
    version = ctx.session.scalars(
        select(TranscriptVersion).where(TranscriptVersion.interview_id == uuid.UUID(bench.interview_id))
    ).one()
    withdrawn = ctx.session.scalars(
        select(Segment).where(Segment.transcript_version_id == version.id, Segment.seq == 1)
    ).one()
    # As the consent service suppresses a turn (its codings would be deleted by the coding hook; here they
    # are left in place to show that the export drops them by itself).
    withdrawn.suppressed = True
    withdrawn.pseudonymised_text = None
    withdrawn.identified_text = None
    ctx.session.flush()
    data = refi.export_qdpx(ctx, project_id=bench.world.project.id)
    members = _qdpx_members(data)
    _valid("Project-mrt2019.xsd", members["project.qde"])
    text = members[f"sources/{bench.interview_id}.txt"].decode("utf-8")
    assert PASSPORT not in text
    assert "passport" not in text
    assert text == (
        "When did the summons arrive?\n\nWhat happened to your family?\n\n"
        "My brother was questioned twice by officers from the city."
    )
    root = ET.fromstring(members["project.qde"])  # noqa: S314 - our own output
    spans = {
        (int(s.get("startPosition", "")), int(s.get("endPosition", "")))
        for s in root.iter(f"{PR}PlainTextSelection")
    }
    assert {text[start:end] for start, end in spans} == {BROTHER}
    assert not list(root.iter(f"{PR}Note"))  # the memo was on the withdrawn turn's coding


def test_a_project_round_trips_through_qdpx(client: TestClient, bench: Bench, ctx: Context) -> None:
    _coded(client, bench)
    source_codings = codings_of(client, bench.coder, bench.interview_id)
    data = refi.export_qdpx(ctx, project_id=bench.world.project.id)
    importer = _actor_ctx(ctx, bench.coder)
    result = refi.import_qdpx(importer, project_name="round-trip", data=data)
    assert (result.sources_imported, result.codings_imported, result.codings_skipped) == (1, 3, 0)
    assert result.memos_imported == 1
    assert result.identifier_candidates == 0
    new = result.project_id
    assert _tree(ctx, new) == _tree(ctx, bench.world.project.id)
    interview_id = result.interview_ids[bench.interview_id]
    fresh = _actor_ctx(ctx, bench.coder)  # the grants gave the importer coder and interviewer roles
    assert fresh.actor is not None
    assert fresh.actor.project_roles[new] == frozenset({Role.CODER, Role.INTERVIEWER})
    original = interviews.read_pseudonymised(
        _actor_ctx(ctx, bench.coder), interview_id=uuid.UUID(bench.interview_id)
    )
    imported = interviews.read_pseudonymised(fresh, interview_id=interview_id)
    assert imported.text.reveal() == original.text.reveal()
    assert imported.status == "approved"
    mnemonics = {code.id: code.mnemonic for code in codebook.tree(ctx, project_id=new)}
    rows = ctx.session.scalars(select(Coding).where(Coding.project_id == new)).all()
    got = sorted((mnemonics[row.code_id], row.start, row.end) for row in rows)
    want = sorted(
        {(row["mnemonic"], row["start"], row["end"]) for row in source_codings}
    )  # two coders coded E1 alike: one coding after import
    assert got == want
    assert all(row.coder_id == bench.coder.user.id for row in rows)
    assert all(coding.verify_provenance(fresh, coding_id=row.id) for row in rows)
    cipher = interviews.cipher_for(ctx, ctx.session.get(Interview, interview_id))  # type: ignore[arg-type]
    memos = [memo.reveal() for row in rows if (memo := cipher.read(row, "memo")) is not None]
    assert memos == ["Passport withheld: a memo."]
    actions = ctx.session.scalars(select(AuditEvent.action).where(AuditEvent.project_id == new)).all()
    assert {
        "project.create",
        "user.role_grant",
        "codebook.import",
        "transcript.approve",
        "project.import",
    } <= set(actions)


def _sample_expectations() -> tuple[
    list[tuple[str, str, str | None]], list[tuple[str, int, int, str]], list[str]
]:
    """Codes (guid, name, parent guid), codings (source guid, start, end, code guid) and text sources."""
    with zipfile.ZipFile(SAMPLE) as archive:
        root = ET.fromstring(archive.read("project.qde"))  # noqa: S314 - the shared, known sample file
    codes: list[tuple[str, str, str | None]] = []

    def walk(element: ET.Element, parent: str | None) -> None:
        for code in element.findall(f"{PR}Code"):
            guid = code.get("guid", "").strip("{}").lower()
            codes.append((guid, code.get("name", ""), parent))
            walk(code, guid)

    codes_element = root.find(f"{PR}CodeBook/{PR}Codes")
    assert codes_element is not None
    walk(codes_element, None)
    codings = []
    sources = []
    for source in root.iter(f"{PR}TextSource"):
        guid = source.get("guid", "").lower()
        sources.append(guid)
        for selection in source.findall(f"{PR}PlainTextSelection"):
            for coding_element in selection.findall(f"{PR}Coding"):
                ref = coding_element.find(f"{PR}CodeRef")
                assert ref is not None
                codings.append(
                    (
                        guid,
                        int(selection.get("startPosition", "")),
                        int(selection.get("endPosition", "")),
                        ref.get("targetGUID", "").strip("{}").lower(),
                    )
                )
    return codes, codings, sources


@pytest.mark.skipif(not SAMPLE.exists(), reason="the shared REFI-QDA samples are not next to the repository")
def test_the_nvivo_sample_imports_with_all_its_codes_and_codings(world: World, ctx: Context) -> None:
    codes, codings, sources = _sample_expectations()
    result = refi.import_qdpx(
        _actor_ctx(ctx, world.coder), project_name="nvivo-sample", data=SAMPLE.read_bytes()
    )
    assert result.codes_created == len(codes) == 262
    assert result.sources_imported == len(sources)
    assert result.codings_imported == len(codings)
    assert result.codings_skipped == 0
    tree = codebook.tree(ctx, project_id=result.project_id)
    by_id = {code.id: code for code in tree}
    mapped = {guid: result.code_ids[guid] for guid, _name, _parent in codes}
    for guid, name, parent in codes:
        code = by_id[mapped[guid]]
        assert code.name == name
        assert code.parent_id == (mapped[parent] if parent else None)
    rows = ctx.session.scalars(select(Coding).where(Coding.project_id == result.project_id)).all()
    interview_of = {source: result.interview_ids[source] for source in sources}
    got = sorted((str(row.interview_id), row.start, row.end, str(row.code_id)) for row in rows)
    want = sorted((str(interview_of[s]), start, end, str(mapped[c])) for s, start, end, c in codings)
    assert got == want


def _qde(body: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="x">'
        f"{body}</Project>"
    ).encode()


def _bomb() -> bytes:
    return _zip({"project.qde": _qde(), "sources/big.txt": b"\0" * (8 * 1024 * 1024)})


HOSTILE_PACKAGES: list[tuple[str, Callable[[], bytes], str]] = [
    ("not a zip", lambda: b"<html>hello</html>", "zip archive"),
    ("a damaged zip", lambda: b"PK\x03\x04" + b"\x00" * 64, "damaged"),
    ("no project.qde", lambda: _zip({"sources/a.txt": b"text"}), "no project.qde"),
    ("a zip bomb", _bomb, "zip bomb"),
    ("a parent path", lambda: _zip({"project.qde": _qde(), "../evil.txt": b"x"}), "unsafe path"),
    ("an absolute path", lambda: _zip({"project.qde": _qde(), "/etc/evil": b"x"}), "unsafe path"),
    ("a windows path", lambda: _zip({"project.qde": _qde(), "sources\\..\\evil.txt": b"x"}), "unsafe path"),
    ("XXE in project.qde", lambda: _zip({"project.qde": XXE_QDC.replace(b"CodeBook", b"Project")}), "DTD"),
    ("billion laughs", lambda: _zip({"project.qde": LAUGHS_QDC.replace(b"CodeBook", b"Project")}), "DTD"),
    (
        "a codebook in place of a project",
        lambda: _zip({"project.qde": XXE_QDC[XXE_QDC.index(b"<CodeBook") :].replace(b"&xxe;", b"x")}),
        "not a REFI-QDA project",
    ),
]


@pytest.mark.parametrize(
    ("what", "make", "message"), HOSTILE_PACKAGES, ids=[item[0] for item in HOSTILE_PACKAGES]
)
def test_a_hostile_qdpx_is_refused_and_changes_nothing(
    client: TestClient, world: World, ctx: Context, what: str, make: Callable[[], bytes], message: str
) -> None:
    before = _counts(ctx)
    response = post(
        client,
        world.coder,
        "/api/v1/projects/import-qdpx",
        data={"name": "hostile"},
        files={"file": ("evil.qdpx", make(), "application/zip")},
    )
    assert response.status_code == 422, (what, response.text)
    assert message in response.json()["error"]["message"], what
    assert _counts(ctx) == before
    assert projects.get_by_name(ctx.session, name="hostile") is None
    # A refused import granted no role, so it ended no session.
    assert get(client, world.coder, f"/api/v1/projects/{world.project.id}/codebook").status_code == 200


def test_importing_a_project_is_for_coders_and_ends_their_sessions(
    client: TestClient, world: World, ctx: Context, login_as: Callable[..., LoggedIn]
) -> None:
    data = refi.export_qdpx(ctx, project_id=world.project.id)
    for who in (world.interviewer, login_as(Role.ADMIN), login_as(Role.AUDITOR)):
        refused = post(
            client,
            who,
            "/api/v1/projects/import-qdpx",
            data={"name": "imported"},
            files={"file": ("p.qdpx", data)},
        )
        assert refused.status_code == 403
    response = post(
        client,
        world.coder,
        "/api/v1/projects/import-qdpx",
        data={"name": "imported"},
        files={"file": ("p.qdpx", data)},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["codes_created"] == 57
    assert body["login_again"] is True
    taken = post(
        client,
        world.coder,
        "/api/v1/projects/import-qdpx",
        data={"name": "imported"},
        files={"file": ("p.qdpx", data)},
    )
    assert taken.status_code == 401  # the role grant ended the coder's session
    project = projects.get_by_name(ctx.session, name="imported")
    assert project is not None
    assert str(project.id) == body["project_id"]


def test_the_import_page_makes_a_project(client: TestClient, world: World, ctx: Context) -> None:
    page = get(client, world.coder, "/projects/import-qdpx")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    bad = post(
        client,
        world.coder,
        "/projects/import-qdpx",
        data={"name": "from-page", "csrf_token": world.coder.csrf},
        files={"file": ("p.qdpx", b"nonsense")},
    )
    assert bad.status_code == 422
    assert "zip archive" in bad.text
    data = refi.export_qdpx(ctx, project_id=world.project.id)
    done = post(
        client,
        world.coder,
        "/projects/import-qdpx",
        data={"name": "from-page", "csrf_token": world.coder.csrf},
        files={"file": ("p.qdpx", data)},
    )
    assert done.status_code == 200, done.text
    assert "log in again" in done.text
    assert projects.get_by_name(ctx.session, name="from-page") is not None


def test_harbour_export_writes_codebook_and_project_files(harbour: Harbour, tmp_path: Path) -> None:
    assert harbour("init").code == 0
    assert harbour("projects", "add", "study").code == 0
    qdc = tmp_path / "study.qdc"
    result = harbour("export", "codebook", "--project", "study", "--format", "qdc", "--out", str(qdc))
    assert result.code == 0, result.err
    _valid("Codebook-mrt2019.xsd", qdc.read_bytes())
    qdpx = tmp_path / "study.qdpx"
    result = harbour("export", "project", "--project", "study", "--format", "qdpx", "--out", str(qdpx))
    assert result.code == 0, result.err
    members = _qdpx_members(qdpx.read_bytes())
    assert list(members) == ["project.qde"]
    _valid("Project-mrt2019.xsd", members["project.qde"])
    with harbour.context() as ctx:
        actions = ctx.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("export.codebook") == 1
        assert actions.count("export.project") == 1


def test_the_codebook_page_imports_a_qdc_and_shows_a_refusal(
    client: TestClient, world: World, ctx: Context
) -> None:
    before = _counts(ctx)
    refused = post(
        client,
        world.coder,
        f"/projects/{world.project.id}/codebook/import",
        data={"csrf_token": world.coder.csrf},
        files={"file": ("evil.qdc", XXE_QDC)},
    )
    assert refused.status_code == 422
    assert "DTD" in refused.text
    assert _counts(ctx) == before
    data = refi.export_qdc(ctx, project_id=world.project.id).replace(b"Harbour mnemonic: ", b"Was: ")
    done = post(
        client,
        world.coder,
        f"/projects/{world.project.id}/codebook/import",
        data={"csrf_token": world.coder.csrf},
        files={"file": ("tnr.qdc", data)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert codebook.count_current(ctx.session, world.project.id) == 2 * 57
    page = get(client, world.coder, f"/projects/{world.project.id}/codebook?changed=imported")
    assert "The codes of the file were added." in page.text
    assert "Q57" in page.text
