"""The one place that imports every domain's models, so Alembic and the tests see one metadata."""

from app.audit.models import AuditCheckpoint, AuditEvent
from app.auth.models import ApiToken, AuthSession, LoginFailure, Membership, RoleRequest, User
from app.coding.models import Assignment, Code, CodebookVersion, CodeRevision, Coding
from app.consent.models import Consent, ConsentWithdrawal, WithdrawalTarget
from app.db import Base
from app.exports.models import ExportJob
from app.guides.models import GuideQuestion, GuideTopic, InterviewGuide, SegmentQuestion
from app.identities.models import Person, PersonNameIndex, PersonRelation, Residence
from app.incidents.models import FamilyReprisalEvent, Incident, IncidentLink, IncidentMention
from app.interviews.models import (
    Interview,
    InterviewPerson,
    SearchToken,
    Segment,
    TranscriptFlag,
    TranscriptVersion,
)
from app.keys.models import DataKey
from app.projects.models import Project

__all__ = [
    "Assignment",
    "Code",
    "CodeRevision",
    "CodebookVersion",
    "Coding",
    "Consent",
    "ConsentWithdrawal",
    "FamilyReprisalEvent",
    "GuideQuestion",
    "Incident",
    "IncidentLink",
    "IncidentMention",
    "GuideTopic",
    "InterviewGuide",
    "SegmentQuestion",
    "WithdrawalTarget",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthSession",
    "Base",
    "DataKey",
    "ExportJob",
    "Interview",
    "InterviewPerson",
    "LoginFailure",
    "Membership",
    "Person",
    "PersonNameIndex",
    "PersonRelation",
    "Project",
    "Residence",
    "RoleRequest",
    "SearchToken",
    "Segment",
    "TranscriptFlag",
    "TranscriptVersion",
    "User",
]
