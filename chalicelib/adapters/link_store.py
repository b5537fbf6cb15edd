"""``LinkStore`` on DynamoDB: tracked links and their clicks."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from ..domain.isotime import to_iso
from ..domain.links import Link
from .models import LinkModel, MessageModel
from .pynamo import conditional_failed


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

    def forget_message(self, message_id: str) -> int:
        tokens = [row.token for row in LinkModel.by_message.query(message_id)]
        with LinkModel.batch_write() as batch:
            for token in tokens:
                batch.delete(LinkModel(token))
        return len(tokens)
