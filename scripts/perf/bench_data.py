"""Fictional benchmark material: transcripts of a given size as .txt or .docx, and the people they name.

Words are made of random syllables (no real language, no real person), with a Zipf-like frequency so that
some words are common and some rare, as in speech. No digits, e-mails or street words appear, so the
pseudonymiser raises no flags and a version can be approved at once; the interviewee's fictional name forms
appear now and then so that pseudonymisation has work to do.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape

SYLLABLES = [
    "ba", "do", "ka", "li", "mo", "ne", "ru", "sa", "ti", "vo", "za", "gu", "he", "ja", "pe", "qo",
    "xi", "yo", "fa", "shi", "cha", "lo", "mi", "nu", "ro", "se", "tu", "ve", "zo", "ga",
]  # fmt: skip
# Fictional name forms (Latin and Cyrillic) of the interviewee; replaced by the pseudonym on ingest.
INTERVIEWEE_NAMES = ("Tavor Quzimbek", "Тавор Кузимбек", "Tavor Kuzimbek")
RELATIVE_NAMES = ("Ilsava Quzimbekova", "Ильсава Кузимбекова")


@dataclass(frozen=True)
class Vocabulary:
    """A fixed list of made-up words and cumulative Zipf weights for drawing them."""

    words: list[str]
    weights: list[float]

    @classmethod
    def make(cls, size: int = 6000, seed: int = 7) -> Vocabulary:
        """`size` distinct made-up words of 2-4 syllables."""
        rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
        seen: dict[str, None] = {}
        while len(seen) < size:
            seen["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))] = None
        words = list(seen)
        weights = [1.0 / (rank + 1) for rank in range(size)]
        return cls(words, weights)

    def rare(self, count: int) -> list[str]:
        """Words from the tail of the distribution."""
        return self.words[-count:]

    def common(self, count: int) -> list[str]:
        """The most frequent words."""
        return self.words[:count]


_VOCABULARY: Vocabulary | None = None


def vocabulary() -> Vocabulary:
    """The shared vocabulary (built once)."""
    global _VOCABULARY
    if _VOCABULARY is None:
        _VOCABULARY = Vocabulary.make()
    return _VOCABULARY


def turns(size: int, seed: int = 1) -> list[tuple[str, str]]:
    """(speaker label, text) turns whose texts total about `size` characters."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    vocab = vocabulary()
    made: list[tuple[str, str]] = []
    total = 0
    speaker = 0
    while total < size:
        length = rng.randint(200, 1200) if speaker else rng.randint(60, 200)
        words: list[str] = []
        count = 0
        drawn = rng.choices(vocab.words, cum_weights=None, weights=vocab.weights, k=length // 6 + 1)
        for index, word in enumerate(drawn):
            if speaker and index and index % 97 == 0:
                word = rng.choice(INTERVIEWEE_NAMES)
            words.append(word)
            count += len(word) + 1
            if count >= length:
                break
        sentence = " ".join(words)
        text = sentence[0].upper() + sentence[1:] + "."
        made.append(("Respondent" if speaker else "Interviewer", text))
        total += len(text) + 2
        speaker = 1 - speaker
    return made


def transcript_text(size: int, seed: int = 1) -> str:
    """A plain-text transcript of about `size` bytes: "Label: text" turns separated by blank lines."""
    return "\n\n".join(f"{label}: {text}" for label, text in turns(size, seed)) + "\n"


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_bytes(text: str) -> bytes:
    """A minimal Word document holding `text`, one paragraph per line."""
    paragraphs = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>' for line in text.split("\n")
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}">'
        f"<w:body>{paragraphs}</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()
