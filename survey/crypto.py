"""Personal data at rest: encrypted under a ring of data keys (Fernet), looked up by keyed hashes (HMAC-SHA256).

The **data keys** live outside the database, in a file (``SURVEY_DATA_KEYS_FILE``, by default
``var/data_keys``: a JSON list of Fernet keys, newest first, mode 0600), made on first use like
``var/secret_key``. The newest key encrypts; every key of the ring decrypts (``MultiFernet``). A new
install's first ring holds the key derived from ``SURVEY_SECRET_KEY`` (as every install had before the
ring existed), so data written before it stays readable. ``survey keys rotate``
(:mod:`survey.services.data_keys`) puts a new key first, re-encrypts every value of
:data:`ENCRYPTED_COLUMNS` and then drops the old keys.

Every process sees a new ring without a restart: an encryption first checks whether the file changed
(its mtime, size and inode), and a decryption that no key of the ring can read re-reads the file once
before it fails (another process may have rotated the keys since).

The **lookup key** (the HMAC of a normalised phone or email, the unique and searchable column) still
derives from ``SURVEY_SECRET_KEY``: rotating it would re-key every lookup column and every stored
``posted`` hash, which is left for later.

Example::

    >>> box = ContactCipher("s" * 40)
    >>> box.decrypt(box.encrypt("+84912345678"))
    '+84912345678'
    >>> box.lookup_key("+84912345678") == box.lookup_key("+84912345678")
    True
    >>> mask_address("+84912345678"), mask_address("an.nguyen@example.vn")
    ('+84 91* *** 678', 'a***@example.vn')
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = [
    "ENCRYPTED_COLUMNS",
    "ContactCipher",
    "DataKeysError",
    "EncryptedColumn",
    "InvalidToken",
    "KeyRing",
    "cipher",
    "derived_key",
    "mask_address",
    "mask_contact_details",
    "normalised_address",
]

log = logging.getLogger("survey.crypto")


class EncryptedColumn(NamedTuple):
    """A column that holds values encrypted under the data keys: what ``survey keys rotate`` walks.

    ``json_key``: the column is a JSON object and only that key's value is encrypted (a job's link token).
    """

    table: str
    id_column: str
    column: str
    json_key: str | None = None


# THE list of encrypted values; a new encrypted column is appended here, and rotation re-encrypts it (a rotation
# keeps the old keys while a table declares an ``*_encrypted`` column missing from it)
ENCRYPTED_COLUMNS: list[EncryptedColumn] = [
    EncryptedColumn("respondent", "id", "phone_encrypted"),
    EncryptedColumn("respondent", "id", "email_encrypted"),
    EncryptedColumn("sandbox_message", "id", "to_encrypted"),
    EncryptedColumn("sandbox_message", "id", "text_encrypted"),
    EncryptedColumn("sandbox_message", "id", "html_encrypted"),
    EncryptedColumn("job", "id", "payload", "token"),
    EncryptedColumn("rights_request", "id", "subject_encrypted"),
]


class DataKeysError(RuntimeError):
    """The data keys file cannot be used; the message names the file and what is wrong with it."""


def derived_key(secret_key: str) -> bytes:
    """The data key every install had before the ring: derived from ``SURVEY_SECRET_KEY`` (the first ring's key)."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"contact-encryption:{secret_key}".encode()).digest())


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class KeyRing:
    """The data keys, newest first, kept in a file that other processes may rewrite at any time.

    ``path=None``: a ring held only in memory (``keys``), for a cipher built from a secret alone.
    """

    def __init__(self, path: Path | None, *, first_key: bytes | None = None, keys: Sequence[bytes] = ()) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._keys: tuple[bytes, ...] = tuple(keys)
        if path is not None:
            if _signature(path) is None:
                if first_key is None:
                    raise DataKeysError(f"{path}: no data keys file")
                self._create(path, first_key)
            self._load()
        if not self._keys:
            raise DataKeysError(f"{path or 'the key ring'}: holds no key")
        self._multi = MultiFernet([Fernet(key) for key in self._keys])

    @staticmethod
    def _create(path: Path, first_key: bytes) -> None:
        """The first ring, made once: a second process racing to make it reads the one that won."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _write_private(path.parent, [first_key])
        try:
            os.link(temporary, path)  # atomic and refuses to replace: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)

    def _load(self) -> None:
        assert self.path is not None
        signature = _signature(self.path)
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            if self._keys:  # removed under us: keep what we hold rather than lose every key
                log.warning("the data keys file %s disappeared; keeping the keys already read", self.path)
                return
            raise DataKeysError(f"{self.path}: no data keys file") from None
        except (OSError, ValueError) as error:
            raise DataKeysError(f"{self.path}: not a JSON list of keys ({error})") from None
        if not isinstance(raw, list) or not raw or not all(isinstance(key, str) for key in raw):
            raise DataKeysError(f"{self.path}: expected a non-empty JSON list of Fernet keys, newest first")
        keys = tuple(key.encode() for key in raw)
        for position, key in enumerate(keys):
            try:
                Fernet(key)
            except ValueError:
                raise DataKeysError(f"{self.path}: key {position + 1} is not a Fernet key "
                                    f"(32 url-safe base64-encoded bytes)") from None
        self._keys, self._signature = keys, signature
        self._multi = MultiFernet([Fernet(key) for key in keys])

    def refresh(self) -> bool:
        """Re-read the file if it changed since it was read; whether the keys changed."""
        if self.path is None or _signature(self.path) == self._signature:
            return False
        with self._lock:
            before = self._keys
            self._load()
            return self._keys != before

    @property
    def keys(self) -> tuple[bytes, ...]:
        """The keys as last read, newest first."""
        return self._keys

    @property
    def fernet(self) -> MultiFernet:
        return self._multi

    def write(self, keys: Sequence[bytes]) -> None:
        """Replace the ring with ``keys`` (newest first), atomically: a reader sees the old file or the new one."""
        if self.path is None:
            raise DataKeysError("this key ring has no file to write")
        if not keys:
            raise DataKeysError(f"{self.path}: a ring must keep at least one key")
        for key in keys:
            Fernet(key)
        temporary = _write_private(self.path.parent, list(keys))
        os.replace(temporary, self.path)
        with self._lock:
            self._load()

    def key_position(self, token: str) -> int | None:
        """Which key of the ring (0: the newest) encrypted ``token``; ``None`` when none of them did."""
        data = token.encode()
        for position, key in enumerate(self._keys):
            with contextlib.suppress(InvalidToken):
                Fernet(key).extract_timestamp(data)  # checks the token's MAC, decrypts nothing
                return position
        return None


def _write_private(directory: Path, keys: list[bytes]) -> Path:
    """A new file in ``directory`` holding ``keys``, readable by this user only, flushed to disk."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".data_keys.", dir=directory)
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, json.dumps([key.decode() for key in keys], indent=1).encode() + b"\n")
        os.fsync(handle)
    except BaseException:
        os.close(handle)
        Path(name).unlink(missing_ok=True)
        raise
    os.close(handle)
    return Path(name)


class ContactCipher:
    """Encrypts personal data under the key ring and computes the lookup keys (from the secret).

    ``ring``: the data keys; without one, a ring of the key derived from ``secret_key`` only.
    """

    def __init__(self, secret_key: str, ring: KeyRing | None = None) -> None:
        self.ring = ring or KeyRing(None, keys=[derived_key(secret_key)])
        self._lookup_key = hashlib.sha256(f"contact-lookup:{secret_key}".encode()).digest()

    def encrypt(self, value: str) -> str:
        """``value`` encrypted under the newest key (after picking up a ring another process rotated)."""
        self.ring.refresh()
        return self.ring.fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The value of ``token``; raises ``InvalidToken`` when no key of the ring (read again) opens it."""
        try:
            return self.ring.fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            if not self.ring.refresh():
                raise
        return self.ring.fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the newest key (its timestamp kept); ``InvalidToken`` if unreadable."""
        try:
            return self.ring.fernet.rotate(token.encode()).decode()
        except InvalidToken:
            if not self.ring.refresh():
                raise
        return self.ring.fernet.rotate(token.encode()).decode()

    def lookup_key(self, normalised: str) -> str:
        """HMAC of a normalised phone (E.164) or email (lower case): the unique, searchable key."""
        return hmac.new(self._lookup_key, normalised.encode(), hashlib.sha256).hexdigest()


def normalised_address(address: str) -> str:
    """An address as its lookup key is computed: an email in lower case, a phone number as given (E.164).

    >>> normalised_address(" An.Nguyen@Example.VN "), normalised_address("+84912345678")
    ('an.nguyen@example.vn', '+84912345678')
    """
    address = address.strip()
    return address.lower() if "@" in address else address


def mask_address(address: str) -> str:
    """A phone number or email as lists show it: enough to tell people apart, not to reach them.

    >>> mask_address("+84912345678"), mask_address("0912345678"), mask_address("lan@bhxh.example.vn")
    ('+84 91* *** 678', '091* *** 678', 'l***@bhxh.example.vn')
    >>> mask_address("12")
    '***'
    """
    address = address.strip()
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", address)
    if len(digits) < 7:
        return "***"
    if address.startswith("+") and digits.startswith("84"):
        return f"+84 {digits[2:4]}* *** {digits[-3:]}"
    return f"{digits[:3]}* *** {digits[-3:]}"


_PHONE_IN_TEXT = re.compile(r"(?<![\w])\+?\d[\d .\-]{6,}\d")
_EMAIL_IN_TEXT = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")


def mask_contact_details(text: str) -> str:
    """Free text (a comment, a provider's error) as pages, reports and logs keep it: phone numbers and e-mail
    addresses replaced by ``[…]``.

    >>> mask_contact_details("Gọi tôi 0912 345 678 hoặc an.nguyen@example.vn, cảm ơn")
    'Gọi tôi […] hoặc […], cảm ơn'
    """
    return _EMAIL_IN_TEXT.sub("[…]", _PHONE_IN_TEXT.sub("[…]", text))


@lru_cache(maxsize=4)
def _cipher(secret_key: str, keys_file: Path) -> ContactCipher:
    return ContactCipher(secret_key, KeyRing(keys_file, first_key=derived_key(secret_key)))


def cipher() -> ContactCipher:
    """The cipher of the configured data keys file and secret key (one per process, following the file)."""
    from survey.settings import get_settings

    settings = get_settings()
    return _cipher(settings.secret_key, settings.data_keys_file)
