"""``PollBox`` on DynamoDB (the campaigns table): a member's vote (``vote#<member>``) replaced and
the counts (``poll#<option>``, ``poll#voters``) moved in one transaction, conditional on the vote
read (a concurrent change makes it read again). A vote carries ``member_id`` (the ``by_member``
index: the member's export and erasure, which deletes the vote and leaves the counts)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..domain.isotime import parse_iso, to_iso
from .models import CampaignModel
from .pynamo import shared_connection


class DynamoPollBox:
    def vote(self, campaign_id: str, member_id: str, option: str, at: datetime) -> str | None:
        pk = f"campaign#{campaign_id}"
        for _ in range(5):
            try:
                before = CampaignModel.get(pk, f"vote#{member_id}", consistent_read=True).option
            except CampaignModel.DoesNotExist:
                before = None
            if before == option:
                return before
            vote = CampaignModel(pk, f"vote#{member_id}", option=option, at=to_iso(at), member_id=member_id)
            condition = CampaignModel.sk.does_not_exist() if before is None else CampaignModel.option == before
            try:
                with TransactWrite(connection=shared_connection()) as tx:
                    tx.save(vote, condition=condition)
                    tx.update(CampaignModel(pk, f"poll#{option}"), actions=[CampaignModel.n.add(1)])
                    if before is None:
                        tx.update(CampaignModel(pk, "poll#voters"), actions=[CampaignModel.n.add(1)])
                    else:
                        tx.update(CampaignModel(pk, f"poll#{before}"), actions=[CampaignModel.n.add(-1)])
            except TransactWriteError as exc:
                codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
                if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                    continue
                raise
            return before
        raise RuntimeError(f"vote of {member_id} in {campaign_id} kept changing")

    def tally(self, campaign_id: str) -> tuple[dict[str, int], int]:
        votes: dict[str, int] = {}
        voters = 0
        for item in CampaignModel.query(f"campaign#{campaign_id}", CampaignModel.sk.startswith("poll#")):
            key = item.sk.removeprefix("poll#")
            if key == "voters":
                voters = int(item.n or 0)
            else:
                votes[key] = int(item.n or 0)
        return votes, voters

    def votes_of(self, member_id: str) -> list[tuple[str, str, datetime]]:
        rows = CampaignModel.by_member.query(member_id, CampaignModel.sk.startswith("vote#"))
        return sorted((row.pk.removeprefix("campaign#"), row.option or "", parse_iso(row.at or "")) for row in rows)

    def forget_member(self, member_id: str) -> int:
        keys = [
            (row.pk, row.sk) for row in CampaignModel.by_member.query(member_id, CampaignModel.sk.startswith("vote#"))
        ]
        with CampaignModel.batch_write() as batch:
            for pk, sk in keys:
                batch.delete(CampaignModel(pk, sk))
        return len(keys)
