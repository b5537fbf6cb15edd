"""Errors the domain raises; the HTTP layer maps them to status codes."""

from __future__ import annotations


class ValidationFailed(Exception):
    """Bad input. ``fields`` maps each offending field path to what is wrong with it."""

    def __init__(self, fields: dict[str, str], message: str = "invalid input") -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Conflict(Exception):
    """The request clashes with the current state: the same business key sent again with other
    content, or a change the record's state does not allow now (``fields`` names what is in the way)."""

    def __init__(self, message: str = "conflict", fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}
