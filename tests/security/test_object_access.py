"""Security test 10: object-level access (IDOR/BOLA). Another project's objects are indistinguishable from
objects that do not exist, nothing changes, and every refusal is audited.

Project Q belongs to interviewer B and coder D, who fill it through the API (people, consent, an approved
interview, codings with memos, an incident, a reprisal). Interviewer A and coder C of project P then call
every API route that takes an id, with Q's ids in the path (and the bodies the route expects), and again
with random ids: the status and the body are the same byte for byte. They also put Q's ids inside bodies of
requests on their own objects (nested references: a relation to B's person, C's mention clustered into B's
incident, B's person as a target, B's code applied to C's interview, ...): again the same answer as a random
id. A digest of every table (sessions and the audit log aside) is unchanged, and each 403/404 adds exactly
one `request.denied` entry. Response latency is not compared here (the suite has no timed asserts).

Routes that act on users by id (`/api/v1/users/{user_id}/...`) are for admins only (test 9); the routes of
the `self` action (password, TOTP, tokens) take no id at all, which the last test checks, so one user's
TOTP or settings cannot be named by another.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.auth.policy import Action
from app.coding import codebook
from app.coding.models import Code
from app.context import Context
from app.projects.models import Project
from tests.auth.test_route_policy import _declared, api_routes
from tests.auth_support import Clock, LoggedIn, use

TRANSCRIPT = (
    "Interviewer: When did the summons arrive?\n\n"
    "Zarina Toqiyeva: The summons arrived in March and they took my passport at the border.\n\n"
    "Interviewer: What happened to your family?\n\n"
    "Zarina Toqiyeva: My brother was questioned twice by officers from the city.\n"
)
VOLATILE_TABLES = {"audit_event", "auth_session"}  # every request touches these; checked separately


@dataclass
class Side:
    """One project's interviewer and coder and the ids of what they made."""

    interviewer: LoggedIn
    coder: LoggedIn
    ids: dict[str, str]


def _send(client: TestClient, who: LoggedIn, method: str, url: str, json: Any = None) -> Any:
    use(client, who)
    return client.request(method, url, headers={"x-csrf-token": who.csrf}, json=json)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _fill(client: TestClient, ctx: Context, interviewer: LoggedIn, coder: LoggedIn) -> dict[str, str]:
    """Fill the interviewer's project through the API; returns the ids of everything made."""
    assert interviewer.project_id is not None
    project = str(interviewer.project_id)
    codebook.seed_default(ctx, project_id=interviewer.project_id)
    ctx.session.flush()
    codes = {
        c.mnemonic: str(c.id)
        for c in ctx.session.scalars(select(Code).where(Code.project_id == interviewer.project_id))
    }
    ids = {"project_id": project, "code_id": codes["C3"]}
    person = _ok(
        _send(
            client,
            interviewer,
            "POST",
            f"/api/v1/projects/{project}/persons",
            {"legal_name": "Zarina Toqiyeva"},
        ),
        201,
    )["person"]
    other = _ok(
        _send(
            client,
            interviewer,
            "POST",
            f"/api/v1/projects/{project}/persons",
            {"legal_name": "Anvar Toqiyev"},
        ),
        201,
    )["person"]
    ids |= {"person_id": person["id"], "other_person_id": other["id"]}
    residence = _send(
        client, interviewer, "POST", f"/api/v1/persons/{person['id']}/residences", {"country": "TR"}
    )
    assert residence.status_code in (200, 201), residence.text
    relation = _send(
        client,
        interviewer,
        "POST",
        f"/api/v1/persons/{person['id']}/relations",
        {"relation": "sibling", "other_person_id": other["id"]},
    )
    assert relation.status_code in (200, 201), relation.text
    read = _ok(_send(client, interviewer, "GET", f"/api/v1/persons/{person['id']}"))
    ids["residence_id"] = str(read["residences"][0]["id"])
    ids["relation_id"] = str(read["relations"][0]["id"])
    consent = _send(
        client,
        interviewer,
        "POST",
        f"/api/v1/persons/{person['id']}/consents",
        {"info_sheet_version": "v1", "recorded_on": "2025-03-02", "scopes": ["participate"]},
    )
    ids["consent_id"] = _ok(consent, 201)["id"]
    interview = _ok(
        _send(
            client,
            interviewer,
            "POST",
            f"/api/v1/projects/{project}/interviews",
            {
                "interviewee_person_id": person["id"],
                "interview_month": "2025-03",
                "mode": "in_person",
                "languages": ["uz"],
            },
        ),
        201,
    )
    ids["interview_id"] = str(interview["id"])
    use(client, interviewer)
    upload = client.post(
        f"/api/v1/interviews/{ids['interview_id']}/transcripts",
        headers={"x-csrf-token": interviewer.csrf},
        files={"file": ("t.txt", TRANSCRIPT.encode(), "application/octet-stream")},
    )
    _ok(upload, 201)
    flags = _ok(_send(client, interviewer, "GET", f"/api/v1/interviews/{ids['interview_id']}/flags"))
    ids["flag_id"] = str(flags[0]["id"]) if flags else str(uuid.uuid4())
    _ok(
        _send(
            client,
            interviewer,
            "POST",
            f"/api/v1/interviews/{ids['interview_id']}/transcripts/latest/approve",
        )
    )
    text = _ok(
        _send(
            client, coder, "GET", f"/api/v1/interviews/{ids['interview_id']}/transcripts/latest/pseudonymised"
        )
    )
    ids["segment_id"] = str(text["segments"][1]["id"])
    for phrase, mnemonic in (("they took my passport at the border", "C3"), ("questioned twice", "E1")):
        start = text["text"].index(phrase)
        made = _ok(
            _send(
                client,
                coder,
                "POST",
                f"/api/v1/interviews/{ids['interview_id']}/codings",
                {"start": start, "end": start + len(phrase), "code_ids": [codes[mnemonic]], "memo": "a memo"},
            ),
            201,
        )
        ids.setdefault("coding_id", str(made[0]["id"]))
    mentions = _ok(_send(client, coder, "GET", f"/api/v1/projects/{project}/incident-mentions"))
    for mention in mentions:
        path = "incident" if mention["kind"] == "incident" else "reprisal"
        made = _ok(_send(client, coder, "POST", f"/api/v1/incident-mentions/{mention['id']}/{path}", {}), 201)
        if path == "incident":
            ids["mention_id"] = str(mention["id"])
            ids["incident_id"] = str(made["id"])
    return ids


# A body each route with a body accepts when the object is the caller's own (validation passes, so only the
# object check can tell the two ids apart).
BODIES: dict[tuple[str, str], Callable[[dict[str, str]], Any]] = {
    ("PATCH", "/api/v1/persons/{person_id}"): lambda ids: {"notes": "changed"},
    ("POST", "/api/v1/persons/{person_id}/residences"): lambda ids: {"country": "DE"},
    ("POST", "/api/v1/persons/{person_id}/relations"): lambda ids: {
        "relation": "sibling",
        "other_person_id": ids["other_person_id"],
    },
    ("POST", "/api/v1/projects/{project_id}/persons"): lambda ids: {"legal_name": "Kamola Yolgonova"},
    ("POST", "/api/v1/projects/{project_id}/interviews"): lambda ids: {
        "interviewee_person_id": ids["person_id"],
        "interview_month": "2025-03",
        "mode": "in_person",
        "languages": ["uz"],
    },
    ("POST", "/api/v1/interviews/{interview_id}/persons"): lambda ids: {"person_id": ids["other_person_id"]},
    ("POST", "/api/v1/interviews/{interview_id}/flags/{flag_id}"): lambda ids: {"decision": "redact"},
    ("POST", "/api/v1/persons/{person_id}/consents"): lambda ids: {
        "info_sheet_version": "v1",
        "recorded_on": "2025-03-02",
        "scopes": ["participate"],
    },
    ("POST", "/api/v1/consents/{consent_id}/withdrawals"): lambda ids: {"scope": "all"},
    ("PATCH", "/api/v1/codes/{code_id}"): lambda ids: {"name": "renamed"},
    ("POST", "/api/v1/projects/{project_id}/codes"): lambda ids: {"name": "new code"},
    ("POST", "/api/v1/interviews/{interview_id}/codings"): lambda ids: {
        "start": 0,
        "end": 5,
        "code_ids": [ids["code_id"]],
        "memo": "x",
    },
    ("PATCH", "/api/v1/codings/{coding_id}"): lambda ids: {"memo": "changed"},
    ("POST", "/api/v1/interviews/{interview_id}/adjudications"): lambda ids: {
        "code_id": ids["code_id"],
        "decision": "apply",
        "segment_id": ids["segment_id"],
    },
    ("PATCH", "/api/v1/incident-mentions/{mention_id}"): lambda ids: {"locus_state": "DE"},
    ("POST", "/api/v1/incident-mentions/{mention_id}/incident"): lambda ids: {},
    ("POST", "/api/v1/incident-mentions/{mention_id}/reprisal"): lambda ids: {},
    ("PATCH", "/api/v1/incidents/{incident_id}"): lambda ids: {"summary": "changed"},
    ("POST", "/api/v1/incidents/{incident_id}/status"): lambda ids: {"status": "final"},
    ("POST", "/api/v1/incidents/{incident_id}/links"): lambda ids: {
        "to_id": ids["incident_id"],
        "kind": "related",
    },
    ("POST", "/api/v1/incidents/{incident_id}/targets"): lambda ids: {"person_id": ids["other_person_id"]},
    ("PUT", "/api/v1/segments/{segment_id}/question"): lambda ids: {"question_key": None},
}
SKIPPED_PARAMS = {"user_id", "request_id", "job_id"}  # admin-only or caller-owned listings (see docstring)


def _digest(session: Session) -> str:
    """A hash of every row of every table but the volatile ones."""
    metadata = MetaData()
    metadata.reflect(session.connection())
    digest = hashlib.sha256()
    for table in metadata.sorted_tables:
        if table.name in VOLATILE_TABLES:
            continue
        rows = session.execute(select(table)).all()
        for row in sorted(repr(tuple(row)) for row in rows):
            digest.update(f"{table.name}:{row}\n".encode())
    return digest.hexdigest()


def _denials(session: Session) -> int:
    return session.scalar(select(func.count()).where(AuditEvent.action == "request.denied")) or 0


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), path)


def _random_ids(ids: dict[str, str]) -> dict[str, str]:
    return {name: str(uuid.uuid4()) for name in ids}


def test_another_projects_objects_answer_like_missing_ones_and_nothing_changes(
    app: FastAPI, client: TestClient, ctx: Context, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    a = login_as(Role.INTERVIEWER)
    p_name = ctx.session.get(Project, a.project_id).name  # type: ignore[union-attr]
    c = login_as(Role.CODER, project_name=p_name)
    b = login_as(Role.INTERVIEWER)
    q_name = ctx.session.get(Project, b.project_id).name  # type: ignore[union-attr]
    d = login_as(Role.CODER, project_name=q_name)
    q_ids = _fill(client, ctx, b, d)
    _fill(client, ctx, a, c)
    ctx.session.expire_all()
    before = _digest(ctx.session)
    attempts = refused = 0
    for route in api_routes(app.routes):
        params = set(re.findall(r"\{([^}]+)\}", route.path))
        if not params or params & SKIPPED_PARAMS or route.path.startswith("/api/v1/users"):
            continue
        for method in route.methods or ():
            make_body = BODIES.get((method, route.path))
            for who in (a, c):
                denials = _denials(ctx.session)
                body = make_body(q_ids) if make_body else None
                theirs = _send(client, who, method, _url(route.path, q_ids), body)
                missing_ids = _random_ids(q_ids)
                random_body = make_body(missing_ids) if make_body else None
                missing = _send(client, who, method, _url(route.path, missing_ids), random_body)
                where = f"{method} {route.path} as {who.user.username}"
                assert theirs.status_code in (403, 404, 422), f"{where}: {theirs.status_code} {theirs.text}"
                assert theirs.status_code == missing.status_code, where
                assert theirs.content == missing.content, where
                if theirs.status_code in (403, 404):
                    refused += 2
                    assert _denials(ctx.session) == denials + 2, where
                attempts += 2
    ctx.session.expire_all()
    assert _digest(ctx.session) == before
    assert attempts > 150
    assert refused > 100


def test_other_projects_ids_inside_bodies_answer_like_missing_ones(
    client: TestClient, ctx: Context, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    a = login_as(Role.INTERVIEWER)
    c = login_as(Role.CODER, project_name=ctx.session.get(Project, a.project_id).name)  # type: ignore[union-attr]
    b = login_as(Role.INTERVIEWER)
    d = login_as(Role.CODER, project_name=ctx.session.get(Project, b.project_id).name)  # type: ignore[union-attr]
    q = _fill(client, ctx, b, d)
    p = _fill(client, ctx, a, c)
    nested: list[tuple[LoggedIn, str, str, Callable[[str], Any], str]] = [
        (
            a,
            "POST",
            f"/api/v1/projects/{p['project_id']}/interviews",
            lambda x: {
                "interviewee_person_id": x,
                "interview_month": "2025-03",
                "mode": "in_person",
                "languages": ["uz"],
            },
            "person_id",
        ),
        (
            a,
            "POST",
            f"/api/v1/persons/{p['person_id']}/relations",
            lambda x: {"relation": "sibling", "other_person_id": x},
            "person_id",
        ),
        (
            a,
            "POST",
            f"/api/v1/interviews/{p['interview_id']}/persons",
            lambda x: {"person_id": x},
            "person_id",
        ),
        (
            a,
            "POST",
            f"/api/v1/consents/{p['consent_id']}/withdrawals",
            lambda x: {"scope": "person", "person_id": x},
            "person_id",
        ),
        (
            a,
            "POST",
            f"/api/v1/consents/{p['consent_id']}/withdrawals",
            lambda x: {"scope": "segments", "segment_ids": [x]},
            "segment_id",
        ),
        (
            c,
            "POST",
            f"/api/v1/interviews/{p['interview_id']}/codings",
            lambda x: {"start": 0, "end": 5, "code_ids": [x]},
            "code_id",
        ),
        (
            c,
            "POST",
            f"/api/v1/incident-mentions/{p['mention_id']}/incident",
            lambda x: {"incident_id": x},
            "incident_id",
        ),
        (
            c,
            "PATCH",
            f"/api/v1/incident-mentions/{p['mention_id']}",
            lambda x: {"target_person_id": x},
            "person_id",
        ),
        (c, "POST", f"/api/v1/incidents/{p['incident_id']}/targets", lambda x: {"person_id": x}, "person_id"),
        (
            c,
            "POST",
            f"/api/v1/incidents/{p['incident_id']}/links",
            lambda x: {"to_id": x, "kind": "related"},
            "incident_id",
        ),
        (
            c,
            "POST",
            f"/api/v1/interviews/{p['interview_id']}/adjudications",
            lambda x: {"code_id": x, "decision": "apply"},
            "code_id",
        ),
        (
            c,
            "POST",
            f"/api/v1/interviews/{p['interview_id']}/assignments",
            lambda x: {"coder_ids": [x]},
            "coder_of_q",
        ),
    ]
    q["coder_of_q"] = str(d.user.id)
    ctx.session.expire_all()
    before = _digest(ctx.session)
    for who, method, url, body, key in nested:
        theirs = _send(client, who, method, url, body(q[key]))
        missing = _send(client, who, method, url, body(str(uuid.uuid4())))
        where = f"{method} {url} with another project's {key}"
        assert theirs.status_code in (404, 409, 422), f"{where}: {theirs.status_code} {theirs.text}"
        assert (theirs.status_code, theirs.content) == (missing.status_code, missing.content), where
    ctx.session.expire_all()
    assert _digest(ctx.session) == before


def test_self_service_routes_take_no_id_so_no_one_can_name_another_users_settings(app: FastAPI) -> None:
    self_routes = [route for route in api_routes(app.routes) if _declared(route) == Action.SELF]
    assert self_routes
    for route in self_routes:
        assert "{" not in route.path, route.path
