"""``ConversationLog`` on DynamoDB: what members wrote, kept with the member."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from ..domain.isotime import to_iso
from .models import ActivityModel
from .pynamo import conditional_failed


class DynamoConversationLog:
    """Conversation history in the activity table: ``sk`` = ``CHAT#<at>#<event id>``, kind ``chat``
    (the activity stream handler skips it)."""

    def append(self, member_id: str, at: datetime, event_id: str, data: dict[str, object]) -> None:
        row = ActivityModel(member_id, f"CHAT#{to_iso(at)}#{event_id}", kind="chat", data=data, at=to_iso(at))
        try:
            row.save(condition=ActivityModel.sk.does_not_exist())
        except PutError as exc:
            if not conditional_failed(exc):
                raise
