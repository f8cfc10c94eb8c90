"""The fictional demo project `demo`.

Every name, place and story here is invented. Each capability adds its part to `load`, so a newcomer who runs
`harbour demo` can log in as each role and see everything Harbour does.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth import service as users
from app.auth import sessions
from app.auth.models import Role
from app.context import Context
from app.errors import ConflictError
from app.identities import service as identities
from app.projects import service as projects

DEMO_PROJECT = "demo"

# Invented people: the names are made up and belong to no one.
DEMO_PERSONS = (
    ("Ozoda Nomavjud", ("Озода Номавжуд",), "Demo note: a fictional exile in the demo project."),
    ("Bahrom Xayoliy", ("Бахром Хаёлий", "Bakhrom Khayoliy"), None),
    ("Samira Uydirma", (), None),
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
    for legal_name, aliases, notes in DEMO_PERSONS:
        identities.register(
            as_interviewer, project_id=project.id, legal_name=legal_name, aliases=aliases, notes=notes
        )
    return logins
