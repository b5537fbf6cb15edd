"""API keys: random, shown once, stored only as a SHA-256 hash (they are 256-bit random, so a
plain hash is enough; no salt or slow KDF is needed for high-entropy secrets)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "mp_"


def new_key() -> tuple[str, str, str]:
    """(key, key_id, key_hash). ``key_id`` is the first characters, safe to show in lists and logs."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(given.encode(), expected.encode())
