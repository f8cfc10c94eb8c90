"""Migrations: the head matches the models, and every revision upgrades and downgrades with rows in place."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, insert, inspect, select, types

from app import migrate
from app.db import make_engine
from app.models import Base
from tests.databases import DatabaseFactory


@pytest.fixture
def empty_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    """An engine on a brand-new empty database."""
    engine = make_engine(databases.new("migrations"))
    yield engine
    engine.dispose()


def _revisions_base_to_head(engine: Engine) -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _value_for(column: Any, parents: dict[str, dict[str, Any]]) -> Any:
    for fk in column.foreign_keys:
        parent_table = fk.column.table.name
        if parent_table == column.table.name:
            return None  # a self-reference (a tree's root)
        return parents[parent_table][fk.column.name]
    kind = column.type
    if isinstance(kind, types.Uuid):
        return uuid.uuid4()
    if isinstance(kind, types.Boolean):
        return False
    if isinstance(kind, types.DateTime):
        return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(kind, types.Date):
        return datetime(2026, 1, 1, tzinfo=UTC).date()
    if isinstance(kind, types.Integer):
        return 1
    if isinstance(kind, types.LargeBinary):
        return b"\x00\x01"
    if isinstance(kind, types.String | types.Text):
        length = getattr(kind, "length", None) or 16
        return ("v" + uuid.uuid4().hex)[: min(length, 16)]
    if isinstance(kind, types.JSON):
        return {}
    raise AssertionError(f"no sample value for {column.table.name}.{column.name} ({kind!r})")


def _fill_every_table(engine: Engine) -> dict[str, int]:
    """Insert one row into every table that is empty, parents first; return row counts."""
    metadata = MetaData()
    metadata.reflect(engine)
    rows: dict[str, dict[str, Any]] = {}
    counts = {}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            found = connection.execute(select(table).limit(1)).mappings().first()
            if found is None:
                values = {column.name: _value_for(column, rows) for column in table.columns}
                connection.execute(insert(table).values(values))
                rows[table.name] = values
            else:
                rows[table.name] = dict(found)
            counts[table.name] = len(connection.execute(select(table)).all())
    return counts


def test_head_matches_the_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_revision_upgrades_and_downgrades_with_rows_in_place(empty_engine: Engine) -> None:
    revisions = _revisions_base_to_head(empty_engine)
    assert revisions, "no migrations found"
    for revision in revisions:
        migrate.upgrade(empty_engine, revision)
        counts = _fill_every_table(empty_engine)
        assert all(count >= 1 for count in counts.values())
    for previous in [*reversed(revisions[:-1]), "base"]:
        migrate.downgrade(empty_engine, previous)
        if previous != "base":
            assert migrate.current_revision(empty_engine) == previous
            surviving = _fill_every_table(empty_engine)
            assert all(count >= 1 for count in surviving.values())
    tables = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    assert migrate.current_revision(empty_engine) is None


def test_the_upgraded_schema_carries_explicit_constraint_names(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    inspector = inspect(empty_engine)
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for unique in inspector.get_unique_constraints(table):
            assert str(unique["name"]).startswith("uq_"), (table, unique)
        for fk in inspector.get_foreign_keys(table):
            assert str(fk["name"]).startswith("fk_"), (table, fk)
