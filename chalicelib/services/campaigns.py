"""Campaigns behind the API and the schedule: edit a draft, launch (the segment frozen into the
campaign), start planning when the send time comes (the schedule tick; a replayed tick finds it
started), pause / resume / cancel, progress per variant, results per arm, the poll's tally.

Planning itself (services/campaign_planner.py) fans out through the campaign queue: one chunk
message per scan part to start with, each chunk queueing the next."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain import campaigns as c
from ..domain.campaigns import Campaign, campaign_to_data, parse_campaign, start_moment
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.experiments import ArmCounts, compare
from ..domain.isotime import to_iso
from ..domain.rulebook import RuleBook
from ..domain.validation import check_id
from ..ports import CampaignQueue, CampaignStore, PollBox, SegmentStore, Tallies, VersionConflict

Log = Callable[..., None]
PROGRESS = ("members", "queued", "deferred", "sent", "delivered", "read", "suppressed", "capped", "failed")


def chunk(campaign_id: str, part: int, parts: int, cursor: str, at: datetime) -> dict[str, Any]:
    """A planning chunk message: plan part ``part`` of ``parts`` from ``cursor``."""
    return {"campaign_id": campaign_id, "part": part, "parts": parts, "cursor": cursor, "at": to_iso(at)}


class CampaignService:
    def __init__(
        self,
        campaigns: CampaignStore,
        segments: SegmentStore,
        tallies: Tallies,
        polls: PollBox,
        queue: CampaignQueue,
        book: RuleBook,
        parts: int = 4,
        log: Log | None = None,
    ) -> None:
        self.campaigns = campaigns
        self.segments = segments
        self.tallies = tallies
        self.polls = polls
        self.queue = queue
        self.book = book
        self.parts = parts
        self.log = log or (lambda *a, **k: None)

    # -- the draft ----------------------------------------------------------------------------------
    def put(self, campaign_id: str, body: Any, now: datetime) -> tuple[dict[str, Any], bool]:
        existing = self.campaigns.get(campaign_id) if campaign_id else None
        if existing is not None and existing.status != c.DRAFT:
            raise Conflict(f"campaign {campaign_id} is {existing.status}: only a draft can be edited")
        campaign = parse_campaign(campaign_id, body, now, self.book.store)
        if self.segments.get(campaign.segment_id) is None:
            raise ValidationFailed({"segment_id": f"no segment {campaign.segment_id} (PUT /v1/segments/… first)"})
        campaign.created_at = existing.created_at if existing else now
        campaign.updated_at = now
        campaign.version = existing.version if existing else 0
        try:
            self.campaigns.save(campaign)
        except VersionConflict:
            raise Conflict(f"campaign {campaign_id} changed meanwhile; try again") from None
        return campaign_to_data(campaign), existing is None

    def require(self, campaign_id: str) -> Campaign:
        check_id(campaign_id, "campaign_id")
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id}")
        return campaign

    # -- reading ------------------------------------------------------------------------------------
    def get(self, campaign_id: str) -> dict[str, Any]:
        campaign = self.require(campaign_id)
        counts = self._counts(campaign)
        progress = {arm: {k: int(counts[arm].get(k, 0)) for k in PROGRESS} for arm in campaign.arms}
        audience = sum(p["members"] for p in progress.values())
        return {**campaign_to_data(campaign), "audience": audience, "progress": progress}

    def all(self) -> list[dict[str, Any]]:
        rows = []
        for campaign in sorted(self.campaigns.all(), key=lambda x: x.created_at or datetime.min, reverse=True):
            rows.append({k: v for k, v in campaign_to_data(campaign).items() if k not in ("variants", "segment")})
        return rows

    def _counts(self, campaign: Campaign) -> dict[str, dict[str, float]]:
        keys = {arm: f"campaign#{campaign.campaign_id}#{arm}" for arm in campaign.arms}
        read = self.tallies.read(list(keys.values()))
        return {arm: read.get(key, {}) for arm, key in keys.items()}

    def results(self, campaign_id: str) -> dict[str, Any]:
        campaign = self.require(campaign_id)
        counts = self._counts(campaign)
        arms = {
            arm: ArmCounts(
                members=int(n.get("members", 0)),
                delivered=int(n.get("delivered", 0)),
                read=int(n.get("read", 0)),
                clicked=int(n.get("clicked", 0)),
                converted=int(n.get("converted", 0)),
                revenue=float(n.get("revenue", 0)),
            )
            for arm, n in counts.items()
        }
        control = arms[c.CONTROL]
        variants = {
            v.variant_id: {**arms[v.variant_id].to_data(), **compare(arms[v.variant_id], control).to_data()}
            for v in campaign.variants
        }
        return {
            "campaign_id": campaign.campaign_id,
            "status": campaign.status,
            "conversion_window_hours": campaign.conversion_window_hours,
            "arms": {**variants, c.CONTROL: control.to_data()},
        }

    def poll(self, campaign_id: str) -> dict[str, Any]:
        campaign = self.require(campaign_id)
        if campaign.poll is None:
            raise NotFound(f"poll of campaign {campaign_id}")
        votes, voters = self.polls.tally(campaign_id)
        options = {k: {"label": label, "votes": int(votes.get(k, 0))} for k, label in campaign.poll.options.items()}
        return {"options": options, "voters": voters, "closes_at": to_iso(campaign.poll.closes_at)}

    # -- the life of a campaign ---------------------------------------------------------------------
    def launch(self, campaign_id: str, now: datetime) -> dict[str, Any]:
        """Freeze the segment into the campaign and schedule it; planning starts now if its time has come."""
        campaign = self.require(campaign_id)
        if campaign.status != c.DRAFT:
            raise Conflict(f"campaign {campaign_id} is {campaign.status}, not a draft")
        segment = self.segments.get(campaign.segment_id)
        if segment is None:
            raise ValidationFailed({"segment_id": f"no segment {campaign.segment_id}"})
        campaign.segment, campaign.status = segment, c.SCHEDULED
        campaign.launched_at = campaign.updated_at = now
        campaign.cursors = {str(p): c.START for p in range(self.parts)}
        try:
            self.campaigns.save(campaign)
        except VersionConflict:
            raise Conflict(f"campaign {campaign_id} changed meanwhile; try again") from None
        if start_moment(campaign) <= now:
            self._start(campaign, now)
        return self.get(campaign_id)

    def start_due(self, now: datetime) -> list[str]:
        """The schedule tick: start planning every scheduled campaign whose time has come (once)."""
        started = []
        for campaign in self.campaigns.with_status(c.SCHEDULED):
            if start_moment(campaign) <= now and self._start(campaign, now):
                started.append(campaign.campaign_id)
        return started

    def _start(self, campaign: Campaign, now: datetime) -> bool:
        before = self.campaigns.move(campaign.campaign_id, frozenset({c.SCHEDULED}), c.SENDING, now)
        if before is None:
            return False  # started by another tick, paused or cancelled meanwhile
        self._queue_parts(before, now)
        self.log("campaign started", campaign_id=campaign.campaign_id, parts=len(before.cursors))
        return True

    def _queue_parts(self, campaign: Campaign, now: datetime) -> None:
        parts = len(campaign.cursors)
        chunks = [
            chunk(campaign.campaign_id, int(p), parts, cursor, now)
            for p, cursor in sorted(campaign.cursors.items())
            if cursor != c.FINISHED
        ]
        if chunks:
            self.queue.enqueue(chunks)

    def pause(self, campaign_id: str, now: datetime) -> dict[str, Any]:
        self._move(campaign_id, frozenset({c.SCHEDULED, c.SENDING}), c.PAUSED, now)
        return self.get(campaign_id)

    def resume(self, campaign_id: str, now: datetime) -> dict[str, Any]:
        campaign = self.require(campaign_id)
        target = c.SENDING if campaign.started_at is not None else c.SCHEDULED
        before = self._move(campaign_id, frozenset({c.PAUSED}), target, now)
        if target == c.SENDING:
            self._queue_parts(before, now)  # each part carries on from its cursor (duplicates die out)
        elif start_moment(before) <= now:
            self._start(before, now)
        return self.get(campaign_id)

    def cancel(self, campaign_id: str, now: datetime) -> dict[str, Any]:
        self._move(campaign_id, frozenset({c.DRAFT, c.SCHEDULED, c.SENDING, c.PAUSED}), c.CANCELLED, now)
        return self.get(campaign_id)

    def _move(self, campaign_id: str, allowed: frozenset[str], to: str, now: datetime) -> Campaign:
        campaign = self.require(campaign_id)
        before = self.campaigns.move(campaign_id, allowed, to, now)
        if before is None:
            raise Conflict(f"campaign {campaign_id} is {campaign.status}: cannot become {to}")
        self.log("campaign status", campaign_id=campaign_id, status=to)
        return before
