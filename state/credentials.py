"""Secret material: PUK1 as a keyed hash, passwords as argon2id.

PUK1 is 8 digits (10^8 values), so a plain hash would fall to a table in seconds:
it is stored as HMAC-SHA256 under a pepper kept outside the database. Passwords use
argon2id with OWASP's parameters; hashing takes tens of milliseconds and so always runs
in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PEPPER_BYTES = 32


class Pepper:
    """The HMAC key for PUK1 digests; its value never appears in ``repr``."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the PUK1 pepper must be at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Pepper('**********')"

    @classmethod
    def from_hex(cls, text: str) -> Pepper:
        """Read a pepper written as hex (the form in files and environment variables)."""
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError as exc:
            raise ValueError("the PUK1 pepper must be hex-encoded") from exc

    @classmethod
    def load_or_create(cls, path: Path) -> Pepper:
        """Read the pepper file, creating it (mode 0600) with a random key if absent."""
        if path.exists():
            return cls.from_hex(path.read_text(encoding="ascii"))
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(PEPPER_BYTES)
        path.touch(mode=0o600)
        path.write_text(key.hex() + "\n", encoding="ascii")
        return cls(key)

    def digest(self, puk: str) -> bytes:
        """Keyed digest of a PUK1 for storage and comparison."""
        return hmac.new(self._key, puk.encode("utf-8"), hashlib.sha256).digest()

    def tag(self, purpose: str, value: str) -> str:
        """Keyed hex tag of ``value`` for ``purpose``: lets us recognise a value we saw
        (a repeated USSD hop) without storing it (it may contain a PUK1 or password)."""
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose``, independent of the PUK1 digests' key use."""
        return hmac.new(self._key, f"derive\x00{purpose}".encode(), hashlib.sha256).digest()

    def matches(self, puk: str, digest: bytes) -> bool:
        """Constant-time check of a typed PUK1 against a stored digest."""
        return hmac.compare_digest(self.digest(puk), digest)


class Sealer:
    """Seal short secrets at rest (an SMS body holding a code) with AES-GCM.

    The key is derived from the pepper, so a copy of the database alone reveals nothing;
    the sealed form is ``enc:v1:`` + base64(nonce ‖ ciphertext ‖ tag).
    """

    PREFIX = "enc:v1:"

    def __init__(self, pepper: Pepper) -> None:
        self._aead = AESGCM(pepper.derive("outbox-seal-v1"))

    def __repr__(self) -> str:
        return "Sealer('**********')"

    def seal(self, text: str) -> str:
        """The sealed form of ``text``."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), self.PREFIX.encode())
        return self.PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str) -> str:
        """The text of a sealed value; an unsealed value is returned as it is.

        Raises:
            ValueError: the value is sealed but damaged or sealed under another key.
        """
        if not value.startswith(self.PREFIX):
            return value
        try:
            raw = base64.b64decode(value[len(self.PREFIX) :], validate=True)
            plain = self._aead.decrypt(raw[:12], raw[12:], self.PREFIX.encode())
        except (ValueError, InvalidTag) as exc:
            raise ValueError("sealed value cannot be opened with this key") from exc
        return plain.decode("utf-8")


class PasswordHasher:
    """argon2id hashing and verification, run in a thread so the loop keeps serving hops."""

    def __init__(self, time_cost: int = 2, memory_cost_kib: int = 19 * 1024) -> None:
        self._argon2 = _Argon2(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1, salt_len=16
        )

    async def hash(self, password: str) -> str:
        """argon2id hash of ``password`` (encoded, with salt and parameters)."""
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, encoded: str, password: str) -> bool:
        """Whether ``password`` matches ``encoded``; a malformed hash is simply no match."""
        return await asyncio.to_thread(self._verify, encoded, password)

    def _verify(self, encoded: str, password: str) -> bool:
        try:
            return self._argon2.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def identity_digest(pepper: Pepper, identity: str) -> bytes:
    """The keyed digest a passport number or UNP is stored and compared as (the importer
    stores it, the account-number login compares with it)."""
    return bytes.fromhex(pepper.tag("identity", identity))
