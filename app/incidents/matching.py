"""Incident-level agreement between two coders' incident lists (CODEBOOK.md §5.6, extraction reliability).

Two coders extract incidents from the same interviews independently. Their lists are compared in three steps:

1. **Matching** (`match_incidents`). An incident of coder A and one of coder B are *candidates* when they have
   the same target, the same tactic family and overlapping onset windows (closed intervals: sharing one day
   is enough). An unknown bound (None) is open, so an undated incident overlaps every window (rule L1 allows
   undated legal incidents). Candidates are scored by the overlap of their windows, |A ∩ B| / |A ∪ B| in
   days (1.0 for identical windows; 0 when either window is open), and paired **greedily**: the best-scoring
   candidate first, then the best among those left, each incident used at most once (one-to-one). Equal
   scores prefer the same exact tactic, then more agreeing coded fields, then a key that is the same
   whichever coder is called A (the two incidents' contents, sorted), so swapping the coders gives the same
   pairs, mirrored, and identical lists pair each incident with its copy. Greedy matching is simple and
   reproducible by hand; it is not guaranteed to find the largest possible set of pairs when windows chain
   (A1~B1~A2~B2), which is rare in practice, and a coder can check the pairs listed in the report.
2. **Precision, recall, F1** (`precision_recall_f1`), with A as the reference: precision = matched / |B|,
   recall = matched / |A|, F1 = 2·matched / (|A| + |B|), which does not depend on which coder is the
   reference. Each is None when its denominator is 0 (F1 is None only when both lists are empty).
3. **Field agreement** (`field_alpha`): Krippendorff's alpha (nominal) over the matched pairs for one field,
   computed by `app.coding.agreement.krippendorff_alpha`. A field is an attribute (`target`, `tactic`,
   `family`) or a key of `IncidentFacts.fields` (`stage`, `completion_status`, `onset_precision`,
   `attribution_confidence`, `host_cooperation`, ...). A missing value (None or absent key) is missing data,
   as alpha allows. Alpha is None when undefined: fewer than two pairable values, or no variation at all
   (every matched pair agreeing on one single value gives no evidence beyond chance; report percent agreement
   alongside, see `field_agreement`).

Unmatched incidents count against precision and recall only; they take no part in field alpha.
Everything here is pure and deterministic; the caller loads incidents (and their tactic families,
`app.incidents.vocab`) from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from app.coding.agreement import krippendorff_alpha, percent_agreement

ATTRIBUTE_FIELDS = frozenset({"target", "tactic", "family"})
"""Fields read from the incident's attributes rather than from `IncidentFacts.fields`."""

DEFAULT_FIELDS = (
    "tactic",
    "stage",
    "completion_status",
    "onset_precision",
    "attribution_confidence",
    "host_cooperation",
)
"""The fields whose alpha the codebook asks for (§5.6)."""


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """One coder's incident as the comparison sees it: identity, matching keys and coded fields."""

    id: str
    target: str
    tactic: str
    family: str
    onset_min: date | None
    onset_max: date | None
    fields: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.onset_min is not None and self.onset_max is not None and self.onset_min > self.onset_max:
            raise ValueError(f"incident {self.id}: onset_min is after onset_max")

    def value(self, name: str) -> str | None:
        """A field's value: an attribute (`target`, `tactic`, `family`) or a coded field (None if absent)."""
        if name == "target":
            return self.target
        if name == "tactic":
            return self.tactic
        if name == "family":
            return self.family
        return self.fields.get(name)


@dataclass(frozen=True, slots=True)
class IncidentPair:
    """A matched pair: coder A's incident, coder B's incident and their window overlap score (0-1)."""

    a: IncidentFacts
    b: IncidentFacts
    score: float


@dataclass(frozen=True, slots=True)
class DetectionScores:
    """How far the two lists find the same incidents (A is the reference)."""

    matched: int
    only_a: int
    only_b: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True, slots=True)
class FieldAgreement:
    """Agreement on one field over the matched pairs: pairs with both values, percent agreement, alpha."""

    field: str
    n: int
    percent: float | None
    alpha: float | None


def windows_overlap(a: IncidentFacts, b: IncidentFacts) -> bool:
    """Whether two onset windows share at least one day (an open bound overlaps everything on its side)."""
    if a.onset_min is not None and b.onset_max is not None and a.onset_min > b.onset_max:
        return False
    return not (b.onset_min is not None and a.onset_max is not None and b.onset_min > a.onset_max)


def overlap_score(a: IncidentFacts, b: IncidentFacts) -> Fraction:
    """|A ∩ B| / |A ∪ B| of two windows in days (inclusive); 0 when they do not overlap or one is open."""
    if a.onset_min is None or a.onset_max is None or b.onset_min is None or b.onset_max is None:
        return Fraction(0)
    inner = (min(a.onset_max, b.onset_max) - max(a.onset_min, b.onset_min)).days + 1
    if inner <= 0:
        return Fraction(0)
    outer = (max(a.onset_max, b.onset_max) - min(a.onset_min, b.onset_min)).days + 1
    return Fraction(inner, outer)


def is_candidate(a: IncidentFacts, b: IncidentFacts) -> bool:
    """Same target, same tactic family and overlapping onset windows."""
    return a.target == b.target and a.family == b.family and windows_overlap(a, b)


def _content(item: IncidentFacts) -> tuple[str, ...]:
    return (
        item.target,
        item.family,
        item.tactic,
        "" if item.onset_min is None else item.onset_min.isoformat(),
        "" if item.onset_max is None else item.onset_max.isoformat(),
        item.id,
        repr(sorted(item.fields.items(), key=lambda kv: kv[0])),
    )


def match_incidents(a: Sequence[IncidentFacts], b: Sequence[IncidentFacts]) -> list[IncidentPair]:
    """One-to-one pairs of candidates, chosen greedily by best window overlap (see the module docstring).

    Pairs come in the order they were chosen (best first).
    """
    candidates: list[tuple[Fraction, int, int, tuple[tuple[str, ...], ...], int, int]] = []
    for i, left in enumerate(a):
        for j, right in enumerate(b):
            if is_candidate(left, right):
                agreeing = sum(
                    1
                    for name in set(left.fields) | set(right.fields)
                    if left.value(name) == right.value(name)
                )
                key = tuple(sorted((_content(left), _content(right))))
                candidates.append(
                    (overlap_score(left, right), int(left.tactic == right.tactic), agreeing, key, i, j)
                )
    candidates.sort(key=lambda c: (-c[0], -c[1], -c[2], c[3]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[IncidentPair] = []
    for score, _tactic, _agreeing, _key, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append(IncidentPair(a[i], b[j], float(score)))
    return pairs


def precision_recall_f1(
    a: Sequence[IncidentFacts], b: Sequence[IncidentFacts], matches: Sequence[IncidentPair]
) -> DetectionScores:
    """Precision (matched / |B|), recall (matched / |A|) and F1 (2·matched / (|A|+|B|)); None if undefined."""
    matched = len(matches)
    if matched > min(len(a), len(b)):
        raise ValueError("more matches than incidents: the matches are not one-to-one pairs of these lists")
    return DetectionScores(
        matched=matched,
        only_a=len(a) - matched,
        only_b=len(b) - matched,
        precision=matched / len(b) if b else None,
        recall=matched / len(a) if a else None,
        f1=2 * matched / (len(a) + len(b)) if a or b else None,
    )


def _units(matches: Iterable[IncidentPair], name: str) -> list[tuple[str | None, str | None]]:
    return [(pair.a.value(name), pair.b.value(name)) for pair in matches]


def field_alpha(matches: Sequence[IncidentPair], field: str) -> float | None:
    """Krippendorff's alpha (nominal) of one field over the matched pairs; None when undefined."""
    return krippendorff_alpha(_units(matches, field))


def field_agreement(matches: Sequence[IncidentPair], field: str) -> FieldAgreement:
    """Alpha, percent agreement and the number of pairs coded by both, for one field."""
    units = _units(matches, field)
    return FieldAgreement(
        field=field,
        n=sum(1 for x, y in units if x is not None and y is not None),
        percent=percent_agreement(units),
        alpha=krippendorff_alpha(units),
    )


@dataclass(frozen=True, slots=True)
class IncidentAgreement:
    """The whole comparison of two coders' incidents: the pairs, detection scores and per-field agreement."""

    pairs: list[IncidentPair]
    detection: DetectionScores
    fields: list[FieldAgreement]


def compare(
    a: Sequence[IncidentFacts], b: Sequence[IncidentFacts], fields: Sequence[str] = DEFAULT_FIELDS
) -> IncidentAgreement:
    """Match, score detection and measure agreement on each of `fields` (default: the codebook's list)."""
    pairs = match_incidents(a, b)
    return IncidentAgreement(
        pairs=pairs,
        detection=precision_recall_f1(a, b, pairs),
        fields=[field_agreement(pairs, name) for name in fields],
    )
