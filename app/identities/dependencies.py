"""Permission aliases of the persons routes, named for the rule they apply."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import require
from app.auth.policy import Action
from app.context import Context

# Interviewers: register and change persons, their residence history and relations.
PersonRegistrar = Annotated[Context, Depends(require(Action.PERSON_REGISTER))]
# Interviewers: open a person's identity (with a purpose, audited).
IdentityReader = Annotated[Context, Depends(require(Action.PERSON_READ_IDENTITY))]
# Interviewers and coders: the pseudonymous view.
PseudonymousReader = Annotated[Context, Depends(require(Action.PERSON_READ_PSEUDONYMOUS))]
