"""Files we refuse: each problem gets its code and a 4xx status, and nothing but IngestError escapes."""

from __future__ import annotations

import io
import json
import random
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from app.errors import PayloadTooLargeError
from app.ingest.errors import FileTooLargeError, IngestError
from app.ingest.formats import EXTENSIONS, ParsedTranscript, parse
from tests.ingest.support import MAX, fixture, rezip

DOCUMENTS = {
    "docx": fixture("interview.docx"),
    "odt": fixture("interview.odt"),
    "pdf": fixture("interview.pdf"),
}


def _problem(data: bytes, name: str, max_bytes: int = MAX) -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse(data, name, max_bytes=max_bytes)
    assert 400 <= caught.value.status_code < 500
    assert caught.value.message
    return caught.value


def test_a_file_over_the_limit_is_413_before_parsing() -> None:
    error = _problem(b"\x00" * 1001, "x.docx", max_bytes=1000)
    assert error.problem == "too_large"
    assert error.status_code == 413
    assert isinstance(error, FileTooLargeError)
    assert isinstance(error, PayloadTooLargeError)


@pytest.mark.parametrize("name", ["transcript.rtf", "transcript", "transcript.docm", "x.exe"])
def test_unsupported_extensions_are_refused(name: str) -> None:
    error = _problem(b"hello", name)
    assert (error.problem, error.status_code) == ("unsupported", 415)


@pytest.mark.parametrize("extension", EXTENSIONS)
@pytest.mark.parametrize("data", [b"", b"   \n\n  "])
def test_empty_files_are_refused(extension: str, data: bytes) -> None:
    assert _problem(data, f"x.{extension}").problem == "empty"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("x.txt", "Interviewer:   \n\u200b\u202e\n"),
        ("x.md", "**Interviewer:**\n"),
        ("x.vtt", "WEBVTT\n\nNOTE nothing here\n"),
        ("x.srt", "1\n00:00:01,000 --> 00:00:02,000\n<i> </i>\n"),
        ("x.json", '{"segments": []}'),
        ("x.json", '[{"text": "  "}]'),
    ],
)
def test_files_without_text_are_empty(name: str, data: str) -> None:
    assert _problem(data.encode(), name).problem == "empty"


def test_documents_without_text_are_empty() -> None:
    document = fixture("interview.docx")
    blank_body = rezip(
        document,
        transform=lambda name, content: (
            content.split(b"<w:body>")[0] + b"<w:body><w:p/></w:body></w:document>"
            if name == "word/document.xml"
            else content
        ),
    )
    assert _problem(blank_body, "x.docx").problem == "empty"


@pytest.mark.parametrize("extension", ["docx", "odt", "pdf"])
def test_random_bytes_are_the_wrong_type(extension: str) -> None:
    data = random.Random(7).randbytes(4000)
    assert _problem(data, f"x.{extension}").problem == "wrong_type"


@pytest.mark.parametrize(
    ("extension", "other"), [("docx", "odt"), ("odt", "docx"), ("docx", "pdf"), ("pdf", "odt")]
)
def test_a_document_named_as_another_format_is_the_wrong_type(extension: str, other: str) -> None:
    assert _problem(DOCUMENTS[other], f"x.{extension}").problem == "wrong_type"


@pytest.mark.parametrize("extension", ["txt", "md", "vtt", "srt", "json"])
def test_a_binary_document_named_as_text_is_the_wrong_type(extension: str) -> None:
    assert _problem(DOCUMENTS["docx"], f"x.{extension}").problem == "wrong_type"


@pytest.mark.parametrize("extension", ["docx", "odt"])
def test_a_zip_that_is_not_a_document_is_the_wrong_type(extension: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "Interviewer: hello")
    assert _problem(out.getvalue(), f"x.{extension}").problem == "wrong_type"


@pytest.mark.parametrize("extension", ["docx", "odt", "pdf"])
def test_truncated_documents_are_corrupt(extension: str) -> None:
    data = DOCUMENTS[extension]
    assert _problem(data[: len(data) // 2], f"x.{extension}").problem == "corrupt"


def test_a_zip_asking_for_an_unknown_zip_version_is_corrupt() -> None:
    data = bytearray(DOCUMENTS["docx"])
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 0xFF  # "version needed to extract" of the first central directory entry
    assert _problem(bytes(data), "x.docx").problem == "corrupt"


def test_damaged_xml_in_a_docx_is_corrupt() -> None:
    data = rezip(DOCUMENTS["docx"], replace={"word/document.xml": b"<w:document><w:body>"})
    assert _problem(data, "x.docx").problem == "corrupt"


@pytest.mark.parametrize("extension", ["docx", "odt"])
def test_xml_with_a_dtd_is_refused_so_entities_never_expand(extension: str) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY ext SYSTEM "file:///etc/passwd">]><d>&b;&ext;</d>'
    )
    member = "word/document.xml" if extension == "docx" else "content.xml"
    data = rezip(DOCUMENTS[extension], replace={member: bomb})
    assert _problem(data, f"x.{extension}").problem == "corrupt"


def test_a_password_protected_docx_is_encrypted() -> None:
    # Word saves a password-protected .docx as a CFB (OLE) container with an EncryptionInfo stream.
    cfb = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(512)
    assert _problem(cfb, "x.docx").problem == "encrypted"
    old_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)
    assert _problem(old_doc, "x.docx").problem == "wrong_type"


def test_a_password_protected_odt_is_encrypted() -> None:
    def encrypt_manifest(name: str, content: bytes) -> bytes:
        if name != "META-INF/manifest.xml":
            return content
        return content.replace(
            b'manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
            b'manifest:full-path="content.xml" manifest:media-type="text/xml" manifest:size="15739">'
            b'<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA">'
            b'<manifest:algorithm manifest:algorithm-name="Blowfish CFB"'
            b' manifest:initialisation-vector="AA"/>'
            b"</manifest:encryption-data></manifest:file-entry>",
        )

    data = rezip(DOCUMENTS["odt"], transform=encrypt_manifest)
    assert b"encryption-data" in zipfile.ZipFile(io.BytesIO(data)).read("META-INF/manifest.xml")
    assert _problem(data, "x.odt").problem == "encrypted"


@pytest.mark.parametrize("user_password", ["", "secret"])
def test_an_encrypted_pdf_is_refused(user_password: str) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(DOCUMENTS["pdf"]))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert _problem(out.getvalue(), "x.pdf").problem == "encrypted"


def test_a_docx_with_a_vba_project_is_refused_for_macros() -> None:
    def macro_enabled(name: str, content: bytes) -> bytes:
        if name != "[Content_Types].xml":
            return content
        main = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
        assert main in content
        return content.replace(main, b"application/vnd.ms-word.document.macroEnabled.main+xml")

    assert _problem(rezip(DOCUMENTS["docx"], transform=macro_enabled), "x.docm.docx").problem == "macros"
    with_vba = rezip(DOCUMENTS["docx"], add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 vba"})
    assert _problem(with_vba, "x.docx").problem == "macros"


def test_an_odt_with_basic_scripts_is_refused_for_macros() -> None:
    data = rezip(DOCUMENTS["odt"], add={"Basic/Standard/Module1.xml": b"<script/>"})
    assert _problem(data, "x.odt").problem == "macros"


def _bomb(member: str, size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", fixture_member("[Content_Types].xml"))
        with archive.open(member, "w") as target:
            chunk = bytes(1024 * 1024)
            for _ in range(size // len(chunk)):
                target.write(chunk)
    return out.getvalue()


def fixture_member(name: str) -> bytes:
    """One member of the docx fixture."""
    return zipfile.ZipFile(io.BytesIO(DOCUMENTS["docx"])).read(name)


def test_a_zip_bomb_is_refused_before_anything_is_decompressed() -> None:
    data = _bomb("word/document.xml", 200 * 1024 * 1024)
    assert len(data) < 1024 * 1024
    assert _problem(data, "x.docx").problem == "zip_bomb"


def test_a_zip_with_thousands_of_members_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        for number in range(5000):
            archive.writestr(f"p/{number}", b"")
    assert _problem(out.getvalue(), "x.odt").problem == "zip_bomb"


@pytest.mark.parametrize("extension", ["txt", "md", "vtt", "srt", "json"])
def test_text_that_is_not_utf8_is_the_wrong_type(extension: str) -> None:
    assert _problem("Interviewer: Привет".encode("cp1251"), f"x.{extension}").problem == "wrong_type"


@pytest.mark.parametrize("extension", ["txt", "md", "vtt", "srt", "json"])
def test_text_with_nul_bytes_is_the_wrong_type(extension: str) -> None:
    assert _problem(b"WEBVTT\n\nInterviewer: hi\x00there", f"x.{extension}").problem == "wrong_type"


def test_vtt_needs_its_header_and_well_formed_timings() -> None:
    assert _problem(b"00:00:01.000 --> 00:00:02.000\nhello\n", "x.vtt").problem == "wrong_type"
    bad_timing = b"WEBVTT\n\n00:00:01.000 --> soon\nhello\n"
    assert _problem(bad_timing, "x.vtt").problem == "corrupt"


def test_srt_needs_cues() -> None:
    assert _problem(b"Interviewer: hello\n", "x.srt").problem == "wrong_type"
    assert _problem(b"1\n00:00:xx,000 --> 00:00:02,000\nhello\n", "x.srt").problem == "corrupt"


@pytest.mark.parametrize(
    "document",
    [
        "not json at all",
        '{"text": "no segments"}',
        '{"segments": {"0": {"text": "x"}}}',
        '{"segments": [{"start": 0}]}',
        '{"segments": ["text"]}',
        '{"segments": [{"text": 5}]}',
        '{"segments": [{"text": "x", "start": "0:01"}]}',
        '{"segments": [{"text": "x", "start": -1}]}',
        '{"segments": [{"text": "x", "start": NaN}]}',
        '{"segments": [{"text": "x", "end": 1e999}]}',
        '{"segments": [{"text": "x", "speaker": ["a"]}]}',
        '"just a string"',
    ],
)
def test_json_of_the_wrong_shape_is_the_wrong_type(document: str) -> None:
    assert _problem(document.encode(), "x.json").problem == "wrong_type"


def test_deeply_nested_json_is_refused_without_recursing() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert _problem(deep.encode(), "x.json").problem == "corrupt"
    nested_segment = json.dumps({"segments": [{"text": "x", "extra": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}]})
    assert _problem(nested_segment.encode(), "x.json").problem == "corrupt"


def test_brackets_inside_json_strings_do_not_count_as_nesting() -> None:
    data = json.dumps({"segments": [{"text": "[[[[" * 50 + " quoted"}]}).encode()
    assert parse(data, "x.json", max_bytes=MAX).turns[0].text.endswith("quoted")


def _never_escapes(data: bytes, name: str) -> None:
    status = 200
    try:
        result = parse(data, name, max_bytes=MAX)
    except IngestError as error:
        status = error.status_code
    assert status == 200 or 400 <= status < 500
    if status == 200:
        assert isinstance(result, ParsedTranscript)
        assert result.turns
        spans = result.layout()
        assert [result.text[start:end] for start, end in spans] == [turn.text for turn in result.turns]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), extension=st.sampled_from(EXTENSIONS))
def test_arbitrary_bytes_raise_nothing_but_ingest_error(data: bytes, extension: str) -> None:
    _never_escapes(data, f"x.{extension}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=500), extension=st.sampled_from(["txt", "md", "vtt", "srt", "json"]))
def test_arbitrary_text_raises_nothing_but_ingest_error(text: str, extension: str) -> None:
    _never_escapes(text.encode("utf-8", "surrogatepass"), f"x.{extension}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extension=st.sampled_from(["docx", "odt", "pdf", "srt", "vtt", "json"]),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_damaged_real_files_raise_nothing_but_ingest_error(
    extension: str, flips: list[tuple[float, int]]
) -> None:
    source = {
        "srt": fixture("interview.srt"),
        "vtt": fixture("interview.vtt"),
        "json": fixture("interview.diarised.json"),
    }.get(extension) or DOCUMENTS[extension]
    data = bytearray(source)
    for where, value in flips:
        data[int(where * len(data))] = value
    _never_escapes(bytes(data), f"x.{extension}")
