"""Security test 1, widened: canaries sent through the public API surface in no artefact an attacker can take.

A fresh installation (`harbour init`: file database, keys in the data directory) is driven over HTTP through
the whole flow: interviewers register people with a canary in every identity field and consent evidence,
upload transcripts naming them, approve them; coders read, search, code with memos, complete incident
mentions and incidents with free text, and download every de-identified export; an auditor reads and
verifies the log. Then these are scanned with tests/security/canaries.py (every encoding, inside every
compressed stream): the data directory (the SQLite database, -wal and -shm while the app's connections are
open and again after; the key store), a dump of the database (SQLite `iterdump`, PostgreSQL `pg_dump`), the
temporary directory of the run (TMPDIR points at a folder of the test's own: uploads stay in memory), every
log record of every logger and everything written to stdout and stderr, the audit entries as the auditor
reads them, and every error body. 0 hits, and 0 artefacts holding a pseudonym next to its person's name.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from app.projects import service as projects
from app.settings import Settings
from tests.cli_support import Harbour
from tests.keys.helpers import pg_dump
from tests.security.canaries import canary, files, hits, needles
from tests.security.flow import Site, add_users, serve

SCRIPTS: tuple[tuple[str, Literal["NFC", "NFD"]], ...] = (
    ("latin", "NFC"),
    ("cyrillic", "NFD"),
    ("arabic", "NFC"),
    ("cjk", "NFD"),
)
TABULAR = ("incidents", "reprisals", "persons", "summary", "codings", "code-frequencies", "code-cooccurrence")


@dataclass
class Planted:
    """The canaries sent in, by what may legitimately show them."""

    identity: list[str] = field(default_factory=list)  # sealed at rest; in no export, log or coder view
    testimony: list[str] = field(default_factory=list)  # sealed at rest; coders read it pseudonymised
    analysis: list[str] = field(default_factory=list)  # memos, incident free text: sealed; no tabular export
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (pseudonym, legal name)


def _ok(response: object, status: int = 200) -> None:
    code = getattr(response, "status_code", None)
    assert code == status, getattr(response, "text", "")


def _register(site: Site, project_id: str, planted: Planted) -> list[tuple[str, str, str, str]]:
    """Register one person per script over the API; returns (person id, pseudonym, given, family)."""
    people = []
    for script, form in SCRIPTS:
        given, family = canary(script, "Given", form), canary(script, "Family", form)
        alias, translit = canary(script, "Alias", form), canary(script, "Translit", form)
        contact, place, note = (canary(script, f, form) for f in ("Contact", "Place", "Note"))
        legal = f"{given} {family}"
        response = site.call(
            "interviewer",
            "POST",
            f"/api/v1/projects/{project_id}/persons",
            json={
                "legal_name": legal,
                "aliases": [alias],
                "transliterations": [translit],
                "contacts": contact,
                "locations": place,
                "notes": note,
                "birth_date": "1981-02-03",
            },
        )
        _ok(response, 201)
        person = response.json()["person"]
        planted.identity += [legal, given, family, alias, translit, contact, place, note]
        planted.pairs.append((person["pseudonym"], legal))
        evidence = canary(script, "Evidence", form)
        planted.identity.append(evidence)
        consent = site.call(
            "interviewer",
            "POST",
            f"/api/v1/persons/{person['id']}/consents",
            json={
                "info_sheet_version": "v1",
                "recorded_on": "2025-03-02",
                "scopes": ["participate"],
                "evidence": evidence,
            },
        )
        _ok(consent, 201)
        identity = site.call(
            "interviewer",
            "GET",
            f"/api/v1/persons/{person['id']}/identity",
            params={"purpose": "verification"},
        )
        _ok(identity)
        assert identity.json()["legal_name"] == legal
        people.append((person["id"], person["pseudonym"], given, family))
    return people


def _interview(
    site: Site, project_id: str, person: tuple[str, str, str, str], planted: Planted, n: int
) -> str:
    """Create, upload and approve one interview naming the person; returns its id."""
    person_id, _, given, family = person
    script, form = SCRIPTS[n]
    words = [canary(script, "Text", form) for _ in range(3)]
    planted.testimony += words
    created = site.call(
        "interviewer",
        "POST",
        f"/api/v1/projects/{project_id}/interviews",
        json={
            "interviewee_person_id": person_id,
            "interview_month": "2025-03",
            "mode": "in_person",
            "languages": ["ru"],
        },
    )
    _ok(created, 201)
    interview_id = str(created.json()["id"])
    transcript = (
        f"Interviewer: Tell me about {words[0]}.\n\n"
        f"{given} {family}: My name is {given} {family}. {words[1]} and then they took my passport at the "
        f"border.\n\n"
        f"Interviewer: And your family?\n\n"
        f"{given} {family}: My brother was questioned twice. {words[2]}. Call me at +998 90 123 45 67.\n"
    )
    filename = canary(script, "file", form) + ".txt"
    planted.identity.append(filename.removesuffix(".txt"))
    upload = site.call(
        "interviewer",
        "POST",
        f"/api/v1/interviews/{interview_id}/transcripts",
        files={"file": (filename, transcript.encode("utf-8"), "application/octet-stream")},
    )
    _ok(upload, 201)
    flags = site.call("interviewer", "GET", f"/api/v1/interviews/{interview_id}/flags")
    _ok(flags)
    for flag in flags.json():
        decided = site.call(
            "interviewer",
            "POST",
            f"/api/v1/interviews/{interview_id}/flags/{flag['id']}",
            json={"decision": "redact"},
        )
        _ok(decided)
    _ok(site.call("interviewer", "POST", f"/api/v1/interviews/{interview_id}/transcripts/latest/approve"))
    _ok(site.call("interviewer", "GET", f"/api/v1/interviews/{interview_id}/transcripts/latest/identified"))
    return interview_id


def _code(
    site: Site, project_id: str, interview_id: str, codes: dict[str, str], planted: Planted, n: int
) -> None:
    """Code the interview with memos, complete its incident mentions and incidents with free text."""
    script, form = SCRIPTS[n]
    text = site.call("coder", "GET", f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised")
    _ok(text)
    full = text.json()["text"]
    for phrase, mnemonic in (("they took my passport at the border", "C3"), ("questioned twice", "E1")):
        memo = canary(script, "Memo", form)
        planted.analysis.append(memo)
        start = full.index(phrase)
        made = site.call(
            "coder",
            "POST",
            f"/api/v1/interviews/{interview_id}/codings",
            json={"start": start, "end": start + len(phrase), "code_ids": [codes[mnemonic]], "memo": memo},
        )
        _ok(made, 201)
    mentions = site.call(
        "coder",
        "GET",
        f"/api/v1/projects/{project_id}/incident-mentions",
        params={"interview_id": interview_id},
    )
    _ok(mentions)
    for mention in mentions.json():
        onset = canary(script, "Onset", form) + " in March 2024"
        planted.analysis.append(onset.removesuffix(" in March 2024"))
        _ok(
            site.call(
                "coder",
                "PATCH",
                f"/api/v1/incident-mentions/{mention['id']}",
                json={"onset_phrase": onset, "locus_state": "TR"},
            )
        )
        path = "incident" if mention["kind"] == "incident" else "reprisal"
        clustered = site.call("coder", "POST", f"/api/v1/incident-mentions/{mention['id']}/{path}", json={})
        _ok(clustered, 201)
        if path == "incident":
            summary = canary(script, "Summary", form)
            planted.analysis.append(summary)
            _ok(
                site.call(
                    "coder", "PATCH", f"/api/v1/incidents/{clustered.json()['id']}", json={"summary": summary}
                )
            )


def _exports(site: Site, project_id: str, codes: dict[str, str]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every de-identified export: (tabular files without free text, files carrying pseudonymised text)."""
    tabular: dict[str, bytes] = {}
    textual: dict[str, bytes] = {}
    for kind in TABULAR:
        for fmt in ("csv", "xlsx"):
            response = site.call("coder", "GET", f"/api/v1/projects/{project_id}/exports/{kind}?format={fmt}")
            _ok(response)
            tabular[f"{kind}.{fmt}"] = response.content
    for name, url in (
        ("project.qdpx", f"/api/v1/projects/{project_id}/project.qdpx"),
        ("codebook.qdc", f"/api/v1/projects/{project_id}/codebook.qdc"),
        ("segments.csv", f"/api/v1/projects/{project_id}/reports/codes/{codes['C3']}/segments/download"),
    ):
        response = site.call("coder", "GET", url)
        _ok(response)
        textual[name] = response.content
    assert zip_members(textual["project.qdpx"]) > 0
    return tabular, textual


def zip_members(data: bytes) -> int:
    """How many members a zip archive has (0 if it is none)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return len(archive.namelist())
    except zipfile.BadZipFile:
        return 0


def _dump(settings: Settings, out: Path) -> bytes:
    """A plain SQL dump of the installation's database."""
    if settings.is_sqlite:
        with sqlite3.connect(settings.data_dir / "harbour.db") as connection:
            return "\n".join(connection.iterdump()).encode("utf-8")
    return pg_dump(settings.sqlalchemy_url, out).read_bytes()


def _pairs_side_by_side(artefacts: dict[str, bytes], pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(artefact, pseudonym) where a pseudonym and its person's name are both present in any form."""
    found = []
    for pseudonym, legal in pairs:
        name_forms = needles(legal)
        for name, content in artefacts.items():
            if pseudonym.encode() in content and any(needle in content for needle in name_forms):
                found.append((name, pseudonym))
    return found


def test_canaries_sent_through_the_api_appear_in_no_artefact(
    harbour: Harbour,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the module caches the directory it found
    caplog.set_level(logging.DEBUG)
    for name in ("harbour", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine"):
        caplog.set_level(logging.DEBUG, logger=name)
    assert harbour("init").code == 0
    assert harbour("projects", "add", "canary").code == 0
    roles = {"interviewer": "interviewer", "coder": "coder", "auditor": "auditor"}
    add_users(harbour, "canary", roles)
    settings = Settings()
    with harbour.context() as ctx:
        project_id = str(projects.get_by_name_or_raise(ctx.session, name="canary").id)
    planted = Planted()
    responses: dict[str, bytes] = {}
    with serve(settings, list(roles)) as site:
        _ok(site.call("interviewer", "GET", "/api/v1/auth/me"))
        codebook = site.call("coder", "GET", f"/api/v1/projects/{project_id}/codebook")
        _ok(codebook)
        codes = {code["mnemonic"]: code["id"] for code in codebook.json()["codes"]}
        people = _register(site, project_id, planted)
        for n, person in enumerate(people):
            interview_id = _interview(site, project_id, person, planted, n)
            _code(site, project_id, interview_id, codes, planted, n)
        found = 0
        for word in planted.testimony:
            search = site.call("coder", "GET", "/api/v1/search", params={"q": word})
            _ok(search)
            found += len(search.json())
            responses[f"search {word}"] = search.content
        assert found > 0  # the words were searchable, so the scan below had real tokens to miss
        listing = site.call("coder", "GET", f"/api/v1/projects/{project_id}/persons")
        _ok(listing)
        responses["coder persons"] = listing.content
        for bad in (f"/api/v1/persons/{uuid.uuid4()}", "/api/v1/persons/not-a-uuid"):
            responses[f"error {bad}"] = site.call("coder", "GET", bad).content
        tabular, textual = _exports(site, project_id, codes)
        events = site.call("auditor", "GET", "/api/v1/audit/events", params={"limit": 500})
        _ok(events)
        verified = site.call("auditor", "GET", "/api/v1/audit/verify")
        _ok(verified)
        assert verified.json()["ok"] is True
        responses["audit events"] = events.content
        open_artefacts = files(settings.data_dir)
        if settings.is_sqlite:
            assert len(open_artefacts["harbour.db-wal"]) > 0
            assert "harbour.db-shm" in open_artefacts
    closed_artefacts = files(settings.data_dir)
    closed_artefacts["dump.sql"] = _dump(settings, tmp_path / "dump.sql")
    captured = capsys.readouterr()
    logs = {
        "log records": "\n".join(
            f"{record.name} {record.getMessage()} {record.args!r} {record.exc_text or ''}"
            for record in caplog.records
        ).encode("utf-8"),
        "stdout": captured.out.encode("utf-8"),
        "stderr": captured.err.encode("utf-8"),
    }
    temporary = files(scratch)
    everything = planted.identity + planted.testimony + planted.analysis
    stored = {f"open/{k}": v for k, v in open_artefacts.items()} | {
        f"closed/{k}": v for k, v in closed_artefacts.items()
    }
    # The scan sees the rows: every pseudonym is in the database and its dump, in clear.
    assert all(pseudonym.encode() in closed_artefacts["dump.sql"] for pseudonym, _ in planted.pairs)
    assert len(caplog.records) > 0
    assert hits(stored, everything) == []
    assert hits(logs, everything) == []
    assert temporary == {} or hits(temporary, everything) == []
    assert hits(responses, planted.identity + planted.analysis) == []
    assert hits(tabular, everything) == []
    assert hits(textual, planted.identity) == []
    assert any(
        word.encode() in textual["project.qdpx"] or hits({"q": textual["project.qdpx"]}, [word])
        for word in planted.testimony
    )  # pseudonymised text is in the project export, by design
    artefacts = stored | logs | temporary | responses | tabular | textual
    assert _pairs_side_by_side(artefacts, planted.pairs) == []
