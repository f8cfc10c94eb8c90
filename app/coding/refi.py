"""REFI-QDA exchange: the codebook as `.qdc` and the whole coded project as `.qdpx`, out and in.

Formats: QDA-XML 1.0 (the schemas ship in `app/coding/xsd/`, MIT licence). A `.qdc` is one XML document
(`urn:QDA-XML:codebook:1.0`); a `.qdpx` is a zip holding `project.qde` (`urn:QDA-XML:project:1.0`) and the
plain texts of its sources as `sources/<guid>.txt`, addressed as `internal://<guid>.txt`. Text selections
count Unicode code points, as Harbour's offsets do.

What leaves (exports are for coders, `export.deidentified`, and audited once as `export.codebook` /
`export.project` by `app.exports.registry.run`):
- codes with their guid (= the code id, stable across renames), name, colour and a `Description` holding the
  definition, "Use when:", "Not when:" and Harbour's own lines (mnemonic, incident variable, flag) so that a
  round trip keeps them; retired codes only when an exported coding still points at one;
- per interview coders may read, the pseudonymised text of its latest APPROVED version, without the
  withdrawn (suppressed) turns: the text is the readable turns joined by a blank line, and codings are moved
  to match. A coding touching a withdrawn turn is left out, as the turn is. Never the identified text, never
  a speaker label, never a file name; a source is named by the interviewee's pseudonym;
- coders as pseudonymous users: a label drawn for this one export (`app.coding.reports.CoderLabels`) and a
  random guid, never the account's id or username, so files cannot be linked to accounts or to each other;
- memos, decrypted with the interview's key, as `Note`s referenced from the coding's selection (a selection
  carries a note only when it holds exactly one coding, so the note's coding is never ambiguous).

What comes in: the files are hostile until proven otherwise.
- XML is parsed by defusedxml with DTDs forbidden (no entity expansion, no external entity, no billion
  laughs), streamed so that nesting depth and element count are capped while parsing; only elements in the
  REFI namespaces are read.
- A `.qdpx` is read in memory, never extracted: the archive must be a zip whose member names are all plain
  relative paths (no `..`, no absolute or drive paths, no backslashes, no duplicates), with at most
  MAX_MEMBERS members, MAX_TOTAL_BYTES uncompressed in all and a compression ratio under MAX_RATIO per
  member; members are read with a bounded read that does not trust the sizes in the zip header. Only
  `project.qde` and the `sources/*.txt` files its text sources name are read; other sources (PDF, picture,
  audio, video, rich text without a plain text) are counted in `ImportResult.sources_skipped`.
- Everything is parsed and checked before anything is written, and everything is written in the caller's
  one transaction: a refused file changes nothing.

Importing a project (`import_qdpx`) creates a NEW project. Its sources become interviews: a placeholder
person per source (a random pseudonym, no identity at all), an interview (this month, mode `written`,
language `en`) and an approved transcript whose pseudonymised text is the source text exactly (line
endings made LF, offsets moved to match), split into turns at blank lines, so that every coding lands at its
code points. Imported texts are taken as already de-identified by the tool that exported them: candidate
identifiers (phones, e-mails, document numbers) are counted in `identifier_candidates` for a human check,
not silently changed. Codings are attributed to the importing user (the REFI user names are not stored).
The importing user becomes coder and interviewer of the new project (through `app.auth.service.grant`,
which ends their sessions and tokens as every role change does: they log in again). This is why importing
is open to coders (`codebook.manage`) and not to administrators, who must never read testimony.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree as ET  # noqa: S405 - used to *write* XML only; parsing goes through defusedxml

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from sqlalchemy import select

from app import __version__, validation
from app.auth import service as users
from app.auth.models import Role, User
from app.auth.policy import Action
from app.coding import codebook
from app.coding import reports as coding_reports
from app.coding import service as coding
from app.coding.models import Code, Coding, CodingOrigin, CodingStatus
from app.context import Context
from app.encryption import EncryptedText, FieldCipher
from app.errors import ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError
from app.exports import registry
from app.identities.models import Person
from app.ingest import pseudonymise as pseudonymiser
from app.ingest.formats import SpeakerRole
from app.interviews import service as interviews
from app.interviews.models import Interview, Segment, TranscriptVersion, VersionStatus
from app.keys import service as data_keys
from app.keys.service import OwnerType
from app.projects import service as projects
from app.projects.models import Project
from crypto import pseudonyms
from crypto.keyring import Zone

__all__ = [
    "ImportResult",
    "export_qdc",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
]

NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NS_PROJECT = "urn:QDA-XML:project:1.0"
ORIGIN = f"Harbour {__version__}"
QDC_MEDIA_TYPE = "application/xml"
QDPX_MEDIA_TYPE = "application/zip"

MAX_QDC_BYTES = 5 * 1024 * 1024
MAX_QDE_BYTES = 50 * 1024 * 1024
MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_RATIO = 100
MAX_XML_DEPTH = 64
MAX_ELEMENTS = 1_000_000
MAX_SOURCES = 1000
MAX_CODINGS = 100_000
MAX_MEMO = 10_000
TURN_SEPARATOR = interviews.TURN_SEPARATOR

_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_RGB = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_INTERNAL_TXT = re.compile(r"^internal://([A-Za-z0-9{}][A-Za-z0-9{}._-]{0,200}\.txt)$")
_LABELS = {
    "Use when:": "use_when",
    "Not when:": "not_when",
    "Harbour mnemonic:": "mnemonic",
    "Harbour variable:": "variable",
    "Harbour flag:": "flag",
}


@dataclass
class ImportResult:
    """What an import did (counts and opaque ids only)."""

    project_id: uuid.UUID
    codebook_version: int
    codes_created: int = 0
    code_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    ids_changed: int = 0
    mnemonics_generated: int = 0
    sources_imported: int = 0
    interview_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    sources_skipped: int = 0
    codings_imported: int = 0
    codings_skipped: int = 0
    memos_imported: int = 0
    identifier_candidates: int = 0
    warnings: list[str] = field(default_factory=list)


# ---- shared ----------------------------------------------------------------------------------------------


def _require(ctx: Context, action: Action, project_id: uuid.UUID) -> Project:
    project = ctx.session.get(Project, project_id)
    if project is None or (ctx.actor is not None and not ctx.actor.may_in(action, project_id)):
        raise NotFoundError()
    return project


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(code: codebook.CodeRead) -> str:
    """A code's REFI `Description`: the definition, then labelled lines a round trip reads back."""
    lines = [code.definition] if code.definition else []
    if code.use_when:
        lines.append(f"Use when: {code.use_when}")
    if code.not_when:
        lines.append(f"Not when: {code.not_when}")
    lines.append(f"Harbour mnemonic: {code.mnemonic}")
    if code.variable_field:
        lines.append(f"Harbour variable: {code.variable_field} = {code.variable_value or ''}".rstrip(" ="))
    if code.is_flag:
        lines.append("Harbour flag: procedural")
    return "\n".join(lines)


def _read_description(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    definition: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        for label, key in _LABELS.items():
            if stripped.startswith(label):
                found[key] = stripped[len(label) :].strip()
                break
        else:
            definition.append(line)
    found["definition"] = "\n".join(definition).strip()
    return found


def _code_element(parent: ET.Element, code: codebook.CodeRead) -> ET.Element:
    element = ET.SubElement(
        parent,
        "Code",
        {"guid": str(code.id), "name": code.name, "isCodable": "true", "color": code.colour},
    )
    ET.SubElement(element, "Description").text = describe(code)
    return element


def _codes_xml(parent: ET.Element, codes: list[codebook.CodeRead]) -> None:
    """Nest `Code` elements under `parent` following the depth-first order and depths of `codes`."""
    stack: list[ET.Element] = [parent]
    for code in codes:
        del stack[code.depth + 1 :]
        stack.append(_code_element(stack[-1], code))


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


# ---- codebook export ------------------------------------------------------------------------------------


def build_qdc(ctx: Context, project_id: uuid.UUID) -> bytes:
    """The project's current codebook as a REFI-QDA `.qdc` (the exporter behind `export_qdc`; no audit)."""
    _require(ctx, Action.EXPORT_DEIDENTIFIED, project_id)
    codes = codebook.read_codes(ctx, project_id, _current_codes(ctx, project_id), absolute=False)
    if not codes:
        raise InvalidInputError("this project's codebook has no codes to export")
    root = ET.Element("CodeBook", {"xmlns": NS_CODEBOOK, "origin": ORIGIN})
    _codes_xml(ET.SubElement(root, "Codes"), codes)
    return _xml_bytes(root)


def _current_codes(ctx: Context, project_id: uuid.UUID) -> list[Code]:
    return list(
        ctx.session.scalars(
            select(Code)
            .where(Code.project_id == project_id, Code.retired_in_version.is_(None))
            .order_by(Code.seq, Code.mnemonic)
        ).all()
    )


def export_qdc(ctx: Context, *, project_id: uuid.UUID) -> bytes:
    """The project's codebook as `.qdc` bytes (coders of the project; audited `export.codebook`)."""
    _require(ctx, Action.EXPORT_DEIDENTIFIED, project_id)
    return registry.run(ctx, kind="codebook", fmt="qdc", project_id=project_id)[1]


# ---- project export -------------------------------------------------------------------------------------


@dataclass
class _Source:
    guid: uuid.UUID
    name: str
    text: str
    selections: list[tuple[int, int, list[Coding]]]


def _export_text(material: coding_reports.Material, full: str) -> tuple[str, list[tuple[int, int, int]]]:
    """The readable turns joined by blank lines, and (old start, old end, new start) per readable turn."""
    pieces: list[str] = []
    spans: list[tuple[int, int, int]] = []
    at = 0
    for start, end in material.readable:
        if pieces:
            at += len(TURN_SEPARATOR)
        pieces.append(full[start:end])
        spans.append((start, end, at))
        at += end - start
    return TURN_SEPARATOR.join(pieces), spans


def _move(position: int, spans: list[tuple[int, int, int]]) -> int | None:
    """Where an offset of the version text lands in the export text (in a turn or the blank line after)."""
    for index, (start, end, new) in enumerate(spans):
        if start <= position <= end:
            return new + position - start
        following = spans[index + 1] if index + 1 < len(spans) else None
        if following is not None and end < position < following[0]:
            return new + (end - start) + (position - end)
    return None


def _sources(ctx: Context, project_id: uuid.UUID) -> list[_Source]:
    materials = coding_reports.project_materials(
        ctx, project_id=project_id, action=Action.EXPORT_DEIDENTIFIED
    )
    sources: list[_Source] = []
    names: dict[str, int] = {}
    for material in materials:
        ctx.audit(
            "transcript.read_pseudonymised",
            object_type="transcript_version",
            object_id=material.version.id,
            project_id=project_id,
            reason="export",
        )
        text, spans = _export_text(material, material.text(ctx))
        by_span: dict[tuple[int, int], list[Coding]] = {}
        for row in material.codings:
            if material.region_of(row.start, row.end) is None:
                continue
            start, end = _move(row.start, spans), _move(row.end, spans)
            if start is None or end is None or not 0 <= start < end <= len(text):
                continue
            by_span.setdefault((start, end), []).append(row)
        selections = [(start, end, rows) for (start, end), rows in sorted(by_span.items())]
        names[material.pseudonym] = names.get(material.pseudonym, 0) + 1
        count = names[material.pseudonym]
        name = material.pseudonym if count == 1 else f"{material.pseudonym} ({count})"
        sources.append(_Source(material.interview.id, name, text, selections))
    return sources


def build_qdpx(ctx: Context, project_id: uuid.UUID) -> bytes:
    """The project as a REFI-QDA `.qdpx` (the exporter behind `export_qdpx`; see the module docstring)."""
    project = _require(ctx, Action.EXPORT_DEIDENTIFIED, project_id)
    sources = _sources(ctx, project_id)
    coded = {row.code_id for source in sources for _s, _e, rows in source.selections for row in rows}
    wanted = _current_codes(ctx, project_id)
    wanted_ids = {code.id for code in wanted}
    extra = list(ctx.session.scalars(select(Code).where(Code.id.in_(coded - wanted_ids))))
    codes = codebook.read_codes(ctx, project_id, [*wanted, *extra], absolute=False)
    labels = coding_reports.CoderLabels()
    coder_guids: dict[uuid.UUID, uuid.UUID] = {}
    memos: list[tuple[uuid.UUID, uuid.UUID, str]] = []  # (note guid, coder, text)

    root = ET.Element(
        "Project",
        {
            "xmlns": NS_PROJECT,
            "name": project.name,
            "origin": ORIGIN,
            "creationDateTime": _timestamp(ctx.runtime.clock()),
        },
    )
    users_element = ET.SubElement(root, "Users")
    if codes:
        _codes_xml(ET.SubElement(ET.SubElement(root, "CodeBook"), "Codes"), codes)
    sources_element = ET.SubElement(root, "Sources") if sources else None
    ciphers: dict[uuid.UUID, FieldCipher] = {}
    for source in sources:
        assert sources_element is not None  # noqa: S101 - made above when there are sources
        text_source = ET.SubElement(
            sources_element,
            "TextSource",
            {"guid": str(source.guid), "name": source.name, "plainTextPath": f"internal://{source.guid}.txt"},
        )
        for start, end, rows in source.selections:
            groups = [rows] if all(row.memo is None for row in rows) else [[row] for row in rows]
            for group in groups:
                selection = ET.SubElement(
                    text_source,
                    "PlainTextSelection",
                    {"guid": str(uuid.uuid4()), "startPosition": str(start), "endPosition": str(end)},
                )
                notes: list[uuid.UUID] = []
                for row in group:
                    user = coder_guids.setdefault(row.coder_id, uuid.uuid4())
                    element = ET.SubElement(
                        selection, "Coding", {"guid": str(row.id), "creatingUser": str(user)}
                    )
                    ET.SubElement(element, "CodeRef", {"targetGUID": str(row.code_id)})
                    if row.memo is not None:
                        interview_cipher = ciphers.get(row.interview_id)
                        if interview_cipher is None:
                            interview = ctx.session.get(Interview, row.interview_id)
                            assert interview is not None  # noqa: S101 - the coding's interview exists
                            interview_cipher = ciphers[row.interview_id] = interviews.cipher_for(
                                ctx, interview
                            )
                        memo = interview_cipher.read(row, "memo")
                        if memo is not None and memo.reveal().strip():
                            note = uuid.uuid4()
                            memos.append((note, user, memo.reveal()))
                            notes.append(note)
                for note in notes:
                    ET.SubElement(selection, "NoteRef", {"targetGUID": str(note)})
    if coder_guids:
        for coder_id, guid in coder_guids.items():
            ET.SubElement(users_element, "User", {"guid": str(guid), "name": labels(coder_id)})
    else:
        root.remove(users_element)
    if memos:
        notes_element = ET.SubElement(root, "Notes")
        for note, user, text in memos:
            note_element = ET.SubElement(
                notes_element, "Note", {"guid": str(note), "name": "Memo", "creatingUser": str(user)}
            )
            ET.SubElement(note_element, "PlainTextContent").text = text
    buffer = io.BytesIO()
    stamp = ctx.runtime.clock().astimezone(UTC).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("project.qde", date_time=stamp), _xml_bytes(root), zipfile.ZIP_DEFLATED
        )
        for source in sources:
            archive.writestr(
                zipfile.ZipInfo(f"sources/{source.guid}.txt", date_time=stamp),
                source.text.encode("utf-8"),
                zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()


def export_qdpx(ctx: Context, *, project_id: uuid.UUID) -> bytes:
    """The project as `.qdpx` bytes (coders of the project; audited `export.project`)."""
    _require(ctx, Action.EXPORT_DEIDENTIFIED, project_id)
    return registry.run(ctx, kind="project", fmt="qdpx", project_id=project_id)[1]


# ---- safe reading ---------------------------------------------------------------------------------------


def parse_xml(data: bytes, *, what: str) -> ET.Element:
    """Parse untrusted XML: no DTD (so no entities), bounded depth and size; 422 naming the problem."""
    depth = 0
    elements = 0
    root: ET.Element | None = None
    try:
        for event, element in SafeET.iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                elements += 1
                if root is None:
                    root = element
                if depth > MAX_XML_DEPTH:
                    raise InvalidInputError(f"{what} nests elements more than {MAX_XML_DEPTH} levels deep")
                if elements > MAX_ELEMENTS:
                    raise InvalidInputError(f"{what} has more than {MAX_ELEMENTS} elements")
            else:
                depth -= 1
    except DefusedXmlException:
        raise InvalidInputError(
            f"{what} declares a DTD or entities, which REFI-QDA files never need: refused"
        ) from None
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InvalidInputError(f"{what} is not well-formed XML (line {line}, column {column})") from None
    if root is None:
        raise InvalidInputError(f"{what} is empty")
    return root


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _guid(value: str | None) -> uuid.UUID | None:
    match = _GUID.fullmatch((value or "").strip())
    return uuid.UUID(match.group(1)) if match else None


def _colour(value: str | None, fallback: str) -> str:
    match = _RGB.fullmatch((value or "").strip())
    if not match:
        return fallback
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(char * 2 for char in digits)
    return f"#{digits.lower()}"


@dataclass
class _CodeTree:
    items: list[codebook.CodeIn]
    generated: int
    warnings: list[str]


def _codes_from(
    ctx: Context, codes_element: ET.Element | None, namespace: str, project_id: uuid.UUID | None
) -> _CodeTree:
    """Read nested `Code` elements into a parent-first batch for `codebook.add_codes` (keyed by guid)."""
    session = ctx.session
    used = (
        set(session.scalars(select(Code.mnemonic).where(Code.project_id == project_id)))
        if project_id
        else set()
    )
    items: list[codebook.CodeIn] = []
    warnings: list[str] = []
    seen: set[str] = set()
    wanted: list[tuple[ET.Element, str | None, str]] = []  # element, parent key, inherited colour
    if codes_element is not None:
        wanted = [
            (element, None, codebook.DEFAULT_COLOUR)
            for element in codes_element.findall(_q(namespace, "Code"))
        ]
    wanted.reverse()
    generated = 0
    counter = 0
    while wanted:
        element, parent_key, inherited = wanted.pop()
        guid = _guid(element.get("guid"))
        if guid is None:
            raise InvalidInputError("a code in the file has no valid guid")
        key = str(guid)
        if key in seen:
            raise InvalidInputError(f"the code guid {key} appears twice in the file")
        seen.add(key)
        description = element.findtext(_q(namespace, "Description")) or ""
        parts = _read_description(description)
        mnemonic = parts.get("mnemonic", "")
        if not codebook.MNEMONIC.fullmatch(mnemonic) or mnemonic in used:
            counter += 1
            while f"Q{counter}" in used:
                counter += 1
            mnemonic = f"Q{counter}"
            generated += 1
        used.add(mnemonic)
        field_value = parts.get("variable", "")
        variable_field, _sep, variable_value = (piece.strip() for piece in field_value.partition("="))
        if variable_field and not codebook.VARIABLE_FIELD.fullmatch(variable_field):
            variable_field = variable_value = ""
        if variable_value and not codebook.VARIABLE_VALUE.fullmatch(variable_value):
            variable_value = ""
        name = " ".join((element.get("name") or "").split()) or f"code {mnemonic}"
        if len(name) > codebook.MAX_NAME:
            warnings.append(f"the name of {mnemonic} was shortened to {codebook.MAX_NAME} characters")
            name = name[: codebook.MAX_NAME]
        texts = {}
        for column in ("definition", "use_when", "not_when"):
            text = " ".join(parts.get(column, "").split())
            if len(text) > codebook.MAX_TEXT:
                warnings.append(f"a text of {mnemonic} was shortened to {codebook.MAX_TEXT} characters")
                text = text[: codebook.MAX_TEXT]
            texts[column] = text
        colour = _colour(element.get("color"), inherited)
        items.append(
            codebook.CodeIn(
                mnemonic=mnemonic,
                name=name,
                colour=colour,
                is_flag=parts.get("flag", "").lower() == "procedural",
                variable_field=variable_field or None,
                variable_value=variable_value or None,
                id=guid,
                key=key,
                parent_key=parent_key,
                definition=texts["definition"],
                use_when=texts["use_when"],
                not_when=texts["not_when"],
            )
        )
        children = element.findall(_q(namespace, "Code"))
        wanted.extend((child, key, colour) for child in reversed(children))
    if len(items) > codebook.MAX_CODES:
        raise InvalidInputError(f"the file has more than {codebook.MAX_CODES} codes")
    return _CodeTree(items, generated, warnings)


def _add_tree(ctx: Context, project_id: uuid.UUID, tree: _CodeTree, result: ImportResult) -> None:
    if not tree.items:
        return
    version, ids = codebook.add_codes(ctx, project_id=project_id, codes=tree.items, action="codebook.import")
    result.codebook_version = version
    result.codes_created = len(tree.items)
    result.code_ids = ids
    result.ids_changed = sum(1 for key, code_id in ids.items() if str(code_id) != key)
    result.mnemonics_generated = tree.generated
    result.warnings.extend(tree.warnings)


# ---- codebook import ------------------------------------------------------------------------------------


def import_qdc(ctx: Context, *, project_id: uuid.UUID, data: bytes) -> ImportResult:
    """Add the codes of a REFI-QDA `.qdc` to a project's codebook (one new version; audited)."""
    _require(ctx, Action.CODEBOOK_MANAGE, project_id)
    if len(data) > MAX_QDC_BYTES:
        raise PayloadTooLargeError(f"a codebook file is at most {MAX_QDC_BYTES} bytes")
    root = parse_xml(data, what="the codebook file")
    if root.tag != _q(NS_CODEBOOK, "CodeBook"):
        raise InvalidInputError(
            f"this is not a REFI-QDA codebook: the root must be CodeBook in {NS_CODEBOOK}"
        )
    tree = _codes_from(ctx, root.find(_q(NS_CODEBOOK, "Codes")), NS_CODEBOOK, project_id)
    if not tree.items:
        raise InvalidInputError("the codebook file holds no codes")
    result = ImportResult(
        project_id=project_id, codebook_version=codebook.current_version(ctx.session, project_id)
    )
    _add_tree(ctx, project_id, tree, result)
    return result


# ---- project import -------------------------------------------------------------------------------------


def _unsafe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return True
    parts = name.rstrip("/").split("/")
    return any(part in ("", ".", "..") for part in parts)


def _bounded_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as handle:
        content = handle.read(min(limit, info.file_size) + 1)
    if len(content) > info.file_size or len(content) > limit:
        raise InvalidInputError(f"{info.filename} in the package is larger than it says or than allowed")
    return content


def _package(data: bytes) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """Open a `.qdpx` and check every member before any is read (see the module docstring)."""
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidInputError("this is not a REFI-QDA project: a .qdpx file is a zip archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise InvalidInputError("the .qdpx archive is damaged or not a zip file") from None
    if len(infos) > MAX_MEMBERS:
        raise InvalidInputError(f"the package has more than {MAX_MEMBERS} files")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            raise InvalidInputError("the package holds a file with an unsafe path (absolute, '..' or '\\')")
        if name in members:
            raise InvalidInputError("the package holds two files with the same name")
        if info.flag_bits & 0x1:
            raise InvalidInputError("the package holds an encrypted file")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise InvalidInputError(f"the package unpacks to more than {MAX_TOTAL_BYTES} bytes")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise InvalidInputError("the package is compressed suspiciously well (a zip bomb?): refused")
        members[name] = info
    return archive, members


@dataclass
class _Selection:
    start: int
    end: int
    codes: list[uuid.UUID]
    notes: list[uuid.UUID]


@dataclass
class _InSource:
    guid: str
    text: str
    raw: bytes
    selections: list[_Selection]


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """LF line endings, and where each old code point went (None when nothing moved)."""
    if "\r" not in text:
        return text, None
    moved = [0] * (len(text) + 1)
    out: list[str] = []
    index = 0
    while index < len(text):
        moved[index] = len(out)
        char = text[index]
        if char == "\r" and index + 1 < len(text) and text[index + 1] == "\n":
            out.append("\n")
            moved[index + 1] = len(out)
            index += 2
            continue
        out.append("\n" if char == "\r" else char)
        index += 1
    moved[len(text)] = len(out)
    return "".join(out), moved


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def _selections(element: ET.Element, result: ImportResult) -> list[_Selection]:
    found = []
    for selection in element.findall(_q(NS_PROJECT, "PlainTextSelection")):
        start, end = _int(selection.get("startPosition")), _int(selection.get("endPosition"))
        codes = []
        notes = [
            note_guid
            for note_ref in selection.findall(_q(NS_PROJECT, "NoteRef"))
            if (note_guid := _guid(note_ref.get("targetGUID"))) is not None
        ]
        for coding_element in selection.findall(_q(NS_PROJECT, "Coding")):
            ref = coding_element.find(_q(NS_PROJECT, "CodeRef"))
            guid = _guid(ref.get("targetGUID")) if ref is not None else None
            if guid is None:
                result.codings_skipped += 1
                continue
            codes.append(guid)
            for note_ref in coding_element.findall(_q(NS_PROJECT, "NoteRef")):
                note_guid = _guid(note_ref.get("targetGUID"))
                if note_guid is not None:
                    notes.append(note_guid)
        if start is None or end is None:
            result.codings_skipped += len(codes)
            continue
        found.append(_Selection(start, end, codes, notes))
    return found


def _read_sources(
    root: ET.Element, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], result: ImportResult
) -> list[_InSource]:
    sources_element = root.find(_q(NS_PROJECT, "Sources"))
    if sources_element is None:
        return []
    found: list[_InSource] = []
    for element in list(sources_element):
        if element.tag != _q(NS_PROJECT, "TextSource"):
            result.sources_skipped += 1
            continue
        guid = _guid(element.get("guid"))
        inline = element.find(_q(NS_PROJECT, "PlainTextContent"))
        path = _INTERNAL_TXT.fullmatch((element.get("plainTextPath") or "").strip())
        if guid is None:
            raise InvalidInputError("a source in the project has no valid guid")
        if inline is not None:
            raw = (inline.text or "").encode("utf-8")
        elif path is not None and f"sources/{path.group(1)}" in members:
            raw = _bounded_read(archive, members[f"sources/{path.group(1)}"], MAX_SOURCE_BYTES)
        else:
            result.sources_skipped += 1
            continue
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            result.sources_skipped += 1
            result.warnings.append("a text source is not UTF-8 and was left out")
            continue
        found.append(_InSource(str(guid), text, raw, _selections(element, result)))
        if len(found) > MAX_SOURCES:
            raise InvalidInputError(f"the project has more than {MAX_SOURCES} text sources")
    return found


def _notes(root: ET.Element) -> dict[uuid.UUID, str]:
    notes: dict[uuid.UUID, str] = {}
    element = root.find(_q(NS_PROJECT, "Notes"))
    for note in element.findall(_q(NS_PROJECT, "Note")) if element is not None else []:
        guid = _guid(note.get("guid"))
        text = (note.findtext(_q(NS_PROJECT, "PlainTextContent")) or "").strip()
        if guid is not None and text:
            notes[guid] = text[:MAX_MEMO]
    return notes


def _acting_user(ctx: Context) -> User:
    if ctx.actor is None:
        raise InvalidInputError("importing a project needs an acting user, who becomes its coder")
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None:
        raise NotFoundError()
    return user


def _placeholder_person(ctx: Context, project_id: uuid.UUID) -> Person:
    """A person with a random pseudonym and no identity at all (an imported source's narrator)."""
    session = ctx.session
    pseudonym = pseudonyms.generate_unique(
        lambda candidate: (
            session.scalar(
                select(Person.id).where(Person.project_id == project_id, Person.pseudonym == candidate)
            )
            is not None
        )
    )
    person = Person(id=uuid.uuid4(), project_id=project_id, pseudonym=pseudonym, roles=["interviewee"])
    session.add(person)
    session.flush()
    # The vault key exists (empty) so that reading the person's identity shows "nothing known", not "erased".
    data_keys.dek_for(
        session,
        ctx.runtime.keys,
        zone=Zone.IDENTITY,
        owner_type=OwnerType.PERSON,
        owner_id=person.id,
        create=True,
    )
    ctx.audit(
        "person.register", object_type="person", object_id=person.id, project_id=project_id, reason="import"
    )
    return person


def _approved_interview(
    ctx: Context, project_id: uuid.UUID, source: _InSource
) -> tuple[uuid.UUID, uuid.UUID, str]:
    """An interview whose approved pseudonymised text is the source text; (interview, version, text)."""
    session = ctx.session
    text, _moved = _normalise(source.text)
    person = _placeholder_person(ctx, project_id)
    interview = interviews.create(
        ctx,
        project_id=project_id,
        interviewee_person_id=person.id,
        interview_month=ctx.runtime.clock().strftime("%Y-%m"),
        mode="written",
        languages=["en"],
    )
    cipher = interviews.cipher_for(ctx, interview, create=True)
    version = TranscriptVersion(
        id=uuid.uuid4(),
        interview_id=interview.id,
        version=1,
        format="qdpx",
        status=VersionStatus.PENDING_REVIEW.value,
        uploaded_by=ctx.actor.user_id if ctx.actor else None,
    )
    for column, value in (
        ("original", base64.b64encode(source.raw).decode("ascii")),
        ("original_filename", "source.txt"),
        ("identified_text", text),
        ("pseudonymised_text", text),
        (
            "anonymisation_log",
            json.dumps({"version": 1, "imported": "refi-qdpx", "turns": [], "decisions": []}),
        ),
    ):
        cipher.write(version, column, EncryptedText(value))
    session.add(version)
    session.flush()
    at = 0
    segments = []
    for seq, turn in enumerate(text.split(TURN_SEPARATOR)):
        if seq:
            at += len(TURN_SEPARATOR)
        segment = Segment(
            id=uuid.uuid4(),
            transcript_version_id=version.id,
            seq=seq,
            role=SpeakerRole.UNKNOWN.value,
            char_start=at,
            char_end=at + len(turn),
            identified_start=at,
            identified_end=at + len(turn),
        )
        cipher.write(segment, "identified_text", EncryptedText(turn))
        cipher.write(segment, "pseudonymised_text", EncryptedText(turn))
        segments.append(segment)
        at += len(turn)
    session.add_all(segments)
    session.flush()
    ctx.audit(
        "transcript.upload",
        object_type="transcript_version",
        object_id=version.id,
        project_id=project_id,
        reason="import",
    )
    # Approval indexes the text for search and makes it the version coders read (no flags to decide).
    interviews.approve(ctx, interview_id=interview.id)
    return interview.id, version.id, text


def import_qdpx(ctx: Context, *, project_name: str, data: bytes) -> ImportResult:
    """Create a new project from a REFI-QDA `.qdpx`: codes, sources as interviews, codings and memos.

    See the module docstring for what is read, what is refused and who gets which role. Audited
    (`project.import` and the entries of every service it calls).
    """
    user = _acting_user(ctx)
    assert ctx.actor is not None  # noqa: S101 - _acting_user refuses a missing actor
    name = validation.handle(project_name, what="project name")
    if projects.get_by_name(ctx.session, name=name) is not None:
        raise ConflictError(f"a project named {name!r} already exists")
    if len(data) > ctx.runtime.settings.max_upload_bytes:
        raise PayloadTooLargeError("the package is larger than the upload limit")
    archive, members = _package(data)
    if "project.qde" not in members:
        raise InvalidInputError("the package has no project.qde")
    root = parse_xml(_bounded_read(archive, members["project.qde"], MAX_QDE_BYTES), what="project.qde")
    if root.tag != _q(NS_PROJECT, "Project"):
        raise InvalidInputError(
            f"project.qde is not a REFI-QDA project: the root must be Project in {NS_PROJECT}"
        )
    codebook_element = root.find(_q(NS_PROJECT, "CodeBook"))
    codes_element = codebook_element.find(_q(NS_PROJECT, "Codes")) if codebook_element is not None else None
    result = ImportResult(project_id=uuid.UUID(int=0), codebook_version=0)
    tree = _codes_from(ctx, codes_element, NS_PROJECT, None)
    sources = _read_sources(root, archive, members, result)
    notes = _notes(root)
    if sum(len(selection.codes) for source in sources for selection in source.selections) > MAX_CODINGS:
        raise InvalidInputError(f"the project has more than {MAX_CODINGS} codings")

    project = projects.create(ctx, name=name, seed_codebook=False)
    result.project_id = project.id
    for role in (Role.CODER, Role.INTERVIEWER):
        users.grant(ctx, user=user, project_id=project.id, role=role)
    roles = {**ctx.actor.project_roles, project.id: frozenset({Role.CODER, Role.INTERVIEWER})}
    inner = Context(ctx.session, ctx.runtime, dataclasses.replace(ctx.actor, project_roles=roles))
    _add_tree(inner, project.id, tree, result)
    code_ids = {uuid.UUID(key): code_id for key, code_id in result.code_ids.items()}
    for source in sources:
        interview_id, version_id, text = _approved_interview(inner, project.id, source)
        result.sources_imported += 1
        result.interview_ids[source.guid] = interview_id
        result.identifier_candidates += len(pseudonymiser.find_flags(text))
        _add_codings(inner, project.id, interview_id, version_id, source, text, code_ids, notes, result)
    inner.audit(
        "project.import", object_type="project", object_id=project.id, project_id=project.id, reason="qdpx"
    )
    return result


def _add_codings(
    ctx: Context,
    project_id: uuid.UUID,
    interview_id: uuid.UUID,
    version_id: uuid.UUID,
    source: _InSource,
    text: str,
    code_ids: dict[uuid.UUID, uuid.UUID],
    notes: dict[uuid.UUID, str],
    result: ImportResult,
) -> None:
    assert ctx.actor is not None  # noqa: S101 - import_qdpx runs with an actor
    _text, moved = _normalise(source.text)
    interview = ctx.session.get(Interview, interview_id)
    assert interview is not None  # noqa: S101 - just made
    cipher = interviews.cipher_for(ctx, interview)
    made: dict[tuple[uuid.UUID, int, int], tuple[Coding, list[str]]] = {}
    for selection in source.selections:
        limit = len(source.text)
        if not 0 <= selection.start < selection.end <= limit:
            result.codings_skipped += len(selection.codes)
            continue
        start = moved[selection.start] if moved else selection.start
        end = moved[selection.end] if moved else selection.end
        memo_texts = [notes[note] for note in selection.notes if note in notes]
        for guid in selection.codes:
            code_id = code_ids.get(guid)
            if code_id is None or start >= end:
                result.codings_skipped += 1
                continue
            key = (code_id, start, end)
            if key in made:  # several REFI users coded the same span alike: one coding, memos merged
                made[key][1].extend(memo for memo in memo_texts if memo not in made[key][1])
                continue
            row = Coding(
                id=uuid.uuid4(),
                project_id=project_id,
                interview_id=interview_id,
                transcript_version_id=version_id,
                code_id=code_id,
                coder_id=ctx.actor.user_id,
                start=start,
                end=end,
                span_hash=coding.span_hash(ctx.runtime.keys, project_id, text[start:end]),
                codebook_version=result.codebook_version,
                status=CodingStatus.ACTIVE.value,
                origin=CodingOrigin.CODER.value,
            )
            made[key] = (row, list(memo_texts))
    for row, memo_texts in made.values():
        if memo_texts:
            cipher.write(row, "memo", EncryptedText("\n\n".join(memo_texts)[:MAX_MEMO]))
            result.memos_imported += 1
        ctx.session.add(row)
        result.codings_imported += 1
    ctx.session.flush()
    if made:
        ctx.audit("coding.import", object_type="interview", object_id=interview_id, project_id=project_id)


def _register() -> None:
    registry.register(
        "codebook",
        "qdc",
        build_qdc,
        media_type=QDC_MEDIA_TYPE,
        description="The codebook as a REFI-QDA codebook (.qdc) for NVivo, ATLAS.ti, MAXQDA, QualCoder.",
    )
    registry.register(
        "project",
        "qdpx",
        build_qdpx,
        media_type=QDPX_MEDIA_TYPE,
        description="Codebook, pseudonymised approved transcripts, codings and memos as a REFI-QDA project.",
    )


_register()
