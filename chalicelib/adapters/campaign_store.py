"""``CampaignStore`` on DynamoDB (the campaigns table, ``campaign#<id>``): the definition as JSON
with an optimistic version, the status moved conditionally, the planning parts' cursors advanced
conditionally, keyword claims as their own items (``keyword#<member>``, with ``member_id`` for the
``by_member`` index: the member's export and erasure)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from ..domain.campaigns import Campaign, campaign_from_data, campaign_to_data
from ..domain.isotime import parse_iso, to_iso
from ..ports import VersionConflict
from .models import CampaignModel
from .pynamo import conditional_failed


def _key(campaign_id: str) -> str:
    return f"campaign#{campaign_id}"


def _campaign(item: CampaignModel) -> Campaign:
    data: dict[str, Any] = json.loads(item.body or "{}")
    data["status"] = item.status
    data["version"] = int(item.version or 0)
    data["cursors"] = {str(k): str(v) for k, v in (item.cursors.as_dict() if item.cursors else {}).items()}
    return campaign_from_data(data)


class DynamoCampaignStore:
    def get(self, campaign_id: str) -> Campaign | None:
        try:
            return _campaign(CampaignModel.get(_key(campaign_id), "campaign", consistent_read=True))
        except CampaignModel.DoesNotExist:
            return None

    def save(self, campaign: Campaign) -> None:
        item = CampaignModel(_key(campaign.campaign_id), "campaign")
        item.body = json.dumps(campaign_to_data(campaign), ensure_ascii=False)
        item.status = campaign.status
        item.version = campaign.version + 1
        item.cursors = campaign.cursors or None
        condition = (
            CampaignModel.pk.does_not_exist() if campaign.version == 0 else CampaignModel.version == campaign.version
        )
        try:
            item.save(condition=condition)
        except PutError as exc:
            if conditional_failed(exc):
                raise VersionConflict(campaign.campaign_id) from exc
            raise
        campaign.version += 1

    def all(self) -> list[Campaign]:
        items = CampaignModel.scan(CampaignModel.sk == "campaign")
        return [_campaign(item) for item in items]

    def with_status(self, status: str) -> list[Campaign]:
        return [_campaign(item) for item in CampaignModel.by_status.query(status)]

    def move(self, campaign_id: str, allowed: frozenset[str], to: str, at: datetime) -> Campaign | None:
        before = self.get(campaign_id)
        if before is None or before.status not in allowed:
            return None
        data = campaign_to_data(before)
        data["status"] = to
        data["updated_at"] = to_iso(at)
        if to == "sending" and before.started_at is None:
            data["started_at"] = to_iso(at)
        try:
            CampaignModel(_key(campaign_id), "campaign").update(
                actions=[
                    CampaignModel.status.set(to),
                    CampaignModel.body.set(json.dumps(data, ensure_ascii=False)),
                    CampaignModel.version.add(1),
                ],
                condition=CampaignModel.version == before.version,
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return self.move(campaign_id, allowed, to, at)  # changed meanwhile: look again
            raise
        return before

    def advance(self, campaign_id: str, part: int, cursor: str, to: str) -> dict[str, str] | None:
        try:
            item = CampaignModel(_key(campaign_id), "campaign")
            item.update(
                actions=[CampaignModel.cursors[str(part)].set(to)],
                condition=CampaignModel.cursors[str(part)] == cursor,
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return None
            raise
        return {str(k): str(v) for k, v in (item.cursors.as_dict() if item.cursors else {}).items()}

    def claim_keyword(self, campaign_id: str, member_id: str, at: datetime) -> bool:
        item = CampaignModel(_key(campaign_id), f"keyword#{member_id}", at=to_iso(at), member_id=member_id)
        try:
            item.save(condition=CampaignModel.sk.does_not_exist())
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def keyword_claimed(self, campaign_id: str, member_id: str) -> bool:
        try:
            CampaignModel.get(_key(campaign_id), f"keyword#{member_id}", consistent_read=True)
        except CampaignModel.DoesNotExist:
            return False
        return True

    def keyword_claims(self, member_id: str) -> list[tuple[str, datetime]]:
        rows = CampaignModel.by_member.query(member_id, CampaignModel.sk.startswith("keyword#"))
        return sorted((row.pk.removeprefix("campaign#"), parse_iso(row.at or "")) for row in rows)

    def forget_member(self, member_id: str) -> int:
        keys = [
            (row.pk, row.sk)
            for row in CampaignModel.by_member.query(member_id, CampaignModel.sk.startswith("keyword#"))
        ]
        with CampaignModel.batch_write() as batch:
            for pk, sk in keys:
                batch.delete(CampaignModel(pk, sk))
        return len(keys)
