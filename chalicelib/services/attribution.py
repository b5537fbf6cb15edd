"""Attribution, for rules and campaigns alike (domain/attribution.py decides): an order placed →
the member's recent messages (the messages table's ``by_member`` index, newest first, bounded by
the longest window) → the one it converts, marked once per order (services/tallies.py counts it
from the messages stream)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..domain.attribution import MAX_WINDOW_HOURS, RULE_WINDOW_HOURS, converting
from ..domain.model import Message, Order
from ..ports import CampaignStore, MessageStore

Log = Callable[..., None]


class Attribution:
    def __init__(self, messages: MessageStore, campaigns: CampaignStore, log: Log | None = None) -> None:
        self.messages = messages
        self.campaigns = campaigns
        self.log = log or (lambda *a, **k: None)
        self._windows: dict[str, int | None] = {}

    def window_hours(self, message: Message) -> int | None:
        if message.campaign_id is None:
            return RULE_WINDOW_HOURS
        if message.campaign_id not in self._windows:
            campaign = self.campaigns.get(message.campaign_id)
            self._windows[message.campaign_id] = campaign.conversion_window_hours if campaign else None
        return self._windows[message.campaign_id]

    def order_placed(self, order: Order, at: datetime) -> str | None:
        """The id of the message the order converts (None: none), recorded once per order."""
        since = order.purchased_at - timedelta(hours=MAX_WINDOW_HOURS)
        recent = self.messages.recent_for_member(order.member_id, since)
        message = converting(recent, order.purchased_at, self.window_hours)
        if message is None:
            return None
        new = self.messages.convert(message.message_id, order.member_id, order.order_id, order.total, at)
        self.log("order attributed" if new else "order attributed before", message_id=message.message_id)
        return message.message_id
