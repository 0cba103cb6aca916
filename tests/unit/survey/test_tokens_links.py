"""Survey link tokens: unguessable, stored only as a hash, rejected before any look-up when malformed."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from delivery.tokens import ALPHABET, entropy_bits, is_well_formed, new_token, token_hash
from survey.services.ratelimit import RateLimiter
from survey.settings import get_settings


def test_tokens_have_the_configured_length_and_only_base62_characters():
    length = get_settings().token_length
    tokens = [new_token(length) for _ in range(2000)]
    assert length >= 10
    assert all(len(t) == length and set(t) <= set(ALPHABET) for t in tokens)
    assert len(set(tokens)) == len(tokens)
    assert len(ALPHABET) == 62


def test_tokens_carry_at_least_59_bits_and_use_the_whole_alphabet_evenly():
    assert entropy_bits(10) >= 59
    assert entropy_bits(get_settings().token_length) >= 59
    counts = Counter("".join(new_token(12) for _ in range(5000)))
    assert set(counts) == set(ALPHABET)
    expected = 5000 * 12 / 62
    assert all(abs(n - expected) < 6 * math.sqrt(expected) for n in counts.values())


def test_shorter_tokens_are_refused():
    with pytest.raises(ValueError, match="at least 10"):
        new_token(9)


def test_the_stored_hash_is_not_the_token_and_depends_on_the_secret():
    token = new_token(12)
    stored = token_hash(token, "a" * 32)
    assert token not in stored and len(stored) == 64
    assert stored == token_hash(token, "a" * 32)
    assert stored != token_hash(token, "b" * 32)


@pytest.mark.parametrize("token", ["Ab3dE5gH9k", "A" * 32, new_token(12)])
def test_well_formed_tokens(token):
    assert is_well_formed(token)


@pytest.mark.parametrize("token", ["", "short", "A" * 9, "A" * 33, "abc-def-ghij", "abcdefghij'--", "ábcdefghijk"])
def test_malformed_tokens_are_rejected_without_a_look_up(token):
    assert not is_well_formed(token)


def test_guessing_from_one_address_is_limited_and_other_addresses_are_not():
    limiter = RateLimiter(limit=3, window_seconds=600)
    assert [limiter.hit("198.51.100.7", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.blocked("198.51.100.7", now=4)
    assert limiter.retry_after("198.51.100.7", now=4) == 597
    assert not limiter.blocked("203.0.113.9", now=4)
    assert limiter.hit("203.0.113.9", now=4)
    assert not limiter.blocked("198.51.100.7", now=601)


def test_a_token_with_a_trailing_newline_is_not_well_formed():
    from delivery.tokens import is_well_formed

    assert not is_well_formed("abcdefghij\n")
    assert not is_well_formed(" abcdefghij")
