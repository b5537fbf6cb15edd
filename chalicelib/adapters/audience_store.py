"""``AudienceStore`` on DynamoDB: who belongs to a segment (``born#YYYY-MM``, ``tag#lego``)."""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.models import BatchWrite

from .models import AudienceModel


class DynamoAudienceStore:
    def members_in(self, segment: str) -> Iterator[tuple[str, int | None]]:
        for row in AudienceModel.query(segment):
            yield row.member_id, int(row.child_index) if row.child_index is not None else None

    def update(self, member_id: str, add: dict[str, int | None], remove: list[str]) -> None:
        batch: BatchWrite[AudienceModel]
        with AudienceModel.batch_write() as batch:
            for segment, child_index in add.items():
                batch.save(AudienceModel(segment, member_id, child_index=child_index))
            for segment in remove:
                batch.delete(AudienceModel(segment, member_id))

    def forget_member(self, member_id: str) -> int:
        segments = [row.segment for row in AudienceModel.by_member.query(member_id)]
        with AudienceModel.batch_write() as batch:
            for segment in segments:
                batch.delete(AudienceModel(segment, member_id))
        return len(segments)
