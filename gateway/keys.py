"""API keys: issuing, revoking, and authenticating a call's bearer token.

A key reads ``cw_<key id>_<secret>``: the key id (16 hex digits) is public and
names the key in listings and logs; the secret (40 letters and digits, about
238 random bits) is shown once, when the key is created, and never stored: the
key store keeps its SHA-256. A fast hash is enough here because the secret is
random and long, not a password a person chose: no dictionary applies and
guessing 2^238 values is out of reach, while each call can be checked in
microseconds. Secrets are compared in constant time.

:class:`Authenticator` turns an ``authorization`` header into a
:class:`Principal` (key id and tenant), caching what the store said about a key
id for ``cache_seconds``; a revoked key therefore stops working within that
time on every gateway replica.

Errors (all :class:`calcwire.errors.Unauthenticated`): ``API_KEY_MISSING`` (no
header), ``API_KEY_INVALID`` (not ``Bearer cw_...``, unknown key id, wrong
secret: one answer, so a caller cannot tell which), ``API_KEY_REVOKED`` (the
right secret of a revoked key).

This module knows nothing of gRPC or SQL: the store is any
:class:`KeyRepository` (``gateway.store.KeyStore`` in the gateway and the CLI).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from calcwire import errors
from calcwire.tenancy import check_tenant

__all__ = [
    "KEY_ID_PATTERN",
    "ApiKey",
    "Authenticator",
    "IssuedKey",
    "KeyRepository",
    "Principal",
    "bearer_token",
    "check_key_id",
    "create_api_key",
    "format_key",
    "hash_secret",
    "parse_key",
    "revoke_api_key",
]

_SECRET_ALPHABET: Final = string.ascii_letters + string.digits
_SECRET_LENGTH: Final = 40
_ID_HEX_DIGITS: Final = 16
KEY_ID_PATTERN: Final = re.compile(rf"^[0-9a-f]{{{_ID_HEX_DIGITS}}}$")
_KEY: Final = re.compile(rf"^cw_([0-9a-f]{{{_ID_HEX_DIGITS}}})_([0-9A-Za-z]{{{_SECRET_LENGTH}}})$")
_BEARER: Final = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
_MAX_NAME: Final = 200


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key: who it belongs to and whether it still works (never its secret)."""

    key_id: str
    tenant: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    secret_sha256: bytes = field(repr=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just created, with the only copy of its full text."""

    key: ApiKey
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated call comes from."""

    key_id: str
    tenant: str


class KeyRepository(Protocol):
    """Where keys live (``gateway.store.KeyStore``)."""

    async def insert_key(
        self, key_id: str, tenant: str, name: str, secret_sha256: bytes
    ) -> ApiKey | None:
        """Store a new key; None when ``key_id`` is taken."""
        ...

    async def get_key(self, key_id: str) -> ApiKey | None: ...

    async def list_keys(self, tenant: str | None = None) -> list[ApiKey]: ...

    async def revoke_key(self, key_id: str) -> tuple[ApiKey, bool] | None:
        """Mark the key revoked, once: a second revoke keeps the first time. Returns the key
        and whether it was revoked already; None if there is no such key."""
        ...


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def format_key(key_id: str, secret: str) -> str:
    return f"cw_{key_id}_{secret}"


def parse_key(token: str) -> tuple[str, str]:
    """``(key_id, secret)`` of a key's text; API_KEY_INVALID if it is not one."""
    match = _KEY.fullmatch(token)
    if match is None:
        raise _invalid()
    return match.group(1), match.group(2)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``authorization: Bearer <token>`` header."""
    if authorization is None or not authorization.strip():
        raise errors.Unauthenticated(
            "this call needs an API key: send metadata 'authorization: Bearer <key>'",
            reason="API_KEY_MISSING",
        )
    match = _BEARER.fullmatch(authorization)
    if match is None:
        raise errors.Unauthenticated(
            "the authorization metadata must read 'Bearer <key>'", reason="API_KEY_INVALID"
        )
    return match.group(1)


def _invalid() -> errors.Unauthenticated:
    return errors.Unauthenticated("unknown or malformed API key", reason="API_KEY_INVALID")


async def create_api_key(repository: KeyRepository, tenant: str, name: str = "") -> IssuedKey:
    """Issue a key for ``tenant``; the returned token is the only copy of the secret."""
    check_tenant(tenant)
    name = name.strip()
    if len(name) > _MAX_NAME or any(not ch.isprintable() for ch in name):
        raise errors.InvalidArgument(
            f"a key name is at most {_MAX_NAME} printable characters", reason="INVALID_NAME"
        )
    for _ in range(5):  # a 64-bit id collides practically never; never loop forever anyway
        key_id = secrets.token_hex(_ID_HEX_DIGITS // 2)
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))
        stored = await repository.insert_key(key_id, tenant, name, hash_secret(secret))
        if stored is not None:
            return IssuedKey(key=stored, token=format_key(key_id, secret))
    raise RuntimeError("could not find a free key id after 5 attempts")


def check_key_id(key_id: str) -> str:
    """``key_id`` if it reads like one, else INVALID_ARGUMENT (INVALID_KEY_ID)."""
    if KEY_ID_PATTERN.fullmatch(key_id) is None:
        raise errors.InvalidArgument(
            f"{key_id!r} is not a key id (16 hex digits, as `calcwire admin keys list` shows)",
            reason="INVALID_KEY_ID",
        )
    return key_id


async def revoke_api_key(repository: KeyRepository, key_id: str) -> tuple[ApiKey, bool]:
    """Revoke ``key_id``: the key, and whether it was revoked already (revoking a
    revoked key changes nothing and is no error)."""
    check_key_id(key_id)
    revoked = await repository.revoke_key(key_id)
    if revoked is None:
        raise errors.NotFound(f"no API key {key_id}", reason="KEY_NOT_FOUND")
    return revoked


class Authenticator:
    """Checks bearer tokens against the key store, with a short cache of lookups.

    Both answers are cached: a known key (with its hash and revocation) and an
    unknown id, so a flood of made-up keys does not become a flood of queries.
    At most ``max_entries`` ids are kept, least recently used out first.
    """

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[ApiKey | None]],
        *,
        cache_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = cache_seconds
        self._max = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()

    async def _find(self, key_id: str) -> ApiKey | None:
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(key_id)
            return cached[1]
        found = await self._lookup(key_id)
        if self._ttl > 0:
            self._cache[key_id] = (now + self._ttl, found)
            self._cache.move_to_end(key_id)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return found

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a call with this ``authorization`` header value."""
        key_id, secret = parse_key(bearer_token(authorization))
        key = await self._find(key_id)
        if key is None or not hmac.compare_digest(hash_secret(secret), key.secret_sha256):
            raise _invalid()
        if key.revoked:
            raise errors.Unauthenticated(
                f"API key {key_id} was revoked",
                reason="API_KEY_REVOKED",
                metadata={"key_id": key_id},
            )
        return Principal(key_id=key.key_id, tenant=key.tenant)
