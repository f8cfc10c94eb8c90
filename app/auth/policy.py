"""The access policy: one table of role x action, the single source of truth.

Every route declares the action it performs (see app/auth/deps.py); a route without one fails the test
suite. Project roles grant an action only inside the projects where the user holds them, so repositories
scope their queries with `Actor.project_ids(action)`. Admin is global and never reads testimony or
identities (separation of duties); auditors read only the audit log.
"""

from __future__ import annotations

import enum

from app.auth.models import Role


class Action(enum.StrEnum):
    """Everything a caller may ask to do."""

    # Any authenticated user, about themselves.
    SELF = "self"
    # Administration.
    USERS_MANAGE = "users.manage"
    PROJECTS_MANAGE = "projects.manage"
    KEYS_STATUS = "keys.status"
    # Identity vault.
    PERSON_REGISTER = "person.register"
    PERSON_READ_IDENTITY = "person.read_identity"
    PERSON_READ_PSEUDONYMOUS = "person.read_pseudonymous"
    CONSENT_MANAGE = "consent.manage"
    # Testimony.
    INTERVIEW_MANAGE = "interview.manage"
    INTERVIEW_LIST = "interview.list"
    TRANSCRIPT_UPLOAD = "transcript.upload"
    TRANSCRIPT_READ_IDENTIFIED = "transcript.read_identified"
    TRANSCRIPT_READ_PSEUDONYMISED = "transcript.read_pseudonymised"
    # Analysis.
    CODEBOOK_READ = "codebook.read"
    CODEBOOK_MANAGE = "codebook.manage"
    CODING_WRITE = "coding.write"
    CODING_ASSIGN = "coding.assign"
    CODING_ADJUDICATE = "coding.adjudicate"
    INCIDENT_WRITE = "incident.write"
    EXPORT_DEIDENTIFIED = "export.deidentified"
    # The audit log.
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"


_ANYONE = frozenset(Role)

POLICY: dict[Action, frozenset[Role]] = {
    Action.SELF: _ANYONE,
    Action.USERS_MANAGE: frozenset({Role.ADMIN}),
    Action.PROJECTS_MANAGE: frozenset({Role.ADMIN}),
    Action.KEYS_STATUS: frozenset({Role.ADMIN}),
    Action.PERSON_REGISTER: frozenset({Role.INTERVIEWER}),
    Action.PERSON_READ_IDENTITY: frozenset({Role.INTERVIEWER}),
    Action.PERSON_READ_PSEUDONYMOUS: frozenset({Role.INTERVIEWER, Role.CODER}),
    Action.CONSENT_MANAGE: frozenset({Role.INTERVIEWER}),
    Action.INTERVIEW_MANAGE: frozenset({Role.INTERVIEWER}),
    Action.INTERVIEW_LIST: frozenset({Role.INTERVIEWER, Role.CODER}),
    Action.TRANSCRIPT_UPLOAD: frozenset({Role.INTERVIEWER}),
    Action.TRANSCRIPT_READ_IDENTIFIED: frozenset({Role.INTERVIEWER}),
    Action.TRANSCRIPT_READ_PSEUDONYMISED: frozenset({Role.INTERVIEWER, Role.CODER}),
    Action.CODEBOOK_READ: frozenset({Role.CODER, Role.INTERVIEWER}),
    Action.CODEBOOK_MANAGE: frozenset({Role.CODER}),
    Action.CODING_WRITE: frozenset({Role.CODER}),
    # Leads who plan double coding may be interviewers or coders of the project.
    Action.CODING_ASSIGN: frozenset({Role.INTERVIEWER, Role.CODER}),
    Action.CODING_ADJUDICATE: frozenset({Role.CODER}),
    Action.INCIDENT_WRITE: frozenset({Role.CODER}),
    Action.EXPORT_DEIDENTIFIED: frozenset({Role.CODER}),
    Action.AUDIT_READ: frozenset({Role.AUDITOR}),
    Action.AUDIT_VERIFY: frozenset({Role.AUDITOR}),
}

GLOBAL_ACTIONS = frozenset({Action.SELF, Action.USERS_MANAGE, Action.PROJECTS_MANAGE, Action.KEYS_STATUS})


def allows(role: Role, action: Action) -> bool:
    """Whether the role may perform the action (in a project where it is held, for project roles)."""
    return role in POLICY[action]
