"""Body text of word-processor files and PDFs, and nothing else: the metadata never leaves the container.

Threat: an uploaded document carries more than its visible text. Author and editor names, comments,
deleted text kept by track changes, headers and footers, footnotes, hidden text and fields that print the
author's name would reach the coders with the transcript, and some of them name the interviewee or the
interviewer. A hostile or damaged file can also attack the reader: zip bombs, XML entity expansion and
external entities, macros, password-protected containers we cannot inspect.

So we read the containers ourselves, in memory, and pick only the body text:
- zip containers are checked before anything is decompressed (member count, declared total size,
  per-member compression ratio, only stored/deflate members, no duplicate names, no encrypted members)
  and every read is capped; nothing is extracted to disk;
- XML is parsed with defusedxml and DTDs forbidden (an office file never needs one);
- DOCX: only the main document part; tracked changes read as if accepted (insertions kept, deletions and
  moved-from text dropped), comments, headers, footers, footnotes, endnotes, hidden text (w:vanish) and
  field codes dropped, and the results of fields that print document properties (AUTHOR, USERNAME, ...)
  dropped; docProps/* is never opened. A deleted paragraph mark is not merged into the next paragraph.
- ODT: only office:body of content.xml; the text:tracked-changes region (where deletions live),
  annotations, notes and author/sender fields dropped; meta.xml is never opened.
- PDF: pypdf's text of each page; the information dictionary and XMP metadata are never read. Running
  headers and footers (a first or last line repeated on most pages of a 3+ page file, page numbers
  aside) are dropped. A PDF is what was printed: printed comments, tracked changes or footnotes, and a
  header on a short file, are page text and stay.
Password-protected files (an OOXML file encrypted by Word is a CFB container, not a zip; an ODF file with
encryption-data in its manifest; an encrypted PDF, even one with an empty user password) and files with
macros (vbaProject.bin, macro-enabled content types, ODF Basic/ and Scripts/) are refused.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections import Counter
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pypdf import PdfReader

from app.ingest.errors import FileTooLargeError, IngestError

__all__ = [
    "MAX_MEMBER_BYTES",
    "MAX_PDF_PAGES",
    "MAX_RATIO",
    "MAX_TEXT_CHARS",
    "MAX_TOTAL_BYTES",
    "MAX_ZIP_MEMBERS",
    "docx_paragraphs",
    "odt_paragraphs",
    "pdf_pages",
]

MAX_ZIP_MEMBERS = 2000
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # declared uncompressed size of all members (images are never read)
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one XML part we do read
MAX_RATIO = 200  # uncompressed / compressed, for members above 1 MiB (office XML compresses ~5-20x)
_RATIO_FLOOR = 1024 * 1024
MAX_PDF_PAGES = 5000
MAX_TEXT_CHARS = 20_000_000

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_MANIFEST = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"

_DOCX_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
}
_OFFICE_DOCUMENT_REL = "/officeDocument"
_ODT_MIMETYPES = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.text-template",
}

# Fields whose result is a document property or the user's name: dropped like the properties themselves.
_METADATA_FIELDS = frozenset(
    [
        "AUTHOR",
        "LASTSAVEDBY",
        "USERNAME",
        "USERINITIALS",
        "USERADDRESS",
        "COMMENTS",
        "KEYWORDS",
        "SUBJECT",
        "TITLE",
        "DOCPROPERTY",
        "INFO",
        "TEMPLATE",
        "FILENAME",
    ]
)


def _corrupt(kind: str) -> IngestError:
    return IngestError("corrupt", f"The {kind} file is damaged and cannot be read.")


# ---------------------------------------------------------------------------------------------- zip


def _open_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """Open a zip container after checking it cannot expand beyond our limits."""
    if data.startswith(_CFB_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise IngestError(
                "encrypted",
                f"The {kind} file is password-protected. Save an unprotected copy and upload that.",
            )
        raise IngestError("wrong_type", f"The file is an old-style Office document, not a {kind} file.")
    if not data.startswith(_ZIP_MAGIC):
        raise IngestError("wrong_type", f"The file is not a {kind} file.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        EOFError,
        OSError,
        KeyError,
        NotImplementedError,  # "zip file version N": a header asking for a newer zip format
    ) as exc:
        raise _corrupt(kind) from exc
    if len(infos) > MAX_ZIP_MEMBERS:
        raise IngestError("zip_bomb", f"The {kind} file holds too many parts to be a document.")
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise _corrupt(kind)
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise IngestError("encrypted", f"The {kind} file is password-protected.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _corrupt(kind)
        total += info.file_size
        ratio_base = max(info.compress_size, 1)
        if total > MAX_TOTAL_BYTES or (
            info.file_size > _RATIO_FLOOR and info.file_size / ratio_base > MAX_RATIO
        ):
            raise IngestError("zip_bomb", f"The {kind} file expands far beyond its size (a zip bomb?).")
    return archive


def _read_member(archive: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """Read one member fully into memory, never past the member limit."""
    try:
        info = archive.getinfo(name)
    except KeyError as exc:
        raise _corrupt(kind) from exc
    if info.file_size > MAX_MEMBER_BYTES:
        raise IngestError("zip_bomb", f"A part of the {kind} file is too large to be document text.")
    try:
        with archive.open(info) as member:
            content = member.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _corrupt(kind) from exc
    except RuntimeError as exc:  # zipfile's "password required" for an encrypted member
        raise IngestError("encrypted", f"The {kind} file is password-protected.") from exc
    if len(content) > MAX_MEMBER_BYTES:
        raise IngestError("zip_bomb", f"A part of the {kind} file is too large to be document text.")
    return content


def _parse_xml(content: bytes, kind: str) -> Element:
    try:
        return SafeET.fromstring(content, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError, UnicodeError) as exc:
        raise _corrupt(kind) from exc


# --------------------------------------------------------------------------------------------- DOCX


def _docx_main_part(archive: zipfile.ZipFile) -> str:
    """Find the main document part, refusing macro-enabled packages."""
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names:
        raise IngestError("wrong_type", "The file is a zip archive but not a Word document.")
    types = _parse_xml(_read_member(archive, "[Content_Types].xml", "Word"), "Word")
    content_types = [
        (element.get("PartName", element.get("Extension", "")), element.get("ContentType", ""))
        for element in types
        if element.tag in (f"{_CT}Override", f"{_CT}Default")
    ]
    if any(name.lower().endswith("vbaproject.bin") for name in names) or any(
        "macroenabled" in ctype.lower() or "vbaproject" in ctype.lower() for _, ctype in content_types
    ):
        raise IngestError("macros", "The Word document contains macros. Save it as a plain .docx and retry.")
    mains = [part.lstrip("/") for part, ctype in content_types if ctype in _DOCX_MAIN_TYPES]
    if "_rels/.rels" in names:
        rels = _parse_xml(_read_member(archive, "_rels/.rels", "Word"), "Word")
        for rel in rels.iter(f"{_REL}Relationship"):
            target = rel.get("Target", "").lstrip("/")
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT_REL) and target in mains:
                return target
    if len(mains) == 1 and mains[0] in names:
        return mains[0]
    raise IngestError("wrong_type", "The file is not a Word (.docx) document.")


class _DocxText:
    """Walks w:body in document order, keeping accepted visible body text only."""

    _SKIP = frozenset(
        f"{_W}{name}"
        for name in [
            "del",
            "moveFrom",
            "delText",
            "delInstrText",
            "instrText",
            "pPr",
            "sectPr",
            "tblPr",
            "trPr",
            "tcPr",
            "tblGrid",
            "footnoteReference",
            "endnoteReference",
            "commentReference",
            "annotationRef",
        ]
    )

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self._field_stack: list[list[str]] = []  # per open complex field: instruction text pieces
        self._hidden_results = 0  # open metadata fields whose result we are inside
        self._in_result: list[bool] = []

    def walk(self, element: Element, out: list[str]) -> None:
        """Append the visible text of `element` to `out`, and finished paragraphs to self.paragraphs."""
        for child in element:
            tag = child.tag
            if tag in self._SKIP:
                if tag == f"{_W}instrText" and self._field_stack:
                    self._field_stack[-1].append(child.text or "")
                continue
            if tag == f"{_MC}AlternateContent":
                choice = child.find(f"{_MC}Choice")
                if choice is not None:
                    self.walk(choice, out)
                continue
            if tag == f"{_W}p":
                self._paragraph(child)
            elif tag == f"{_W}r":
                self._run(child, out)
            elif tag == f"{_W}fldSimple":
                if _field_name(child.get(f"{_W}instr", "")) not in _METADATA_FIELDS:
                    self.walk(child, out)
            elif tag == f"{_W}txbxContent":
                self.walk(child, [])
            else:
                self.walk(child, out)

    def _paragraph(self, paragraph: Element) -> None:
        out: list[str] = []
        self.walk(paragraph, out)
        self.paragraphs.append("".join(out))

    def _run(self, run: Element, out: list[str]) -> None:
        properties = run.find(f"{_W}rPr")
        if properties is not None and _is_on(properties.find(f"{_W}vanish")):
            return
        for child in run:
            tag = child.tag
            if tag == f"{_W}fldChar":
                self._field_char(child.get(f"{_W}fldCharType", ""))
            elif tag == f"{_W}instrText":
                if self._field_stack:
                    self._field_stack[-1].append(child.text or "")
            elif self._hidden_results:
                continue
            elif tag == f"{_W}t":
                out.append(child.text or "")
            elif tag == f"{_W}tab":
                out.append("\t")
            elif tag in (f"{_W}br", f"{_W}cr"):
                out.append("\n")
            elif tag == f"{_W}noBreakHyphen":
                out.append("-")
            elif tag == f"{_MC}AlternateContent" or tag in (f"{_W}drawing", f"{_W}pict", f"{_W}object"):
                self.walk(child, out)

    def _field_char(self, kind: str) -> None:
        if kind == "begin":
            self._field_stack.append([])
            self._in_result.append(False)
        elif kind == "separate" and self._field_stack:
            hidden = _field_name("".join(self._field_stack[-1])) in _METADATA_FIELDS
            if hidden and not self._in_result[-1]:
                self._hidden_results += 1
            self._in_result[-1] = hidden
        elif kind == "end" and self._field_stack:
            self._field_stack.pop()
            if self._in_result.pop():
                self._hidden_results -= 1


def _field_name(instruction: str) -> str:
    words = instruction.split()
    return words[0].upper() if words else ""


def _is_on(flag: Element | None) -> bool:
    if flag is None:
        return False
    return flag.get(f"{_W}val", "true").lower() not in ("false", "0", "off", "none")


def docx_paragraphs(data: bytes) -> list[str]:
    """The accepted body paragraphs of a .docx file, in document order."""
    archive = _open_zip(data, "Word")
    root = _parse_xml(_read_member(archive, _docx_main_part(archive), "Word"), "Word")
    body = root.find(f"{_W}body")
    if root.tag != f"{_W}document" or body is None:
        raise _corrupt("Word")
    walker = _DocxText()
    walker.walk(body, [])
    return walker.paragraphs


# ---------------------------------------------------------------------------------------------- ODT

_ODT_DROP = frozenset(
    {
        f"{_TEXT}tracked-changes",
        f"{_OFFICE}annotation",
        f"{_OFFICE}annotation-end",
        f"{_TEXT}note",
        f"{_TEXT}author-name",
        f"{_TEXT}author-initials",
        f"{_TEXT}initial-creator",
        f"{_TEXT}creator",
        f"{_TEXT}creation-date",
        f"{_TEXT}creation-time",
        f"{_TEXT}description",
        f"{_TEXT}keywords",
        f"{_TEXT}subject",
        f"{_TEXT}title",
        f"{_TEXT}user-defined",
        f"{_TEXT}editing-cycles",
        f"{_TEXT}file-name",
        f"{_TEXT}template-name",
        f"{_TEXT}sequence-decls",
        f"{_TEXT}variable-decls",
        f"{_TEXT}user-field-decls",
        f"{_OFFICE}forms",
        f"{_TABLE}table-columns",
        f"{_TABLE}table-column",
    }
)
_ODT_SENDER = f"{_TEXT}sender-"


def _odt_check_manifest(archive: zipfile.ZipFile) -> None:
    names = archive.namelist()
    if any(name.startswith(("Basic/", "Scripts/")) for name in names):
        raise IngestError(
            "macros", "The document contains macros or scripts. Save it without them and retry."
        )
    if "META-INF/manifest.xml" not in names:
        raise _corrupt("OpenDocument")
    manifest = _parse_xml(_read_member(archive, "META-INF/manifest.xml", "OpenDocument"), "OpenDocument")
    if manifest.find(f".//{_MANIFEST}encryption-data") is not None:
        raise IngestError(
            "encrypted", "The document is password-protected. Save an unprotected copy and upload that."
        )
    for entry in manifest.iter(f"{_MANIFEST}file-entry"):
        path = entry.get(f"{_MANIFEST}full-path", "")
        media = entry.get(f"{_MANIFEST}media-type", "")
        if path.startswith(("Basic/", "Scripts/")) or "script" in media.lower():
            raise IngestError("macros", "The document contains macros or scripts. Save it without them.")


class _OdtText:
    """Walks office:text in document order; paragraphs and headings become paragraphs."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []

    def block(self, element: Element) -> None:
        """Collect the paragraphs inside a block-level element."""
        for child in element:
            if child.tag in _ODT_DROP or child.tag.startswith(_ODT_SENDER):
                continue
            if child.tag in (f"{_TEXT}p", f"{_TEXT}h"):
                out: list[str] = []
                self.inline(child, out)
                self.paragraphs.append("".join(out))
            else:
                self.block(child)

    def inline(self, element: Element, out: list[str]) -> None:
        """Append the text of an inline element; frames inside it add their own paragraphs."""
        if element.text:
            out.append(element.text)
        for child in element:
            tag = child.tag
            if tag in _ODT_DROP or tag.startswith(_ODT_SENDER):
                pass
            elif tag == f"{_TEXT}s":
                out.append(" " * _count(child.get(f"{_TEXT}c")))
            elif tag == f"{_TEXT}tab":
                out.append("\t")
            elif tag == f"{_TEXT}line-break":
                out.append("\n")
            elif tag.startswith("{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"):
                self.block(child)
            else:
                self.inline(child, out)
            if child.tail:
                out.append(child.tail)


def _count(value: str | None) -> int:
    if value is None or not value.isdigit():
        return 1
    return max(1, min(int(value), 1000))


def odt_paragraphs(data: bytes) -> list[str]:
    """The body paragraphs of an .odt file, with tracked deletions, comments and notes dropped."""
    archive = _open_zip(data, "OpenDocument")
    names = archive.namelist()
    if not names or names[0] != "mimetype":
        if "[Content_Types].xml" in names:
            raise IngestError("wrong_type", "The file is a Word document, not an OpenDocument (.odt) file.")
        raise IngestError("wrong_type", "The file is not an OpenDocument (.odt) file.")
    mimetype = _read_member(archive, "mimetype", "OpenDocument").decode("ascii", "replace").strip()
    if mimetype not in _ODT_MIMETYPES:
        raise IngestError("wrong_type", "The file is an OpenDocument file but not a text document.")
    _odt_check_manifest(archive)
    if "content.xml" not in names:
        raise _corrupt("OpenDocument")
    root = _parse_xml(_read_member(archive, "content.xml", "OpenDocument"), "OpenDocument")
    text = root.find(f"{_OFFICE}body/{_OFFICE}text")
    if text is None:
        raise _corrupt("OpenDocument")
    if (
        root.find(f"{_OFFICE}scripts/{_OFFICE}script") is not None
        or root.find(f".//{_OFFICE}event-listeners") is not None
    ):
        raise IngestError("macros", "The document contains macros or scripts. Save it without them.")
    walker = _OdtText()
    walker.block(text)
    return walker.paragraphs


# ---------------------------------------------------------------------------------------------- PDF

_PDF_MAGIC = re.compile(rb"^\s{0,16}%PDF-")


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF, refusing encrypted files."""
    if not _PDF_MAGIC.match(data[:32]):
        raise IngestError("wrong_type", "The file is not a PDF.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise IngestError(
                "encrypted", "The PDF is encrypted. Save or print an unencrypted copy and upload that."
            )
        if len(reader.pages) > MAX_PDF_PAGES:
            raise FileTooLargeError("The PDF has too many pages.")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > MAX_TEXT_CHARS:
                raise FileTooLargeError("The PDF expands to more text than Harbour accepts.")
            pages.append(text)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on hostile input; all mean "damaged"
        raise _corrupt("PDF") from exc
    return _drop_running_lines(pages)


_DIGITS = re.compile(r"\d+")


def _drop_running_lines(pages: list[str]) -> list[str]:
    """Remove running headers and footers: a first or last line repeated on most pages (digits ignored)."""
    if len(pages) < 3:
        return pages
    split = [page.strip("\n").split("\n") for page in pages]

    def key(line: str) -> str:
        return _DIGITS.sub("#", " ".join(line.split()))

    threshold = max(3, (len(pages) + 1) // 2)
    heads = Counter(key(lines[0]) for lines in split if lines and lines[0].strip())
    tails = Counter(key(lines[-1]) for lines in split if lines and lines[-1].strip())
    running_heads = {line for line, count in heads.items() if count >= threshold}
    running_tails = {line for line, count in tails.items() if count >= threshold}
    result: list[str] = []
    for lines in split:
        if lines and key(lines[0]) in running_heads:
            lines = lines[1:]
        if lines and key(lines[-1]) in running_tails:
            lines = lines[:-1]
        result.append("\n".join(lines))
    return result
