"""``memberpulse keys create``: a new API key, printed once, stored only as its hash."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.api_keys import hash_key, new_key
from chalicelib.domain.isotime import to_iso

from .aws import Aws


def create_key(aws: Aws, table: str, label: str) -> str:
    key, key_id, key_hash = new_key()
    aws.client("dynamodb").put_item(
        TableName=table,
        Item={
            "key_hash": {"S": key_hash},
            "key_id": {"S": key_id},
            "label": {"S": label},
            "created_at": {"S": to_iso(datetime.now(UTC))},
            "active": {"BOOL": True},
        },
    )
    return key


def key_is_active(aws: Aws, table: str, key: str) -> bool:
    item = aws.client("dynamodb").get_item(TableName=table, Key={"key_hash": {"S": hash_key(key)}}).get("Item")
    return bool(item and item.get("active", {}).get("BOOL"))
