"""Messages whose receipt never came: ask the provider, or mark them ``unknown`` after a window.

Run every 10 minutes (``reconcile_receipts`` in app.py). Per provider, the messages it sent that
still await a receipt and were sent (or last looked at) one ``query_after`` ago or more are read
from the sparse ``awaiting_receipt`` index (``MessageStore.awaiting_receipt``: no scan), oldest
first, at most ``max_per_run`` in all. For each, ``domain/reconciliation.py`` decides: a provider
with a status query (``Provider.query_status``: Alibaba ``QuerySendDetails``, Tencent's pull
status, Twilio's message fetch, the sandbox) is asked and what it reports is recorded as a receipt
(``Receipts.apply``: never backwards, in the message's trail); when it knows no more the message is
looked at again one ``query_after`` later; past ``give_up_after`` (since the send) it becomes
``unknown``. A provider that cannot be asked is only looked at when its window closes. A provider
that sends no receipts at all (WeCom kf) is not waited for. A late real receipt still moves an
``unknown`` message on. A provider that cannot be asked now (throttled, down) is left for the next run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime

from ..domain.model import Message, MessageStatus
from ..domain.reconciliation import (
    QUERYING,
    Apply,
    Capabilities,
    KeepWaiting,
    MarkUnknown,
    StopWaiting,
    Window,
    decide,
    should_ask,
    window_for,
)
from ..ports import MemberStore, MessageStore, Provider, ProviderError, Receipt, ReceiptBook

Log = Callable[..., None]

MAX_PER_RUN = 200  # messages looked at per run (each may be one provider request)


class Reconciler:
    def __init__(
        self,
        messages: MessageStore,
        members: MemberStore,
        providers: Mapping[str, Provider],
        receipts: ReceiptBook,
        windows: Mapping[str, Window],
        log: Log,
        max_per_run: int = MAX_PER_RUN,
    ) -> None:
        self.messages = messages
        self.members = members
        self.providers = providers
        self.receipts = receipts
        self.windows = windows
        self.log = log
        self.max_per_run = max_per_run

    def run(self, now: datetime) -> dict[str, int]:
        """Look at what is due at ``now``; counts of what was done (also logged per provider)."""
        total: Counter[str] = Counter()
        for name in list(self.providers):
            budget = self.max_per_run - total["looked_at"]
            if budget <= 0:
                total["providers_left"] += 1
                continue
            counts = self._provider(name, now, budget)
            if counts:
                self.log("receipts reconciled", provider=name, **counts)
                total.update(counts)
        return dict(total)

    def _provider(self, name: str, now: datetime, budget: int) -> Counter[str]:
        counts: Counter[str] = Counter()
        # The earliest any message of this provider can be due; the provider (its SDK, its secrets)
        # is only built when one is.
        earliest = self.windows.get(name, QUERYING)
        ids = self.messages.awaiting_receipt(name, now - earliest.query_after, budget)
        if not ids:
            return counts
        provider = self._get(name)
        caps = (
            Capabilities(provider.gives_receipts, provider.can_query_status)
            if provider is not None
            else Capabilities(gives_receipts=True, can_query=False)  # not configured here: cannot be asked
        )
        window = window_for(name, caps.can_query, self.windows)
        if window.query_after != earliest.query_after:
            ids = self.messages.awaiting_receipt(name, now - window.query_after, budget)
        for message_id in ids:
            counts["looked_at"] += 1
            message = self.messages.get(message_id)
            if message is None:
                counts["gone"] += 1
                continue
            answer: Receipt | None = None
            if provider is not None and should_ask(message, caps, window, now):
                try:
                    answer = self._ask(provider, message, now)
                except ProviderError as exc:
                    # Throttled or down: the rest of this provider's messages wait for the next run.
                    counts["query_failed"] += 1
                    self.log("status query failed", provider=name, code=exc.code, message_id=message_id)
                    break
                counts["queried"] += 1
            decision = decide(message, caps, answer.status if answer else None, window, now)
            if isinstance(decision, Apply) and answer is not None:
                applied = self.receipts.apply(
                    Receipt(message.message_id, answer.provider_message_id, decision.status, answer.at, answer.reason)
                )
                counts[f"applied_{decision.status.value}" if applied else "already_moved"] += 1
            elif isinstance(decision, MarkUnknown):
                moved = self.messages.transition(
                    message.message_id,
                    MessageStatus.UNKNOWN,
                    now,
                    expect=frozenset({MessageStatus.SENT}),
                    reason=decision.reason,
                )
                counts["unknown" if moved else "already_moved"] += 1
            elif isinstance(decision, StopWaiting):
                self.messages.stop_awaiting(message.message_id)
                counts["stopped_waiting"] += 1
            elif isinstance(decision, KeepWaiting):
                self.messages.recheck_later(message.message_id, now)
                counts["still_waiting"] += 1
        return counts

    def _ask(self, provider: Provider, message: Message, now: datetime) -> Receipt | None:
        member = self.members.get(message.member_id)
        to = member.address(message.channel) if member is not None else None
        if not to or not message.provider_message_id or message.sent_at is None:
            return None  # nothing to ask by (the member was erased meanwhile, or a record without its id)
        receipt = provider.query_status(message.message_id, message.provider_message_id, to, message.sent_at, now)
        if receipt is None or receipt.status is MessageStatus.SENT:
            return None
        return receipt

    def _get(self, name: str) -> Provider | None:
        try:
            return self.providers[name]
        except KeyError:
            return None
