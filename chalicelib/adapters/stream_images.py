"""DynamoDB stream images, as Powertools' ``DynamoDBRecord`` decodes them (numbers as Decimal),
→ plain values and domain objects, through the same codec the stores use."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..domain.model import Member
from . import codec


def plain(value: Any) -> Any:
    """Decimals → int/float, sets → sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    return value


def image_to_member(image: dict[str, Any]) -> Member:
    return codec.member_from_item(plain(image))
