"""Every supported format parses into the right turns, speakers, roles and timings, and nothing else."""

from __future__ import annotations

import unicodedata

import pytest

from app.ingest.formats import ParsedTranscript, SpeakerRole, Turn, guess_role, normalise_text, parse
from tests.ingest.support import CANARIES, MAX, fixture, rezip

INTERVIEWER = SpeakerRole.INTERVIEWER
INTERVIEWEE = SpeakerRole.INTERVIEWEE
INTERPRETER = SpeakerRole.INTERPRETER
UNKNOWN = SpeakerRole.UNKNOWN


def _parse_text(text: str, name: str = "t.txt", **kwargs: object) -> ParsedTranscript:
    return parse(text.encode("utf-8"), name, max_bytes=MAX, **kwargs)  # type: ignore[arg-type]


def _speakers(parsed: ParsedTranscript) -> list[tuple[str | None, SpeakerRole]]:
    return [(turn.speaker, turn.role) for turn in parsed.turns]


@pytest.mark.parametrize("name", ["interview.docx", "interview.odt", "interview.pdf"])
def test_documents_made_by_libreoffice_parse_into_labelled_turns(name: str) -> None:
    parsed = parse(fixture(name), name, max_bytes=MAX)
    assert parsed.format == name.rsplit(".", 1)[1]
    assert parsed.turns[0].speaker is None
    assert parsed.turns[0].text.startswith("Interview transcript (fictional test data)")
    assert _speakers(parsed)[1:4] == [
        ("Interviewer", INTERVIEWER),
        ("Farhod Oydinsoyev", INTERVIEWEE),
        ("Interviewer", INTERVIEWER),
    ]
    roles = {turn.speaker: turn.role for turn in parsed.turns}
    assert roles["Interpreter"] is INTERPRETER
    assert roles["Переводчик"] is INTERPRETER
    texts = [" ".join(turn.text.split()) for turn in parsed.turns]
    assert "Они спросили мою мать, где я живу и с кем я общаюсь. Она ничего не сказала." in texts
    assert (
        "Ha, ular yana kelishdi. Onamni mahallaga chaqirishdi va mening ustimdan yozilgan xatni o'qib "
        "berishdi." in texts
    )
    assert texts[-1] == "Thank you. We will stop here."
    assert len(parsed.turns) == 54


@pytest.mark.parametrize("name", ["interview.docx", "interview.odt", "interview.pdf"])
def test_document_metadata_comments_and_deletions_never_reach_the_text(name: str) -> None:
    parsed = parse(fixture(name), name, max_bytes=MAX)
    everything = parsed.text + "".join(turn.speaker or "" for turn in parsed.turns)
    for canary in CANARIES:
        assert canary not in everything
    assert "old house by the canal" not in everything  # the tracked deletion
    assert "Where did the officers take him? Please take your time." in parsed.text  # the insertion


def test_docx_and_odt_give_the_same_text() -> None:
    docx = parse(fixture("interview.docx"), "a.docx", max_bytes=MAX)
    odt = parse(fixture("interview.odt"), "a.odt", max_bytes=MAX)
    assert docx.turns == odt.turns


def test_srt_cues_merge_per_speaker_with_first_start_and_last_end() -> None:
    parsed = parse(fixture("interview.srt"), "interview.srt", max_bytes=MAX)
    assert [(t.speaker, t.role, t.start_ms, t.end_ms) for t in parsed.turns] == [
        ("Interviewer", INTERVIEWER, 1200, 4800),
        ("Farhod", INTERVIEWEE, 5100, 12400),
        ("Interviewer", INTERVIEWER, 12600, 15000),
        ("Farhod", INTERVIEWEE, 15300, 19750),
        ("Interpreter", INTERPRETER, 20000, 23500),
        ("Farhod", INTERVIEWEE, 24000, 62040),
    ]
    assert parsed.turns[0].text == "Thank you for coming. Can you say where you live now?"
    assert parsed.turns[1].text == "In Istanbul, since 2019. We moved twice in the first year."  # <i> gone
    assert parsed.turns[5].text == "Ular har oy kelishadi."  # {\an8} gone


def test_vtt_voice_tags_give_speakers_and_notes_and_styles_are_skipped() -> None:
    parsed = parse(fixture("interview.vtt"), "interview.vtt", max_bytes=MAX)
    assert [(t.speaker, t.role, t.start_ms, t.end_ms) for t in parsed.turns] == [
        ("Interviewer", INTERVIEWER, 1000, 6000),
        ("Farhod Oydinsoyev", INTERVIEWEE, 6200, 13000),
        ("Interviewer", INTERVIEWER, 62500, 65250),
        ("Farhod Oydinsoyev", INTERVIEWEE, 62500, 65250),
        ("Переводчик", INTERPRETER, 66000, 72000),
    ]
    assert parsed.turns[1].text == (
        "At home, in the evening. It was the district officer & another man. "
        "He said I know where your brother is."
    )
    for skipped in ("NOTE", "cue(", "Kind:", "Transcribed by hand"):
        assert skipped not in parsed.text


def test_whisper_json_keeps_each_unlabelled_segment_with_its_timing() -> None:
    parsed = parse(fixture("interview.whisper.json"), "interview.json", max_bytes=MAX)
    assert [(t.speaker, t.role, t.start_ms, t.end_ms) for t in parsed.turns] == [
        (None, UNKNOWN, 0, 3840),
        (None, UNKNOWN, 3840, 8200),
        (None, UNKNOWN, 8200, 12560),
        (None, UNKNOWN, 12560, 15000),
    ]
    assert parsed.turns[3].text == "Они спросили, где я живу."


def test_diarised_json_merges_consecutive_segments_of_one_speaker() -> None:
    parsed = parse(fixture("interview.diarised.json"), "interview.json", max_bytes=MAX)
    assert [(t.speaker, t.role, t.start_ms, t.end_ms) for t in parsed.turns] == [
        ("SPEAKER_00", UNKNOWN, 31, 2912),
        ("SPEAKER_01", UNKNOWN, 3250, 8750),
        ("SPEAKER_00", UNKNOWN, 9020, 11400),
        ("SPEAKER_01", UNKNOWN, 11900, 15330),
        ("SPEAKER_02", UNKNOWN, 15500, 17000),
    ]
    assert parsed.turns[1].text == "In a village near Namangan. My brother Rustam still lives there."


def test_json_may_be_a_bare_list_of_segments() -> None:
    data = b'[{"start": 1.5, "end": 2, "text": " Hello", "speaker": "Interviewer"}, {"text": "Salom"}]'
    parsed = parse(data, "x.json", max_bytes=MAX)
    assert parsed.turns == (
        Turn("Interviewer", INTERVIEWER, "Hello", 1500, 2000),
        Turn(None, UNKNOWN, "Salom"),
    )


def test_plain_text_labels_continuation_lines_and_preamble() -> None:
    parsed = _parse_text(
        "Interview 12, recorded abroad\n"
        "Date: 2023-05-02\n"
        "\n"
        "Interviewer: Where were you born?\n"
        "Farhod: In a village.\n"
        "It was small.\n"
        "\n"
        "\n"
        "We left when I was ten.\n"
        "Q: And then?\n"
        "A: Nothing.\n"
        "Интервьюер: Что было дальше?\n"
        "Tarjimon: U hech narsa demadi.\n"
    )
    assert parsed.turns == (
        Turn(None, UNKNOWN, "Interview 12, recorded abroad\nDate: 2023-05-02"),
        Turn("Interviewer", INTERVIEWER, "Where were you born?"),
        Turn("Farhod", INTERVIEWEE, "In a village.\nIt was small.\n\nWe left when I was ten."),
        Turn("Q", INTERVIEWER, "And then?"),
        Turn("A", INTERVIEWEE, "Nothing."),
        Turn("Интервьюер", INTERVIEWER, "Что было дальше?"),
        Turn("Tarjimon", INTERPRETER, "U hech narsa demadi."),
    )


def test_markdown_bold_labels_and_timestamps() -> None:
    parsed = _parse_text(
        "# Interview\n\n**Interviewer:** Hello.\n\n**Dilbar**: Salom.\n[00:01:05] Interpreter: Hello.\n",
        "t.md",
    )
    assert parsed.turns == (
        Turn(None, UNKNOWN, "# Interview"),
        Turn("Interviewer", INTERVIEWER, "Hello."),
        Turn("Dilbar", INTERVIEWEE, "Salom."),
        Turn("Interpreter", INTERPRETER, "Hello.", 65000),
    )


def test_a_sentence_with_a_colon_is_not_a_speaker_unless_it_repeats() -> None:
    once = _parse_text("Farhod: Then he told me: go home.\nhe told me: stay.\n")
    assert [turn.speaker for turn in once.turns] == ["Farhod"]
    twice = _parse_text("farhod aka: one\nfarhod aka: two\n")
    assert [turn.speaker for turn in twice.turns] == ["farhod aka", "farhod aka"]


def test_layout_gives_code_point_offsets_of_each_turn() -> None:
    parsed = _parse_text("Interviewer: Ўзбекистон 🙂\nFarhod: Да.\nInterviewer: Yes.")
    spans = parsed.layout()
    assert [parsed.text[start:end] for start, end in spans] == [turn.text for turn in parsed.turns]
    assert spans == [(0, 12), (14, 17), (19, 23)]


def test_text_is_nfc_with_lf_line_ends_and_no_trailing_spaces() -> None:
    decomposed = unicodedata.normalize("NFD", "Ўзбек ёки Йўқ café")
    parsed = _parse_text(f"Interviewer: {decomposed}   \r\nstill   \rthe same\r\n")
    assert parsed.turns[0].text == "Ўзбек ёки Йўқ café\nstill\nthe same"
    assert unicodedata.is_normalized("NFC", parsed.text)


def test_bidi_and_zero_width_characters_are_stripped() -> None:
    hidden = "Far\u200bhod\u200d \u202eevil\u202c \u2066x\u2069 \ufeffend\u200e\u200f\u202a\u202b\u202d"
    parsed = _parse_text(f"Interviewer: {hidden}")
    assert parsed.text == "Farhod evil x end"


def test_text_in_utf16_with_bom_and_utf8_with_bom_is_read() -> None:
    text = "Interviewer: Привет\nFarhod: Salom"
    for data in (text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        assert [turn.text for turn in parse(data, "t.txt", max_bytes=MAX).turns] == ["Привет", "Salom"]


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("Interviewer", INTERVIEWER),
        ("Interviewer 2", INTERVIEWER),
        ("Q", INTERVIEWER),
        ("I", INTERVIEWER),
        ("Int.", INTERVIEWER),
        ("Интервьюер", INTERVIEWER),
        ("Вопрос", INTERVIEWER),
        ("Interpreter", INTERPRETER),
        ("Translator", INTERPRETER),
        ("Переводчик", INTERPRETER),
        ("Tarjimon", INTERPRETER),
        ("Respondent", INTERVIEWEE),
        ("A", INTERVIEWEE),
        ("Farhod Oydinsoyev", INTERVIEWEE),
        ("SPEAKER_00", UNKNOWN),
        ("Speaker 3", UNKNOWN),
        (None, UNKNOWN),
        ("  ", UNKNOWN),
    ],
)
def test_guess_role(label: str | None, role: SpeakerRole) -> None:
    assert guess_role(label) is role


def test_interviewer_names_make_interviewer_labels_in_either_script() -> None:
    names = ["Tamsin Harrowgate", "Зарина Тошпулатова"]
    assert guess_role("Tamsin", interviewer_names=names) is INTERVIEWER
    assert guess_role("Zarina Toshpulatova", interviewer_names=names) is INTERVIEWER
    assert guess_role("Farhod", interviewer_names=names) is INTERVIEWEE
    parsed = _parse_text("Tamsin: Hello.\nFarhod: Salom.", interviewer_names=names)
    assert _speakers(parsed) == [("Tamsin", INTERVIEWER), ("Farhod", INTERVIEWEE)]


def test_normalise_text_keeps_tabs_and_removes_control_characters() -> None:
    assert normalise_text("a\tb\x07c\x1bd\u0085e\u2028f") == "a\tbcde\nf"


def test_a_long_transcript_parses() -> None:
    # About 300 pages: 6,600 turns, 1.5 MB. The app parses in a worker thread; this only checks it works.
    lines = []
    for number in range(3300):
        lines.append(f"Interviewer: Question {number}: what happened on that day, and who was there?")
        lines.append(
            "Farhod Oydinsoyev: "
            + "They came to the house again and asked my mother about me, about my friends abroad. " * 4
            + f"That was visit {number}."
        )
    data = "\n".join(lines).encode()
    assert len(data) > 1_400_000
    parsed = parse(data, "long.txt", max_bytes=2 * 1024 * 1024)
    assert len(parsed.turns) == 6600
    assert parsed.turns[-1].text.endswith("That was visit 3299.")


def test_docx_hidden_text_property_fields_and_moved_from_text_are_dropped() -> None:
    planted = (
        b'<w:p><w:r><w:t xml:space="preserve">Interviewer: Visible </w:t></w:r>'
        b"<w:r><w:rPr><w:vanish/></w:rPr><w:t>HIDDENCANARY</w:t></w:r>"
        b'<w:fldSimple w:instr=" AUTHOR \\* MERGEFORMAT ">'
        b"<w:r><w:t>SIMPLEFIELDCANARY</w:t></w:r></w:fldSimple>"
        b'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> LASTSAVEDBY </w:instrText></w:r>'
        b'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>COMPLEXFIELDCANARY</w:t></w:r>'
        b'<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        b'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>'
        b'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r>'
        b'<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        b'<w:moveFrom w:id="9" w:author="x"><w:r><w:t>MOVEDCANARY</w:t></w:r></w:moveFrom>'
        b"<w:r><w:tab/><w:t>end</w:t><w:br/><w:t>next line</w:t></w:r></w:p>"
    )
    data = rezip(
        fixture("interview.docx"),
        transform=lambda name, content: (
            content.replace(b"<w:sectPr", planted + b"<w:sectPr", 1)
            if name == "word/document.xml"
            else content
        ),
    )
    parsed = parse(data, "x.docx", max_bytes=MAX)
    assert "CANARY" not in parsed.text
    assert parsed.turns[-1].text == "Visible 7\tend\nnext line"
