"""The identity vault's services: registration, attributes, duplicate warnings, scope, audited reads,
residence history and relations, names for pseudonymisation, erasure, tampering."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import cast

import pytest
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.actor import Actor
from app.auth.models import Role
from app.context import Context
from app.encryption import DataIntegrityError
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.identities import service as identities
from app.identities.models import Person, PersonNameIndex
from app.keys.models import DataKey
from app.projects.models import Project
from tests import factories
from tests.identities.conftest import ATTRIBUTES, CANARY, CANARY_BIRTH_DATE, CANARY_STRINGS

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


# ---- every identity field, attributes, updates ----------------------------------------------------


def _full(ctx: Context, project: Project) -> identities.RegisteredPerson:
    return identities.register(
        ctx,
        project_id=project.id,
        legal_name=CANARY["legal_name"],
        aliases=CANARY["aliases"],
        transliterations=CANARY["transliterations"],
        birth_date=CANARY_BIRTH_DATE,
        contacts=CANARY["contacts"],
        locations=CANARY["locations"],
        notes=CANARY["notes"],
        residences=[identities.ResidenceInput("DE", "2019-05", "2021", "asylum_pending")],
        **ATTRIBUTES,
    )


def test_every_identity_field_round_trips_and_is_sealed_at_rest(ctx: Context, project: Project) -> None:
    person = _full(ctx, project).person
    read = identities.read_identity(ctx, person.id)
    assert read.legal_name is not None
    assert read.legal_name.reveal() == CANARY["legal_name"]
    assert [alias.reveal() for alias in read.aliases] == CANARY["aliases"]
    assert [name.reveal() for name in read.transliterations] == CANARY["transliterations"]
    assert read.birth_date is not None
    assert read.birth_date.reveal() == CANARY["birth_date"]
    for column in ("contacts", "locations", "notes"):
        value = getattr(read, column)
        assert value is not None
        assert value.reveal() == CANARY[column]
    row = ctx.session.execute(select(Person.__table__).where(Person.__table__.c.id == person.id)).one()
    stored = b"".join(row._mapping[column].blob for column in identities.IDENTITY_FIELDS)
    for canary in CANARY_STRINGS:
        assert canary.encode() not in stored
    assert (person.roles, person.target_category) == (
        ["interviewee", "target"],
        ["OPPOSITION", "CIVIL_SOCIETY"],
    )
    assert (person.origin_state, person.gender, person.identifiability_risk) == ("UZ", "f", "medium")


def test_birth_decade_is_derived_from_the_birth_date_and_must_agree_with_it(
    ctx: Context, project: Project
) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="A B", birth_date=CANARY_BIRTH_DATE)
    assert person.person.birth_decade == 1990
    with pytest.raises(InvalidInputError, match="decade"):
        identities.register(
            ctx, project_id=project.id, legal_name="A B", birth_date=CANARY_BIRTH_DATE, birth_decade=1980
        )
    with pytest.raises(InvalidInputError, match="decade"):
        identities.update(ctx, person_id=person.person.id, birth_decade=1970)
    assert identities.register(
        ctx, project_id=project.id, legal_name="C D", birth_decade=1960
    ).person.birth_decade


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("person_kind", "family"),
        ("roles", ["interviewee", "spy"]),
        ("roles", "interviewee"),
        ("origin_state", "XX"),
        ("origin_state", "USA"),
        ("target_category", ["opposition"]),
        ("gender", "female"),
        ("birth_decade", 1985),
        ("birth_decade", 1890),
        ("birth_decade", 2990),
        ("identifiability_risk", "extreme"),
        ("birth_date", date(1850, 1, 1)),
    ],
)
def test_values_outside_the_vocabularies_are_refused(
    ctx: Context, project: Project, field: str, value: object
) -> None:
    with pytest.raises(InvalidInputError):
        identities.register(ctx, project_id=project.id, legal_name="Vocab Test", **{field: value})  # type: ignore[arg-type]


def test_duplicate_warning_covers_transliterations_across_scripts(ctx: Context, project: Project) -> None:
    first = identities.register(
        ctx, project_id=project.id, legal_name="Sardor Q.", transliterations=["Фарход Исмоилов"]
    )
    second = identities.register(ctx, project_id=project.id, legal_name="Farkhod Ismoilov")
    assert second.possible_duplicates == [first.person.pseudonym]
    third = identities.register(
        ctx, project_id=project.id, legal_name="Unrelated Name", transliterations=["Farhod Ismoilov"]
    )
    assert third.possible_duplicates == sorted([first.person.pseudonym, second.person.pseudonym])


def test_updating_names_reindexes_them(ctx: Context, project: Project) -> None:
    first = identities.register(ctx, project_id=project.id, legal_name="Gulnora Xayolova")
    second = identities.register(ctx, project_id=project.id, legal_name="Someone Else")
    assert second.possible_duplicates == []
    updated = identities.update(ctx, person_id=second.person.id, transliterations=["Гулнора Хаёлова"])
    assert updated.possible_duplicates == [first.person.pseudonym]
    assert identities.possible_duplicates(ctx, person_id=first.person.id) == [second.person.pseudonym]
    identities.update(ctx, person_id=second.person.id, transliterations=[])
    assert identities.possible_duplicates(ctx, person_id=first.person.id) == []


def test_update_changes_only_the_fields_given(ctx: Context, project: Project) -> None:
    person = _full(ctx, project).person
    identities.update(ctx, person_id=person.id, notes=None, gender="undisclosed", roles=["witness"])
    read = identities.read_identity(ctx, person.id)
    assert read.notes is None
    assert read.legal_name is not None
    assert read.legal_name.reveal() == CANARY["legal_name"]
    assert [name.reveal() for name in read.transliterations] == CANARY["transliterations"]
    assert (person.gender, person.roles, person.origin_state) == ("undisclosed", ["witness"], "UZ")
    [event] = _events(ctx.session, "person.update")
    assert (event.object_id, event.reason) == (str(person.id), "identity_and_attributes")
    with pytest.raises(InvalidInputError):
        identities.update(ctx, person_id=person.id, legal_name=" ")


def test_identity_reads_record_their_purpose(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Purpose Test").person
    identities.read_identity(ctx, person.id, purpose="consent")
    [event] = _events(ctx.session, "person.read_identity")
    assert event.reason == "consent"
    with pytest.raises(InvalidInputError):
        identities.read_identity(ctx, person.id, purpose="curiosity")


# ---- scope ----------------------------------------------------------------------------------------


def test_coders_read_the_pseudonymous_view_and_nothing_more(ctx: Context, project: Project) -> None:
    person = _full(ctx, project).person
    coder = Context(ctx.session, ctx.runtime, _actor(project.id, Role.CODER))
    view = identities.get(coder, person_id=person.id)
    assert view.person.pseudonym == person.pseudonym
    assert [row.country for row in view.residences] == ["DE"]
    assert [p.id for p in identities.list_in_project(coder, project_id=project.id)] == [person.id]
    [event] = _events(ctx.session, "person.read")
    assert (event.object_id, event.project_id) == (str(person.id), project.id)
    for call in (
        lambda: identities.read_identity(coder, person.id),
        lambda: identities.update(coder, person_id=person.id, gender="m"),
        lambda: identities.possible_duplicates(coder, person_id=person.id),
        lambda: identities.add_residence(
            coder, person_id=person.id, residence=identities.ResidenceInput("DE")
        ),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert identities.names_for_pseudonymisation(coder, person_ids=[person.id]) == []


def test_other_projects_and_other_roles_see_nothing(ctx: Context, project: Project) -> None:
    person = _full(ctx, project).person
    for role, where in (
        (Role.INTERVIEWER, uuid.uuid4()),
        (Role.CODER, uuid.uuid4()),
        (Role.AUDITOR, project.id),
    ):
        outsider = Context(ctx.session, ctx.runtime, _actor(where, role))
        with pytest.raises(NotFoundError):
            identities.get(outsider, person_id=person.id)
        with pytest.raises(NotFoundError):
            identities.list_in_project(outsider, project_id=project.id)
        with pytest.raises(NotFoundError):
            identities.read_identity(outsider, person.id)
    admin = Context(ctx.session, ctx.runtime, Actor(uuid.uuid4(), "admin", is_admin=True))
    with pytest.raises(NotFoundError):
        identities.get(admin, person_id=person.id)
    with pytest.raises(NotFoundError):
        identities.get(ctx, person_id=uuid.uuid4())


# ---- residence and relations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "start", "end", "status"),
    [
        ("ZZ", None, None, "unknown"),
        ("DE", "2019-13", None, "unknown"),
        ("DE", "19", None, "unknown"),
        ("DE", "1899", None, "unknown"),
        ("DE", "2021", "2019-05", "unknown"),
        ("DE", "2019-06", "2019-05", "unknown"),
        ("DE", None, None, "tourist"),
    ],
)
def test_residence_rules_refuse_bad_countries_periods_and_statuses(
    ctx: Context, project: Project, country: str, start: str | None, end: str | None, status: str
) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Residence Test").person
    with pytest.raises(InvalidInputError):
        identities.add_residence(
            ctx, person_id=person.id, residence=identities.ResidenceInput(country, start, end, status)
        )


def test_residence_history_is_kept_in_order_and_can_be_corrected(ctx: Context, project: Project) -> None:
    person = identities.register(ctx, project_id=project.id, legal_name="Residence Order").person
    later = identities.add_residence(
        ctx, person_id=person.id, residence=identities.ResidenceInput("de", "2020", None, "refugee_status")
    )
    identities.add_residence(
        ctx, person_id=person.id, residence=identities.ResidenceInput("TR", "2019-02", "2020", "unknown")
    )
    view = identities.get(ctx, person_id=person.id)
    assert [(r.country, r.from_period, r.to_period) for r in view.residences] == [
        ("TR", "2019-02", "2020"),
        ("DE", "2020", None),
    ]
    identities.remove_residence(ctx, person_id=person.id, residence_id=later.id)
    assert [r.country for r in identities.get(ctx, person_id=person.id).residences] == ["TR"]
    other = identities.register(ctx, project_id=project.id, legal_name="Someone").person
    with pytest.raises(NotFoundError):
        identities.remove_residence(ctx, person_id=other.id, residence_id=view.residences[0].id)


def test_relations_link_two_persons_of_one_project_once(ctx: Context, project: Project) -> None:
    first = identities.register(ctx, project_id=project.id, legal_name="Relation One").person
    second = identities.register(ctx, project_id=project.id, legal_name="Relation Two").person
    relation = identities.add_relation(ctx, person_id=first.id, relation="sibling", other_person_id=second.id)
    assert {relation.person_a, relation.person_b} == {first.pseudonym, second.pseudonym}
    # The same relation, either way round, is a duplicate.
    for a, b in ((first, second), (second, first)):
        with pytest.raises(ConflictError):
            identities.add_relation(ctx, person_id=a.id, relation="sibling", other_person_id=b.id)
    # "first is the child of second" is "second is the parent of first".
    parent = identities.add_relation(ctx, person_id=first.id, relation="child", other_person_id=second.id)
    assert (parent.person_a, parent.relation, parent.person_b) == (
        second.pseudonym,
        "parent",
        first.pseudonym,
    )
    with pytest.raises(ConflictError):
        identities.add_relation(ctx, person_id=second.id, relation="parent", other_person_id=first.id)
    with pytest.raises(InvalidInputError, match="themselves"):
        identities.add_relation(ctx, person_id=first.id, relation="friend", other_person_id=first.id)
    with pytest.raises(InvalidInputError):
        identities.add_relation(ctx, person_id=first.id, relation="enemy", other_person_id=second.id)
    elsewhere = identities.register(ctx, project_id=factories.project(ctx).id, legal_name="Elsewhere").person
    for other_id in (elsewhere.id, uuid.uuid4()):
        with pytest.raises(InvalidInputError, match="not in this project"):
            identities.add_relation(ctx, person_id=first.id, relation="friend", other_person_id=other_id)
    view = identities.get(ctx, person_id=second.id)
    assert sorted(r.relation for r in view.relations) == ["parent", "sibling"]
    identities.remove_relation(ctx, person_id=second.id, relation_id=relation.id)
    assert [r.relation for r in identities.get(ctx, person_id=first.id).relations] == ["parent"]


# ---- pseudonymisation names, erasure, tampering ---------------------------------------------------


def test_names_for_pseudonymisation_give_every_name_form_of_readable_persons(
    ctx: Context, project: Project
) -> None:
    person = _full(ctx, project).person
    elsewhere = identities.register(ctx, project_id=factories.project(ctx).id, legal_name="Hidden").person
    interviewer = Context(ctx.session, ctx.runtime, _actor(project.id, Role.INTERVIEWER))
    names = identities.names_for_pseudonymisation(
        interviewer, person_ids=[person.id, elsewhere.id, person.id]
    )
    assert names == [
        identities.PersonNames(
            person.pseudonym, (CANARY["legal_name"], *CANARY["aliases"], *CANARY["transliterations"])
        )
    ]
    [event] = _events(ctx.session, "person.decrypt_for_pseudonymisation")
    assert (event.object_id, event.project_id) == (str(person.id), project.id)


def test_erasure_removes_every_new_identity_field_and_keeps_the_pseudonymous_record(
    ctx: Context, project: Project
) -> None:
    person = _full(ctx, project).person
    other = identities.register(ctx, project_id=project.id, legal_name="Sibling Of").person
    identities.add_relation(ctx, person_id=person.id, relation="sibling", other_person_id=other.id)
    identities.erase(ctx, person_id=person.id)
    row = ctx.session.execute(select(Person.__table__).where(Person.__table__.c.id == person.id)).one()
    assert all(row._mapping[column] is None for column in identities.IDENTITY_FIELDS)
    read = identities.read_identity(ctx, person.id)
    assert read.erased
    assert (read.transliterations, read.birth_date, read.locations) == ([], None, None)
    view = identities.get(ctx, person_id=person.id)
    assert (len(view.residences), len(view.relations)) == (1, 1)
    assert identities.names_for_pseudonymisation(ctx, person_ids=[person.id]) == []
    with pytest.raises(ConflictError):
        identities.update(ctx, person_id=person.id, notes="new")
    assert (
        identities.register(ctx, project_id=project.id, legal_name="Zukhra Kanareikina").possible_duplicates
        == []
    )


@pytest.mark.parametrize("column", ["transliterations", "birth_date", "locations"])
def test_ciphertext_swapped_between_two_persons_rows_fails_cleanly(
    ctx: Context, project: Project, column: str
) -> None:
    first = _full(ctx, project).person
    second = _full(ctx, project).person
    table = cast(Table, Person.__table__)
    stolen = getattr(first, column)
    assert stolen is not None
    ctx.session.execute(update(table).where(table.c.id == second.id).values({column: stolen}))
    ctx.session.expire(second)
    with pytest.raises(DataIntegrityError) as caught:
        identities.read_identity(ctx, second.id)
    assert CANARY["legal_name"] not in str(caught.value)
    if column == "transliterations":
        with pytest.raises(DataIntegrityError):
            identities.names_for_pseudonymisation(ctx, person_ids=[second.id])
    assert identities.read_identity(ctx, first.id).legal_name is not None
