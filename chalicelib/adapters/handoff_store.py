"""``HandoffStore`` on DynamoDB: tickets for a person to pick up."""

from __future__ import annotations

import builtins

from pynamodb.exceptions import PutError

from ..domain.isotime import parse_iso, to_iso
from ..domain.model import Channel
from ..domain.replies import HandoffTicket
from .models import HandoffModel
from .pynamo import conditional_failed


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

    def for_member(self, member_id: str) -> list[HandoffTicket]:
        ids = [row.ticket_id for row in HandoffModel.by_member.query(member_id)]
        return [t for t in (self.get(i) for i in ids) if t is not None]

    def list(self, status: str, limit: int = 100) -> list[HandoffTicket]:
        rows = HandoffModel.by_status.query(status, scan_index_forward=False, limit=limit)
        return [_ticket(r) for r in rows]

    def forget_member(self, member_id: str) -> int:
        ids = [row.ticket_id for row in HandoffModel.by_member.query(member_id)]
        with HandoffModel.batch_write() as batch:
            for ticket_id in ids:
                batch.delete(HandoffModel(ticket_id))
        return len(ids)

    def page(
        self, status: str, limit: int, after: tuple[str, str] | None = None
    ) -> tuple[builtins.list[HandoffTicket], tuple[str, str] | None]:
        """One more ticket than asked is read, to know whether a next page exists."""
        start = None
        if after is not None:
            start = {"status": {"S": status}, "created_at": {"S": after[0]}, "ticket_id": {"S": after[1]}}
        rows = HandoffModel.by_status.query(
            status, scan_index_forward=False, limit=limit + 1, page_size=limit + 1, last_evaluated_key=start
        )
        tickets = [_ticket(r) for r in rows]
        if len(tickets) <= limit:
            return tickets, None
        last = tickets[limit - 1]
        return tickets[:limit], (to_iso(last.created_at), last.ticket_id)
