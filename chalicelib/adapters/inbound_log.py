"""``InboundStore`` on DynamoDB: every inbound event once, keyed on (provider, event id), kept for
a while (TTL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.update import Action

from ..domain.isotime import to_iso
from .models import InboundModel
from .pynamo import conditional_failed

INBOUND_KEEP = timedelta(days=180)  # inbound events (and their raw payloads) are kept this long


def _ttl(now: datetime, keep: timedelta) -> int:
    return int((now + keep).timestamp())


class DynamoInboundStore:
    def claim(self, provider: str, event_id: str, kind: str, at: datetime, now: datetime) -> bool:
        row = InboundModel(
            f"{provider}#{event_id}",
            provider=provider,
            event_id=event_id,
            kind=kind,
            at=to_iso(at),
            status="processing",
            updated_at=to_iso(now),
            expires=_ttl(now, INBOUND_KEEP),
        )
        try:
            row.save(condition=InboundModel.event_key.does_not_exist() | (InboundModel.status != "done"))
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def finish(
        self, provider: str, event_id: str, outcome: str, now: datetime, record: dict[str, object] | None = None
    ) -> None:
        actions: list[Action] = [
            InboundModel.status.set("done"),
            InboundModel.outcome.set(outcome),
            InboundModel.updated_at.set(to_iso(now)),
        ]
        if record:
            actions.append(InboundModel.record.set(record))
        InboundModel(f"{provider}#{event_id}").update(actions=actions)

    def get(self, provider: str, event_id: str) -> dict[str, Any] | None:
        """Test and support helper: the stored row as plain values."""
        try:
            return dict(InboundModel.get(f"{provider}#{event_id}", consistent_read=True).to_simple_dict())
        except InboundModel.DoesNotExist:
            return None
