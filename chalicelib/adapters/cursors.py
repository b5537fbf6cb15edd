"""``Cursors`` on DynamoDB: where a pulling provider adapter keeps its place."""

from __future__ import annotations

from datetime import UTC, datetime

from ..domain.isotime import to_iso
from .models import CursorModel


class DynamoCursors:
    """``Cursors`` of the provider base class, one item per key."""

    def get(self, key: str) -> str | None:
        try:
            return str(CursorModel.get(key, consistent_read=True).value)
        except CursorModel.DoesNotExist:
            return None

    def put(self, key: str, value: str) -> None:
        CursorModel(key, value=value, updated_at=to_iso(datetime.now(UTC))).save()
