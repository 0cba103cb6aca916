"""Survey link tokens: random base62 strings, stored only as a keyed hash.

A 12-character base62 token carries 71 bits (the floor is 10 characters, 59 bits), short enough
for one SMS segment with the link, and far beyond brute force when look-ups are rate-limited.

Example::

    >>> token = new_token(12)
    >>> len(token), is_well_formed(token)
    (12, True)
    >>> token_hash(token, "k" * 32) == token_hash(token, "k" * 32)
    True
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import string

__all__ = ["ALPHABET", "MIN_LENGTH", "entropy_bits", "is_well_formed", "new_token", "token_hash"]

ALPHABET = string.digits + string.ascii_letters
MIN_LENGTH = 10
MAX_LENGTH = 32
_WELL_FORMED = re.compile(rf"[0-9A-Za-z]{{{MIN_LENGTH},{MAX_LENGTH}}}")


def new_token(length: int = 12) -> str:
    """A fresh random token of ``length`` base62 characters from the OS's CSPRNG."""
    if length < MIN_LENGTH:
        raise ValueError(f"token length must be at least {MIN_LENGTH} characters, got {length}")
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def entropy_bits(length: int) -> float:
    """Bits of randomness in a token of ``length`` characters (12 -> 71.45)."""
    return length * math.log2(len(ALPHABET))


def is_well_formed(token: str) -> bool:
    """Whether ``token`` could be one of ours; malformed ones are rejected before any look-up."""
    return bool(_WELL_FORMED.fullmatch(token))


def token_hash(token: str, secret_key: str) -> str:
    """The stored form of a token: HMAC-SHA256 under the server's secret, hex (64 characters)."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
