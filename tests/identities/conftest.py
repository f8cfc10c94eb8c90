"""A key store of the test's own, a system context over it, a project, and callers of each role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypedDict

import pytest

from app.auth.models import Role
from app.context import Context
from app.projects.models import Project
from tests import factories
from tests.auth_support import LoggedIn
from tests.keys.fixtures import ctx, keys  # noqa: F401 - fixtures


class Canary(TypedDict):
    """Every identity field of a person."""

    legal_name: str
    aliases: list[str]
    transliterations: list[str]
    birth_date: str
    contacts: str
    locations: str
    notes: str


class Attributes(TypedDict):
    """The analytic attributes of a person (birth decade left to be derived)."""

    person_kind: str
    roles: list[str]
    origin_state: str
    target_category: list[str]
    gender: str
    identifiability_risk: str


# Every identity field of a person, each value a distinctive (and fictional) canary.
CANARY: Canary = {
    "legal_name": "Zuhra Kanareykina",
    "aliases": ["Зуҳра Канарейкина", "Zuhra K. Kanareyka"],
    "transliterations": ["Zukhra Kanareikina"],
    "birth_date": "1991-07-19",
    "contacts": "canary-contact-7731@example.invalid",
    "locations": "Canary Lane 77, Fictionville",
    "notes": "canary-note-5521: left after the second summons",
}
CANARY_STRINGS = [
    CANARY["legal_name"],
    *CANARY["aliases"],
    *CANARY["transliterations"],
    CANARY["birth_date"],
    CANARY["contacts"],
    CANARY["locations"],
    CANARY["notes"],
    "Kanare",  # any fragment of the name
]
CANARY_BIRTH_DATE = date(1991, 7, 19)

ATTRIBUTES: Attributes = {
    "person_kind": "individual",
    "roles": ["interviewee", "target"],
    "origin_state": "UZ",
    "target_category": ["OPPOSITION", "CIVIL_SOCIETY"],
    "gender": "f",
    "identifiability_risk": "medium",
}


@pytest.fixture
def project(ctx: Context) -> Project:  # noqa: F811 - ctx is the fixture imported above
    """A project to register persons in."""
    return factories.project(ctx)


@dataclass
class Team:
    """Callers around one project: its interviewer and coder, and outsiders."""

    interviewer: LoggedIn
    coder: LoggedIn
    auditor: LoggedIn
    admin: LoggedIn
    other_interviewer: LoggedIn  # an interviewer of another project


@pytest.fixture
def team(project: Project, login_as: Callable[..., LoggedIn]) -> Team:
    """One caller of each kind."""
    return Team(
        interviewer=login_as(Role.INTERVIEWER, project_name=project.name),
        coder=login_as(Role.CODER, project_name=project.name),
        auditor=login_as(Role.AUDITOR, project_name=project.name),
        admin=login_as(Role.ADMIN),
        other_interviewer=login_as(Role.INTERVIEWER),
    )
