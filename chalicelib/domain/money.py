"""Amounts as messages show them. Pure."""

from __future__ import annotations


def display_amount(value: float) -> float | int:
    """200.0 → 200 in message text; 19.9 stays."""
    return int(value) if float(value).is_integer() else value
