"""Incident exports: `incidents`, `reprisals`, `persons` and `summary`, each as CSV and XLSX.

De-identified by construction: internal UUIDs never leave (each export draws a fresh key and writes keyed
ids, unlinkable across exports; `app.exports.deidentify`), no free text is exported (columns pass an
allowlist: summaries and verbatim phrases are never named), geography is at country level, persons carry
pseudonymous attributes only (never names, contacts or pseudonyms), and the aggregate `summary` suppresses
cells below k=5 with complementary suppression. XLSX workbooks carry a `dictionary` sheet; the CSV holds the
data table only (its dictionary is the same list, shown with the export). Audited by `registry.run`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from app.context import Context
from app.exports import registry
from app.exports.deidentify import (
    DEFAULT_K,
    ExportKeys,
    generalise_geo,
    strip_free_text,
    suppress_small_cells,
)
from app.exports.tabular import Cell, Sheet, to_csv, to_xlsx
from app.identities.models import Person
from app.incidents import service as incidents

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

INCIDENT_DICTIONARY: list[tuple[str, str]] = [
    ("incident_id", "Keyed id of the incident (valid within this export only)."),
    ("target_id", "Keyed id of the target person (joins the persons table of the same export only)."),
    (
        "target_count",
        "Number of persons the incident targets (A.2 incident_target: the primary target and co-targets).",
    ),
    (
        "co_target_ids",
        "Keyed ids of the further targets (role co_target), separated by ';' (join the persons table).",
    ),
    ("tactic", "V1 tactic."),
    ("stage", "1 put on notice, 2 detained abroad, 3 transfer or attack (from the tactic)."),
    ("origin_state", "ISO2 origin state."),
    ("locus_state", "ISO2 state where the act took place (XX unknown/online)."),
    ("residence_state", "ISO2 state where the target lived at onset."),
    ("onset_min", "Earliest possible onset (ISO date)."),
    ("onset_max", "Latest possible onset (ISO date)."),
    ("onset_precision", "day, month, season, year, range or unknown."),
    ("completion_status", "completed, attempted_failed, ... (A.2)."),
    ("perpetrator_type", "V3 actor type."),
    ("host_cooperation", "Host-state role (A.2)."),
    ("legal_instrument", "V4 legal instrument."),
    ("outcome", "Outcome for the target (A.2)."),
    ("occurrence_confidence", "certain, probable, possible."),
    ("attribution_confidence", "confirmed, probable, possible, unclear (rubric 5.5)."),
    ("evidence_basis", "Strongest basis among the mentions: document, direct, hearsay."),
    ("conflict_flags", "Fields on which the mentions disagree (5.4), separated by ';'."),
    ("fh_comparable", "Comparable with Freedom House counts (A.2 rule)."),
    ("n_mentions", "Number of mentions supporting the incident."),
    ("coding_status", "draft, double_coded, adjudicated, final."),
]
REPRISAL_DICTIONARY: list[tuple[str, str]] = [
    ("reprisal_id", "Keyed id of the family reprisal event (valid within this export only)."),
    ("exile_id", "Keyed id of the exile whose activity is the pretext."),
    ("relative_id", "Keyed id of the relative targeted (empty when not recorded)."),
    ("origin_state", "ISO2 origin state."),
    ("reprisal_type", "A.6 reprisal type."),
    ("onset_min", "Earliest possible onset (ISO date)."),
    ("onset_max", "Latest possible onset (ISO date)."),
    ("onset_precision", "day, month, season, year, range or unknown."),
    ("outcome", "A.6 outcome."),
    ("evidence_basis", "document, direct, hearsay."),
    ("conflict_flags", "Fields on which the mentions disagree, separated by ';'."),
]
PERSON_DICTIONARY: list[tuple[str, str]] = [
    ("person_id", "Keyed id of the person (valid within this export only)."),
    ("origin_state", "ISO2 origin state."),
    ("residence_state", "ISO2 current residence state."),
    ("gender", "f, m, other, undisclosed."),
    ("birth_decade", "Decade of birth, such as 1980."),
    ("target_category", "Categories (A.3), separated by ';'."),
]
SUMMARY_DICTIONARY: list[tuple[str, str]] = [
    ("stage", "1, 2 or 3."),
    ("residence_state", "ISO2 residence state of the target at onset (XX unknown)."),
    ("year", "Year of the latest possible onset (empty when unknown)."),
    (
        "incidents",
        f"Number of incidents; counts 1 to {DEFAULT_K - 1} (and complementary cells) show as <{DEFAULT_K}.",
    ),
]


def _columns(dictionary: Sequence[tuple[str, str]]) -> list[str]:
    return [name for name, _meaning in dictionary]


def _row(values: dict[str, Any], dictionary: Sequence[tuple[str, str]]) -> list[Cell]:
    return _picker(dictionary)(values)


def _picker(dictionary: Sequence[tuple[str, str]]) -> Callable[[dict[str, Any]], list[Cell]]:
    """`_row` for many rows of one table: the allowlist and the column order worked out once."""
    columns = _columns(dictionary)
    allowed = set(columns)

    def pick(values: dict[str, Any]) -> list[Cell]:
        kept = strip_free_text(values, allowed)
        return [kept.get(name) for name in columns]

    return pick


@functools.lru_cache(maxsize=1024)
def _geo(code: str | None) -> str | None:
    # Cached: a handful of country codes recur on every row (codes, not personal data).
    return generalise_geo(code, "country") if code else None


def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def incident_rows(ctx: Context, project_id: uuid.UUID, keys: ExportKeys) -> list[list[Cell]]:
    """One de-identified row per incident."""
    rows = []
    targets = incidents.target_ids(ctx, project_id)
    pick = _picker(INCIDENT_DICTIONARY)
    for item in incidents.incident_export_rows(ctx, project_id=project_id):
        mine = targets.get(item.id, [])
        co_targets = sorted(keys.id("person", p) for p, role in mine if role != "primary")
        rows.append(
            pick(
                {
                    "incident_id": keys.id("incident", item.id),
                    "target_id": keys.id("person", item.target_person_id) if item.target_person_id else None,
                    "target_count": len(mine),
                    "co_target_ids": ";".join(co_targets),
                    "tactic": item.tactic,
                    "stage": item.stage,
                    "origin_state": _geo(item.origin_state),
                    "locus_state": _geo(item.locus_state),
                    "residence_state": _geo(item.residence_state),
                    "onset_min": _date(item.onset_min),
                    "onset_max": _date(item.onset_max),
                    "onset_precision": item.onset_precision,
                    "completion_status": item.completion_status,
                    "perpetrator_type": item.perpetrator_type,
                    "host_cooperation": item.host_cooperation,
                    "legal_instrument": item.legal_instrument,
                    "outcome": item.outcome,
                    "occurrence_confidence": item.occurrence_confidence,
                    "attribution_confidence": item.attribution_confidence,
                    "evidence_basis": item.evidence_basis,
                    "conflict_flags": ";".join(item.conflict_flags or []),
                    "fh_comparable": item.fh_comparable,
                    "n_mentions": item.n_mentions,
                    "coding_status": item.status,
                }
            )
        )
    return rows


def reprisal_rows(ctx: Context, project_id: uuid.UUID, keys: ExportKeys) -> list[list[Cell]]:
    """One de-identified row per family reprisal event."""
    return [
        _row(
            {
                "reprisal_id": keys.id("reprisal", item.id),
                "exile_id": keys.id("person", item.linked_exile_person_id)
                if item.linked_exile_person_id
                else None,
                "relative_id": keys.id("person", item.relative_person_id)
                if item.relative_person_id
                else None,
                "origin_state": _geo(item.origin_state),
                "reprisal_type": item.reprisal_type,
                "onset_min": _date(item.onset_min),
                "onset_max": _date(item.onset_max),
                "onset_precision": item.onset_precision,
                "outcome": item.outcome,
                "evidence_basis": item.evidence_basis,
                "conflict_flags": ";".join(item.conflict_flags or []),
            },
            REPRISAL_DICTIONARY,
        )
        for item in incidents.list_reprisals(ctx, project_id=project_id)
    ]


def person_rows(ctx: Context, project_id: uuid.UUID, keys: ExportKeys) -> list[list[Cell]]:
    """Pseudonymous attributes of the persons the incidents and reprisals concern (never identity)."""
    wanted: set[uuid.UUID] = set()
    for item in incidents.incident_export_rows(ctx, project_id=project_id):
        if item.target_person_id:
            wanted.add(item.target_person_id)
    for mine in incidents.target_ids(ctx, project_id).values():
        wanted |= {person_id for person_id, _role in mine}
    for reprisal in incidents.list_reprisals(ctx, project_id=project_id):
        wanted |= {p for p in (reprisal.linked_exile_person_id, reprisal.relative_person_id) if p}
    persons = ctx.session.scalars(
        select(Person).where(
            Person.id.in_(wanted), Person.project_id == project_id, Person.erased_at.is_(None)
        )
    )
    return sorted(
        (
            _row(
                {
                    "person_id": keys.id("person", person.id),
                    "origin_state": _geo(person.origin_state),
                    "residence_state": _geo(incidents.residence_at(ctx.session, person.id, None)),
                    "gender": person.gender,
                    "birth_decade": person.birth_decade,
                    "target_category": ";".join(str(v) for v in person.target_category or []),
                },
                PERSON_DICTIONARY,
            )
            for person in persons
        ),
        key=lambda row: str(row[0]),
    )


def summary_rows(ctx: Context, project_id: uuid.UUID) -> list[list[Cell]]:
    """Counts by stage x residence state x year, cells below k suppressed (complementary within a stage and
    residence state)."""
    counts: dict[tuple[int, str, int | None], int] = {}
    for item in incidents.incident_export_rows(ctx, project_id=project_id):
        key = (
            item.stage,
            _geo(item.residence_state) or "XX",
            item.onset_max.year if item.onset_max else None,
        )
        counts[key] = counts.get(key, 0) + 1
    table = [
        {"stage": stage, "residence_state": state, "year": year, "incidents": n}
        for (stage, state, year), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)
        )
    ]
    safe = suppress_small_cells(table, "incidents", group_by=("stage", "residence_state"))
    return [[row["stage"], row["residence_state"], row["year"], row["incidents"]] for row in safe]


_Builder = Callable[[Context, uuid.UUID, ExportKeys], list[list[Cell]]]


def _export(kind: str, fmt: str, builder: _Builder, dictionary: list[tuple[str, str]]) -> registry.Exporter:
    def export(ctx: Context, project_id: uuid.UUID) -> bytes:
        rows = builder(ctx, project_id, ExportKeys.fresh())
        if fmt == "csv":
            return to_csv(rows, _columns(dictionary))
        return to_xlsx(
            [
                Sheet(kind, _columns(dictionary), rows),
                Sheet("dictionary", ["column", "meaning"], [list(item) for item in dictionary]),
            ]
        )

    return export


_KINDS: dict[str, tuple[_Builder, list[tuple[str, str]], str]] = {
    "incidents": (incident_rows, INCIDENT_DICTIONARY, "One row per incident (keyed ids; no free text)."),
    "reprisals": (reprisal_rows, REPRISAL_DICTIONARY, "One row per family reprisal event (keyed ids)."),
    "persons": (
        person_rows,
        PERSON_DICTIONARY,
        "Pseudonymous attributes of the persons concerned (keyed ids).",
    ),
    "summary": (
        lambda ctx, project_id, _keys: summary_rows(ctx, project_id),
        SUMMARY_DICTIONARY,
        f"Incident counts by stage, residence state and year; cells below {DEFAULT_K} suppressed.",
    ),
}

for _kind, (_builder, _dictionary, _description) in _KINDS.items():
    for _fmt, _media in (("csv", CSV), ("xlsx", XLSX)):
        registry.register(
            _kind,
            _fmt,
            _export(_kind, _fmt, _builder, _dictionary),
            media_type=_media,
            description=_description + ("" if _fmt == "csv" else " With a data dictionary sheet."),
        )
