"""The identity vault core: registration, duplicate warnings, audited reads, erasure."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.actor import Actor
from app.auth.models import Role
from app.context import Context
from app.errors import InvalidInputError, NotFoundError
from app.identities import service as identities
from app.identities.models import Person, PersonNameIndex
from app.keys.models import DataKey
from app.projects.models import Project
from tests import factories

PSEUDONYM = re.compile(r"[A-Z][a-z]+-[A-Z][a-z]+-[1-9][0-9]")


@pytest.fixture
def project(ctx: Context) -> Project:
    """A project to register persons in."""
    return factories.project(ctx)


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def _actor(project_id: uuid.UUID, role: Role) -> Actor:
    return Actor(
        uuid.uuid4(), f"user-{role.value}", is_admin=False, project_roles={project_id: frozenset({role})}
    )


def test_registered_identity_round_trips_through_encryption(ctx: Context, project: Project) -> None:
    registered = identities.register(
        ctx,
        project_id=project.id,
        legal_name="Фарход Исмоилов",
        aliases=["Farhod Ismoilov", "Фарҳод"],
        contacts="+998 90 000 00 00",
        notes="Left in 2019; family stayed.",
    )
    person = registered.person
    assert PSEUDONYM.fullmatch(person.pseudonym)
    assert registered.possible_duplicates == []
    read = identities.read_identity(ctx, person.id)
    assert not read.erased
    assert read.legal_name is not None
    assert read.legal_name.reveal() == "Фарход Исмоилов"
    assert [alias.reveal() for alias in read.aliases] == ["Farhod Ismoilov", "Фарҳод"]
    assert read.contacts is not None
    assert read.contacts.reveal() == "+998 90 000 00 00"
    assert read.notes is not None
    assert read.notes.reveal() == "Left in 2019; family stayed."


def test_pseudonym_is_random_not_derived_from_the_identity(ctx: Context, project: Project) -> None:
    first = identities.register(ctx, project_id=project.id, legal_name="Same Name")
    second = identities.register(ctx, project_id=project.id, legal_name="Same Name")
    assert first.person.pseudonym != second.person.pseudonym
    assert first.possible_duplicates == []
    assert second.possible_duplicates == [first.person.pseudonym]


def test_duplicate_warning_matches_across_scripts_and_spellings(ctx: Context, project: Project) -> None:
    first = identities.register(ctx, project_id=project.id, legal_name="Фарход Исмоилов")
    second = identities.register(ctx, project_id=project.id, legal_name="Farkhod Ismoilov")
    assert second.possible_duplicates == [first.person.pseudonym]
    other = identities.register(ctx, project_id=project.id, legal_name="Farkhod Ismoilova")
    assert other.possible_duplicates == []


def test_duplicate_warning_includes_aliases(ctx: Context, project: Project) -> None:
    first = identities.register(
        ctx, project_id=project.id, legal_name="Dilnoza K.", aliases=["Дилноза Каримова"]
    )
    second = identities.register(ctx, project_id=project.id, legal_name="Dilnoza Karimova")
    assert second.possible_duplicates == [first.person.pseudonym]


def test_duplicate_warnings_and_index_tokens_are_scoped_to_the_project(
    ctx: Context, project: Project
) -> None:
    other_project = factories.project(ctx)
    first = identities.register(ctx, project_id=project.id, legal_name="Rustam Nazarov")
    second = identities.register(ctx, project_id=other_project.id, legal_name="Rustam Nazarov")
    assert second.possible_duplicates == []
    tokens = {
        row.person_id: row.token
        for row in ctx.session.scalars(
            select(PersonNameIndex).where(PersonNameIndex.person_id.in_([first.person.id, second.person.id]))
        )
    }
    assert tokens[first.person.id] != tokens[second.person.id]


def test_index_tokens_are_keyed_hmacs_not_names(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Nodira Yusupova").person
    tokens = ctx.session.scalars(
        select(PersonNameIndex.token).where(PersonNameIndex.person_id == person.id)
    ).all()
    assert len(tokens) == 1
    assert len(tokens[0]) == 32
    assert b"nodira" not in tokens[0].lower()


def test_every_person_has_an_identity_data_key_of_their_own(ctx: Context, project: Project) -> None:
    people = [identities.register(ctx, project_id=project.id, legal_name=f"Person {n}").person for n in "ABC"]
    keys = ctx.session.scalars(select(DataKey).where(DataKey.owner_id.in_([p.id for p in people]))).all()
    assert len(keys) == 3
    assert {key.zone for key in keys} == {"identity"}
    assert len({key.wrapped for key in keys}) == 3
    for person in people:
        assert person.legal_name is not None
        assert person.legal_name.blob[3:19] in {key.id.bytes for key in keys}  # key id in the header


def test_reading_an_identity_is_audited_with_opaque_ids_only(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Aziz Rahimov").person
    identities.read_identity(ctx, person.id)
    [event] = _events(ctx.session, "person.read_identity")
    assert event.object_type == "person"
    assert event.object_id == str(person.id)
    assert event.project_id == project.id
    assert [e.object_id for e in _events(ctx.session, "person.register")] == [str(person.id)]


def test_registering_requires_a_legal_name(ctx: Context, project: Project) -> None:
    with pytest.raises(InvalidInputError):
        identities.register(ctx, project_id=project.id, legal_name="   ")
    with pytest.raises(InvalidInputError):
        identities.register(ctx, project_id=project.id, legal_name="A", aliases="not a list")


def test_registering_in_an_unknown_project_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFoundError):
        identities.register(ctx, project_id=uuid.uuid4(), legal_name="Nobody")


def test_only_interviewers_of_the_project_read_identities(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Kamila Saidova").person
    interviewer = Context(ctx.session, ctx.runtime, _actor(project.id, Role.INTERVIEWER))
    assert identities.read_identity(interviewer, person.id).legal_name is not None
    for outsider in (_actor(project.id, Role.CODER), _actor(uuid.uuid4(), Role.INTERVIEWER)):
        with pytest.raises(NotFoundError):
            identities.read_identity(Context(ctx.session, ctx.runtime, outsider), person.id)
    with pytest.raises(NotFoundError):
        identities.register(
            Context(ctx.session, ctx.runtime, _actor(project.id, Role.CODER)),
            project_id=project.id,
            legal_name="X",
        )


def test_get_by_pseudonym_finds_within_the_project(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Timur Aliev").person
    assert identities.get_by_pseudonym(ctx.session, project.id, person.pseudonym) is person
    assert identities.get_by_pseudonym(ctx.session, uuid.uuid4(), person.pseudonym) is None
    assert identities.list_by_pseudonym(ctx.session, person.pseudonym) == [person]


def test_erased_person_reads_as_erased_and_leaves_no_key_tokens_or_ciphertext(
    ctx: Context, project: Project
) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Malika Tursunova", notes="n").person
    identities.erase(ctx, person_id=person.id)
    read = identities.read_identity(ctx, person.id)
    assert read.erased
    assert read.legal_name is None
    assert read.aliases == []
    assert read.notes is None
    session = ctx.session
    assert session.scalar(select(func.count()).select_from(DataKey).where(DataKey.owner_id == person.id)) == 0
    assert session.scalar(select(func.count()).where(PersonNameIndex.person_id == person.id)) == 0
    row = session.execute(select(Person.__table__).where(Person.__table__.c.id == person.id)).one()
    assert (row.legal_name, row.aliases, row.contacts, row.notes) == (None, None, None, None)
    [event] = _events(session, "keys.erase_person")
    assert (event.object_type, event.object_id, event.project_id) == ("person", str(person.id), project.id)


def test_missing_data_key_reads_as_erased_not_as_an_error(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Jasur Olimov").person
    ctx.session.execute(delete(DataKey).where(DataKey.owner_id == person.id))
    assert identities.read_identity(ctx, person.id).erased


def test_erased_person_no_longer_matches_duplicates(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Sherzod Umarov").person
    identities.erase(ctx, person_id=person.id)
    assert (
        identities.register(ctx, project_id=project.id, legal_name="Sherzod Umarov").possible_duplicates == []
    )
