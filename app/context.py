"""The context a service works in: the transaction, the process runtime and who is acting.

Services take a `Context` so that they cannot forget the audit log: `ctx.audit(...)` writes the entry in
the same transaction as the change it records, and if it cannot be written the whole operation fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit import service as audit_log
from app.audit.service import Outcome
from app.auth.actor import Actor
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
        """Append an audit entry (opaque ids only) in this transaction."""
        audit_log.record(
            self.session,
            keys=self.runtime.keys,
            action=action,
            actor_id=self.actor.user_id if self.actor else None,
            actor_role=self.actor.role_label if self.actor else None,
            object_type=object_type,
            object_id=object_id,
            project_id=project_id,
            outcome=outcome,
            reason=reason,
        )
