"""``InboundStore`` on DynamoDB: every inbound event once, keyed on (provider, event id), kept for
a while (TTL); the masked record of an event apart from its dedupe row, for a shorter while."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.update import Action

from ..domain.isotime import to_iso
from .models import InboundModel
from .pynamo import conditional_failed

INBOUND_KEEP = timedelta(days=180)  # dedupe rows (ids only): longer than any provider repeats an event
RECORD_KEEP = timedelta(days=30)  # the masked record of an event: long enough to answer "what came in?"
_RECORD = "#record"


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
        self,
        provider: str,
        event_id: str,
        outcome: str,
        now: datetime,
        record: dict[str, object] | None = None,
        member_id: str | None = None,
    ) -> None:
        if record:
            InboundModel(
                f"{provider}#{event_id}{_RECORD}",
                provider=provider,
                event_id=event_id,
                kind="record",
                at=to_iso(now),
                status="kept",
                record=record,
                member_id=member_id,
                expires=_ttl(now, RECORD_KEEP),
            ).save()
        actions: list[Action] = [
            InboundModel.status.set("done"),
            InboundModel.outcome.set(outcome),
            InboundModel.updated_at.set(to_iso(now)),
        ]
        InboundModel(f"{provider}#{event_id}").update(actions=actions)

    def forget_member(self, member_id: str) -> int:
        keys = [row.event_key for row in InboundModel.by_member.query(member_id)]
        with InboundModel.batch_write() as batch:
            for key in keys:
                batch.delete(InboundModel(key))
        return len(keys)

    def get(self, provider: str, event_id: str) -> dict[str, Any] | None:
        """Test and support helper: the dedupe row as plain values, with the kept record if any."""
        try:
            row = dict(InboundModel.get(f"{provider}#{event_id}", consistent_read=True).to_simple_dict())
        except InboundModel.DoesNotExist:
            return None
        try:
            kept = InboundModel.get(f"{provider}#{event_id}{_RECORD}", consistent_read=True)
        except InboundModel.DoesNotExist:
            return row
        return {**row, "record": kept.record.as_dict() if kept.record is not None else None}
