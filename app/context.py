"""The context a service works in: the transaction, the process runtime and who is acting.

Services take a `Context` so that they cannot forget the audit log: `ctx.audit(...)` writes the entry in
the same transaction as the change it records, and if it cannot be written the whole operation fails.
In a read-only unit of work (a route marked `app.deps.reads_only`) there is no change to share a
transaction with: the entry is validated at once and kept for the group commit that makes it durable
before the response is sent (app/audit/group_commit.py); if that fails, the request fails with no content.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit import group_commit
from app.audit import service as audit_log
from app.audit.service import Outcome
from app.auth.actor import Actor
from app.db import is_read_only
from app.runtime import Runtime


@dataclass
class Context:
    """One unit of work on behalf of one actor (None for the system or an anonymous caller)."""

    session: Session
    runtime: Runtime
    actor: Actor | None

    def audit(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: uuid.UUID | str | None = None,
        project_id: uuid.UUID | None = None,
        outcome: Outcome = Outcome.OK,
        reason: str | None = None,
    ) -> None:
        """Append an audit entry (opaque ids only) in this transaction, or for a read, at its group commit."""
        pending = audit_log.entry(
            action=action,
            actor_id=self.actor.user_id if self.actor else None,
            actor_role=self.actor.role_label if self.actor else None,
            object_type=object_type,
            object_id=object_id,
            project_id=project_id,
            outcome=outcome,
            reason=reason,
        )
        if is_read_only(self.session):
            self.runtime.keys  # noqa: B018 - sealed keys refuse the read now (503), as a direct append would
            group_commit.defer(self.session, pending)
        else:
            audit_log.append(self.session, keys=self.runtime.keys, entries=[pending])
