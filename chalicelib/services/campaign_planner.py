"""Planning a launched campaign, one chunk at a time, in parallel (the ``plan_campaign`` function on
the campaign queue).

A chunk is one page of one part of a parallel scan over the members. It reads the campaign once
(its status, the segment frozen at launch, where its part stands), evaluates each member of the
page (``domain/segments.matches`` at the member's own send moment; members who joined after the
launch are not in the audience), and writes each member's message or control record once — the
business key (member, campaign) makes a replayed chunk write nothing new — then queues the sends
and the part's next chunk. The members come from the scan itself: planning reads each member once.

- **pause / cancel take effect within one chunk**: every chunk reads the status first; a chunk of
  a paused campaign stops and its part's cursor stays where it was (resume queues it again);
- **duplicate chunks die out**: a chunk plans only while its part's cursor is the chunk's own;
  after it, the cursor moves on (conditionally), so a redelivered or repeated chunk finds it moved;
- **pacing**: with a provider rate of R parts/s, the next chunk waits while the send queue holds
  more than one round of chunks (every part's page): for the time the senders need to bring it
  down to one round. The senders never run dry, and a pause stops the campaign with at most about
  two rounds of sends queued, not all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..domain import campaigns as c
from ..domain.campaign_planning import plan_campaign_message
from ..domain.campaigns import arm_for, send_moment
from ..domain.eligibility import Policy
from ..domain.model import Channel, MessageStatus
from ..domain.segments import matches
from ..ports import CampaignQueue, CampaignStore, FollowUps, LinkShortener, MemberStore, MessageStore, SendQueue
from .campaigns import chunk

Log = Callable[..., None]
PAGE = 100
MAX_DELAY = 900  # SQS's longest delay


class CampaignPlanner:
    def __init__(
        self,
        campaigns: CampaignStore,
        members: MemberStore,
        messages: MessageStore,
        sends: SendQueue,
        queue: CampaignQueue,
        follow_ups: FollowUps,
        policy: Policy,
        providers: dict[Channel, str],
        rates: Mapping[str, int],
        *,
        page: int = PAGE,
        links: LinkShortener | None = None,
        log: Log | None = None,
    ) -> None:
        self.campaigns = campaigns
        self.members = members
        self.messages = messages
        self.sends = sends
        self.queue = queue
        self.follow_ups = follow_ups
        self.policy = policy
        self.providers = providers
        self.rates = rates
        self.page = page
        self.links = links
        self.log = log or (lambda *a, **k: None)

    def plan(self, work: Mapping[str, Any], now: datetime) -> dict[str, int]:
        campaign_id, part, parts = str(work["campaign_id"]), int(work["part"]), int(work["parts"])
        cursor = str(work["cursor"])
        counts = {"read": 0, "planned": 0, "queued": 0, "control": 0}
        campaign = self.campaigns.get(campaign_id)
        if campaign is None or campaign.status != c.SENDING or campaign.segment is None:
            self.log("chunk not planned", campaign_id=campaign_id, status=getattr(campaign, "status", None))
            return counts
        if campaign.cursors.get(str(part)) != cursor:
            self.log("duplicate chunk", campaign_id=campaign_id, part=part)
            return counts
        launched = campaign.launched_at or now
        members, nxt = self.members.scan_page(part, parts, None if cursor == c.START else cursor, self.page)
        counts["read"] = len(members)
        to_send: list[str] = []
        parts_queued = 0
        links = self.links.batch() if self.links is not None else None
        for member in members:
            if member.created_at is not None and member.created_at > launched:
                continue  # joined after the launch: not in the frozen audience
            if not matches(
                member, campaign.segment, send_moment(campaign, member, self.policy.store_zone), self.policy.store_zone
            ):
                continue
            arm = arm_for(member.member_id, campaign)
            message = plan_campaign_message(
                member,
                campaign,
                arm,
                self.policy,
                self.providers,
                now,
                shorten=links.shorten if links is not None else None,
            )
            if links is not None:
                links.save(now)
            if not self.messages.create(message):
                earlier = self.messages.get(message.message_id)
                if earlier is not None and earlier.status is MessageStatus.QUEUED:
                    to_send.append(message.message_id)  # an earlier run stopped before queueing it
                continue
            counts["planned"] += 1
            if message.status is MessageStatus.QUEUED:
                to_send.append(message.message_id)
                parts_queued += message.parts or 1
            elif message.status is MessageStatus.DEFERRED and message.send_after is not None:
                self.follow_ups.hold_until(member.member_id, message.message_id, message.send_after, now)
            elif message.status is MessageStatus.CONTROL:
                counts["control"] += 1
        if to_send:
            self.sends.enqueue(to_send, now)
        counts["queued"] = len(to_send)
        following = nxt if nxt is not None else c.FINISHED
        if nxt is not None:
            delay = self._pace(campaign, parts_queued, len(to_send), parts)
            self.queue.enqueue([chunk(campaign_id, part, parts, nxt, now)], delay_seconds=delay)
        after = self.campaigns.advance(campaign_id, part, cursor, following)
        if after is not None and all(v == c.FINISHED for v in after.values()):
            self.campaigns.move(campaign_id, frozenset({c.SENDING}), c.DONE, now)
            self.log("campaign planned", campaign_id=campaign_id)
        self.log("chunk planned", campaign_id=campaign_id, part=part, **counts)
        return counts

    def _pace(self, campaign: c.Campaign, parts_queued: int, sends: int, parts: int) -> int:
        """Seconds until the send queue is down to one round of chunks (0: plan on at once)."""
        rate = self.rates.get(self.providers[campaign.channels[0]])
        if not rate or not sends:
            return 0
        per_send = parts_queued / sends if parts_queued else 1.0
        excess = self.sends.waiting() * per_send - parts * self.page * per_send
        return min(MAX_DELAY, max(0, int(excess / rate)))
