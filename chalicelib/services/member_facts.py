"""What segments need, kept on the member's own item from the activity stream: each order counted
once (the order is marked counted in the same transaction, so a replayed stream record counts
nothing), with its total and the categories it bought."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.member_facts import with_order
from ..domain.model import Order
from ..ports import Catalog, MemberStore, VersionConflict

Log = Callable[..., None]
_RETRIES = 5


class MemberFacts:
    def __init__(self, members: MemberStore, catalog: Catalog, store_zone: str, log: Log | None = None) -> None:
        self.members = members
        self.catalog = catalog
        self.store_zone = store_zone
        self.log = log or (lambda *a, **k: None)

    def order_placed(self, order: Order, at: datetime) -> bool:
        """Count the order on its member (once); False for a replay or an unknown member."""
        products = self.catalog.products()
        for _ in range(_RETRIES):
            member = self.members.get(order.member_id)
            if member is None:
                return False
            try:
                counted = self.members.count_order(order, with_order(member, order, products, self.store_zone))
            except VersionConflict:
                continue
            self.log("order counted" if counted else "order counted before", order_id=order.order_id)
            return counted
        raise VersionConflict(order.member_id)
