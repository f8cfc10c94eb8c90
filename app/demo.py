"""The fictional demo project `demo`.

Every name, place and story here is invented. Each capability adds its part to `load`, so a newcomer who runs
`harbour demo` can log in as each role and see everything Harbour does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from app.auth import service as users
from app.auth import sessions
from app.auth.models import Role
from app.coding import codebook
from app.coding import service as coding
from app.coding.models import Code
from app.consent import service as consents
from app.context import Context
from app.errors import ConflictError
from app.exports import jobs as export_jobs
from app.guides import service as guides
from app.identities import service as identities
from app.identities import vocabularies as vocab
from app.incidents import service as incidents
from app.interviews import demo as demo_interviews
from app.interviews import service as interviews
from app.projects import service as projects

DEMO_PROJECT = "demo"

# Invented people: the names are made up and belong to no one ("nomavjud", "xayoliy" and "uydirma" mean
# "non-existent", "imaginary" and "made up" in Uzbek); dates, contacts and places are invented too.
DEMO_PERSONS: tuple[dict[str, Any], ...] = (
    {
        "legal_name": "Ozoda Nomavjud",
        "aliases": ("Озода Номавжуд",),
        "transliterations": ("Ozoda Nomavzhud",),
        "birth_date": date(1988, 4, 2),
        "contacts": "Signal: demo handle (fictional)",
        "locations": "Fictional address, Demo Street 1, Vienna",
        "notes": "Demo note: a fictional exile in the demo project.",
        "person_kind": vocab.PersonKind.INDIVIDUAL,
        "roles": (vocab.PersonRole.INTERVIEWEE, vocab.PersonRole.TARGET),
        "origin_state": "UZ",
        "target_category": (vocab.TargetCategory.CIVIL_SOCIETY,),
        "gender": vocab.Gender.F,
        "identifiability_risk": vocab.IdentifiabilityRisk.HIGH,
        "residences": (
            identities.ResidenceInput("TR", "2019-03", "2020-11", vocab.LegalStatus.RESIDENCE_OR_WORK_PERMIT),
            identities.ResidenceInput("AT", "2020-12", None, vocab.LegalStatus.REFUGEE_STATUS),
        ),
    },
    {
        "legal_name": "Bahrom Xayoliy",
        "aliases": ("Бахром Хаёлий", "Bakhrom Khayoliy"),
        "birth_decade": 1980,
        "person_kind": vocab.PersonKind.INDIVIDUAL,
        "roles": (vocab.PersonRole.INTERVIEWEE, vocab.PersonRole.RELATIVE, vocab.PersonRole.TARGET),
        "origin_state": "UZ",
        "target_category": (vocab.TargetCategory.OPPOSITION,),
        "gender": vocab.Gender.M,
        "identifiability_risk": vocab.IdentifiabilityRisk.MEDIUM,
        "residences": (identities.ResidenceInput("DE", "2017", None, vocab.LegalStatus.ASYLUM_PENDING),),
    },
    {
        "legal_name": "Samira Uydirma",
        "person_kind": vocab.PersonKind.INDIVIDUAL,
        "roles": (vocab.PersonRole.INTERVIEWEE, vocab.PersonRole.WITNESS),
        "origin_state": "TJ",
        "target_category": (vocab.TargetCategory.FAMILY_OF_EXILE,),
        "gender": vocab.Gender.UNDISCLOSED,
        "identifiability_risk": vocab.IdentifiabilityRisk.LOW,
    },
)
# (person, relation, other): "Bahrom Xayoliy is the sibling of Ozoda Nomavjud".
DEMO_RELATIONS = (("Bahrom Xayoliy", vocab.Relation.SIBLING, "Ozoda Nomavjud"),)

DEMO_GUIDE = (
    guides.TopicIn(
        "Leaving the country",
        (guides.QuestionIn("When did you leave?"), guides.QuestionIn("Who helped you on the way?")),
    ),
    guides.TopicIn(
        "Pressure after leaving",
        (
            guides.QuestionIn("Did anyone contact you after you arrived?"),
            guides.QuestionIn("How did the summons reach your family?"),
        ),
    ),
)

DEMO_USERS = (
    ("demo-admin", Role.ADMIN),
    ("demo-interviewer", Role.INTERVIEWER),
    ("demo-coder", Role.CODER),
    ("demo-coder2", Role.CODER),
    ("demo-auditor", Role.AUDITOR),
)


@dataclass(frozen=True)
class DemoLogin:
    """A demo account and its password, printed once."""

    role: str
    username: str
    password: str


def load(ctx: Context) -> list[DemoLogin]:
    """Create the demo project and its users; refuses if it is already loaded."""
    session = ctx.session
    if projects.get_by_name(session, name=DEMO_PROJECT) is not None:
        raise ConflictError("the demo project is already loaded")
    project = projects.create(ctx, name=DEMO_PROJECT)
    logins = []
    for username, role in DEMO_USERS:
        new = users.create(
            ctx, username=username, role=role, project_name=None if role is Role.ADMIN else project.name
        )
        # Demo accounts are ready to use: the newcomer should not have to change a password first.
        new.user.must_change_password = False
        logins.append(DemoLogin(role=role.value, username=username, password=new.one_time_password))
    session.flush()
    # The persons are registered as the demo interviewer would, so the audit log shows who did it.
    interviewer = users.get_by_username_or_raise(session, username="demo-interviewer")
    as_interviewer = Context(session, ctx.runtime, sessions.actor_for(session, user_id=interviewer.id))
    registered = {
        person["legal_name"]: identities.register(as_interviewer, project_id=project.id, **person).person.id
        for person in DEMO_PERSONS
    }
    for name, relation, other in DEMO_RELATIONS:
        identities.add_relation(
            as_interviewer, person_id=registered[name], relation=relation, other_person_id=registered[other]
        )
    # The guide comes first, so the approved interview's turns can be linked to its questions.
    guides.save(as_interviewer, project_id=project.id, topics=DEMO_GUIDE)
    # Demo interviews in three formats, one approved so the demo coders can read and search it.
    demo_interviews.load(as_interviewer, project_id=project.id)
    for interview in interviews.list(as_interviewer, project_id=project.id):
        if interview.status == "approved":
            guides.suggest_links(as_interviewer, interview_id=interview.id)
    for name in registered:
        consents.record(
            as_interviewer,
            person_id=registered[name],
            info_sheet_version="demo-v1",
            recorded_on=date(2025, 3, 1),
            scopes=(
                "participate",
                "retain_transcript",
                "quote_anonymised",
                "incident_db",
                "family_information",
            ),
            evidence="Fictional: verbal consent recorded at the start of the demo interview.",
        )
    _code_demo_interview(ctx, project.id)
    _export_demo(ctx, project.id)
    return logins


def _export_demo(ctx: Context, project_id: Any) -> None:
    """One finished export job of the demo coder, so the Exports page has a file to download."""
    session = ctx.session
    coder = users.get_by_username_or_raise(session, username="demo-coder")
    as_coder = Context(session, ctx.runtime, sessions.actor_for(session, user_id=coder.id))
    job = export_jobs.start(as_coder, project_id=project_id, kind="incidents", fmt="csv")
    export_jobs.finish(as_coder, job)


# Incident-bearing codings of the approved demo interview: (phrase, code mnemonic).
DEMO_CODINGS = (
    ("I left in the spring", "A1"),
    ("Someone wrote to me", "B2"),
    ("my mother would be questioned again", "E1"),
)


def _code_demo_interview(ctx: Context, project_id: Any) -> None:
    """Code the approved demo interview as the demo coder: mentions, one incident and one family reprisal."""
    session = ctx.session
    coder = users.get_by_username_or_raise(session, username="demo-coder")
    as_coder = Context(session, ctx.runtime, sessions.actor_for(session, user_id=coder.id))
    codebook.seed_default(as_coder, project_id=project_id)
    codes = dict(session.execute(select(Code.mnemonic, Code.id).where(Code.project_id == project_id)).all())
    approved = [
        item for item in interviews.list(as_coder, project_id=project_id) if item.status == "approved"
    ]
    if not approved:
        return
    interview_id = approved[0].id
    _version, turns = coding.read_for_coding(as_coder, interview_id=interview_id)
    for phrase, mnemonic in DEMO_CODINGS:
        for turn in turns:
            text = turn.text.reveal() if turn.text is not None else ""
            if phrase in text:
                start = turn.char_start + text.index(phrase)
                coding.apply(
                    as_coder,
                    interview_id=interview_id,
                    start=start,
                    end=start + len(phrase),
                    code_ids=[codes[mnemonic]],
                )
                break
    for mention in incidents.mentions(as_coder, project_id=project_id, interview_id=interview_id):
        if mention.kind == "incident":
            incidents.update_mention(
                as_coder,
                mention_id=mention.id,
                values={
                    "onset_phrase": "after I arrived",
                    "perpetrator_type": "UNIDENTIFIED",
                    "completion_status": "completed",
                    "attribution_confidence": "possible",
                    "status": "complete",
                },
            )
            incidents.cluster(as_coder, mention_id=mention.id)
        else:
            incidents.create_reprisal(as_coder, mention_id=mention.id)
