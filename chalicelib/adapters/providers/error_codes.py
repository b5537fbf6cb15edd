"""A provider's error codes in our words, as data: each adapter declares one :class:`ErrorCodes`
table and the base class maps every refusal through it (``ProviderAdapter.failure``), the way
django-anymail maps each ESP's reject reasons through one table per ESP.

Our codes are :class:`~chalicelib.ports.ProviderError`'s: ``throttled``, ``unavailable`` and
``timeout`` are retried; ``invalid_address`` and ``opted_out`` fail for good and mark the member's
channel; ``rejected`` fails for good. Whether a failure is retried follows from our code alone.

A lookup tries, in order: the code qualified by each qualifier (``ConflictException/
DESTINATION_PHONE_NUMBER_OPTED_OUT``: one code whose meaning depends on a second field), the code,
the longest matching prefix (``LimitExceeded`` covers Tencent's frequency limits), the table's
``HTTP<status>`` entry, then the HTTP status (429 → throttled, 5xx → unavailable); anything else is
``rejected``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OUR_CODES = frozenset({"throttled", "unavailable", "timeout", "invalid_address", "opted_out", "rejected"})
RETRYABLE = frozenset({"throttled", "unavailable", "timeout"})


@dataclass(frozen=True)
class Meaning:
    """What one provider code means: our code, in words where the code alone does not say what to
    do, and how long a limit lasts where the provider's documentation says (seconds)."""

    code: str
    why: str = ""
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.code not in OUR_CODES:
            raise ValueError(f"unknown failure code {self.code!r} (use {', '.join(sorted(OUR_CODES))})")

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE


THROTTLED = Meaning("throttled")
UNAVAILABLE = Meaning("unavailable")
REJECTED = Meaning("rejected")


@dataclass(frozen=True)
class ErrorCodes:
    codes: Mapping[str, Meaning]
    prefixes: tuple[tuple[str, Meaning], ...] = ()

    @classmethod
    def of(cls, codes: Mapping[str, str | Meaning], prefixes: Mapping[str, str | Meaning] | None = None) -> ErrorCodes:
        """A table from plain data: a value is our code, or a :class:`Meaning`."""
        ordered = sorted((prefixes or {}).items(), key=lambda item: -len(item[0]))
        return cls(
            {code: _meaning(value) for code, value in codes.items()},
            tuple((prefix, _meaning(value)) for prefix, value in ordered),
        )

    def with_overrides(self, overrides: Mapping[str, str]) -> ErrorCodes:
        """This table with operations' own mappings on top (codes seen in production)."""
        return ErrorCodes({**self.codes, **{code: Meaning(ours) for code, ours in overrides.items()}}, self.prefixes)

    def meaning(self, code: str, status: int | None = None, qualifiers: Iterable[str] = ()) -> Meaning:
        for qualifier in qualifiers:
            if qualifier and f"{code}/{qualifier}" in self.codes:
                return self.codes[f"{code}/{qualifier}"]
        if code in self.codes:
            return self.codes[code]
        for prefix, meaning in self.prefixes:
            if code.startswith(prefix):
                return meaning
        if status is not None and f"HTTP{status}" in self.codes:
            return self.codes[f"HTTP{status}"]
        if status == 429:
            return THROTTLED
        if status is not None and status >= 500:
            return UNAVAILABLE
        return REJECTED


def _meaning(value: str | Meaning) -> Meaning:
    return value if isinstance(value, Meaning) else Meaning(value)
