"""Codebook verbs: seed the default codebook, read the tree, create, change and retire codes, read history.

Threat: code names and definitions describe what a project looks for ("threats to relatives in Namangan"),
so they are sealed under the project's ANALYSIS-zone data key (`FieldCipher`), like every free text of the
analysis zone; what stays clear is structure (ids, parent, mnemonic, colour, incident variable terms,
versions). Every read of the decrypted codebook and every change is audited with opaque ids only.

Versions: each change (a new code, an edit, a move, a retirement, an import) makes one new codebook version
(`CodebookVersion`); the codes it touched get a sealed snapshot (`CodeRevision`) at that version, so a code's
history shows what it meant when a coding was made. A code's id never changes: it is the REFI-QDA guid.
Retired codes stay in the table (codings keep pointing at them) but leave the current tree.

Incident mapping: `variable_field`/`variable_value` name the incident field a code fills and its vocabulary
term. Where the codebook offers alternatives (B3, B7, D3, E1...) they are separated by "|", the first being
the default the extraction form is prefilled with.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import validation
from app.auth.policy import Action
from app.coding.models import Code, CodebookVersion, CodeRevision
from app.context import Context
from app.encryption import EncryptedText, FieldCipher
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.keys import service as data_keys
from app.projects.models import Project

__all__ = [
    "KEEP",
    "CodeIn",
    "CodeRead",
    "RevisionRead",
    "add_codes",
    "create_code",
    "current_version",
    "default_codebook",
    "get_or_raise",
    "history",
    "retire_code",
    "seed_default",
    "tree",
    "update_code",
]

MNEMONIC = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,15}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
VARIABLE_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,30}(\|[a-z][a-z0-9_]{0,30}){0,3}$")
VARIABLE_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}(\|[A-Za-z][A-Za-z0-9_]{0,40}){0,3}$")
DEFAULT_COLOUR = "#888888"
MAX_NAME = 200
MAX_TEXT = 4000
MAX_DEPTH = 8
MAX_CODES = 5000
DEFAULT_CODEBOOK = "tnr_codebook.json"


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
"""Marks a field `update_code` leaves as it is (`parent_id=None` means: move to the top level)."""


@dataclass(frozen=True)
class CodeIn:
    """A code to create; `key` names it within one batch so that `parent_key` can point at it."""

    mnemonic: str
    name: str
    definition: str = ""
    use_when: str = ""
    not_when: str = ""
    colour: str = DEFAULT_COLOUR
    is_flag: bool = False
    variable_field: str | None = None
    variable_value: str | None = None
    id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    key: str | None = None
    parent_key: str | None = None


@dataclass(frozen=True)
class CodeRead:
    """A code as a permitted reader sees it, decrypted; `depth` is 0 for top-level codes."""

    id: uuid.UUID
    project_id: uuid.UUID
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
    has_children: bool = False


@dataclass(frozen=True)
class RevisionRead:
    """A code as it stood in one codebook version."""

    code_id: uuid.UUID
    version: int
    created_at: datetime
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


# ---- scope and keys --------------------------------------------------------------------------------------


def _require(ctx: Context, action: Action, project_id: uuid.UUID) -> None:
    if ctx.session.get(Project, project_id) is None:
        raise NotFoundError()
    if ctx.actor is not None and not ctx.actor.may_in(action, project_id):
        raise NotFoundError()


def _reveal(cipher: FieldCipher, row: object, column: str) -> str:
    value = cipher.read(row, column)
    return "" if value is None else value.reveal()


# ---- validation ------------------------------------------------------------------------------------------


def _text(value: str | None, *, what: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    """Collapse whitespace and check a code's text: length, presence, and that it shows what it is."""
    text = validation.shown_text(" ".join((value or "").split()), what=what)
    if required and not text:
        raise InvalidInputError(f"{what} must not be empty")
    if len(text) > limit:
        raise InvalidInputError(f"{what} is longer than {limit} characters")
    return text


def _mnemonic(value: str) -> str:
    text = (value or "").strip()
    if not MNEMONIC.fullmatch(text):
        raise InvalidInputError(
            "a mnemonic is 1-16 letters, digits, '.', '_' or '-', starting with a letter (such as B1)"
        )
    return text


def _colour(value: str) -> str:
    text = (value or "").strip()
    if not COLOUR.fullmatch(text):
        raise InvalidInputError("a colour is #rrggbb (six hexadecimal digits), such as #0072b2")
    return text.lower()


def _variable(field: str | None, value: str | None) -> tuple[str | None, str | None]:
    field = (field or "").strip() or None
    value = (value or "").strip() or None
    if field is not None and not VARIABLE_FIELD.fullmatch(field):
        raise InvalidInputError("an incident field is a lower-case term such as tactic or reprisal_type")
    if value is not None and not VARIABLE_VALUE.fullmatch(value):
        raise InvalidInputError("an incident value is a vocabulary term such as S1_THREAT_DIRECT")
    if value is not None and field is None:
        raise InvalidInputError("an incident value needs the incident field it fills")
    return field, value


def _mnemonic_free(session: Session, project_id: uuid.UUID, mnemonic: str, *, but: uuid.UUID | None) -> None:
    taken = session.scalar(select(Code.id).where(Code.project_id == project_id, Code.mnemonic == mnemonic))
    if taken is not None and taken != but:
        raise InvalidInputError(f"the mnemonic {mnemonic} is already used by a code of this project")


# ---- versions --------------------------------------------------------------------------------------------


def current_version(session: Session, project_id: uuid.UUID) -> int:
    """The project's current codebook version (0 before the codebook is seeded)."""
    return (
        session.scalar(
            select(func.max(CodebookVersion.version)).where(CodebookVersion.project_id == project_id)
        )
        or 0
    )


def _next_version(ctx: Context, project_id: uuid.UUID) -> int:
    version = current_version(ctx.session, project_id) + 1
    ctx.session.add(
        CodebookVersion(
            id=uuid.uuid4(),
            project_id=project_id,
            version=version,
            created_by=ctx.actor.user_id if ctx.actor else None,
        )
    )
    return version


def _snapshot(cipher: FieldCipher, code: Code, texts: dict[str, str], version: int) -> CodeRevision:
    revision = CodeRevision(id=uuid.uuid4(), code_id=code.id, version=version)
    payload = {
        "mnemonic": code.mnemonic,
        **texts,
        "colour": code.colour,
        "parent_id": str(code.parent_id) if code.parent_id else None,
        "is_flag": code.is_flag,
        "variable_field": code.variable_field,
        "variable_value": code.variable_value,
        "retired": code.retired_in_version is not None,
    }
    cipher.write(revision, "snapshot", EncryptedText(json.dumps(payload, ensure_ascii=False)))
    return revision


def _seal_texts(cipher: FieldCipher, code: Code, texts: dict[str, str]) -> None:
    for column, text in texts.items():
        cipher.write(code, column, EncryptedText(text))


def _texts_of(cipher: FieldCipher, code: Code) -> dict[str, str]:
    return {
        column: _reveal(cipher, code, column) for column in ("name", "definition", "use_when", "not_when")
    }


# ---- reading ---------------------------------------------------------------------------------------------


def _codes(session: Session, project_id: uuid.UUID, *, current_only: bool) -> list[Code]:
    query = select(Code).where(Code.project_id == project_id)
    if current_only:
        query = query.where(Code.retired_in_version.is_(None))
    return list(session.scalars(query.order_by(Code.seq, Code.mnemonic)).all())


def _ordered(codes: Sequence[Code]) -> list[tuple[Code, int]]:
    """Depth-first order with depths; codes whose parent is not in the list stand at the top level."""
    ids = {code.id for code in codes}
    children: dict[uuid.UUID | None, list[Code]] = {}
    for code in sorted(codes, key=lambda code: (code.seq, code.mnemonic)):
        parent = code.parent_id if code.parent_id in ids else None
        children.setdefault(parent, []).append(code)
    result: list[tuple[Code, int]] = []
    stack: list[tuple[Code, int]] = [(code, 0) for code in reversed(children.get(None, []))]
    seen: set[uuid.UUID] = set()
    while stack:
        code, depth = stack.pop()
        if code.id in seen:  # a cycle cannot be stored through this module; refuse to loop on one anyway
            continue
        seen.add(code.id)
        result.append((code, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(code.id, [])))
    return result


def _read(cipher: FieldCipher, code: Code, depth: int, has_children: bool) -> CodeRead:
    texts = _texts_of(cipher, code)
    return CodeRead(
        id=code.id,
        project_id=code.project_id,
        parent_id=code.parent_id,
        depth=depth,
        seq=code.seq,
        mnemonic=code.mnemonic,
        name=texts["name"],
        definition=texts["definition"],
        use_when=texts["use_when"],
        not_when=texts["not_when"],
        colour=code.colour,
        is_flag=code.is_flag,
        variable_field=code.variable_field,
        variable_value=code.variable_value,
        created_in_version=code.created_in_version,
        retired_in_version=code.retired_in_version,
        has_children=has_children,
    )


def read_codes(
    ctx: Context, project_id: uuid.UUID, codes: Sequence[Code], *, absolute: bool = True
) -> list[CodeRead]:
    """Decrypt codes already in scope, depth-first (no audit: for modules that audit their own read).

    Depths are in the whole codebook; with `absolute=False`, in the list given (a code whose parent is not
    in the list stands at depth 0), as a writer of nested elements needs them.
    """
    if not codes:
        return []
    cipher = data_keys.project_cipher(ctx, project_id)
    parents = {code.parent_id for code in codes}
    result = []
    depths: dict[uuid.UUID, int] = {}
    for code, depth in _ordered(codes):
        if absolute:
            parent = code.parent_id
            depth = depths[parent] + 1 if parent in depths else _depth_of(ctx.session, parent)
            depths[code.id] = depth
        result.append(_read(cipher, code, depth, code.id in parents))
    return result


def tree(ctx: Context, *, project_id: uuid.UUID, include_retired: bool = False) -> list[CodeRead]:
    """The project's current codes, decrypted, depth-first with parent ids and depths (audited)."""
    _require(ctx, Action.CODEBOOK_READ, project_id)
    codes = _codes(ctx.session, project_id, current_only=not include_retired)
    ctx.audit("codebook.read", object_type="project", object_id=project_id, project_id=project_id)
    return read_codes(ctx, project_id, codes, absolute=False)


def get_or_raise(ctx: Context, *, code_id: uuid.UUID, action: Action = Action.CODEBOOK_READ) -> Code:
    """A code the caller may act on, or NotFoundError."""
    code = ctx.session.get(Code, code_id)
    if code is None:
        raise NotFoundError()
    _require(ctx, action, code.project_id)
    return code


def history(ctx: Context, *, code_id: uuid.UUID) -> list[RevisionRead]:
    """Every revision of a code, oldest first, decrypted (audited)."""
    code = get_or_raise(ctx, code_id=code_id)
    ctx.audit("codebook.history", object_type="code", object_id=code.id, project_id=code.project_id)
    cipher = data_keys.project_cipher(ctx, code.project_id)
    result = []
    for revision in ctx.session.scalars(
        select(CodeRevision).where(CodeRevision.code_id == code.id).order_by(CodeRevision.version)
    ):
        data: dict[str, Any] = json.loads(_reveal(cipher, revision, "snapshot") or "{}")
        parent = data.get("parent_id")
        result.append(
            RevisionRead(
                code_id=code.id,
                version=revision.version,
                created_at=revision.created_at,
                mnemonic=str(data.get("mnemonic", "")),
                name=str(data.get("name", "")),
                definition=str(data.get("definition", "")),
                use_when=str(data.get("use_when", "")),
                not_when=str(data.get("not_when", "")),
                colour=str(data.get("colour", DEFAULT_COLOUR)),
                parent_id=uuid.UUID(parent) if parent else None,
                is_flag=bool(data.get("is_flag", False)),
                variable_field=data.get("variable_field"),
                variable_value=data.get("variable_value"),
                retired=bool(data.get("retired", False)),
            )
        )
    return result


# ---- changes ---------------------------------------------------------------------------------------------


def _depth_of(session: Session, parent_id: uuid.UUID | None) -> int:
    depth = 0
    seen: set[uuid.UUID] = set()
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        depth += 1
        parent_id = session.scalar(select(Code.parent_id).where(Code.id == parent_id))
    return depth


def _parent_in(session: Session, project_id: uuid.UUID, parent_id: uuid.UUID | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Code, parent_id)
    if parent is None or parent.project_id != project_id:
        raise InvalidInputError("the parent code is not in this project's codebook")
    if parent.retired_in_version is not None:
        raise InvalidInputError("the parent code is retired")


def _next_seq(session: Session, project_id: uuid.UUID, parent_id: uuid.UUID | None) -> int:
    query = select(func.max(Code.seq)).where(Code.project_id == project_id)
    query = query.where(Code.parent_id.is_(None) if parent_id is None else Code.parent_id == parent_id)
    return (session.scalar(query) or 0) + 1


def _free_id(session: Session, wanted: uuid.UUID | None, taken: set[uuid.UUID]) -> uuid.UUID:
    if wanted is not None and wanted not in taken and session.get(Code, wanted) is None:
        return wanted
    return uuid.uuid4()


def add_codes(
    ctx: Context, *, project_id: uuid.UUID, codes: Sequence[CodeIn], action: str = "codebook.code_create"
) -> tuple[int, dict[str, uuid.UUID]]:
    """Create a batch of codes in one new codebook version (CODEBOOK_MANAGE); see `_add_codes`."""
    _require(ctx, Action.CODEBOOK_MANAGE, project_id)
    return _add_codes(ctx, project_id=project_id, codes=codes, action=action)


def _add_codes(
    ctx: Context, *, project_id: uuid.UUID, codes: Sequence[CodeIn], action: str
) -> tuple[int, dict[str, uuid.UUID]]:
    """Create a batch of codes in one new codebook version; returns the version and the ids by `key`.

    A code keeps its requested `id` when no code anywhere uses it (REFI-QDA guids survive an import),
    otherwise it gets a fresh one. Parents come before their children in `codes` (by `parent_key`) or are
    existing codes (`parent_id`). Validates everything before writing anything.
    """
    session = ctx.session
    if not codes:
        raise InvalidInputError("there are no codes to add")
    existing = (
        session.scalar(select(func.count()).select_from(Code).where(Code.project_id == project_id)) or 0
    )
    if existing + len(codes) > MAX_CODES:
        raise InvalidInputError(f"a codebook holds at most {MAX_CODES} codes")
    used_mnemonics = set(session.scalars(select(Code.mnemonic).where(Code.project_id == project_id)))
    taken_ids: set[uuid.UUID] = set()
    ids: dict[str, uuid.UUID] = {}
    depths: dict[uuid.UUID, int] = {}
    prepared: list[tuple[Code, dict[str, str]]] = []
    seqs: dict[uuid.UUID | None, int] = {}
    for item in codes:
        mnemonic = _mnemonic(item.mnemonic)
        if mnemonic in used_mnemonics:
            raise InvalidInputError(f"the mnemonic {mnemonic} is already used by a code of this project")
        used_mnemonics.add(mnemonic)
        texts = {
            "name": _text(item.name, what=f"the name of {mnemonic}", limit=MAX_NAME, required=True),
            "definition": _text(item.definition, what=f"the definition of {mnemonic}"),
            "use_when": _text(item.use_when, what=f"'use when' of {mnemonic}"),
            "not_when": _text(item.not_when, what=f"'not when' of {mnemonic}"),
        }
        field, value = _variable(item.variable_field, item.variable_value)
        if item.parent_key is not None:
            if item.parent_key not in ids:
                raise InvalidInputError(f"the parent of {mnemonic} must come before it")
            parent_id: uuid.UUID | None = ids[item.parent_key]
        else:
            parent_id = item.parent_id
            _parent_in(session, project_id, parent_id)
        depth = depths[parent_id] + 1 if parent_id in depths else _depth_of(session, parent_id)
        if depth >= MAX_DEPTH:
            raise InvalidInputError(f"codes nest at most {MAX_DEPTH} levels deep")
        code_id = _free_id(session, item.id, taken_ids)
        taken_ids.add(code_id)
        depths[code_id] = depth
        if item.key is not None:
            ids[item.key] = code_id
        if parent_id not in seqs:
            seqs[parent_id] = _next_seq(session, project_id, parent_id) if parent_id not in depths else 1
        code = Code(
            id=code_id,
            project_id=project_id,
            parent_id=parent_id,
            mnemonic=mnemonic,
            seq=seqs[parent_id],
            colour=_colour(item.colour),
            is_flag=bool(item.is_flag),
            variable_field=field,
            variable_value=value,
        )
        seqs[parent_id] += 1
        prepared.append((code, texts))
    version = _next_version(ctx, project_id)
    cipher = data_keys.project_cipher(ctx, project_id, create=True)
    revisions = []
    for code, texts in prepared:
        code.created_in_version = version
        _seal_texts(cipher, code, texts)
        revisions.append(_snapshot(cipher, code, texts, version))
    # Parents come first in `prepared`; the session inserts rows of one table in the order they were added.
    session.add_all(code for code, _texts in prepared)
    session.flush()
    session.add_all(revisions)
    session.flush()
    ctx.audit(
        action, object_type="project", object_id=project_id, project_id=project_id, reason=f"v{version}"
    )
    return version, ids


def create_code(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    mnemonic: str,
    name: str,
    definition: str = "",
    use_when: str = "",
    not_when: str = "",
    colour: str | None = None,
    parent_id: uuid.UUID | None = None,
    is_flag: bool = False,
    variable_field: str | None = None,
    variable_value: str | None = None,
) -> CodeRead:
    """Add one code (a new codebook version); it takes its parent's colour unless given one; audited."""
    _require(ctx, Action.CODEBOOK_MANAGE, project_id)
    if colour is None:
        parent = ctx.session.get(Code, parent_id) if parent_id else None
        colour = parent.colour if parent is not None else DEFAULT_COLOUR
    item = CodeIn(
        mnemonic=mnemonic,
        name=name,
        definition=definition,
        use_when=use_when,
        not_when=not_when,
        colour=colour,
        parent_id=parent_id,
        is_flag=is_flag,
        variable_field=variable_field,
        variable_value=variable_value,
        key="new",
    )
    _version, ids = add_codes(ctx, project_id=project_id, codes=[item])
    code = ctx.session.get(Code, ids["new"])
    assert code is not None  # noqa: S101 - just made
    return read_codes(ctx, project_id, [code])[0]


def _descendants(session: Session, code_id: uuid.UUID) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    frontier = [code_id]
    while frontier:
        children = list(session.scalars(select(Code.id).where(Code.parent_id.in_(frontier))))
        frontier = [child for child in children if child not in found]
        found.update(frontier)
    return found


def _subtree_height(session: Session, code_id: uuid.UUID) -> int:
    height = 0
    frontier = [code_id]
    while frontier:
        frontier = list(session.scalars(select(Code.id).where(Code.parent_id.in_(frontier))))
        if frontier:
            height += 1
        if height > MAX_DEPTH:
            break
    return height


def update_code(
    ctx: Context,
    *,
    code_id: uuid.UUID,
    mnemonic: str | None = None,
    name: str | None = None,
    definition: str | None = None,
    use_when: str | None = None,
    not_when: str | None = None,
    colour: str | None = None,
    parent_id: uuid.UUID | None | _Keep = KEEP,
    is_flag: bool | None = None,
    variable_field: str | None | _Keep = KEEP,
    variable_value: str | None | _Keep = KEEP,
) -> CodeRead:
    """Rename, redefine, recolour or move a code (its id stays); a new codebook version; audited.

    Fields left as None (or KEEP) are unchanged; `parent_id=None` moves the code to the top level.
    """
    session = ctx.session
    code = get_or_raise(ctx, code_id=code_id, action=Action.CODEBOOK_MANAGE)
    if code.retired_in_version is not None:
        raise ConflictError("this code is retired: it can no longer be changed")
    cipher = data_keys.project_cipher(ctx, code.project_id)
    texts = _texts_of(cipher, code)
    changed_texts = {
        column: value
        for column, value in (
            ("name", None if name is None else _text(name, what="the name", limit=MAX_NAME, required=True)),
            ("definition", None if definition is None else _text(definition, what="the definition")),
            ("use_when", None if use_when is None else _text(use_when, what="'use when'")),
            ("not_when", None if not_when is None else _text(not_when, what="'not when'")),
        )
        if value is not None and value != texts[column]
    }
    new_mnemonic = code.mnemonic if mnemonic is None else _mnemonic(mnemonic)
    if new_mnemonic != code.mnemonic:
        _mnemonic_free(session, code.project_id, new_mnemonic, but=code.id)
    new_colour = code.colour if colour is None else _colour(colour)
    field, value = _variable(
        code.variable_field if isinstance(variable_field, _Keep) else variable_field,
        code.variable_value if isinstance(variable_value, _Keep) else variable_value,
    )
    new_parent = code.parent_id if isinstance(parent_id, _Keep) else parent_id
    if new_parent != code.parent_id:
        _parent_in(session, code.project_id, new_parent)
        if new_parent is not None and (new_parent == code.id or new_parent in _descendants(session, code.id)):
            raise InvalidInputError("a code cannot move under itself or one of its own sub-codes")
        if _depth_of(session, new_parent) + _subtree_height(session, code.id) >= MAX_DEPTH:
            raise InvalidInputError(f"codes nest at most {MAX_DEPTH} levels deep")
    new_flag = code.is_flag if is_flag is None else bool(is_flag)
    structural = (
        new_mnemonic != code.mnemonic
        or new_colour != code.colour
        or new_parent != code.parent_id
        or new_flag != code.is_flag
        or (field, value) != (code.variable_field, code.variable_value)
    )
    if not changed_texts and not structural:
        return read_codes(ctx, code.project_id, [code])[0]
    version = _next_version(ctx, code.project_id)
    if new_parent != code.parent_id:
        code.seq = _next_seq(session, code.project_id, new_parent)
    code.mnemonic, code.colour, code.parent_id, code.is_flag = new_mnemonic, new_colour, new_parent, new_flag
    code.variable_field, code.variable_value = field, value
    _seal_texts(cipher, code, changed_texts)
    texts.update(changed_texts)
    session.flush()
    session.add(_snapshot(cipher, code, texts, version))
    session.flush()
    ctx.audit(
        "codebook.code_update",
        object_type="code",
        object_id=code.id,
        project_id=code.project_id,
        reason=f"v{version}",
    )
    return read_codes(ctx, code.project_id, [code])[0]


def retire_code(ctx: Context, *, code_id: uuid.UUID) -> CodeRead:
    """Take a code out of the current codebook (codings keep pointing at it); a new version; audited."""
    session = ctx.session
    code = get_or_raise(ctx, code_id=code_id, action=Action.CODEBOOK_MANAGE)
    if code.retired_in_version is not None:
        raise ConflictError("this code is already retired")
    live_children = session.scalar(
        select(func.count())
        .select_from(Code)
        .where(Code.parent_id == code.id, Code.retired_in_version.is_(None))
    )
    if live_children:
        raise ConflictError("retire or move this code's sub-codes first")
    cipher = data_keys.project_cipher(ctx, code.project_id)
    version = _next_version(ctx, code.project_id)
    code.retired_in_version = version
    session.flush()
    session.add(_snapshot(cipher, code, _texts_of(cipher, code), version))
    session.flush()
    ctx.audit(
        "codebook.code_retire",
        object_type="code",
        object_id=code.id,
        project_id=code.project_id,
        reason=f"v{version}",
    )
    return read_codes(ctx, code.project_id, [code])[0]


# ---- the default codebook --------------------------------------------------------------------------------


@cache
def _default_data() -> dict[str, Any]:
    raw = resources.files("app.coding").joinpath("data", DEFAULT_CODEBOOK).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


def default_codebook() -> list[CodeIn]:
    """The shipped transnational-repression codebook (CODEBOOK.md Part B): 8 groups, 44 codes, 5 flags."""
    items: list[CodeIn] = []
    for group in _default_data()["groups"]:
        items.append(
            CodeIn(
                mnemonic=group["mnemonic"],
                name=group["name"],
                definition=group.get("definition", ""),
                colour=group["colour"],
                key=group["mnemonic"],
            )
        )
        items.extend(
            CodeIn(
                mnemonic=code["mnemonic"],
                name=code["name"],
                definition=code.get("definition", ""),
                use_when=code.get("use_when", ""),
                not_when=code.get("not_when", ""),
                colour=code.get("colour", group["colour"]),
                is_flag=bool(code.get("is_flag", False)),
                variable_field=code.get("variable_field"),
                variable_value=code.get("variable_value"),
                key=code["mnemonic"],
                parent_key=group["mnemonic"],
            )
            for code in group["codes"]
        )
    return items


def seed_default(ctx: Context, *, project_id: uuid.UUID) -> int:
    """Give a new project the default codebook as version 1 (no-op if it has one); returns codes made."""
    if current_version(ctx.session, project_id) > 0:
        return 0
    if ctx.session.get(Project, project_id) is None:
        raise NotFoundError()
    items = default_codebook()
    # Part of creating the project (by an administrator, who holds no project role): no role check here.
    _add_codes(ctx, project_id=project_id, codes=items, action="codebook.seed")
    return len(items)


def count_current(session: Session, project_id: uuid.UUID) -> int:
    """How many current codes the project's codebook has."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Code)
            .where(Code.project_id == project_id, Code.retired_in_version.is_(None))
        )
        or 0
    )


def ids_in(session: Session, project_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these code ids belong to the project."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(session.scalars(select(Code.id).where(Code.project_id == project_id, Code.id.in_(wanted))))
