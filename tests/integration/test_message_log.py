"""The message log on DynamoDB, what is its own: every message is filed under its UTC day
(``log_day``, the ``by_day`` index). The store's promises are the contract's
(``tests/integration/contract/test_message_log.py``, run against every kind of adapter)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.model import Channel, Message, MessageStatus


def test_every_message_is_filed_under_its_utc_day(aws: Any) -> None:
    at = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    message = Message("msg-1", "m-1", "welcome", "join", Channel.SMS, "sandbox", "欢迎", MessageStatus.DELIVERED, at)
    DynamoMessageStore().create(message)
    [item] = aws.scan("MessagesTable")
    assert item["log_day"] == {"S": "2026-11-20"}
