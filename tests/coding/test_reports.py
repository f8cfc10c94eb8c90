"""Agreement and coding reports over the database: what is read, what is left out, who may see it, audit."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.coding import reports
from app.coding.models import Assignment, Code, Coding, CodingOrigin
from app.consent.service import BLOCK
from app.context import Context
from app.identities import service as identities
from app.interviews import service as interviews
from app.interviews.models import Segment, TranscriptFlag, TranscriptVersion
from app.projects.models import Project
from tests.auth_support import LoggedIn, use

TURNS = [
    "Interviewer: Where did they take you?",
    'Witness: =HYPERLINK("http://evil.example/") was written on the summons they left at the door.',
    "Interviewer: What happened next?",
    "Witness: My brother was questioned at the border for six hours.",
]


@dataclass
class Coded:
    """A project with one approved interview, two assigned coders and two codes."""

    project: Project
    interview_id: uuid.UUID
    version_id: uuid.UUID
    text: str
    segments: list[Segment]
    first: LoggedIn
    second: LoggedIn
    outsider: LoggedIn
    codes: dict[str, uuid.UUID]


def _approved_interview(ctx: Context, project: Project, interviewer_id: uuid.UUID) -> uuid.UUID:
    person = identities.register(ctx, project_id=project.id, legal_name="Fictional Witness").person
    interview = interviews.create(
        ctx,
        project_id=project.id,
        interviewee_person_id=person.id,
        interview_month="2025-02",
        mode="in_person",
        languages=["en"],
        interviewer_id=interviewer_id,
    )
    version = interviews.upload(
        ctx, interview_id=interview.id, filename="t.txt", data="\n\n".join(TURNS).encode()
    )
    for flag in ctx.session.scalars(
        select(TranscriptFlag).where(TranscriptFlag.transcript_version_id == version.id)
    ).all():
        interviews.decide_flag(ctx, interview_id=interview.id, flag_id=flag.id, decision="ignore")
    interviews.approve(ctx, interview_id=interview.id)
    return interview.id


def add_coding(
    ctx: Context, world: Coded, coder: LoggedIn | None, code: str, start: int, end: int, origin: str = "coder"
) -> Coding:
    """Insert a coding as the coding service would have stored it."""
    coding = Coding(
        project_id=world.project.id,
        interview_id=world.interview_id,
        transcript_version_id=world.version_id,
        code_id=world.codes[code],
        coder_id=(coder or world.first).user.id,
        start=start,
        end=end,
        span_hash=bytes(32),
        codebook_version=1,
        origin=origin,
    )
    ctx.session.add(coding)
    ctx.session.flush()
    return coding


@pytest.fixture
def coded(login_as: Callable[..., LoggedIn], ctx: Context) -> Coded:
    interviewer = login_as(Role.INTERVIEWER)
    assert interviewer.project_id is not None
    project = ctx.session.get(Project, interviewer.project_id)
    assert project is not None
    first = login_as(Role.CODER, project_name=project.name)
    second = login_as(Role.CODER, project_name=project.name)
    outsider = login_as(Role.CODER)
    interview_id = _approved_interview(ctx, project, interviewer.user.id)
    version = ctx.session.scalars(
        select(TranscriptVersion).where(TranscriptVersion.interview_id == interview_id)
    ).one()
    segments = list(
        ctx.session.scalars(
            select(Segment).where(Segment.transcript_version_id == version.id).order_by(Segment.seq)
        )
    )
    text = interviews.read_pseudonymised(ctx, interview_id=interview_id).text.reveal()
    codes = {}
    for seq, mnemonic in enumerate(("ZZ1", "=ZZ2")):
        code = Code(project_id=project.id, mnemonic=mnemonic, seq=seq)
        ctx.session.add(code)
        ctx.session.flush()
        codes[mnemonic] = code.id
    for coder in (first, second):
        ctx.session.add(Assignment(project_id=project.id, interview_id=interview_id, coder_id=coder.user.id))
    ctx.session.flush()
    return Coded(project, interview_id, version.id, text, segments, first, second, outsider, codes)


def _as(ctx: Context, who: LoggedIn) -> Context:
    from app.auth import sessions

    actor = sessions.actor_for(ctx.session, user_id=who.user.id)
    assert actor is not None
    return Context(ctx.session, ctx.runtime, actor)


def _events(ctx: Context, action: str) -> list[AuditEvent]:
    return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_agreement_of_two_coders_counts_segments_and_characters(ctx: Context, coded: Coded) -> None:
    s = coded.segments
    add_coding(ctx, coded, coded.first, "ZZ1", s[1].char_start, s[1].char_end)
    add_coding(ctx, coded, coded.second, "ZZ1", s[1].char_start + 10, s[1].char_end)
    add_coding(ctx, coded, coded.second, "ZZ1", s[3].char_start, s[3].char_start + 5)
    # An adjudicated coding is not a coder's judgement: left out of agreement.
    add_coding(ctx, coded, None, "=ZZ2", s[0].char_start, s[0].char_end, origin=CodingOrigin.ADJUDICATED)
    report = reports.agreement_report(_as(ctx, coded.first), project_id=coded.project.id)
    assert [code.mnemonic for code in report.codes] == ["ZZ1"]
    by = {(r.unit, r.code): r for r in report.rows}
    segment = by[("segment", "ZZ1")]
    assert (segment.n, segment.coders) == (4, 2)
    assert segment.percent == pytest.approx(3 / 4)
    character = by[("character", "ZZ1")]
    assert character.n == sum(seg.char_end - seg.char_start for seg in s)
    assert character.percent == pytest.approx((character.n - 15) / character.n)
    assert by[("character", None)].n == character.n
    assert len(_events(ctx, "agreement.read")) == 1


def test_a_coder_may_be_left_out_and_then_alpha_is_undefined(ctx: Context, coded: Coded) -> None:
    add_coding(ctx, coded, coded.first, "ZZ1", 0, 5)
    report = reports.agreement_report(ctx, interview_id=coded.interview_id, coder_ids=[coded.first.user.id])
    assert report.coder_ids == [coded.first.user.id]
    assert all(r.alpha is None and r.n == 0 for r in report.rows)


def test_coders_of_another_project_find_nothing(ctx: Context, coded: Coded) -> None:
    from app.errors import NotFoundError

    outsider = _as(ctx, coded.outsider)
    with pytest.raises(NotFoundError):
        reports.agreement_report(outsider, project_id=coded.project.id)
    with pytest.raises(NotFoundError):
        reports.agreement_report(outsider, interview_id=coded.interview_id)
    with pytest.raises(NotFoundError):
        reports.frequencies(outsider, project_id=coded.project.id)


def test_frequencies_and_cooccurrence_count_same_author_overlaps(ctx: Context, coded: Coded) -> None:
    s = coded.segments
    add_coding(ctx, coded, coded.first, "ZZ1", s[1].char_start, s[1].char_end)
    add_coding(ctx, coded, coded.first, "=ZZ2", s[1].char_start + 3, s[1].char_start + 9)
    add_coding(ctx, coded, coded.second, "=ZZ2", s[1].char_start, s[1].char_end)  # other author: no pair
    freq = reports.frequencies(ctx, project_id=coded.project.id)
    a1, b2 = coded.codes["ZZ1"], coded.codes["=ZZ2"]
    assert freq.totals == {a1: 1, b2: 2}
    assert freq.by_interview[(b2, coded.interview_id)] == 2
    assert freq.by_author[(b2, str(coded.second.user.id))] == 1
    co = reports.cooccurrence(ctx, project_id=coded.project.id)
    assert co.counts[(a1, b2)] == co.counts[(b2, a1)] == 1
    assert co.counts[(b2, b2)] == 2


def test_coded_segments_carry_pseudonymised_context_but_never_withdrawn_turns(
    ctx: Context, coded: Coded
) -> None:
    s = coded.segments
    kept = add_coding(ctx, coded, coded.first, "ZZ1", s[3].char_start + 9, s[3].char_start + 19)
    gone = add_coding(ctx, coded, coded.first, "ZZ1", s[1].char_start, s[1].char_start + 8)
    # Withdraw turn 2 as the consent service does: suppressed, its span blanked in the full text.
    s[2].suppressed = True
    ctx.session.flush()
    report = reports.coded_segments(ctx, project_id=coded.project.id, code_id=coded.codes["ZZ1"])
    assert [seg.coding_id for seg in report.segments] == [gone.id, kept.id]
    segment = report.segments[1]
    assert segment.quote == coded.text[kept.start : kept.end]
    assert segment.before == coded.text[s[3].char_start : kept.start]  # context stops at the withdrawn turn
    assert "Fictional" not in segment.before + segment.quote + segment.after
    assert BLOCK not in segment.before
    s[2].suppressed = False
    s[1].suppressed = True
    ctx.session.flush()
    again = reports.coded_segments(ctx, project_id=coded.project.id, code_id=coded.codes["ZZ1"], audit=False)
    assert gone.id not in {seg.coding_id for seg in again.segments}
    assert len(_events(ctx, "report.read")) == 1


def test_agreement_routes_answer_coders_of_the_project(
    client: TestClient, ctx: Context, coded: Coded
) -> None:
    add_coding(ctx, coded, coded.first, "ZZ1", 0, 30)
    add_coding(ctx, coded, coded.second, "ZZ1", 0, 20)
    use(client, coded.first)
    response = client.get(f"/api/v1/projects/{coded.project.id}/agreement")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(r["unit"], r["code"]) for r in body["results"]} == {
        ("segment", "ZZ1"),
        ("segment", None),
        ("character", "ZZ1"),
        ("character", None),
    }
    one = client.get(
        f"/api/v1/interviews/{coded.interview_id}/agreement", params={"coder_id": str(coded.first.user.id)}
    )
    assert one.status_code == 200
    assert one.json()["coder_ids"] == [str(coded.first.user.id)]
    page = client.get(f"/projects/{coded.project.id}/agreement")
    assert page.status_code == 200
    assert "Krippendorff" in page.text
    assert "<script>" not in page.text
    use(client, coded.outsider)
    assert client.get(f"/api/v1/projects/{coded.project.id}/agreement").status_code == 404


def test_report_pages_and_downloads(client: TestClient, ctx: Context, coded: Coded) -> None:
    s = coded.segments
    formula = coded.text.index("=HYPERLINK")
    add_coding(ctx, coded, coded.first, "=ZZ2", formula, s[1].char_end)
    use(client, coded.first)
    reports_page = client.get(f"/projects/{coded.project.id}/reports")
    assert reports_page.status_code == 200
    assert "=ZZ2" in reports_page.text
    segments_page = client.get(f"/projects/{coded.project.id}/reports/codes/{coded.codes['=ZZ2']}")
    assert segments_page.status_code == 200
    assert "HYPERLINK" in segments_page.text
    url = f"/api/v1/projects/{coded.project.id}/reports/codes/{coded.codes['=ZZ2']}/segments/download"
    csv_file = client.get(url, params={"format": "csv"})
    assert csv_file.status_code == 200
    assert csv_file.headers["cache-control"] == "no-store"
    assert "'=HYPERLINK" in csv_file.content.decode("utf-8-sig")
    assert coded.first.user.username not in csv_file.content.decode("utf-8-sig")
    xlsx_file = client.get(url, params={"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file.content)).active
    assert sheet is not None
    quotes = [row[9] for row in sheet.iter_rows(min_row=2)]
    assert quotes[0].data_type == "s"
    assert str(quotes[0].value).startswith("'=HYPERLINK")
    assert len(_events(ctx, "export.coded_segments")) == 2
    api = client.get(f"/api/v1/projects/{coded.project.id}/reports/frequencies")
    assert api.status_code == 200
    assert api.json()["totals"] == [{"code_id": str(coded.codes["=ZZ2"]), "of": "total", "codings": 1}]
    assert client.get(f"/api/v1/projects/{coded.project.id}/reports/cooccurrence").status_code == 200
    assert (
        client.get(f"/api/v1/projects/{coded.project.id}/reports/codes/{coded.codes['ZZ1']}/segments").json()[
            "segments"
        ]
        == []
    )
