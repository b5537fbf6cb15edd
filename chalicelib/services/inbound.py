"""What providers tell us, acted on: receipts move messages forward, members' replies change
consent, get answers, open handoff tickets or become conversation history.

Every event is handled once: it is claimed in the inbound log on (provider, event id) first, and a
replay of an event handled to the end does nothing. Every step is itself idempotent (consent set
to a value, reply messages keyed on (member, rule, event), tickets keyed on the event), so an event
whose handling died half-way is simply handled again when SQS redelivers it.

Personal data is never recreated: a receipt for a message or member that no longer exists (an
erased member's) leaves only the non-personal event id in the log. What the log keeps of other
events is masked (``inbound_codec.kept_record``: no text, no full number) and filed under the
member, so their erasure reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..domain.consent import BY_PROVIDER, BY_REPLY
from ..domain.inbound import InboundEvent, InboundKind
from ..domain.inbound_codec import kept_record
from ..domain.model import Channel, Member
from ..domain.phones import mask, to_e164
from ..domain.replies import HANDOFF_OPEN, HandoffTicket, reply_occurrence, ticket_id
from ..ports import (
    Catalog,
    ConsentKeeper,
    ConversationLog,
    Cursors,
    HandoffStore,
    InboundStore,
    Intent,
    MemberDirectory,
    MemberStore,
    MessageIndex,
    MessageStore,
    Provider,
    Receipt,
    ReceiptBook,
    Replier,
    StaffNotifier,
)
from .replies import MemberReply, ReplyChain, ReplyHandler
from .replies.consent import OptOutReply
from .replies.intents import IntentReply

Log = Callable[..., None]


class InboundService:
    def __init__(
        self,
        *,
        inbound: InboundStore,
        members: MemberStore,
        messages: MessageStore,
        directory: MemberDirectory,
        index: MessageIndex,
        conversations: ConversationLog,
        handoffs: HandoffStore,
        staff: StaffNotifier,
        catalog: Catalog,
        replier: Replier,
        receipts: ReceiptBook,
        consent: ConsentKeeper,
        classify: Callable[[str, str], Intent],
        adapters: Callable[[], Mapping[str, Provider]],
        cursors: Cursors,
        default_region: str = "CN",
        picks: int = 3,
        log: Log | None = None,
        replies: Sequence[ReplyHandler] = (),
    ) -> None:
        self.inbound = inbound
        self.members = members
        self.messages = messages
        self.directory = directory
        self.index = index
        self.conversations = conversations
        self.handoffs = handoffs
        self.staff = staff
        self.catalog = catalog
        self.replier = replier
        self.receipts = receipts
        self.consent = consent
        self.classify = classify
        self.adapters = adapters
        self.cursors = cursors
        self.default_region = default_region
        self.picks = picks
        self.log = log or (lambda *a, **k: None)

        # What a member's reply leads to (services/replies/chain.py): opt-out words, then the
        # handlers passed in (activities, campaigns …) at their stages, then the router's intents.
        def set_consent(member_id: str, channel: Channel, on: bool, at: datetime) -> Member | None:
            return self._set_consent(member_id, channel, on, at, BY_REPLY)

        intents = IntentReply(set_consent, self._handoff, catalog, picks)
        self.replies = ReplyChain([OptOutReply(set_consent), *replies, intents])

    def handle(self, event: InboundEvent, now: datetime) -> str:
        """Act on one event, once. Returns what it led to (for logs and tests); ``duplicate`` for a replay."""
        if not self.inbound.claim(event.provider, event.event_id, event.kind.value, event.at, now):
            self.log("inbound replay ignored", provider=event.provider, event_id=event.event_id)
            return "duplicate"
        member_id: str | None = None
        if event.kind is InboundKind.RECEIPT:
            outcome, keep, member_id = self._receipt(event)
        elif event.kind is InboundKind.FETCH:
            outcome, keep = self._fetch(event, now), True
        else:
            outcome, keep, member_id = self._from_member(event, now)
        record = kept_record(event) if keep else None
        self.inbound.finish(event.provider, event.event_id, outcome, now, record, member_id)
        self.log("inbound handled", provider=event.provider, kind=event.kind.value, outcome=outcome)
        return outcome

    # -- receipts ---------------------------------------------------------------------------------
    def _receipt(self, event: InboundEvent) -> tuple[str, bool, str | None]:
        message = self.messages.get(event.message_id) if event.message_id else None
        if message is None and event.provider_message_id:
            found = self.index.by_provider_id(event.provider_message_id)
            message = self.messages.get(found) if found else None
        if message is None or self.members.get(message.member_id) is None:
            return "receipt for no message", False, None  # erased or never ours: keep nothing personal
        if event.status is None:
            return "receipt without status", True, message.member_id
        applied = self.receipts.apply(
            Receipt(message.message_id, event.provider_message_id, event.status, event.at, event.reason)
        )
        return ("receipt applied" if applied else "receipt stale"), True, message.member_id

    # -- pulls ------------------------------------------------------------------------------------
    def _fetch(self, event: InboundEvent, now: datetime) -> str:
        adapter = self.adapters().get(event.provider)
        if adapter is None:
            return "fetch: provider not configured"
        fetched = adapter.fetch(event, self.cursors, now)
        for each in fetched:
            self.handle(each, now)
        return f"fetched {len(fetched)}"

    # -- what members send ------------------------------------------------------------------------
    def _from_member(self, event: InboundEvent, now: datetime) -> tuple[str, bool, str | None]:
        member = self._sender(event)
        if member is None:
            shown = mask(event.sender) if event.channel is Channel.SMS else event.sender
            self.log("inbound from unknown sender", provider=event.provider, sender=shown)
            return "unknown sender", True, None
        if event.kind is InboundKind.OPT_OUT:
            self._set_consent(member.member_id, event.channel, False, now, BY_PROVIDER)
            return "opted out (provider)", True, member.member_id
        if event.kind is InboundKind.OPT_IN:
            self._set_consent(member.member_id, event.channel, True, now, BY_PROVIDER)
            return "opted in (provider)", True, member.member_id
        text = event.text or ""
        self.conversations.append(
            member.member_id,
            event.at,
            event.event_id,
            {"direction": "in", "channel": event.channel.value, "provider": event.provider, "text": text},
        )

        def respond(to: Member, rule: str, facts: dict[str, Any]) -> None:
            self._reply(to, rule, event, facts, now)

        outcome = self.replies.answer(MemberReply(member, event, text, now, self.classify, respond))
        return outcome, True, member.member_id

    def _sender(self, event: InboundEvent) -> Member | None:
        sender = (event.sender or "").strip()
        if not sender:
            return None
        if event.channel is Channel.IM:
            member_id = self.directory.by_im_user(sender)
        else:
            member_id = self.directory.by_phone(self._e164(sender))
        return self.members.get(member_id) if member_id else None

    def _e164(self, phone: str) -> str:
        if phone.startswith("+"):
            return phone
        try:
            return to_e164(phone, self.default_region)
        except ValueError:
            return phone

    def _set_consent(self, member_id: str, channel: Channel, on: bool, now: datetime, source: str) -> Member | None:
        return self.consent.set_consent(member_id, channel, on, now, source)

    def _handoff(self, member: Member, event: InboundEvent, text: str, now: datetime) -> str:
        """Open the event's ticket (once) and tell staff (until told: at least once)."""
        tid = ticket_id(event.provider, event.event_id)
        ticket = self.handoffs.get(tid)
        if ticket is None:
            ticket = HandoffTicket(
                tid, member.member_id, event.channel, text, HANDOFF_OPEN, now, event.provider, event.event_id
            )
            if not self.handoffs.open(ticket):
                ticket = self.handoffs.get(tid) or ticket
        if not ticket.notified:
            self.staff.notify(
                f"MemberPulse handoff {tid}",
                {
                    "ticket_id": tid,
                    "member_id": member.member_id,
                    "member_name": member.name or None,
                    "channel": event.channel.value,
                    "text": text,
                    "created_at": ticket.created_at.isoformat(),
                },
            )
            self.handoffs.mark_notified(tid)
            self.log("handoff opened", ticket_id=tid, member_id=member.member_id)
        return tid

    def _reply(self, member: Member, rule: str, event: InboundEvent, facts: dict[str, Any], now: datetime) -> None:
        """Answer on the channel the member wrote on, through the provider they wrote to when it
        can send there (a Twilio number answers from Twilio), else the channel's configured one."""
        adapter = self.adapters().get(event.provider)
        # A webhook-only adapter (no send credentials here, e.g. the local stack) leaves the answer
        # to the channel's own provider.
        can_send = adapter is not None and event.channel in adapter.channels and not adapter.send_unavailable
        provider = event.provider if can_send else None
        occurrence = reply_occurrence(event.provider, event.event_id)
        planned = self.replier.reply(member, rule, occurrence, event.channel, facts, now, provider=provider)
        self.log("reply planned", member_id=member.member_id, rule=rule, planned=len(planned))
