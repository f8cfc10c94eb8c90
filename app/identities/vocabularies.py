"""Controlled vocabularies of the person record (CODEBOOK A.3), and the validators of coded values.

These values live in the analysis zone in clear: they are terms from a closed list, not identity. Later
domains (coding, incidents, exports) import them from here so one list serves the whole app. Country codes
are ISO 3166-1 alpha-2 (officially assigned codes only; no user-assigned codes such as XK), embedded here so
validation needs no extra dependency.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime

__all__ = [
    "COUNTRY_CODES",
    "EARLIEST_YEAR",
    "Gender",
    "IdentifiabilityRisk",
    "IdentityPurpose",
    "LegalStatus",
    "PersonKind",
    "PersonRole",
    "Relation",
    "TargetCategory",
    "birth_decade",
    "country_code",
    "current_year",
    "decade_of",
    "period",
    "period_bounds",
]

EARLIEST_YEAR = 1900


class PersonKind(enum.StrEnum):
    """HURIDOCS counting unit."""

    INDIVIDUAL = "individual"
    GROUP = "group"


class PersonRole(enum.StrEnum):
    """What part a person plays in the testimony (several may apply)."""

    INTERVIEWEE = "interviewee"
    TARGET = "target"
    RELATIVE = "relative"
    THIRD_PARTY = "third_party"
    WITNESS = "witness"
    INTERMEDIARY_LAWYER = "intermediary_lawyer"
    PERPETRATOR_OFFICIAL = "perpetrator_official"


class TargetCategory(enum.StrEnum):
    """Why the origin state targets the person (CAPE-like, codebook A4)."""

    INSIDER = "INSIDER"
    OPPOSITION = "OPPOSITION"
    RELIGIOUS = "RELIGIOUS"
    CIVIL_SOCIETY = "CIVIL_SOCIETY"
    FAMILY_OF_EXILE = "FAMILY_OF_EXILE"
    OTHER = "OTHER"


class Gender(enum.StrEnum):
    """Gender as the person states it; `undisclosed` when they prefer not to say."""

    F = "f"
    M = "m"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


class IdentifiabilityRisk(enum.StrEnum):
    """How easily the person could be recognised from the pseudonymised record; reviewed at anonymisation."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class LegalStatus(enum.StrEnum):
    """Legal status in a host country for one period of residence (codebook A2/A3)."""

    CITIZEN_HOST = "citizen_host"
    REFUGEE_STATUS = "refugee_status"
    SUBSIDIARY_PROTECTION = "subsidiary_protection"
    HUMANITARIAN_PERMIT = "humanitarian_permit"
    ASYLUM_PENDING = "asylum_pending"
    ASYLUM_REFUSED = "asylum_refused"
    RESIDENCE_OR_WORK_PERMIT = "residence_or_work_permit"
    UNDOCUMENTED = "undocumented"
    STATELESS = "stateless"
    UNKNOWN = "unknown"


class Relation(enum.StrEnum):
    """How person A relates to person B (HURIDOCS relationships thesaurus): "A is the <relation> of B"."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    IN_LAW = "in_law"
    GRANDPARENT = "grandparent"
    COUSIN_OR_OTHER_RELATIVE = "cousin_or_other_relative"
    PARTNER = "partner"
    FRIEND = "friend"
    COLLEAGUE = "colleague"
    CO_MEMBER = "co_member"


# Relations that read the same both ways: stored with the pair in a fixed order, so (A, B) and (B, A) are
# one relation and a duplicate is refused whichever way round it is entered.
SYMMETRIC_RELATIONS = frozenset(
    {
        Relation.SPOUSE,
        Relation.SIBLING,
        Relation.IN_LAW,
        Relation.COUSIN_OR_OTHER_RELATIVE,
        Relation.PARTNER,
        Relation.FRIEND,
        Relation.COLLEAGUE,
        Relation.CO_MEMBER,
    }
)


class IdentityPurpose(enum.StrEnum):
    """Why an interviewer opens someone's identity; recorded as the reason of the audit entry."""

    CONTACT = "contact"
    VERIFICATION = "verification"
    CONSENT = "consent"
    SAFETY = "safety"
    CORRECTION = "correction"


# Officially assigned ISO 3166-1 alpha-2 codes (249), as one block that is easy to compare with the standard.
_ISO_3166_1_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: frozenset[str] = frozenset(_ISO_3166_1_ALPHA_2.split())

_PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2}))?")


def current_year() -> int:
    """This year (UTC); the upper bound of every year a person's record may carry."""
    return datetime.now(UTC).year


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; ValueError for anything else."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in COUNTRY_CODES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code such as UZ or DE")
    return code


def birth_decade(value: int) -> int:
    """A decade such as 1980, from 1900 to this year's decade; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a decade such as 1980")
    if value % 10 or not EARLIEST_YEAR <= value <= current_year():
        raise ValueError(
            f"must be a decade from {EARLIEST_YEAR} to {current_year() // 10 * 10}, such as 1980"
        )
    return value


def decade_of(day: date) -> int:
    """The decade a date falls in (1987-05-02 -> 1980)."""
    return day.year // 10 * 10


def period(value: str) -> str:
    """A year ("2019") or year-month ("2019-05") from 1900 to this year; ValueError otherwise."""
    match = _PERIOD.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be a year (2019) or a year and month (2019-05)")
    year = int(match["year"])
    month = match["month"]
    if not EARLIEST_YEAR <= year <= current_year() or (month is not None and not 1 <= int(month) <= 12):
        raise ValueError(f"must be a year from {EARLIEST_YEAR} to {current_year()}, with a month 01-12")
    return match.group(0)


def period_bounds(value: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """The first and last (year, month) a period covers: "2019" -> ((2019, 1), (2019, 12))."""
    year, _, month = value.partition("-")
    if month:
        return (int(year), int(month)), (int(year), int(month))
    return (int(year), 1), (int(year), 12)
