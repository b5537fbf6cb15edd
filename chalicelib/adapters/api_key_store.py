"""``ApiKeyStore`` on DynamoDB (keys stored hashed)."""

from __future__ import annotations

from datetime import datetime

from ..domain.isotime import to_iso
from .models import ApiKeyModel


class DynamoApiKeyStore:
    def is_active(self, key_hash: str) -> bool:
        try:
            return bool(ApiKeyModel.get(key_hash).active)
        except ApiKeyModel.DoesNotExist:
            return False

    def put(self, key_hash: str, key_id: str, label: str, created_at: datetime) -> None:
        ApiKeyModel(key_hash, key_id=key_id, label=label, created_at=to_iso(created_at)).save()
