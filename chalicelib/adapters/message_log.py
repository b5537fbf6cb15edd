"""``MessageLog`` on DynamoDB: the ``by_day`` index of the messages table (``log_day`` = the UTC day
a message was created, ``created_at`` its range key).

A page queries the range's days newest first, each with ``created_at BETWEEN since AND until``
and the query's filters (rule, status, campaign, channel) as a filter expression: DynamoDB reads
the day's messages in the time range and returns the ones that pass, so the cost is the messages
of the range read, never the table. ``budget`` bounds the items one page reads; a page that hits
it ends early with a position to go on from (between two DynamoDB pages, or between two days).
"""

from __future__ import annotations

from typing import Any

from ..domain.isotime import to_iso
from ..domain.message_log import LogPage, LogPosition, LogQuery
from ..domain.model import Message
from . import codec
from .models import MessageModel

_PAGE = 200  # items DynamoDB evaluates per request at most (its 1 MB answer limit may cut sooner)


class DynamoMessageLog:
    def page(self, query: LogQuery, after: LogPosition | None, limit: int, budget: int) -> LogPage:
        days = query.days()
        if after is not None:
            days = days[days.index(after.day) :] if after.day in days else []
        taken: list[Message] = []
        reads = 0
        for n, day in enumerate(days):
            start = None
            if after is not None and n == 0 and after.created_at and after.message_id:
                start = {
                    "log_day": {"S": day},
                    "created_at": {"S": after.created_at},
                    "message_id": {"S": after.message_id},
                }
            while True:
                if reads >= budget:
                    return LogPage(taken, _position(day, start))
                wanted = limit - len(taken) + 1 if _filters(query) is None else _PAGE
                page = next(
                    MessageModel.by_day.query(
                        day,
                        MessageModel.created_at.between(to_iso(query.since), to_iso(query.until)),
                        filter_condition=_filters(query),
                        scan_index_forward=False,
                        last_evaluated_key=start,
                        page_size=min(_PAGE, budget - reads, wanted),
                    ).page_iter
                )
                reads += int(page.get("ScannedCount", 0))
                items = page.get("Items", [])
                for i, item in enumerate(items):
                    taken.append(codec.message_from_item(MessageModel.from_raw_data(item).to_simple_dict()))
                    if len(taken) == limit:
                        more = i + 1 < len(items) or "LastEvaluatedKey" in page or n + 1 < len(days)
                        last = LogPosition(day, to_iso(taken[-1].created_at), taken[-1].message_id)
                        return LogPage(taken, last if more else None)
                start = page.get("LastEvaluatedKey")
                if start is None:
                    break
        return LogPage(taken, None)


def _position(day: str, start: dict[str, Any] | None) -> LogPosition:
    if start is None:
        return LogPosition(day)
    return LogPosition(day, start["created_at"]["S"], start["message_id"]["S"])


def _filters(query: LogQuery) -> Any:
    condition: Any = None
    parts: list[Any] = []
    if query.triggers:
        parts.append(MessageModel.trigger.is_in(*sorted(query.triggers)))
    if query.statuses:
        parts.append(MessageModel.status.is_in(*sorted(query.statuses)))
    if query.campaign is not None:
        parts.append(MessageModel.campaign_id == query.campaign)
    if query.channel is not None:
        parts.append(MessageModel.channel == query.channel)
    for part in parts:
        condition = part if condition is None else condition & part
    return condition
