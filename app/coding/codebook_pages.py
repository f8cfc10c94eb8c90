"""Codebook pages: the code tree with its editor, a code's history, REFI-QDA import and export.

Colour swatches are small inline SVG rectangles whose `fill` is the code's (validated) colour: presentation
attributes, which the Content-Security-Policy allows, unlike inline styles. The tree's search box is plain
JavaScript in static/codebook.js.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.policy import Action
from app.coding import codebook, refi
from app.coding.codebook_router import CodebookManager, CodebookReader, read_file
from app.context import Context
from app.errors import AppError, NotFoundError
from app.projects.models import Project
from app.web.render import page

router = APIRouter(include_in_schema=False)

_DONE = {
    "created": "The code was added.",
    "updated": "The code was changed.",
    "retired": "The code was retired.",
    "imported": "The codes of the file were added.",
}


def _attempt(ctx: Context, work: Callable[[], object]) -> AppError | None:
    """Run a change in a savepoint: on a refusal nothing of it stays, and the page shows why (not 404s)."""
    try:
        with ctx.session.begin_nested():
            work()
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return exc
    return None


def _optional(value: str) -> str | None:
    return value.strip() or None


def _codebook_page(
    request: Request, ctx: Context, project_id: uuid.UUID, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    project = ctx.session.get(Project, project_id)
    codes = codebook.tree(ctx, project_id=project_id)
    if project is None:
        raise NotFoundError()
    actor = ctx.actor
    return page(
        request,
        "coding/codebook.html",
        ctx,
        {
            "project": project,
            "codes": codes,
            "nodes": _nest(codes),
            "version": codebook.current_version(ctx.session, project_id),
            "manage": actor is not None and actor.may_in(Action.CODEBOOK_MANAGE, project_id),
            "export": actor is not None and actor.may_in(Action.EXPORT_DEIDENTIFIED, project_id),
            "error": error,
            "done": _DONE.get(request.query_params.get("changed", "")),
        },
        status=status,
    )


@dataclass
class _Node:
    code: codebook.CodeRead
    children: list[_Node] = field(default_factory=list)


def _nest(codes: list[codebook.CodeRead]) -> list[_Node]:
    """The depth-first list as a tree for the template."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    for code in codes:
        node = _Node(code)
        del stack[code.depth :]
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots


def _back(project_id: uuid.UUID, changed: str, code_id: uuid.UUID | None = None) -> RedirectResponse:
    anchor = f"#code-{code_id}" if code_id else ""
    return RedirectResponse(f"/projects/{project_id}/codebook?changed={changed}{anchor}", status_code=303)


@router.get("/projects/{project_id}/codebook", response_class=HTMLResponse)
def codebook_page(request: Request, ctx: CodebookReader, project_id: uuid.UUID) -> HTMLResponse:
    """The project's codebook: groups and codes with their definitions; coders edit it here."""
    return _codebook_page(request, ctx, project_id)


@router.post("/projects/{project_id}/codes", response_class=HTMLResponse)
def add_code(
    request: Request,
    ctx: CodebookManager,
    project_id: uuid.UUID,
    mnemonic: Annotated[str, Form(max_length=16)],
    name: Annotated[str, Form(max_length=codebook.MAX_NAME)],
    definition: Annotated[str, Form(max_length=codebook.MAX_TEXT)] = "",
    use_when: Annotated[str, Form(max_length=codebook.MAX_TEXT)] = "",
    not_when: Annotated[str, Form(max_length=codebook.MAX_TEXT)] = "",
    colour: Annotated[str, Form(max_length=7)] = "",
    parent_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Add a code to the codebook."""
    made: list[codebook.CodeRead] = []
    error = _attempt(
        ctx,
        lambda: made.append(
            codebook.create_code(
                ctx,
                project_id=project_id,
                mnemonic=mnemonic,
                name=name,
                definition=definition,
                use_when=use_when,
                not_when=not_when,
                colour=_optional(colour),
                parent_id=_uuid(parent_id),
            )
        ),
    )
    if error is not None:
        return _codebook_page(request, ctx, project_id, error=error.message, status=error.status_code)
    return _back(project_id, "created", made[0].id)


def _uuid(value: str) -> uuid.UUID | None:
    value = value.strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundError() from None


@router.post("/codes/{code_id}/edit", response_class=HTMLResponse)
def edit_code(
    request: Request,
    ctx: CodebookManager,
    code_id: uuid.UUID,
    mnemonic: Annotated[str, Form(max_length=16)],
    name: Annotated[str, Form(max_length=codebook.MAX_NAME)],
    definition: Annotated[str, Form(max_length=codebook.MAX_TEXT)] = "",
    use_when: Annotated[str, Form(max_length=codebook.MAX_TEXT)] = "",
    not_when: Annotated[str, Form(max_length=codebook.MAX_TEXT)] = "",
    colour: Annotated[str, Form(max_length=7)] = "",
    parent_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Save a code's edit form (rename, redefine, recolour, move)."""
    code = codebook.get_or_raise(ctx, code_id=code_id, action=Action.CODEBOOK_MANAGE)
    error = _attempt(
        ctx,
        lambda: codebook.update_code(
            ctx,
            code_id=code_id,
            mnemonic=mnemonic,
            name=name,
            definition=definition,
            use_when=use_when,
            not_when=not_when,
            colour=_optional(colour),
            parent_id=_uuid(parent_id),
        ),
    )
    if error is not None:
        return _codebook_page(request, ctx, code.project_id, error=error.message, status=error.status_code)
    return _back(code.project_id, "updated", code_id)


@router.post("/codes/{code_id}/retire", response_class=HTMLResponse)
def retire_code(request: Request, ctx: CodebookManager, code_id: uuid.UUID) -> Response:
    """Retire a code (its codings stay)."""
    code = codebook.get_or_raise(ctx, code_id=code_id, action=Action.CODEBOOK_MANAGE)
    error = _attempt(ctx, lambda: codebook.retire_code(ctx, code_id=code_id))
    if error is not None:
        return _codebook_page(request, ctx, code.project_id, error=error.message, status=error.status_code)
    return _back(code.project_id, "retired")


@router.get("/codes/{code_id}/history", response_class=HTMLResponse)
def history_page(request: Request, ctx: CodebookReader, code_id: uuid.UUID) -> HTMLResponse:
    """Every revision of one code."""
    revisions = codebook.history(ctx, code_id=code_id)
    code = codebook.get_or_raise(ctx, code_id=code_id)
    project = ctx.session.get(Project, code.project_id)
    return page(
        request,
        "coding/codebook_history.html",
        ctx,
        {"project": project, "code": code, "revisions": list(reversed(revisions))},
    )


@router.post("/projects/{project_id}/codebook/import", response_class=HTMLResponse)
def import_codebook(
    request: Request, ctx: CodebookManager, project_id: uuid.UUID, file: Annotated[UploadFile, File()]
) -> Response:
    """Add the codes of a REFI-QDA codebook file (.qdc)."""
    data = read_file(ctx, file, refi.MAX_QDC_BYTES)
    error = _attempt(ctx, lambda: refi.import_qdc(ctx, project_id=project_id, data=data))
    if error is not None:
        return _codebook_page(request, ctx, project_id, error=error.message, status=error.status_code)
    return _back(project_id, "imported")


@router.get("/projects/import-qdpx", response_class=HTMLResponse)
def import_project_page(request: Request, ctx: CodebookManager) -> HTMLResponse:
    """The form to make a new project from a REFI-QDA project (.qdpx)."""
    return page(request, "coding/codebook_import.html", ctx, {"result": None, "error": None})


@router.post("/projects/import-qdpx", response_class=HTMLResponse)
def import_project(
    request: Request,
    ctx: CodebookManager,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=64)],
) -> HTMLResponse:
    """Make a new project from a REFI-QDA project (.qdpx); the importing coder then logs in again."""
    data = read_file(ctx, file)
    results: list[refi.ImportResult] = []
    error = _attempt(ctx, lambda: results.append(refi.import_qdpx(ctx, project_name=name, data=data)))
    values = {
        "result": results[0] if results else None,
        "error": error.message if error else None,
        "name": name,
    }
    return page(
        request, "coding/codebook_import.html", ctx, values, status=error.status_code if error else 200
    )
