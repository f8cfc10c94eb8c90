"""Who is calling: the authenticated user, their roles, and how they authenticated."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.auth.models import Role
from app.auth.policy import GLOBAL_ACTIONS, Action, allows


@dataclass(frozen=True)
class Actor:
    """An authenticated, active user, as seen by services and repositories."""

    user_id: uuid.UUID
    username: str
    is_admin: bool
    project_roles: dict[uuid.UUID, frozenset[Role]] = field(default_factory=dict)
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None

    @property
    def roles(self) -> frozenset[Role]:
        """Every role held anywhere."""
        held: set[Role] = {Role.ADMIN} if self.is_admin else set()
        for roles in self.project_roles.values():
            held |= roles
        return frozenset(held)

    @property
    def role_label(self) -> str:
        """A short label of the roles, for audit entries ("admin", "coder+interviewer")."""
        return "+".join(sorted(role.value for role in self.roles)) or "none"

    def may(self, action: Action) -> bool:
        """Whether any held role allows the action somewhere (function-level check)."""
        return any(allows(role, action) for role in self.roles)

    def project_ids(self, action: Action) -> frozenset[uuid.UUID]:
        """The projects in which the action is allowed: the scope repositories filter on."""
        if action in GLOBAL_ACTIONS:
            return frozenset(self.project_roles)
        return frozenset(
            project_id
            for project_id, roles in self.project_roles.items()
            if any(allows(role, action) for role in roles)
        )

    def may_in(self, action: Action, project_id: uuid.UUID) -> bool:
        """Whether the action is allowed in this project (object-level check)."""
        return project_id in self.project_ids(action)
