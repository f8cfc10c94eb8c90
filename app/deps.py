"""Dependencies shared by every router: the runtime and the request's unit of work.

A request normally gets one read-write transaction (`unit_of_work`): its changes and their audit entries
commit together before the response is sent. A route marked `@reads_only` (a GET whose only write is its
audit entries, such as reading a pseudonymised transcript) gets a read-only unit of work instead
(`read_unit_of_work`): no write lock while it reads, and its audit entries are made durable by the
process's group committer before the response is sent (app/audit/group_commit.py). A marked route that
tries to change anything fails (ReadOnlyUnitOfWorkError), so the mark cannot hide a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.audit.group_commit import collect
from app.db import read_unit_of_work, unit_of_work
from app.runtime import Runtime

_READS_ONLY = "harbour_reads_only"
_READ_METHODS = frozenset({"GET", "HEAD"})

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def reads_only(endpoint: Endpoint) -> Endpoint:
    """Mark a GET route whose only writes are audit entries: read-only transaction, group-committed audit."""
    setattr(endpoint, _READS_ONLY, True)
    return endpoint


def is_reads_only(request: Request) -> bool:
    """Whether this request's route is marked `reads_only` (and the method is a read)."""
    route = request.scope.get("route")
    endpoint = getattr(route, "endpoint", None)
    return request.method in _READ_METHODS and bool(getattr(endpoint, _READS_ONLY, False))


def get_runtime(request: Request) -> Runtime:
    """The process runtime attached by create_app."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed (or its audit group-committed) before the response is sent."""
    runtime = get_runtime(request)
    if is_reads_only(request):
        with read_unit_of_work(runtime.sessions, after_read=collect(lambda: runtime.group_commit)) as session:
            yield session
        return
    with unit_of_work(runtime.sessions) as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": the commit (or the group commit a read waits for) runs before the response is sent, so
# a failed commit is never reported as success to the client and no content leaves without its audit entry.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
