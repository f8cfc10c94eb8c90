"""Dependencies shared by every router: the runtime and the request's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The process runtime attached by create_app."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed after the route returns, rolled back if anything raised."""
    with unit_of_work(get_runtime(request).sessions) as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": the commit runs before the response is sent, so a failed commit is never reported as
# success to the client.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
