"""Permission aliases of the testimony routes: each reads like the rule it enforces."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import require
from app.auth.policy import Action
from app.context import Context

InterviewManager = Annotated[Context, Depends(require(Action.INTERVIEW_MANAGE))]
InterviewLister = Annotated[Context, Depends(require(Action.INTERVIEW_LIST))]
TranscriptUploader = Annotated[Context, Depends(require(Action.TRANSCRIPT_UPLOAD))]
IdentifiedReader = Annotated[Context, Depends(require(Action.TRANSCRIPT_READ_IDENTIFIED))]
TranscriptReader = Annotated[Context, Depends(require(Action.TRANSCRIPT_READ_PSEUDONYMISED))]
