"""DynamoDB, SQS, SNS and HTTP adapters of the inbound side: the inbound-event log (dedupe), member
and message look-ups by address / provider id, conversation history, handoff tickets, tracked
links, pull cursors, the inbound queue, staff notifications and webhook follow-ups."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from ..domain.clock import parse_iso, to_iso
from ..domain.links import Link
from ..domain.model import Channel
from ..domain.replies import HandoffTicket
from .dynamo import conditional_failed
from .models import ActivityModel, CursorModel, HandoffModel, InboundModel, LinkModel, MemberModel, MessageModel

INBOUND_KEEP = timedelta(days=180)  # inbound events (and their raw payloads) are kept this long


def _ttl(now: datetime, keep: timedelta) -> int:
    return int((now + keep).timestamp())


class DynamoInboundStore:
    def claim(self, provider: str, event_id: str, kind: str, at: datetime, now: datetime) -> bool:
        row = InboundModel(
            f"{provider}#{event_id}",
            provider=provider,
            event_id=event_id,
            kind=kind,
            at=to_iso(at),
            status="processing",
            updated_at=to_iso(now),
            expires=_ttl(now, INBOUND_KEEP),
        )
        try:
            row.save(condition=InboundModel.event_key.does_not_exist() | (InboundModel.status != "done"))
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def finish(
        self, provider: str, event_id: str, outcome: str, now: datetime, record: dict[str, object] | None = None
    ) -> None:
        actions: list[Action] = [
            InboundModel.status.set("done"),
            InboundModel.outcome.set(outcome),
            InboundModel.updated_at.set(to_iso(now)),
        ]
        if record:
            actions.append(InboundModel.record.set(record))
        InboundModel(f"{provider}#{event_id}").update(actions=actions)

    def get(self, provider: str, event_id: str) -> dict[str, Any] | None:
        """Test and support helper: the stored row as plain values."""
        try:
            return dict(InboundModel.get(f"{provider}#{event_id}", consistent_read=True).to_simple_dict())
        except InboundModel.DoesNotExist:
            return None


class DynamoMemberDirectory:
    def by_phone(self, phone: str) -> str | None:
        for row in MemberModel.by_phone.query(phone, limit=1):
            return str(row.member_id)
        return None

    def by_im_user(self, im_user_id: str) -> str | None:
        for row in MemberModel.by_im_user.query(im_user_id, limit=1):
            return str(row.member_id)
        return None


class DynamoMessageIndex:
    def by_provider_id(self, provider_message_id: str) -> str | None:
        for row in MessageModel.by_provider_id.query(provider_message_id, limit=1):
            return str(row.message_id)
        return None


class DynamoConversationLog:
    """Conversation history in the activity table: ``sk`` = ``CHAT#<at>#<event id>``, kind ``chat``
    (the activity stream handler skips it)."""

    def append(self, member_id: str, at: datetime, event_id: str, data: dict[str, object]) -> None:
        row = ActivityModel(member_id, f"CHAT#{to_iso(at)}#{event_id}", kind="chat", data=data, at=to_iso(at))
        try:
            row.save(condition=ActivityModel.sk.does_not_exist())
        except PutError as exc:
            if not conditional_failed(exc):
                raise


def _ticket(row: HandoffModel) -> HandoffTicket:
    return HandoffTicket(
        ticket_id=row.ticket_id,
        member_id=row.member_id,
        channel=Channel(row.channel),
        text=row.text,
        status=row.status,
        created_at=parse_iso(row.created_at),
        provider=row.provider or "",
        event_id=row.event_id or "",
        notified=bool(row.notified),
    )


class DynamoHandoffStore:
    def get(self, ticket_id: str) -> HandoffTicket | None:
        try:
            return _ticket(HandoffModel.get(ticket_id, consistent_read=True))
        except HandoffModel.DoesNotExist:
            return None

    def open(self, ticket: HandoffTicket) -> bool:
        row = HandoffModel(
            ticket.ticket_id,
            member_id=ticket.member_id,
            channel=ticket.channel.value,
            text=ticket.text,
            status=ticket.status,
            created_at=to_iso(ticket.created_at),
            provider=ticket.provider or None,
            event_id=ticket.event_id or None,
            notified=ticket.notified,
        )
        try:
            row.save(condition=HandoffModel.ticket_id.does_not_exist())
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def mark_notified(self, ticket_id: str) -> None:
        HandoffModel(ticket_id).update(actions=[HandoffModel.notified.set(True)])

    def list(self, status: str, limit: int = 100) -> list[HandoffTicket]:
        rows = HandoffModel.by_status.query(status, scan_index_forward=False, limit=limit)
        return [_ticket(r) for r in rows]


class DynamoLinkStore:
    def put(self, links: list[Link], now: datetime) -> None:
        """Store each token once (a replanned message repeats its tokens; clicks are kept)."""
        for link in links:
            row = LinkModel(link.token, message_id=link.message_id, target=link.target, created_at=to_iso(now))
            try:
                row.save(condition=LinkModel.token.does_not_exist())
            except PutError as exc:
                if not conditional_failed(exc):
                    raise

    def get(self, token: str) -> Link | None:
        try:
            row = LinkModel.get(token)
        except LinkModel.DoesNotExist:
            return None
        return Link(row.token, row.message_id, row.target)

    def record_click(self, link: Link, at: datetime) -> None:
        """Count the click on the link; the message keeps the time of its first click."""
        when = to_iso(at)
        LinkModel(link.token).update(
            actions=[
                LinkModel.clicks.add(1),
                LinkModel.first_clicked_at.set(LinkModel.first_clicked_at | when),
                LinkModel.last_clicked_at.set(when),
            ],
            condition=LinkModel.token.exists(),
        )
        try:
            MessageModel(link.message_id).update(
                actions=[MessageModel.clicked_at.set(MessageModel.clicked_at | when)],
                condition=MessageModel.message_id.exists(),
            )
        except UpdateError as exc:
            if not conditional_failed(exc):  # the message is gone (erased): the link count is enough
                raise


class DynamoCursors:
    """``Cursors`` of the provider base class, one item per key."""

    def get(self, key: str) -> str | None:
        try:
            return str(CursorModel.get(key, consistent_read=True).value)
        except CursorModel.DoesNotExist:
            return None

    def put(self, key: str, value: str) -> None:
        CursorModel(key, value=value, updated_at=to_iso(datetime.now(UTC))).save()


# SQS: at most 10 entries and 256 KiB per SendMessageBatch; a margin is kept for the envelope.
_BATCH_BYTES = 240 * 1024


def _batches(bodies: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if batch and (len(batch) == 10 or size + length > _BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(body)
        size += length
    if batch:
        yield batch


class SqsInboundQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def put(self, events: list[dict[str, object]]) -> None:
        bodies = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events]
        for batch in _batches(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                why = failed[0].get("Message")
                raise RuntimeError(f"SQS refused {len(failed)} of {len(batch)} inbound events: {why}")


class SnsStaffNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def notify(self, subject: str, body: dict[str, object]) -> None:
        if not self.topic_arn:
            return
        ascii_subject = subject.encode("ascii", "replace").decode()[:99]
        self.client.publish(
            TopicArn=self.topic_arn, Subject=ascii_subject, Message=json.dumps(body, ensure_ascii=False)
        )


class HttpFollowUp:
    """Webhook follow-ups an adapter asks for (an SNS ``SubscribeURL`` to confirm): one GET each."""

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout

    def get(self, url: str) -> int:
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError("follow-up URL must be http(s)")
        request = urllib.request.Request(url, method="GET")  # noqa: S310 (scheme checked above)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            response.read(64 * 1024)
            return int(response.status)
