"""``MessageIndex`` on DynamoDB: our message id for a provider's (sparse GSI)."""

from __future__ import annotations

from .models import MessageModel


class DynamoMessageIndex:
    def by_provider_id(self, provider_message_id: str) -> str | None:
        for row in MessageModel.by_provider_id.query(provider_message_id, limit=1):
            return str(row.message_id)
        return None
