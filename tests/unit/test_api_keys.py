"""API keys: random, hashed, parsed from a Bearer header."""

from __future__ import annotations

import pytest

from chalicelib.domain import api_keys


def test_new_key_is_prefixed_random_and_only_its_hash_is_kept() -> None:
    key, key_id, key_hash = api_keys.new_key()
    other, _, _ = api_keys.new_key()
    assert key.startswith("mp_") and len(key) > 40 and key != other
    assert key_id == key[:10]
    assert key_hash == api_keys.hash_key(key) and key not in key_hash and len(key_hash) == 64


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("  Bearer   abc  ", "abc"), ("BEARER abc", "abc")],
)
def test_bearer_token_is_read_from_the_header(header: str, token: str) -> None:
    assert api_keys.bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "abc", "Basic abc", "Bearer", "Bearer   ", "Token abc"])
def test_anything_else_is_no_token(header: str | None) -> None:
    assert api_keys.bearer_token(header) is None


def test_same_secret() -> None:
    assert api_keys.same_secret("s3cret", "s3cret")
    assert not api_keys.same_secret("s3cret", "s3cre")
    assert not api_keys.same_secret("", "x")
