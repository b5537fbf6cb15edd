"""A rule firing now: the rule, the member and the occurrence.

``occurrence`` is the part of the idempotency key that tells one firing of a rule from the next
(``join`` for a welcome, the new tier for an upgrade, …); together with member and rule it is the
business key of the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Trigger:
    rule_id: str
    member_id: str
    occurrence: str
    at: datetime
    facts: dict[str, Any] = field(default_factory=dict)
    send_before: datetime | None = None  # the message goes before this moment or not at all
