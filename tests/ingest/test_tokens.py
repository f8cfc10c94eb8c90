"""Search tokens: scripts and spellings of one word meet; only keyed digests leave this module."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingest import pseudonymise as pseudonymise_module
from app.ingest import tokens as tokens_module
from app.ingest.tokens import Keyer, keyed, query_tokens, tokenise

KEY = bytes(range(32))


def test_cyrillic_and_latin_spellings_of_one_word_give_one_token() -> None:
    assert tokenise("Фарход") == tokenise("Farkhod") == tokenise("FARXOD") == ["farhod"]


def test_uzbek_apostrophes_stay_inside_words() -> None:
    for spelling in ("O'zbekiston", "Oʻzbekiston", "O‘zbekiston", "Ўзбекистон"):
        assert tokenise(spelling) == ["ozbekiston"]
    assert tokenise("g'alla bo'ldi") == ["gala", "boldi"]  # doubled letters fold, as in blind indexes


def test_short_tokens_and_punctuation_are_skipped() -> None:
    assert tokenise("I saw a car, и он — 7 km!") == ["sav", "car", "on", "km"]  # w -> v like the index


def test_hyphenated_words_and_bracketed_pseudonyms_give_the_whole_and_the_parts() -> None:
    assert tokenise("[Cobalt-Heron-42] met Abdul-Aziz") == [
        "cobaltheron42", "cobalt", "heron", "42", "met", "abdulaziz", "abdul", "aziz",
    ]  # fmt: skip
    assert set(query_tokens("Cobalt-Heron-42")) <= set(tokenise("x [Cobalt-Heron-42] y"))


def test_query_tokens_are_normalised_like_the_text_and_distinct() -> None:
    assert query_tokens("Farhod farkhod Фарход Namangan") == ["farhod", "namangan"]


def test_keyed_tokens_are_hmac_digests_that_depend_on_the_key() -> None:
    digests = keyed(KEY, tokenise("Farhod went to Namangan"))
    assert len(digests) == 4
    assert all(len(digest) == 32 for digest in digests)
    assert not any(b"farhod" in digest for digest in digests)
    assert keyed(KEY, ["farhod"]) == keyed(KEY, tokenise("Фарход"))
    assert keyed(bytes(32), ["farhod"]) != keyed(KEY, ["farhod"])


def test_keyed_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        keyed(b"short", ["farhod"])


@given(st.text(max_size=300))
def test_every_token_can_be_keyed_and_tokenising_is_deterministic(text: str) -> None:
    tokens = tokenise(text)
    assert tokens == tokenise(text)
    assert all(len(token) >= 2 and " " not in token for token in tokens)
    keyed(KEY, tokens)


@given(st.lists(st.text(max_size=120), max_size=6))
def test_a_keyer_keys_each_text_as_keyed_tokenise_does(texts: list[str]) -> None:
    keyer = Keyer(KEY)  # one keyer over many texts, as an approval uses it: its memo changes nothing
    for text in [*texts, *texts]:
        assert keyer.text_keyed(text) == keyed(KEY, tokenise(text))


def test_no_process_wide_cache_keeps_the_words_of_a_transcript() -> None:
    # The words are testimony: only a Keyer (one approval) may remember them, never the module.
    keyer = Keyer(KEY)
    keyer.text_keyed("Tavor went to Quzimbek-Sai")
    assert not hasattr(tokens_module._skeletons, "cache_info")
    assert not hasattr(tokens_module._word_tokens, "cache_info")
    assert not hasattr(pseudonymise_module._key, "cache_info")
