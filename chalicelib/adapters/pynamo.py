"""What every PynamoDB store shares: one connection for transactions, and telling a failed condition
from any other error."""

from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection


def conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    """One PynamoDB connection per container for transactions (a new one builds a new client)."""
    return Connection()
