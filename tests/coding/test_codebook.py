"""The codebook: the shipped TNR codebook, sealed codes with stable ids, versions, history, checks, pages."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.auth import sessions
from app.auth.models import Role
from app.coding import codebook
from app.coding.models import Code, CodebookVersion, CodeRevision, Coding
from app.context import Context
from app.errors import InvalidInputError, NotFoundError
from app.interviews import service as interviews
from app.interviews.models import TranscriptVersion
from app.projects import service as projects
from tests.auth_support import LoggedIn
from tests.interviews.conftest import World, get, post

DATA = Path(__file__).resolve().parents[2] / "app" / "coding" / "data" / "tnr_codebook.json"
CODEBOOK_MD = Path(__file__).resolve().parents[3] / "shared" / "domain" / "CODEBOOK.md"
GROUPS = "ABCDEFGH"


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def _codebook(client: TestClient, who: LoggedIn, project_id: uuid.UUID) -> dict[str, Any]:
    response = get(client, who, f"/api/v1/projects/{project_id}/codebook")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _by_mnemonic(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {code["mnemonic"]: code for code in body["codes"]}


def _patch(client: TestClient, who: LoggedIn, code_id: str, **changes: Any) -> Any:
    client.cookies.clear()
    client.cookies.set("__Host-harbour", who.sid)
    return client.patch(f"/api/v1/codes/{code_id}", json=changes, headers={"x-csrf-token": who.csrf})


# ---- the shipped data -------------------------------------------------------------------------------------


def test_the_shipped_codebook_has_44_codes_5_flags_and_8_groups() -> None:
    data = _shipped()
    groups = data["groups"]
    assert [group["mnemonic"] for group in groups] == list(GROUPS)
    codes = [code for group in groups for code in group["codes"]]
    substantive = [code for code in codes if not code["is_flag"]]
    flags = [code for code in codes if code["is_flag"]]
    assert len(substantive) == 44
    assert [code["mnemonic"] for code in flags] == ["H1", "H2", "H3", "H4", "H5"]
    expected = (
        [f"A{n}" for n in range(1, 6)]
        + [f"B{n}" for n in range(1, 12)]
        + [f"C{n}" for n in range(1, 6)]
        + [f"D{n}" for n in range(1, 8)]
        + [f"E{n}" for n in range(1, 10)]
        + [f"F{n}" for n in range(1, 4)]
        + [f"G{n}" for n in range(1, 5)]
    )
    assert [code["mnemonic"] for code in substantive] == expected
    for group in groups:
        assert re.fullmatch(r"#[0-9a-f]{6}", group["colour"])
        assert all(code["mnemonic"].startswith(group["mnemonic"]) for code in group["codes"])
    assert len({group["colour"] for group in groups}) == 8


def test_incident_bearing_codes_map_to_incident_fields() -> None:
    codes = {code["mnemonic"]: code for group in _shipped()["groups"] for code in group["codes"]}
    assert (codes["B1"]["variable_field"], codes["B1"]["variable_value"]) == ("tactic", "S1_THREAT_DIRECT")
    assert codes["B3"]["variable_value"].split("|") == [
        "S1_PHYSICAL_INTIMIDATION",
        "S1_SURVEILLANCE_INFILTRATION",
    ]
    assert codes["D5"]["variable_value"] == "S3_ASSASSINATION"
    assert all(codes[f"E{n}"]["variable_field"] == "reprisal_type" for n in range(1, 10))
    for mnemonic, code in codes.items():
        bearing = mnemonic[0] in "BCDE"
        assert (code["variable_field"] is not None) == bearing, mnemonic
        assert codebook.VARIABLE_FIELD.fullmatch(code["variable_field"] or "x") or not bearing
        if code["variable_value"] is not None:
            assert codebook.VARIABLE_VALUE.fullmatch(code["variable_value"]), mnemonic


@pytest.mark.skipif(
    not CODEBOOK_MD.exists(), reason="the shared domain documents are not next to the repository"
)
def test_mnemonics_and_names_match_the_codebook_document() -> None:
    document = CODEBOOK_MD.read_text(encoding="utf-8")
    part_b = document[document.index("## Part B") :]
    found = re.findall(r"\*\*([A-H]\d+) ([A-Z0-9_.]+(?: / [A-Z]+)?)\*\*", part_b)
    shipped = [(code["mnemonic"], code["name"]) for group in _shipped()["groups"] for code in group["codes"]]
    assert found == shipped
    headings = re.findall(r"^### ([A-H])\. (.+?)(?: \(|$)", part_b, flags=re.MULTILINE)
    assert [mnemonic for mnemonic, _title in headings] == list(GROUPS)


# ---- seeding and reading ----------------------------------------------------------------------------------


def test_a_new_project_gets_the_default_codebook_sealed(ctx: Context) -> None:
    project = projects.create(ctx, name="codebook-seeded")
    assert codebook.current_version(ctx.session, project.id) == 1
    codes = ctx.session.scalars(select(Code).where(Code.project_id == project.id)).all()
    assert len(codes) == 8 + 44 + 5
    assert {code.created_in_version for code in codes} == {1}
    assert sum(code.is_flag for code in codes) == 5
    raw = ctx.session.execute(text("SELECT name, definition FROM code WHERE mnemonic = 'B1'")).all()
    assert raw
    assert all(b"THREAT" not in bytes(value) for row in raw for value in row)
    revisions = ctx.session.scalar(
        select(func.count()).select_from(CodeRevision).join(Code).where(Code.project_id == project.id)
    )
    assert revisions == len(codes)
    assert codebook.seed_default(ctx, project_id=project.id) == 0  # idempotent
    tree = codebook.tree(ctx, project_id=project.id)
    assert [code.mnemonic for code in tree if code.depth == 0] == list(GROUPS)
    b1 = next(code for code in tree if code.mnemonic == "B1")
    group_b = next(code for code in tree if code.mnemonic == "B")
    assert (b1.name, b1.parent_id, b1.depth, b1.colour) == ("S1.THREAT_DIRECT", group_b.id, 1, group_b.colour)
    assert b1.not_when.startswith("Messages online")
    actions = ctx.session.scalars(select(AuditEvent.action).where(AuditEvent.project_id == project.id)).all()
    assert "codebook.seed" in actions
    assert "codebook.read" in actions


def test_a_project_made_by_an_import_is_not_seeded(ctx: Context) -> None:
    project = projects.create(ctx, name="codebook-empty", seed_codebook=False)
    assert codebook.current_version(ctx.session, project.id) == 0
    assert codebook.tree(ctx, project_id=project.id) == []


def test_coders_and_interviewers_read_the_codebook_and_others_do_not(
    client: TestClient, world: World, login_as: Any
) -> None:
    for who in (world.coder, world.interviewer):
        body = _codebook(client, who, world.project.id)
        assert body["version"] == 1
        assert len(body["codes"]) == 57
    outsider = login_as(Role.CODER)
    response = get(client, outsider, f"/api/v1/projects/{world.project.id}/codebook")
    assert response.status_code == 404
    admin = login_as(Role.ADMIN)
    assert get(client, admin, f"/api/v1/projects/{world.project.id}/codebook").status_code == 404


# ---- changes --------------------------------------------------------------------------------------------


def test_editing_keeps_the_id_bumps_the_version_and_records_history(
    client: TestClient, world: World, ctx: Context
) -> None:
    codes = _by_mnemonic(_codebook(client, world.coder, world.project.id))
    b1, group_c = codes["B1"], codes["C"]
    response = _patch(
        client,
        world.coder,
        b1["id"],
        name="S1.THREAT_IN_PERSON",
        definition="Threats delivered face to face.",
        colour="#AA3377",
        parent_id=group_c["id"],
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["id"] == b1["id"]
    assert (changed["name"], changed["colour"], changed["parent_id"]) == (
        "S1.THREAT_IN_PERSON",
        "#aa3377",
        group_c["id"],
    )
    body = _codebook(client, world.coder, world.project.id)
    assert body["version"] == 2
    assert _by_mnemonic(body)["B1"]["depth"] == 1
    history = get(client, world.interviewer, f"/api/v1/codes/{b1['id']}/history").json()
    assert [(entry["version"], entry["name"]) for entry in history] == [
        (1, "S1.THREAT_DIRECT"),
        (2, "S1.THREAT_IN_PERSON"),
    ]
    assert history[0]["parent_id"] == codes["B"]["id"]
    moved_top = _patch(client, world.coder, b1["id"], parent_id=None)
    assert moved_top.json()["parent_id"] is None
    unchanged = _patch(client, world.coder, b1["id"], name="S1.THREAT_IN_PERSON")
    assert unchanged.status_code == 200
    assert codebook.current_version(ctx.session, world.project.id) == 3
    actions = ctx.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("codebook.code_update") == 2
    assert "codebook.history" in actions


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "#rrggbb"),
        ({"colour": "#12345"}, "#rrggbb"),
        ({"mnemonic": "1B"}, "mnemonic"),
        ({"mnemonic": "B 1"}, "mnemonic"),
        ({"mnemonic": "B2"}, "already used"),
        ({"name": "   "}, "must not be empty"),
        ({"name": "\u200b\u200d\u2060"}, "visible character"),  # zero-width only: shows as nothing
        ({"name": "Threat \u202egnirahs"}, "bidirectional"),  # a right-to-left override spoofs the label
        ({"definition": "Reads \u2067backwards\u2069."}, "bidirectional"),
        ({"variable_field": "Tactic!"}, "incident field"),
    ],
)
def test_invalid_changes_are_refused_with_a_clear_422(
    client: TestClient, world: World, changes: dict[str, Any], message: str
) -> None:
    b1 = _by_mnemonic(_codebook(client, world.coder, world.project.id))["B1"]
    response = _patch(client, world.coder, b1["id"], **changes)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert _codebook(client, world.coder, world.project.id)["version"] == 1


def test_a_code_cannot_move_under_itself_or_its_own_sub_codes(client: TestClient, world: World) -> None:
    codes = _by_mnemonic(_codebook(client, world.coder, world.project.id))
    for target in ("B", "B1"):
        response = _patch(client, world.coder, codes["B"]["id"], parent_id=codes[target]["id"])
        assert response.status_code == 422, target
        assert "under itself" in response.json()["error"]["message"]
    foreign = _patch(client, world.coder, codes["B"]["id"], parent_id=str(uuid.uuid4()))
    assert foreign.status_code == 422


def test_creating_a_code_takes_the_parent_colour_and_a_new_version(client: TestClient, world: World) -> None:
    codes = _by_mnemonic(_codebook(client, world.coder, world.project.id))
    response = post(
        client,
        world.coder,
        f"/api/v1/projects/{world.project.id}/codes",
        json={
            "mnemonic": "B12",
            "name": "S1.BOUNTY",
            "definition": "Bounties offered.",
            "parent_id": codes["B"]["id"],
        },
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["colour"], made["depth"], made["created_in_version"]) == (codes["B"]["colour"], 1, 2)
    again = post(
        client,
        world.coder,
        f"/api/v1/projects/{world.project.id}/codes",
        json={"mnemonic": "B12", "name": "x"},
    )
    assert again.status_code == 422
    interviewer = post(
        client,
        world.interviewer,
        f"/api/v1/projects/{world.project.id}/codes",
        json={"mnemonic": "Z1", "name": "x"},
    )
    assert interviewer.status_code == 404


def test_retiring_leaves_codings_pointing_at_the_code(client: TestClient, world: World, ctx: Context) -> None:
    codes = _by_mnemonic(_codebook(client, world.coder, world.project.id))
    parent = post(client, world.coder, f"/api/v1/codes/{codes['B']['id']}/retire")
    assert parent.status_code == 409  # it still has current sub-codes
    code_id = uuid.UUID(codes["B11"]["id"])
    coding_id = _a_coding_row(ctx, world, code_id)
    response = post(client, world.coder, f"/api/v1/codes/{code_id}/retire")
    assert response.status_code == 200, response.text
    assert response.json()["retired_in_version"] == 2
    assert "B11" not in _by_mnemonic(_codebook(client, world.coder, world.project.id))
    coding = ctx.session.get(Coding, coding_id)
    assert coding is not None
    assert coding.code_id == code_id
    assert post(client, world.coder, f"/api/v1/codes/{code_id}/retire").status_code == 409
    assert _patch(client, world.coder, str(code_id), name="again").status_code == 409
    history = get(client, world.coder, f"/api/v1/codes/{code_id}/history").json()
    assert [entry["retired"] for entry in history] == [False, True]


def _a_coding_row(ctx: Context, world: World, code_id: uuid.UUID) -> uuid.UUID:
    """A coding row pointing at a code (made directly: the coding API is tested elsewhere)."""
    system = Context(ctx.session, ctx.runtime, None)
    interview = interviews.create(
        system,
        project_id=world.project.id,
        interviewee_person_id=world.interviewee,
        interview_month="2025-01",
        mode="written",
        languages=["en"],
        interviewer_id=world.interviewer.user.id,
    )
    interviews.upload(
        system, interview_id=interview.id, filename="t.txt", data=b"Interviewer: Hello?\n\nA: Yes.\n"
    )
    interviews.approve(system, interview_id=interview.id)
    version = ctx.session.scalars(
        select(TranscriptVersion).where(TranscriptVersion.interview_id == interview.id)
    ).one()
    row = Coding(
        id=uuid.uuid4(),
        project_id=world.project.id,
        interview_id=interview.id,
        transcript_version_id=version.id,
        code_id=code_id,
        coder_id=world.coder.user.id,
        start=0,
        end=5,
        span_hash=b"\x00" * 32,
        codebook_version=1,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row.id


def test_the_service_scopes_every_verb_to_the_callers_projects(
    ctx: Context, world: World, login_as: Any
) -> None:
    outsider = login_as(Role.CODER)
    actor = sessions.actor_for(ctx.session, user_id=outsider.user.id)
    foreign = Context(ctx.session, ctx.runtime, actor)
    code_id = ctx.session.scalars(
        select(Code.id).where(Code.project_id == world.project.id, Code.mnemonic == "A1")
    ).one()
    with pytest.raises(NotFoundError):
        codebook.tree(foreign, project_id=world.project.id)
    with pytest.raises(NotFoundError):
        codebook.update_code(foreign, code_id=code_id, name="x")
    with pytest.raises(NotFoundError):
        codebook.history(foreign, code_id=code_id)
    with pytest.raises(InvalidInputError):
        codebook.create_code(ctx, project_id=world.project.id, mnemonic="A1", name="duplicate")
    versions = ctx.session.scalar(
        select(func.count())
        .select_from(CodebookVersion)
        .where(CodebookVersion.project_id == world.project.id)
    )
    assert versions == 1


# ---- pages ----------------------------------------------------------------------------------------------


def test_the_codebook_page_shows_the_tree_with_svg_swatches_and_no_inline_code(
    client: TestClient, world: World
) -> None:
    response = get(client, world.coder, f"/projects/{world.project.id}/codebook")
    assert response.status_code == 200, response.text
    html = response.text
    assert "S1.THREAT_DIRECT" in html
    assert "Use when" in html
    assert '<rect width="14" height="14" rx="3" fill="#e69f00"' in html
    assert "style=" not in html
    assert "<style" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert any("codebook.js" in tag for tag in scripts)
    assert all(" src=" in tag for tag in scripts)
    assert "/api/v1/projects/" in html
    assert "codebook.qdc" in html
    assert 'action="/codes/' in html  # coders edit
    reader = get(client, world.interviewer, f"/projects/{world.project.id}/codebook").text
    assert "S1.THREAT_DIRECT" in reader
    assert 'action="/codes/' not in reader
    assert "codebook.qdc" not in reader
    assert get(client, world.coder, "/static/codebook.js").status_code == 200


def test_the_edit_form_changes_a_code_and_shows_refusals(client: TestClient, world: World) -> None:
    codes = _by_mnemonic(_codebook(client, world.coder, world.project.id))
    a1 = codes["A1"]
    form = {
        "csrf_token": world.coder.csrf,
        "mnemonic": "A1",
        "name": "EXIT.CAUSE",
        "definition": "Why they left.",
        "colour": "#0072b2",
        "parent_id": codes["A"]["id"],
    }
    response = post(client, world.coder, f"/codes/{a1['id']}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert _by_mnemonic(_codebook(client, world.coder, world.project.id))["A1"]["name"] == "EXIT.CAUSE"
    refused = post(client, world.coder, f"/codes/{a1['id']}/edit", data=form | {"colour": "blue"})
    assert refused.status_code == 422
    assert "#rrggbb" in refused.text
    added = post(
        client,
        world.coder,
        f"/projects/{world.project.id}/codes",
        data={
            "csrf_token": world.coder.csrf,
            "mnemonic": "A6",
            "name": "DIASPORA",
            "parent_id": codes["A"]["id"],
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    history = get(client, world.coder, f"/codes/{a1['id']}/history")
    assert history.status_code == 200
    assert "EXIT.CAUSE" in history.text
    assert "EXIT.TRIGGER" in history.text
