"""The message log behind ``GET /v1/messages`` (CONTRACT §8): a page of messages in a time range,
filtered, newest first, with phone numbers masked; as JSON rows or a bounded CSV export."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain.message_log import CSV_LIMIT, JSON_LIMIT, READ_BUDGET, encode_cursor, parse_request, row
from ..ports import MemberDirectory, MessageLog

# A CSV export reads as many index items per row as a JSON page does.
CSV_BUDGET = READ_BUDGET * CSV_LIMIT[1] // JSON_LIMIT[1]


class MessageLogService:
    def __init__(self, log: MessageLog, directory: MemberDirectory, store_timezone: str) -> None:
        self.log = log
        self.directory = directory
        self.store_timezone = store_timezone

    def page(
        self, params: Mapping[str, str] | None, now: datetime, csv_export: bool = False
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The rows of one page and the cursor of the next (None on the last)."""
        request = parse_request(params, now, self.store_timezone, csv_export)
        budget = CSV_BUDGET if csv_export else READ_BUDGET
        found = self.log.page(request.query, request.after, request.limit, budget)
        phones = self.directory.phones_of([m.member_id for m in found.messages])
        rows = [row(m, phones.get(m.member_id)) for m in found.messages]
        return rows, (encode_cursor(request.query, found.next) if found.next else None)
