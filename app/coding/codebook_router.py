"""The codebook API: the code tree, code changes and history, and REFI-QDA codebook and project exchange.

Who may do what (app/auth/policy.py): coders and interviewers read the codebook (`codebook.read`); coders
change it and import codebooks (`codebook.manage`); coders download the REFI-QDA files (`export.deidentified`,
audited `export.codebook` / `export.project`). Importing a `.qdpx` creates a new project: it is a coder's act
(`codebook.manage`), never an administrator's (administrators must not read testimony); the importing coder
becomes coder and interviewer of the new project and logs in again (see `app.coding.refi`).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, File, Form, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.policy import Action
from app.coding import codebook, refi
from app.context import Context
from app.deps import reads_only
from app.errors import PayloadTooLargeError
from app.projects.models import Project

router = APIRouter(prefix="/api/v1", tags=["codebook"])

CodebookReader = Annotated[Context, Depends(require(Action.CODEBOOK_READ))]
CodebookManager = Annotated[Context, Depends(require(Action.CODEBOOK_MANAGE))]
DeidentifiedExporter = Annotated[Context, Depends(require(Action.EXPORT_DEIDENTIFIED))]


class CodeOut(BaseModel):
    """A code of the current codebook (depth-first order; `depth` 0 is the top level)."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    depth: int
    seq: int
    mnemonic: str
    name: str
    definition: str
    use_when: str
    not_when: str
    colour: str
    is_flag: bool
    variable_field: str | None
    variable_value: str | None
    created_in_version: int
    retired_in_version: int | None


class CodebookOut(BaseModel):
    """A project's current codebook."""

    project_id: uuid.UUID
    version: int
    codes: list[CodeOut]


class CodeCreate(BaseModel):
    """A new code; it takes its parent's colour unless given one."""

    model_config = ConfigDict(extra="forbid")
    mnemonic: str = Field(max_length=16)
    name: str = Field(max_length=codebook.MAX_NAME)
    definition: str = Field(default="", max_length=codebook.MAX_TEXT)
    use_when: str = Field(default="", max_length=codebook.MAX_TEXT)
    not_when: str = Field(default="", max_length=codebook.MAX_TEXT)
    colour: str | None = Field(default=None, max_length=7)
    parent_id: uuid.UUID | None = None
    is_flag: bool = False
    variable_field: str | None = Field(default=None, max_length=64)
    variable_value: str | None = Field(default=None, max_length=64)


class CodeUpdate(BaseModel):
    """Changes to a code: fields left out stay as they are; `parent_id: null` moves it to the top level."""

    model_config = ConfigDict(extra="forbid")
    mnemonic: str | None = Field(default=None, max_length=16)
    name: str | None = Field(default=None, max_length=codebook.MAX_NAME)
    definition: str | None = Field(default=None, max_length=codebook.MAX_TEXT)
    use_when: str | None = Field(default=None, max_length=codebook.MAX_TEXT)
    not_when: str | None = Field(default=None, max_length=codebook.MAX_TEXT)
    colour: str | None = Field(default=None, max_length=7)
    parent_id: uuid.UUID | None = None
    is_flag: bool | None = None
    variable_field: str | None = Field(default=None, max_length=64)
    variable_value: str | None = Field(default=None, max_length=64)


class RevisionOut(BaseModel):
    """A code as it stood in one codebook version."""

    version: int
    mnemonic: str
    name: str
    definition: str
    use_when: str
    not_when: str
    colour: str
    parent_id: uuid.UUID | None
    is_flag: bool
    variable_field: str | None
    variable_value: str | None
    retired: bool


class ImportOut(BaseModel):
    """What an import did: counts, and the Harbour id of each imported code guid and source guid."""

    project_id: uuid.UUID
    codebook_version: int
    codes_created: int
    code_ids: dict[str, uuid.UUID]
    ids_changed: int
    mnemonics_generated: int
    sources_imported: int
    interview_ids: dict[str, uuid.UUID]
    sources_skipped: int
    codings_imported: int
    codings_skipped: int
    memos_imported: int
    identifier_candidates: int
    warnings: list[str]
    login_again: bool = False


def code_out(code: codebook.CodeRead) -> CodeOut:
    """Serialise a code."""
    return CodeOut.model_validate(code, from_attributes=True)


def import_out(result: refi.ImportResult, *, login_again: bool = False) -> ImportOut:
    """Serialise an import result."""
    return ImportOut.model_validate({**result.__dict__, "login_again": login_again})


def read_file(ctx: Context, file: UploadFile, limit: int | None = None) -> bytes:
    """The uploaded bytes, refusing (413) anything beyond the limit without reading further."""
    limit = min(limit or ctx.runtime.settings.max_upload_bytes, ctx.runtime.settings.max_upload_bytes)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the file is larger than the limit of {limit} bytes")
    return data


def download(data: bytes, *, media_type: str, filename: str) -> Response:
    """A file download no cache keeps, under a file name of safe characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        content=data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"},
    )


def _project_name(ctx: Context, project_id: uuid.UUID) -> str:
    project = ctx.session.get(Project, project_id)
    return project.name if project is not None else "project"


@router.get("/projects/{project_id}/codebook")
@reads_only
def get_codebook(ctx: CodebookReader, project_id: uuid.UUID) -> CodebookOut:
    """The project's current codebook: every current code, depth-first, with parents and depths."""
    codes = codebook.tree(ctx, project_id=project_id)
    version = codebook.current_version(ctx.session, project_id)
    return CodebookOut(project_id=project_id, version=version, codes=[code_out(code) for code in codes])


@router.post("/projects/{project_id}/codes", status_code=201)
def create_code(ctx: CodebookManager, project_id: uuid.UUID, body: Annotated[CodeCreate, Body()]) -> CodeOut:
    """Add a code (a new codebook version)."""
    return code_out(codebook.create_code(ctx, project_id=project_id, **body.model_dump()))


@router.patch("/codes/{code_id}")
def update_code(ctx: CodebookManager, code_id: uuid.UUID, body: Annotated[CodeUpdate, Body()]) -> CodeOut:
    """Rename, redefine, recolour or move a code; its id stays (a new codebook version)."""
    given = body.model_fields_set
    changes = body.model_dump()
    code = codebook.update_code(
        ctx,
        code_id=code_id,
        mnemonic=changes["mnemonic"],
        name=changes["name"],
        definition=changes["definition"],
        use_when=changes["use_when"],
        not_when=changes["not_when"],
        colour=changes["colour"],
        parent_id=changes["parent_id"] if "parent_id" in given else codebook.KEEP,
        is_flag=changes["is_flag"],
        variable_field=changes["variable_field"] if "variable_field" in given else codebook.KEEP,
        variable_value=changes["variable_value"] if "variable_value" in given else codebook.KEEP,
    )
    return code_out(code)


@router.post("/codes/{code_id}/retire")
def retire_code(ctx: CodebookManager, code_id: uuid.UUID) -> CodeOut:
    """Retire a code: it leaves the current codebook, its codings keep pointing at it."""
    return code_out(codebook.retire_code(ctx, code_id=code_id))


@router.get("/codes/{code_id}/history")
@reads_only
def code_history(ctx: CodebookReader, code_id: uuid.UUID) -> list[RevisionOut]:
    """Every revision of a code, oldest first."""
    return [
        RevisionOut.model_validate(revision, from_attributes=True)
        for revision in codebook.history(ctx, code_id=code_id)
    ]


@router.get(
    "/projects/{project_id}/codebook.qdc",
    response_class=Response,
    responses={200: {"description": "A REFI-QDA codebook file.", "content": {refi.QDC_MEDIA_TYPE: {}}}},
)
@reads_only
def export_codebook(ctx: DeidentifiedExporter, project_id: uuid.UUID) -> Response:
    """The codebook as a REFI-QDA codebook file (.qdc); audited."""
    data = refi.export_qdc(ctx, project_id=project_id)
    return download(data, media_type=refi.QDC_MEDIA_TYPE, filename=f"{_project_name(ctx, project_id)}.qdc")


@router.post("/projects/{project_id}/codebook.qdc", status_code=201)
def import_codebook(
    ctx: CodebookManager, project_id: uuid.UUID, file: Annotated[UploadFile, File()]
) -> ImportOut:
    """Add the codes of a REFI-QDA codebook file (.qdc) to the project's codebook (one new version)."""
    data = read_file(ctx, file, refi.MAX_QDC_BYTES)
    return import_out(refi.import_qdc(ctx, project_id=project_id, data=data))


@router.get(
    "/projects/{project_id}/project.qdpx",
    response_class=Response,
    responses={200: {"description": "A REFI-QDA project file.", "content": {refi.QDPX_MEDIA_TYPE: {}}}},
)
@reads_only
def export_project(ctx: DeidentifiedExporter, project_id: uuid.UUID) -> Response:
    """The project as a REFI-QDA project (.qdpx): codebook, approved pseudonymised texts, codings, memos."""
    data = refi.export_qdpx(ctx, project_id=project_id)
    return download(data, media_type=refi.QDPX_MEDIA_TYPE, filename=f"{_project_name(ctx, project_id)}.qdpx")


@router.post("/projects/import-qdpx", status_code=201)
def import_project(
    ctx: CodebookManager,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=64)],
) -> ImportOut:
    """Create a new project from a REFI-QDA project (.qdpx); you become its coder and interviewer.

    Granting you the roles ends your sessions and tokens (as every role change does): log in again.
    """
    data = read_file(ctx, file)
    return import_out(refi.import_qdpx(ctx, project_name=name, data=data), login_again=True)
