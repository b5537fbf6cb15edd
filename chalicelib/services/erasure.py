"""Erasure (CONTRACT §9): ``DELETE /v1/members/{id}`` replaces the member by a tombstone at once,
so no read path finds their personal data from that moment (every route and worker reads the
member first and finds none), and queues the purge; the ``on_erasure`` worker then removes what is
kept elsewhere (``domain/erasure.py`` says what each store keeps and why).

The purge is resumable and idempotent: every step deletes or rewrites what is still there, and a
message already erased is skipped, so a worker that runs out of time hands the same job back to
the queue and the next one goes on. A member with thousands of messages never holds up the API.
After the first round a second one runs ``PURGE_AGAIN_SECONDS`` later, for anything a handler that
was in flight at the moment of erasure (a stream record, a timer batch) wrote after the first
round had passed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..domain import validation
from ..domain.erasure import ERASED, PURGE_AGAIN_SECONDS, erased_message, is_erased
from ..domain.errors import NotFound
from ..ports import (
    ActivityLog,
    ActivityStore,
    AudienceStore,
    CampaignStore,
    ErasureQueue,
    HandoffStore,
    InboundStore,
    LinkStore,
    MemberStore,
    MessageStore,
    Outbox,
    PlaceGiver,
    PollBox,
    TimerStore,
)

Log = Callable[..., None]
LAST_ROUND = 2


@dataclass
class Purge:
    """What one run of the purge did; ``done`` False when it stopped for time (to be continued)."""

    done: bool = True
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


class ErasureService:
    def __init__(
        self,
        *,
        members: MemberStore,
        messages: MessageStore,
        activity: ActivityLog,
        timers: TimerStore,
        audience: AudienceStore,
        handoffs: HandoffStore,
        links: LinkStore,
        inbound: InboundStore,
        outbox: Outbox,
        campaigns: CampaignStore,
        polls: PollBox,
        activities: ActivityStore,
        places: PlaceGiver,
        queue: ErasureQueue,
        log: Log | None = None,
    ) -> None:
        self.members = members
        self.messages = messages
        self.activity = activity
        self.timers = timers
        self.audience = audience
        self.handoffs = handoffs
        self.links = links
        self.inbound = inbound
        self.outbox = outbox
        self.campaigns = campaigns
        self.polls = polls
        self.activities = activities
        self.places = places
        self.queue = queue
        self.log = log or (lambda *a, **k: None)

    def erase(self, member_id: str, now: datetime) -> str:
        """The tombstone now, the purge queued: ``erased``, or ``already`` (a repeated request: the
        purge is queued again, which finishes one that was cut short). NotFound for no such member."""
        validation.check_id(member_id, "member_id")
        outcome = self.members.erase(member_id, now)
        if outcome == "unknown":
            raise NotFound(f"member {member_id}")
        self.queue.request(member_id, now, 1)
        self.log("member erased", member_id=member_id, outcome=outcome)
        return outcome

    def purge(self, member_id: str, now: datetime, round_no: int, more_time: Callable[[], bool]) -> Purge:
        """Remove the erased member's data everywhere it is kept. Stops (``done`` False) when
        ``more_time()`` says so; running it again goes on where it stopped."""
        result = Purge()
        if self.members.erased_at(member_id) is None:
            self.log("purge of a member not erased: nothing done", member_id=member_id)
            return result
        # What could still set something off first: timers, then the audience of new arrivals.
        result.add("timers", self.timers.forget_member(member_id))
        result.add("audience", self.audience.forget_member(member_id))
        # A seat the member holds passes on (as their cancellation would) before anything else.
        result.add("places_given_up", self._give_up_places(member_id, now))
        for message in self.messages.for_member(member_id):
            if is_erased(message):
                continue
            if not more_time():
                result.done = False
                self.log("purge paused", member_id=member_id, round=round_no, **result.counts)
                return result
            self._erase_message(message.message_id, now, result)
        result.add("activity", self.activity.forget_member(member_id))
        result.add("handoffs", self.handoffs.forget_member(member_id))
        result.add("inbound_records", self.inbound.forget_member(member_id))
        result.add("votes", self.polls.forget_member(member_id))
        result.add("keyword_claims", self.campaigns.forget_member(member_id))
        result.add("activity_registrations", self.activities.forget_member(member_id))
        if round_no < LAST_ROUND:
            self.queue.request(member_id, now, round_no + 1, PURGE_AGAIN_SECONDS)
        self.log("purge done", member_id=member_id, round=round_no, **result.counts)
        return result

    def _give_up_places(self, member_id: str, now: datetime) -> int:
        """Cancel every place the member still holds (a seat, an offer, a place in line) through
        the cancellation path: the seat goes to the first in line, the line closes up."""
        given_up = 0
        for reg in self.activities.of_member(member_id):
            if not reg.active:
                continue
            try:
                self.places.cancel(reg.activity_id, member_id, now, reason=ERASED)
            except NotFound:
                continue  # the activity is gone: the registration goes with the member's items
            given_up += 1
        return given_up

    def _erase_message(self, message_id: str, now: datetime, result: Purge) -> None:
        # Links and the outbox row first: they are found through the message.
        result.add("links", self.links.forget_message(message_id))
        self.outbox.forget(message_id)
        for _ in range(5):  # a sender may finish the message meanwhile: read again, erase that
            message = self.messages.get(message_id)
            if message is None or is_erased(message):
                return
            if self.messages.erase(erased_message(message, now), expect=message.status):
                result.add("messages")
                return
        raise RuntimeError(f"message {message_id} kept changing during its erasure")
