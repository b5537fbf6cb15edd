"""Segments, campaigns, polls, the message counters and the campaign queue in memory, with the
promises of ``chalicelib/adapters/segment_store.py``, ``campaign_store.py``, ``poll_box.py``,
``tally_store.py`` and ``campaign_queue.py``: a campaign stored as the campaigns table stores it
(its JSON body, status, version and planning cursors) and read back from that; saves on the version
read, status moves only from an allowed status, a part's cursor advanced only from where it stands;
a keyword acted on once per member; one vote per member with counts that move with it and stay when
a vote is forgotten (they name no one); each (message, event) fed to the counters once."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from chalicelib.domain.campaigns import Campaign, campaign_from_data, campaign_to_data
from chalicelib.domain.funnel import is_funnel_key, parse_key
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.segments import Segment, segment_from_data
from chalicelib.domain.tallies import FIELDS
from chalicelib.ports import VersionConflict


class MemorySegmentStore:
    """``SegmentStore``: each segment as its stored data (``segment#<id>``)."""

    def __init__(self) -> None:
        self.segments: dict[str, dict[str, Any]] = {}

    def put(self, segment: Segment, now: datetime) -> None:
        self.segments[segment.segment_id] = copy.deepcopy(segment.to_data())

    def get(self, segment_id: str) -> Segment | None:
        data = self.segments.get(segment_id)
        return segment_from_data(copy.deepcopy(data)) if data is not None else None


class MemoryCampaignStore:
    """``CampaignStore``: campaign id → its stored data (the body with ``status``, ``version`` and
    ``cursors`` beside it, as the item's attributes); keyword claims by (campaign, member)."""

    def __init__(self) -> None:
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.claims: dict[tuple[str, str], datetime] = {}

    def _read(self, data: dict[str, Any]) -> Campaign:
        return campaign_from_data(copy.deepcopy(data))

    def get(self, campaign_id: str) -> Campaign | None:
        data = self.campaigns.get(campaign_id)
        return self._read(data) if data is not None else None

    def save(self, campaign: Campaign) -> None:
        stored = self.campaigns.get(campaign.campaign_id)
        if (stored is not None) if campaign.version == 0 else (stored is None or stored["version"] != campaign.version):
            raise VersionConflict(campaign.campaign_id)
        data = campaign_to_data(campaign)
        data.update(version=campaign.version + 1, cursors=dict(campaign.cursors))
        self.campaigns[campaign.campaign_id] = data
        campaign.version += 1

    def all(self) -> list[Campaign]:
        return [self._read(data) for data in self.campaigns.values()]

    def with_status(self, status: str) -> list[Campaign]:
        return [self._read(data) for data in self.campaigns.values() if data["status"] == status]

    def move(self, campaign_id: str, allowed: frozenset[str], to: str, at: datetime) -> Campaign | None:
        stored = self.campaigns.get(campaign_id)
        if stored is None or stored["status"] not in allowed:
            return None
        before = self._read(stored)
        stored.update(status=to, updated_at=to_iso(at), version=stored["version"] + 1)
        if to == "sending" and before.started_at is None:
            stored["started_at"] = to_iso(at)
        return before

    def advance(self, campaign_id: str, part: int, cursor: str, to: str) -> dict[str, str] | None:
        """The cursor alone moves (the version does not: a save on the version read still holds)."""
        stored = self.campaigns.get(campaign_id)
        if stored is None or stored["cursors"].get(str(part)) != cursor:
            return None
        stored["cursors"][str(part)] = to
        return dict(stored["cursors"])

    def claim_keyword(self, campaign_id: str, member_id: str, at: datetime) -> bool:
        if (campaign_id, member_id) in self.claims:
            return False
        self.claims[(campaign_id, member_id)] = at
        return True

    def keyword_claimed(self, campaign_id: str, member_id: str) -> bool:
        return (campaign_id, member_id) in self.claims

    def keyword_claims(self, member_id: str) -> list[tuple[str, datetime]]:
        return sorted((cid, at) for (cid, mid), at in self.claims.items() if mid == member_id)

    def forget_member(self, member_id: str) -> int:
        mine = [key for key in self.claims if key[1] == member_id]
        for key in mine:
            del self.claims[key]
        return len(mine)


class MemoryPollBox:
    """``PollBox``: each member's vote (option, when) by (campaign, member), and the counts per
    option and of voters, kept apart as the campaigns table keeps them (``poll#<option>``,
    ``poll#voters``)."""

    def __init__(self) -> None:
        self.votes: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.voters: dict[str, int] = {}

    def vote(self, campaign_id: str, member_id: str, option: str, at: datetime) -> str | None:
        found = self.votes.get((campaign_id, member_id))
        before = found[0] if found is not None else None
        if before == option:
            return before
        self.votes[(campaign_id, member_id)] = (option, at)
        counts = self.counts.setdefault(campaign_id, {})
        counts[option] = counts.get(option, 0) + 1
        if before is None:
            self.voters[campaign_id] = self.voters.get(campaign_id, 0) + 1
        else:
            counts[before] -= 1
        return before

    def tally(self, campaign_id: str) -> tuple[dict[str, int], int]:
        return dict(self.counts.get(campaign_id, {})), self.voters.get(campaign_id, 0)

    def votes_of(self, member_id: str) -> list[tuple[str, str, datetime]]:
        return sorted((cid, option, at) for (cid, mid), (option, at) in self.votes.items() if mid == member_id)

    def forget_member(self, member_id: str) -> int:
        mine = [key for key in self.votes if key[1] == member_id]
        for key in mine:
            del self.votes[key]
        return len(mine)


class MemoryTallies:
    """``Tallies``: counters by key, each (message, event) fed once (the markers' 14 days, longer
    than a stream keeps a record, are not modelled: a marker here is kept for good)."""

    def __init__(self) -> None:
        self.counters: dict[str, dict[str, float]] = {}
        self.markers: set[tuple[str, str]] = set()

    def feed(self, message_id: str, event: str, keys: list[str], deltas: dict[str, float]) -> bool:
        if (message_id, event) in self.markers:
            return False
        self.markers.add((message_id, event))
        for key in keys:
            counter = self.counters.setdefault(key, {})
            for name, delta in deltas.items():
                counter[name] = counter.get(name, 0.0) + delta
        return True

    def feed_all(self, message_id: str, events: list[tuple[str, dict[str, float]]], keys: list[str]) -> int:
        return sum(self.feed(message_id, event, keys, deltas) for event, deltas in events)

    def feed_many(
        self, changes: list[tuple[str, list[tuple[str, dict[str, float]]], list[str]]]
    ) -> list[int | Exception]:
        return [self.feed_all(message_id, events, keys) for message_id, events, keys in changes]

    def read(self, keys: list[str]) -> dict[str, dict[str, float]]:
        """The counters that exist, every field of each (0 where nothing was added)."""
        return {
            key: {name: float(self.counters[key].get(name, 0.0)) for name in FIELDS}
            for key in dict.fromkeys(keys)
            if key in self.counters
        }

    def funnel_days(self, days: list[date]) -> list[tuple[str, dict[str, float]]]:
        wanted = {day.isoformat() for day in days}
        funnels = sorted(
            key for key in self.counters if is_funnel_key(key) and parse_key(key).day.isoformat() in wanted
        )
        return [(key, {name: float(self.counters[key].get(name, 0.0)) for name in FIELDS}) for key in funnels]


class MemoryCampaignQueue:
    """``CampaignQueue``: planning chunks with their delay, in order, until taken."""

    BATCH = 10  # chunks per SQS request

    def __init__(self) -> None:
        self.chunks: list[tuple[dict[str, Any], int]] = []

    def enqueue(self, chunks: list[dict[str, Any]], delay_seconds: int = 0) -> int:
        self.chunks.extend((copy.deepcopy(c), max(0, min(900, delay_seconds))) for c in chunks)
        return -(-len(chunks) // self.BATCH)

    def take(self) -> list[dict[str, Any]]:
        """Every chunk queued so far, oldest first (delays are the caller's to honour)."""
        taken, self.chunks = [c for c, _ in self.chunks], []
        return taken
