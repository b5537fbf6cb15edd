"""Provider receipts recorded on their messages: delivered, read, failed, undelivered. A receipt
never moves a message backwards (they arrive out of order) and never revives a suppressed or
capped one. Shared by the sender (receipts a provider gives in its answer) and the inbound worker
(receipts that come by webhook), which needs nothing else of the sender."""

from __future__ import annotations

from ..domain.model import STATUS_RANK, MessageStatus
from ..ports import MessageStore, Receipt

_FINAL_WITHOUT_SEND = (MessageStatus.SUPPRESSED, MessageStatus.CAPPED, MessageStatus.CONTROL)


class Receipts:
    def __init__(self, messages: MessageStore) -> None:
        self.messages = messages

    def apply(self, receipt: Receipt) -> bool:
        if receipt.message_id is None:
            return False
        lower = frozenset(
            s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[receipt.status] and s not in _FINAL_WITHOUT_SEND
        )
        return self.messages.transition(
            receipt.message_id, receipt.status, receipt.at, expect=lower, reason=receipt.reason
        )
