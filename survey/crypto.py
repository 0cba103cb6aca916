"""Personal data at rest: contact details encrypted (Fernet), looked up by keyed hashes (HMAC-SHA256).

Both keys derive from ``SURVEY_SECRET_KEY`` with distinct labels, so rotating the secret is one
operation, and a leaked database alone reveals no phone number or email address.

Example::

    >>> box = ContactCipher("s" * 40)
    >>> box.decrypt(box.encrypt("+84912345678"))
    '+84912345678'
    >>> box.lookup_key("+84912345678") == box.lookup_key("+84912345678")
    True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["ContactCipher", "InvalidToken", "cipher"]


class ContactCipher:
    """Encrypts contact details and computes their lookup keys."""

    def __init__(self, secret_key: str) -> None:
        encryption_key = hashlib.sha256(f"contact-encryption:{secret_key}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(encryption_key))
        self._lookup_key = hashlib.sha256(f"contact-lookup:{secret_key}".encode()).digest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def lookup_key(self, normalised: str) -> str:
        """HMAC of a normalised phone (E.164) or email (lower case): the unique, searchable key."""
        return hmac.new(self._lookup_key, normalised.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def _cipher(secret_key: str) -> ContactCipher:
    return ContactCipher(secret_key)


def cipher() -> ContactCipher:
    """The cipher for the configured secret key."""
    from survey.settings import get_settings

    return _cipher(get_settings().secret_key)
