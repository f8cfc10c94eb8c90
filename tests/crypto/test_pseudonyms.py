"""Pseudonyms: random, well-formed, neutral, and unique when asked."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator

import pytest

from crypto.pseudonyms import ADJECTIVES, NOUNS, PseudonymExhaustedError, generate, generate_unique

FORMAT = re.compile(r"^[A-Z][a-z]+-[A-Z][a-z]+-[1-9][0-9]$")

# Given names a reader could mistake for a real person; none may appear in the word lists.
GIVEN_NAMES = {
    "Amber", "Ruby", "Jade", "Hazel", "Olive", "Ivy", "Holly", "Rose", "Lily", "Daisy", "Iris", "Violet",
    "Robin", "Jasper", "Willow", "Rowan", "Heather", "Jasmine", "Laurel", "Aspen", "Autumn", "Summer",
    "Dawn", "River", "Brook", "Sky", "Sandy", "Rusty", "Misty", "Sunny", "Scarlett", "Pearl", "Opal",
    "Fern", "Basil", "Rosemary", "Poppy", "Lola", "Gul", "Nur", "Frank", "Glen", "Wren", "Raven",
}  # fmt: skip
# Animals used as insults in the languages of the people Harbour interviews.
INSULTS = {"Dog", "Pig", "Donkey", "Snake", "Rat", "Monkey", "Worm", "Louse", "Goat", "Hyena", "Jackal"}


def test_word_lists_are_large_distinct_and_plain() -> None:
    for words in (ADJECTIVES, NOUNS):
        assert len(words) == 256
        assert len(set(words)) == len(words)
        assert all(re.fullmatch(r"[A-Z][a-z]+", word) for word in words)
    assert not set(ADJECTIVES) & set(NOUNS)


def test_word_lists_avoid_names_and_insults() -> None:
    words = set(ADJECTIVES) | set(NOUNS)
    assert not words & GIVEN_NAMES
    assert not words & INSULTS


def test_pseudonyms_have_the_adjective_noun_number_format() -> None:
    for _ in range(10_000):
        name = generate()
        assert FORMAT.match(name), name
        adjective, noun, _number = name.split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS


def test_ten_thousand_draws_rarely_collide() -> None:
    # 256 * 256 * 90 combinations: about 8.5 collisions expected in 10,000 draws.
    assert len({generate() for _ in range(10_000)}) >= 9_950


def test_draws_use_every_part_of_the_lists() -> None:
    draws = [generate().split("-") for _ in range(10_000)]
    assert len({adjective for adjective, _, _ in draws}) > 240
    assert len({noun for _, noun, _ in draws}) > 240
    assert {int(number) for _, _, number in draws} == set(range(10, 100))


def test_generate_unique_avoids_taken_pseudonyms() -> None:
    taken: set[str] = set()
    for _ in range(10_000):
        taken.add(generate_unique(taken.__contains__))
    assert len(taken) == 10_000


def _scripted(values: list[int]) -> Callable[[int], int]:
    stream: Iterator[int] = iter(values)
    return lambda upper: next(stream) % upper


def test_generate_unique_retries_past_collisions() -> None:
    first = generate(_scripted([0, 0, 0]))
    assert first == f"{ADJECTIVES[0]}-{NOUNS[0]}-10"
    name = generate_unique({first}.__contains__, randbelow=_scripted([0, 0, 0, 1, 1, 1]))
    assert name == f"{ADJECTIVES[1]}-{NOUNS[1]}-11"


def test_generate_unique_gives_up_after_its_attempts() -> None:
    with pytest.raises(PseudonymExhaustedError):
        generate_unique(lambda name: True, attempts=5)


def test_default_randomness_comes_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = secrets.randbelow

    def spy(upper: int) -> int:
        calls.append(upper)
        return real(upper)

    monkeypatch.setattr(secrets, "randbelow", spy)
    generate()
    assert calls == [256, 256, 90]
