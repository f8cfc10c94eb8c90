"""Parse an uploaded transcript into normalised speaker turns.

`parse(data, filename, max_bytes=...)` checks the size, that the content is what the extension says, and
refuses what we will not read (see `IngestError.problem`), then returns a `ParsedTranscript`: a tuple of
`Turn`s. Its `text` joins the turn texts with a blank line ("\\n\\n"); `layout()` gives each turn's
(start, end) code-point offsets in that text, which is what codings point into. Speaker labels are not
part of `text`: they live on the turns, and they can be real names, so the caller pseudonymises them too.

Everything happens in memory; nothing is written to disk. Parsing a large file is CPU work: the app runs
it in a worker thread, never on the event loop.

Normalisation (every format): NFC; CRLF, CR, U+2028 -> LF, U+2029 -> blank line; zero-width and bidi
controls (U+200B-U+200F, U+202A-U+202E, U+2060, U+2066-U+2069, U+FEFF) and other C0/C1 control
characters except tab and LF removed (they hide or reorder text, the Trojan-Source trick); trailing spaces
of each line removed, runs of blank lines collapsed to one, empty turns dropped. The text is otherwise kept
as written (no markdown stripping, no spelling changes).

Speaker turns:
- Text, Markdown, DOCX, ODT, PDF: a line "Label: text" starts a turn. Markdown emphasis around the label
  (`**Name:**`, `**Name**:`) is allowed, as is a leading "[00:01:02]" timestamp (kept as start_ms). A
  label is at most 40 characters and 4 words and starts with a letter; it counts when it is a known role
  label ("Q", "Interviewer", "Переводчик", ...), when every word is capitalised ("Farhod", "Respondent
  3"), or when it labels two or more lines. Header words ("Date:", "Место:", "Note:") never count.
  Lines without a label continue the current turn, including across blank lines: transcribers label
  each change of speaker, not each paragraph. Text before the first label is one UNKNOWN turn.
- VTT: cue payloads, `<v Name>` voice tags (several per cue allowed) or "Name:" prefixes give the
  speaker; other tags are stripped, entities unescaped; NOTE, STYLE and REGION blocks skipped. SRT: the
  same with "Name:" prefixes. A cue without a speaker continues the previous speaker (subtitles name a
  speaker when it changes). Consecutive cues of one speaker merge (texts joined by a space) keeping the
  first start and the last end.
- Whisper JSON: segment start/end seconds -> ms; "speaker" kept as the label ("SPEAKER_00" -> role
  UNKNOWN until the interviewer maps it); consecutive segments of one known speaker merge. Segments without
  a speaker stay one turn each (so their timings survive).
"""

from __future__ import annotations

import enum
import html
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.ingest import documents
from app.ingest.errors import FileTooLargeError, IngestError, Problem
from crypto.blind_index import normalise

__all__ = [
    "EXTENSIONS",
    "MAX_JSON_DEPTH",
    "FileTooLargeError",
    "IngestError",
    "ParsedTranscript",
    "Problem",
    "SpeakerRole",
    "Turn",
    "guess_role",
    "normalise_text",
    "parse",
]

MAX_JSON_DEPTH = 16
TURN_SEPARATOR = "\n\n"


class SpeakerRole(enum.StrEnum):
    """Who speaks in a turn, as far as the file tells."""

    INTERVIEWER = "interviewer"
    INTERVIEWEE = "interviewee"
    INTERPRETER = "interpreter"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Turn:
    """One speaker turn: the label as written (or None), a guessed role, its text and timing in ms."""

    speaker: str | None
    role: SpeakerRole
    text: str
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True)
class ParsedTranscript:
    """A parsed file: its format (the extension without the dot) and its non-empty turns."""

    format: str
    turns: tuple[Turn, ...]

    @property
    def text(self) -> str:
        """The full normalised text: turn texts joined by a blank line."""
        return TURN_SEPARATOR.join(turn.text for turn in self.turns)

    def layout(self) -> list[tuple[int, int]]:
        """Each turn's (start, end) code-point offsets in `text`, in order."""
        spans: list[tuple[int, int]] = []
        position = 0
        for turn in self.turns:
            spans.append((position, position + len(turn.text)))
            position += len(turn.text) + len(TURN_SEPARATOR)
        return spans


# ---------------------------------------------------------------------------------------- normalising

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_TRAILING = re.compile(r"[ \t\u00a0\u3000]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """NFC, LF line ends, no invisible or control characters (tab and LF kept); layout otherwise kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.replace("\x0b", "\n").replace("\x0c", "\n")
    text = _CONTROL.sub("", _INVISIBLE.sub("", text))
    return unicodedata.normalize("NFC", text)


def _tidy(text: str) -> str:
    """A turn's text: no trailing spaces on lines, at most one blank line in a row, no outer blank lines."""
    return _BLANK_RUNS.sub("\n\n", _TRAILING.sub("", text)).strip()


# ---------------------------------------------------------------------------------------------- roles

_INTERVIEWER_LABELS = frozenset(
    [
        "interviewer",
        "interviewers",
        "q",
        "i",
        "int",
        "question",
        "researcher",
        "interviewer(s)",
        "вопрос",
        "в",
        "интервьюер",
        "интервьюерка",
        "исследователь",
        "исследовательница",
        "savol",
        "intervyuer",
        "интервюер",
        "tadqiqotchi",
        "suhbat olib boruvchi",
    ]
)
_INTERPRETER_LABELS = frozenset(
    [
        "interpreter",
        "translator",
        "interp",
        "переводчик",
        "переводчица",
        "перевод",
        "tarjimon",
        "tarjimonlik",
        "таржимон",
        "тарҷумон",
        "tarjima",
    ]
)
_ANONYMOUS = re.compile(r"^(?:speaker|спикер|говорящий|spk|s)?[\s_#-]*\d+$|^(?:unknown|неизвестный)$")
_ROLE_LABEL_NOISE = re.compile(r"[\s.#_-]*\d*$")


def _label_key(label: str) -> str:
    return " ".join(label.casefold().replace("ʻ", "'").split()).strip(".").strip()


def guess_role(label: str | None, *, interviewer_names: Sequence[str] = ()) -> SpeakerRole:
    """Guess a speaker's role from a label; anonymous diarisation labels ("SPEAKER_00") stay UNKNOWN."""
    if label is None or not label.strip():
        return SpeakerRole.UNKNOWN
    key = _label_key(label)
    if _ANONYMOUS.match(key):
        return SpeakerRole.UNKNOWN
    base = _ROLE_LABEL_NOISE.sub("", key) or key  # "Interviewer 2", "Q." -> "interviewer", "q"
    if base in _INTERVIEWER_LABELS or key in _INTERVIEWER_LABELS:
        return SpeakerRole.INTERVIEWER
    if base in _INTERPRETER_LABELS or key in _INTERPRETER_LABELS:
        return SpeakerRole.INTERPRETER
    skeleton = set(normalise(label).split())
    for name in interviewer_names:
        parts = set(normalise(name).split())
        if skeleton and parts and skeleton <= parts:
            return SpeakerRole.INTERVIEWER
    return SpeakerRole.INTERVIEWEE


# ------------------------------------------------------------------------------------- labelled lines

_TIMESTAMP_PREFIX = r"(?:\[?(?P<ts>(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)\]?\s+)?"
_LABEL_LINE = re.compile(
    r"^\s*" + _TIMESTAMP_PREFIX + r"(?:[*_]{1,2})?(?P<label>[^\W\d_][\w .'ʻʼ’()-]{0,39}?)\s*"
    r"(?:(?:[*_]{1,2})?\s*:|:\s*[*_]{1,2})(?P<rest>(?:\s.*)?)$"
)
_NOT_SPEAKERS = frozenset(
    [
        "date",
        "time",
        "place",
        "location",
        "note",
        "notes",
        "subject",
        "re",
        "duration",
        "interview",
        "transcript",
        "project",
        "recorded",
        "language",
        "languages",
        "venue",
        "title",
        "page",
        "file",
        "tags",
        "keywords",
        "summary",
        "transcriber",
        "source",
        "http",
        "https",
        "дата",
        "время",
        "место",
        "примечание",
        "примечания",
        "тема",
        "язык",
        "продолжительность",
        "интервью",
        "расшифровка",
        "sana",
        "vaqt",
        "joy",
        "izoh",
        "mavzu",
        "til",
        "davomiyligi",
        "suhbat",
    ]
)


def _known_label(label: str) -> bool:
    key = _ROLE_LABEL_NOISE.sub("", _label_key(label)) or _label_key(label)
    return (
        key in _INTERVIEWER_LABELS or key in _INTERPRETER_LABELS or key in {"a", "answer", "ответ", "javob"}
    )


def _label_at(line: str) -> tuple[str, int, int | None] | None:
    """(label, where the rest of the line starts, timestamp ms) for a line that starts with a label."""
    match = _LABEL_LINE.match(line)
    if match is None:
        return None
    label = " ".join(match["label"].split())
    if len(label.split()) > 4 or _label_key(label) in _NOT_SPEAKERS:
        return None
    stamp = _clock_ms(match["ts"]) if match["ts"] else None
    return label, match.start("rest"), stamp


def _label_of(line: str) -> tuple[str, str, int | None] | None:
    """(label, rest of line, timestamp ms) for a line that starts with a plausible label."""
    hit = _label_at(line)
    return None if hit is None else (hit[0], line[hit[1] :].strip(), hit[2])


def _capitalised(label: str) -> bool:
    return all(word[0].isupper() or word[0].isdigit() for word in label.replace("_", " ").split())


def _segment(text: str) -> Iterator[tuple[str | None, str, int | None]]:
    """Split free text into (label, text, start_ms) turns using "Label: text" lines.

    A generator over the lines, remembering only where each label's line continues: a large file is
    held as its lines plus one turn at a time, not as several full copies.
    """
    lines = text.split("\n")
    del text
    found = [_label_at(line) for line in lines]
    counts = Counter(_label_key(hit[0]) for hit in found if hit is not None)
    speaker: str | None = None
    stamp: int | None = None
    buffer: list[str] = []
    for index, hit in enumerate(found):
        line = lines[index]
        lines[index] = ""  # released as soon as it joins its turn
        if hit is not None and (
            _known_label(hit[0]) or _capitalised(hit[0]) or counts[_label_key(hit[0])] > 1
        ):
            yield speaker, "\n".join(buffer), stamp
            speaker, start, stamp = hit
            buffer = [line[start:].strip()]
        else:
            buffer.append(line)
    yield speaker, "\n".join(buffer), stamp


def _turns(
    pieces: Iterable[tuple[str | None, str, int | None]], interviewer_names: Sequence[str]
) -> list[Turn]:
    result: list[Turn] = []
    for speaker, raw, stamp in pieces:
        text = _tidy(raw)
        if text:
            result.append(
                Turn(speaker, guess_role(speaker, interviewer_names=interviewer_names), text, stamp)
            )
    return result


# -------------------------------------------------------------------------------------------- decoding


def _decode(data: bytes, kind: str) -> str:
    """Strict UTF-8 (optional BOM) or UTF-16 with a BOM; NUL means binary."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError("wrong_type", f"The {kind} file is not UTF-8 (or UTF-16) text.") from exc
    if "\x00" in text:
        raise IngestError("wrong_type", f"The {kind} file contains binary data (NUL bytes), not text.")
    return normalise_text(text)


# ------------------------------------------------------------------------------------------- subtitles

_CLOCK = re.compile(r"^(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?$")
_CUE_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:\s+([^>]*))?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>\n]*>|<\d[\d:.]*>|\{\\[^}\n]*\}")


def _clock_ms(value: str) -> int:
    match = _CLOCK.match(value.strip())
    if match is None:
        raise ValueError("not a timestamp")
    hours, minutes, seconds, fraction = match.groups()
    millis = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def _clean_cue(text: str) -> str:
    return normalise_text(html.unescape(_TAG.sub("", text))).replace("\u00a0", " ").strip()


Piece = tuple[str | None, str, int | None, int | None]


def _cue_pieces(payload: list[str], start: int, end: int, counts: Counter[str]) -> list[Piece]:
    """Split one cue's lines into (speaker, text, start, end) by voice tags or a leading label."""
    pieces: list[Piece] = []
    speaker: str | None = None
    lines: list[str] = []
    for line in payload:
        voices = list(_VOICE.finditer(line))
        if voices:
            if lines:
                pieces.append((speaker, " ".join(lines), start, end))
                lines = []
            for index, voice in enumerate(voices):
                following = voices[index + 1].start() if index + 1 < len(voices) else len(line)
                if index > 0 and lines:
                    pieces.append((speaker, " ".join(lines), start, end))
                    lines = []
                speaker = " ".join((voice[1] or "").split()) or None
                lines.append(line[voice.end() : following])
            continue
        hit = _label_of(_clean_cue(line))
        if hit is not None and (
            _known_label(hit[0]) or _capitalised(hit[0]) or counts[_label_key(hit[0])] > 1
        ):
            if lines:
                pieces.append((speaker, " ".join(lines), start, end))
            speaker, rest, _ = hit
            lines = [rest]
        else:
            lines.append(line)
    if lines:
        pieces.append((speaker, " ".join(lines), start, end))
    return [(who, _clean_cue(text), s, e) for who, text, s, e in pieces]


def _label_counts(lines: Sequence[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in lines:
        hit = _label_of(_clean_cue(line))
        if hit is not None:
            counts[_label_key(hit[0])] += 1
    return counts


def _merge(pieces: Sequence[Piece], interviewer_names: Sequence[str], *, carry: bool) -> list[Turn]:
    """Merge consecutive pieces of one speaker; with `carry`, unlabeled pieces continue the last speaker."""
    merged: list[list[Any]] = []
    current: str | None = None
    for speaker, text, start, end in pieces:
        if not text:
            continue
        who = speaker if speaker is not None or not carry else current
        current = who
        if merged and who is not None and merged[-1][0] == who:
            merged[-1][1].append(text)
            merged[-1][3] = end if end is not None else merged[-1][3]
        else:
            merged.append([who, [text], start, end])
    turns: list[Turn] = []
    for who, texts, start, end in merged:
        text = _tidy(" ".join(texts))
        if text:
            turns.append(Turn(who, guess_role(who, interviewer_names=interviewer_names), text, start, end))
    return turns


def _cues(blocks: Sequence[str], kind: str) -> list[tuple[int, int, list[str]]]:
    cues: list[tuple[int, int, list[str]]] = []
    for block in blocks:
        lines = block.split("\n")
        timing = next((index for index, line in enumerate(lines[:2]) if "-->" in line), None)
        if timing is None:
            continue
        match = _CUE_TIMING.match(lines[timing])
        try:
            if match is None:
                raise ValueError("no timing")
            start, end = _clock_ms(match[1]), _clock_ms(match[2])
        except ValueError as exc:
            raise IngestError("corrupt", f"The {kind} file has a malformed cue timing line.") from exc
        cues.append((start, end, lines[timing + 1 :]))
    return cues


def _blocks(text: str) -> list[str]:
    text = _TRAILING.sub("", text).strip("\n")
    return [block for block in re.split(r"\n{2,}", text) if block.strip()]


def _parse_vtt(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    text = _decode(data, "WebVTT")
    if not re.match(r"WEBVTT(?:[ \t\n]|$)", text):
        raise IngestError("wrong_type", "The file does not start with WEBVTT, so it is not a WebVTT file.")
    blocks = _blocks(text)[1:]
    blocks = [block for block in blocks if not re.match(r"(?:NOTE|STYLE|REGION)(?:[ \t\n]|$)", block)]
    cues = _cues(blocks, "WebVTT")
    counts = _label_counts([line for _, _, payload in cues for line in payload])
    pieces = [piece for start, end, payload in cues for piece in _cue_pieces(payload, start, end, counts)]
    return _merge(pieces, interviewer_names, carry=True)


def _parse_srt(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    text = _decode(data, "SubRip")
    blocks = _blocks(text)
    cues = _cues(blocks, "SubRip")
    if not cues:
        if not text.strip():
            return []
        raise IngestError("wrong_type", "The file has no subtitle cues, so it is not an SRT file.")
    counts = _label_counts([line for _, _, payload in cues for line in payload])
    pieces = [piece for start, end, payload in cues for piece in _cue_pieces(payload, start, end, counts)]
    return _merge(pieces, interviewer_names, carry=True)


# ---------------------------------------------------------------------------------------- Whisper JSON

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _json_depth(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if bracket[0] in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _reject_constant(value: str) -> float:
    raise ValueError(f"non-finite number {value}")


def _seconds_ms(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("bad time")
    if value < 0 or value > 10_000_000:
        raise ValueError("time out of range")
    return round(value * 1000)


def _parse_json(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    text = _decode(data, "JSON")
    wrong = IngestError(
        "wrong_type",
        'The JSON file is not a Whisper-style transcript ({"segments": [{"start", "end", "text"}]}).',
    )
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise IngestError("corrupt", "The JSON file is nested too deeply to be a transcript.")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise IngestError("wrong_type", "The file is not valid JSON.") from exc
    segments = document.get("segments") if isinstance(document, dict) else document
    if not isinstance(segments, list):
        raise wrong
    pieces: list[Piece] = []
    for segment in segments:
        if not isinstance(segment, dict) or not isinstance(segment.get("text"), str):
            raise wrong
        speaker = segment.get("speaker")
        if speaker is not None and not isinstance(speaker, str | int):
            raise wrong
        try:
            start, end = _seconds_ms(segment.get("start")), _seconds_ms(segment.get("end"))
        except ValueError as exc:
            raise wrong from exc
        label = (" ".join(normalise_text(str(speaker)).split()) or None) if speaker is not None else None
        pieces.append((label, normalise_text(segment["text"]).strip(), start, end))
    return _merge(pieces, interviewer_names, carry=False)


# -------------------------------------------------------------------------------------------- dispatch


def _parse_plain(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    return _turns(_segment(_decode(data, "text")), interviewer_names)


def _parse_markdown(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    return _turns(_segment(_decode(data, "Markdown")), interviewer_names)


def _from_paragraphs(paragraphs: Sequence[str], interviewer_names: Sequence[str]) -> list[Turn]:
    text = normalise_text("\n".join(paragraphs))
    if len(text) > documents.MAX_TEXT_CHARS:
        raise FileTooLargeError("The document expands to more text than Harbour accepts.")
    return _turns(_segment(text), interviewer_names)


def _parse_docx(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    return _from_paragraphs(documents.docx_paragraphs(data), interviewer_names)


def _parse_odt(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    return _from_paragraphs(documents.odt_paragraphs(data), interviewer_names)


def _parse_pdf(data: bytes, interviewer_names: Sequence[str]) -> list[Turn]:
    return _from_paragraphs(documents.pdf_pages(data), interviewer_names)


_PARSERS: dict[str, Callable[[bytes, Sequence[str]], list[Turn]]] = {
    "txt": _parse_plain,
    "md": _parse_markdown,
    "docx": _parse_docx,
    "odt": _parse_odt,
    "pdf": _parse_pdf,
    "vtt": _parse_vtt,
    "srt": _parse_srt,
    "json": _parse_json,
}
EXTENSIONS: tuple[str, ...] = tuple(_PARSERS)


def parse(
    data: bytes, filename: str, *, max_bytes: int, interviewer_names: Sequence[str] = ()
) -> ParsedTranscript:
    """Parse an uploaded transcript by its extension, or raise IngestError saying why not."""
    if len(data) > max_bytes:
        raise FileTooLargeError(f"The file is larger than the limit of {max_bytes:,} bytes.")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    parser = _PARSERS.get(extension)
    if parser is None:
        accepted = ", ".join(f".{name}" for name in EXTENSIONS)
        raise IngestError("unsupported", f"This file type is not supported. Upload one of {accepted}.")
    if not data.strip():
        raise IngestError("empty", "The file is empty.")
    turns = parser(data, interviewer_names)
    if not turns:
        raise IngestError("empty", "The file contains no transcript text.")
    return ParsedTranscript(format=extension, turns=tuple(turns))
