"""Controlled vocabularies of the incident tables (CODEBOOK.md Part A: V1, V3, V4 and the A.2/A.6 enums)."""

from __future__ import annotations

import enum

# V1: tactic -> stage.
TACTIC_STAGE: dict[str, int] = {
    "S1_THREAT_DIRECT": 1,
    "S1_THREAT_DIGITAL": 1,
    "S1_PHYSICAL_INTIMIDATION": 1,
    "S1_SURVEILLANCE_INFILTRATION": 1,
    "S1_DIGITAL_COMPROMISE": 1,
    "S1_MOBILITY_CONTROL": 1,
    "S1_HOME_PROSECUTION": 1,
    "S1_ASSET_SEIZURE": 1,
    "S1_WANTED_LIST": 1,
    "S1_INTERPOL": 1,
    "S1_EXTRADITION_REQUEST": 1,
    "S1_SMEAR": 1,
    "S1_INDUCEMENT": 1,
    "S2_DETENTION_ON_REQUEST": 2,
    "S2_DETENTION_IMMIGRATION": 2,
    "S2_DETENTION_BORDER": 2,
    "S2_HOST_PROSECUTION": 2,
    "S3_EXTRADITION": 3,
    "S3_UNLAWFUL_DEPORTATION": 3,
    "S3_RENDITION": 3,
    "S3_DISAPPEARANCE_UNRESOLVED": 3,
    "S3_ASSAULT": 3,
    "S3_ASSASSINATION": 3,
    "S3_COERCED_RETURN": 3,
}
TACTICS = tuple(TACTIC_STAGE)

# Tactic families, for likely duplicates ("same tactic family", CODEBOOK.md 5.6).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "threat": ("S1_THREAT_DIRECT", "S1_THREAT_DIGITAL", "S1_SMEAR", "S1_INDUCEMENT"),
    "watch": ("S1_PHYSICAL_INTIMIDATION", "S1_SURVEILLANCE_INFILTRATION", "S1_DIGITAL_COMPROMISE"),
    "legal": (
        "S1_MOBILITY_CONTROL",
        "S1_HOME_PROSECUTION",
        "S1_ASSET_SEIZURE",
        "S1_WANTED_LIST",
        "S1_INTERPOL",
        "S1_EXTRADITION_REQUEST",
    ),
    "detention": (
        "S2_DETENTION_ON_REQUEST",
        "S2_DETENTION_IMMIGRATION",
        "S2_DETENTION_BORDER",
        "S2_HOST_PROSECUTION",
    ),
    "transfer": (
        "S3_EXTRADITION",
        "S3_UNLAWFUL_DEPORTATION",
        "S3_RENDITION",
        "S3_DISAPPEARANCE_UNRESOLVED",
        "S3_COERCED_RETURN",
    ),
    "attack": ("S3_ASSAULT", "S3_ASSASSINATION"),
}
TACTIC_FAMILY: dict[str, str] = {tactic: family for family, items in _FAMILIES.items() for tactic in items}

# A.2 fh_comparable tactics.
FH_TACTICS = frozenset(
    {
        "S2_DETENTION_ON_REQUEST",
        "S2_DETENTION_IMMIGRATION",
        "S2_DETENTION_BORDER",
        "S3_ASSAULT",
        "S1_PHYSICAL_INTIMIDATION",
        "S3_UNLAWFUL_DEPORTATION",
        "S3_RENDITION",
        "S3_ASSASSINATION",
    }
)

REPRISAL_TYPES = (
    "HOME_VISIT_QUESTIONING",
    "SUMMONS_INTERROGATION",
    "ARBITRARY_DETENTION",
    "ADMIN_ARREST_OR_FINE",
    "CRIMINAL_PROSECUTION",
    "THREAT",
    "PHYSICAL_VIOLENCE",
    "PUBLIC_HUMILIATION",
    "FORCED_DENUNCIATION",
    "MESSENGER_PRESSURE",
    "HOUSE_SEARCH",
    "PROPERTY_SEIZURE_OR_DESTRUCTION",
    "PASSPORT_CONFISCATION_OR_EXIT_BAN",
    "DISMISSAL_OR_EXPULSION",
    "BENEFITS_WITHDRAWN",
    "SURVEILLANCE",
    "OTHER",
)

# V3.
PERPETRATOR_TYPES = (
    "ORIGIN_SECURITY_SERVICE",
    "ORIGIN_POLICE_PROSECUTOR",
    "ORIGIN_COURT",
    "ORIGIN_DIPLOMATIC_MISSION",
    "ORIGIN_STATE_MEDIA",
    "ORIGIN_LOCAL_ADMIN",
    "ORIGIN_PROXY_NONSTATE",
    "HOST_POLICE",
    "HOST_MIGRATION",
    "HOST_SECURITY_SERVICE",
    "HOST_PROSECUTOR_COURT",
    "INTERPOL_CHANNEL",
    "REGIONAL_ORG_CHANNEL",
    "UNIDENTIFIED",
)
# V4.
LEGAL_INSTRUMENTS = (
    "home_criminal_case",
    "domestic_wanted_list",
    "cis_interstate_wanted_list",
    "sco_rats_register",
    "interpol_red_notice",
    "interpol_diffusion",
    "extradition_request_treaty",
    "host_deportation_order",
    "host_criminal_case",
    "none",
    "unknown",
)
COMPLETION_STATUSES = (
    "completed",
    "attempted_failed",
    "halted_by_legal_process",
    "refused_by_interpol_or_host",
    "threatened_or_planned",
    "unknown",
)
HOST_COOPERATION = (
    "unilateral_covert",
    "host_acquiescence",
    "host_cooperation_formal",
    "host_cooperation_informal",
    "host_initiated",
    "not_applicable",
    "unknown",
)
OUTCOMES = (
    "no_physical_harm",
    "injured",
    "killed",
    "released_no_charge",
    "released_conditions_or_bail",
    "released_term_expired",
    "still_detained",
    "extradited",
    "deported",
    "disappeared",
    "appeared_in_origin_custody",
    "returned_home",
    "escaped",
    "relocated",
    "unknown",
)
REPRISAL_OUTCOMES = (
    "released",
    "released_with_conditions",
    "convicted",
    "still_detained",
    "property_lost",
    "job_lost",
    "relocated",
    "unknown",
)
OCCURRENCE_CONFIDENCE = ("certain", "probable", "possible")
ATTRIBUTION_CONFIDENCE = ("confirmed", "probable", "possible", "unclear")
ONSET_PRECISIONS = ("day", "month", "season", "year", "range", "unknown")
ONSET_BASES = (
    "stated",
    "anchored_public_event",
    "anchored_personal_event",
    "relative_to_interview",
    "documentary",
    "coder_inferred",
)


class MentionKind(enum.StrEnum):
    """An incident mention (B-D codes) or a family reprisal mention (E codes)."""

    INCIDENT = "incident"
    FAMILY_REPRISAL = "family_reprisal"


class EvidenceBasis(enum.StrEnum):
    """How the narrator knows (strongest first: document, direct, hearsay)."""

    DOCUMENT = "document"
    DIRECT = "direct"
    HEARSAY = "hearsay"


EVIDENCE_STRENGTH = {EvidenceBasis.DOCUMENT: 3, EvidenceBasis.DIRECT: 2, EvidenceBasis.HEARSAY: 1}


class MentionStatus(enum.StrEnum):
    """A mention drafted from a coding, or completed by the coder."""

    DRAFT = "draft"
    COMPLETE = "complete"


class Workflow(enum.StrEnum):
    """An incident's coding status; `final` locks it."""

    DRAFT = "draft"
    DOUBLE_CODED = "double_coded"
    ADJUDICATED = "adjudicated"
    FINAL = "final"


WORKFLOW_ORDER = (Workflow.DRAFT, Workflow.DOUBLE_CODED, Workflow.ADJUDICATED, Workflow.FINAL)


class LinkKind(enum.StrEnum):
    """HURIDOCS chain-of-events link between incidents."""

    PRECEDES = "precedes"
    CAUSES = "causes"
    PART_OF = "part_of"


CONFLICT_FLAGS = ("date_conflict", "place_conflict", "actor_conflict", "tactic_conflict")

# The flag codes (CODEBOOK.md Part B, H) by mnemonic.
FLAG_UNCERTAIN_DATE = "H1"
FLAG_HEARSAY = "H2"
FLAG_REPEAT = "H3"
FLAG_OFF_RECORD = "H5"


class TargetRole(enum.StrEnum):
    """The role of a person targeted by an incident (CODEBOOK.md A.2 `incident_target.role`)."""

    PRIMARY = "primary"  # the incident's main target, resolved from its mentions (one per incident)
    CO_TARGET = "co_target"  # a further target added by a coder, e.g. a relative targeted alongside an exile
