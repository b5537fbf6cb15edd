"""Durable timers: keep each member's timers in line with their data, release the due ones in
batches through SQS, and fire them (checking they still apply) into messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..domain.action_links import ActionLinks
from ..domain.model import Member, Product
from ..domain.rulebook import RuleBook
from ..domain.timers import ACK_RULE, OFFER_RULE, RESEND_RULE, Timer
from ..domain.triggers import Trigger
from ..ports import ActivityKeeper, Catalog, MemberStore, Planner, StoredTimer, TimerQueue, TimerStore

if TYPE_CHECKING:
    from ..domain.activities import Standing
    from ..domain.rules import Check

# The rule table (domain/scheduling.py, every module of domain/rules/) is imported where rules are
# applied — reconciling a member's dates, firing a timer — not by the sweep, which applies none.

Log = Callable[..., None]
FIRST_SWEEP_HOURS = 72  # the very first sweep looks this far back
CATCH_UP_HOURS = 24 * 400  # after a pause, every hour since the last sweep (stale timers are dropped with a reason)
REPLAY_HOURS = 24 * 35  # a replay of an earlier moment looks back five weeks


def _same(stored: StoredTimer | None, timer: Timer) -> bool:
    return (
        stored is not None
        and stored.status == "pending"
        and stored.timer.occurrence == timer.occurrence
        and stored.timer.due_at == timer.due_at
        and stored.timer.facts == timer.facts
    )


class TimerService:
    def __init__(
        self,
        book: RuleBook,
        timers: TimerStore,
        members: MemberStore,
        catalog: Catalog,
        queue: TimerQueue,
        lifecycle: Planner,
        store_zone: str,
        log: Log | None = None,
        *,
        activities: ActivityKeeper | None = None,
        links: ActionLinks | None = None,
    ) -> None:
        self.activities = activities
        self.links = links
        self.book = book
        self.timers = timers
        self.members = members
        self.catalog = catalog
        self.queue = queue
        self.lifecycle = lifecycle
        self.store_zone = store_zone
        self.log = log or (lambda *a, **k: None)

    def reconcile_member(self, member: Member, now: datetime) -> dict[str, int]:
        """Bring the member's date-based timers in line with the record: new ones added, moved ones
        rewritten (a purchase moves the wake-up), obsolete ones deleted (a used points lot)."""
        from ..domain import scheduling

        existing = {t.timer.key: t for t in self.timers.for_member(member.member_id)}
        done = frozenset((key, occ) for key, t in existing.items() for occ in t.fired)
        desired = scheduling.member_dates(member, self.book, now, self.store_zone, done)
        # A pending timer already due belongs to the sweep: it fires, or is dropped with a reason.
        overdue = {k for k, t in existing.items() if t.status == "pending" and t.timer.due_at <= now}
        to_put = [
            StoredTimer(t, "pending", fired=existing[k].fired if k in existing else ())
            for k, t in desired.items()
            if k not in overdue and not _same(existing.get(k), t)
        ]
        to_delete = [
            k
            for k, t in existing.items()
            if scheduling.keeps_member_dates(t.timer.rule_id)
            and t.status == "pending"
            and k not in desired
            and k not in overdue
        ]
        if to_put:
            self.timers.put(to_put, now)
        if to_delete:
            self.timers.delete(member.member_id, to_delete)
        return {"scheduled": len(to_put), "cancelled": len(to_delete)}

    def schedule(self, member_id: str, timers: list[Timer], now: datetime) -> int:
        """Add follow-up timers (orders, coupons, arrivals), never re-adding a fired occurrence."""
        if not timers:
            return 0
        existing = {t.timer.key: t for t in self.timers.for_member(member_id)}
        to_put = []
        for timer in timers:
            old = existing.get(timer.key)
            if old is not None and (timer.occurrence in old.fired or _same(old, timer)):
                continue
            to_put.append(StoredTimer(timer, "pending", fired=old.fired if old else ()))
        if to_put:
            self.timers.put(to_put, now)
        return len(to_put)

    def restore(self, member_id: str, follow_ups: list[Timer], now: datetime) -> int:
        """Follow-up timers of history loaded rather than lived through (a snapshot: ``RuleEngine
        .restore``), as :meth:`schedule` left them when each plan came: a later plan moves its slot;
        a timer due before ``now`` has had its turn (it is not written, so nothing fires now)."""
        latest = {t.key: t for t in follow_ups}
        return self.schedule(member_id, [t for t in latest.values() if t.due_at >= now], now)

    def restore_dates(self, member: Member, now: datetime) -> int:
        """The member's date timers as :meth:`reconcile_member` and the firing of each would have
        left them by ``now``: an occurrence due before ``now`` is recorded as fired, without firing
        (nothing is sent), and the next one is scheduled (this year's birthday done, next year's
        ahead). Returns how many timers were written."""
        written = self.reconcile_member(member, now)["scheduled"]
        while overdue := [
            t for t in self.timers.for_member(member.member_id) if t.status == "pending" and t.timer.due_at < now
        ]:
            for stored in overdue:
                self.timers.finish(member.member_id, stored.timer.key, stored.timer.occurrence, "fired", None, now)
            written += self.reconcile_member(member, now)["scheduled"]
        return written

    def release_due(self, now: datetime) -> dict[str, int]:
        """Queue every timer that fell due since the last sweep (through the sparse ``due`` index:
        only due timers are read, each once). A first sweep, or one after a pause of more than
        ``CATCH_UP_HOURS``, looks ``FIRST_SWEEP_HOURS`` back; a replay of an earlier moment looks
        ``REPLAY_HOURS`` back. Firing is idempotent, so looking twice never sends twice."""
        mark = self.timers.watermark()
        if mark is not None and now - timedelta(hours=CATCH_UP_HOURS) <= mark < now:
            after = mark  # overdue timers since the last sweep are found, and dropped if stale
        elif mark is not None and now <= mark:
            # A replay of an earlier moment (`run-schedule --at`): timers written since for times
            # before the last sweep are found too.
            after = now - timedelta(hours=REPLAY_HOURS)
        else:
            after = now - timedelta(hours=FIRST_SWEEP_HOURS)
        keys = list(self.timers.due(after, now))
        requests = self.queue.enqueue(now, keys) if keys else 0
        # The watermark is the moment of the last sweep, even a replay of an earlier one: timers a
        # replay sets off for times before the old watermark are then found by the next sweep.
        self.timers.set_watermark(now)
        return {"swept_from": int(after.timestamp()), "due": len(keys), "sqs_requests": requests}

    def fire(self, keys: list[tuple[str, str]], now: datetime) -> dict[str, int]:
        """Fire a batch of due timers. The catalog a check depends on is read once per batch, as it
        is now (never an older cache: a product added or sold out a moment ago counts)."""
        counts = {"fired": 0, "dropped": 0, "skipped": 0}
        catalog: list[Mapping[str, Product]] = []

        def current_catalog() -> Mapping[str, Product]:
            if not catalog:
                catalog.append(self.catalog.products())
            return catalog[0]

        for member_id, key in keys:
            counts[self._fire_one(member_id, key, now, current_catalog)] += 1
        return counts

    def _fire_one(self, member_id: str, key: str, now: datetime, catalog: Callable[[], Mapping[str, Product]]) -> str:
        from ..domain import scheduling
        from ..domain.rules import Drop

        stored = self.timers.get(member_id, key)
        if stored is None or stored.status != "pending" or stored.timer.due_at > now:
            return "skipped"
        timer = stored.timer
        if timer.rule_id in (RESEND_RULE, ACK_RULE):
            if timer.rule_id == RESEND_RULE:
                self.lifecycle.resend(timer.occurrence, now)
            else:
                self.lifecycle.check_ack(timer.occurrence, now)
            self.timers.finish(member_id, key, timer.occurrence, "fired", None, now)
            return "fired"
        if timer.rule_id == OFFER_RULE:
            outcome = self._expire_offer(timer, now)
            self.timers.finish(member_id, key, timer.occurrence, "fired", outcome, now)
            return "fired"
        member = self.members.get(member_id)
        if member is None:
            # Gone (erased): nothing to remember for it, and its facts may name a child.
            self.timers.delete(member_id, [key])
            self.log("timer dropped", member_id=member_id, timer=key, reason="member no longer exists")
            return "dropped"
        products = catalog() if scheduling.reads_catalog(timer.rule_id) else {}
        standing = self._standing(timer, now)
        verdict: Check = scheduling.check(
            timer, member, products, self.book, now, self.store_zone, standing=standing, links=self.links
        )
        if isinstance(verdict, Drop):
            self.timers.finish(member_id, key, timer.occurrence, "dropped", verdict.reason, now)
            self.log("timer dropped", member_id=member_id, timer=key, reason=verdict.reason)
            if scheduling.keeps_member_dates(timer.rule_id):
                self.reconcile_member(member, now)  # the next occurrence (next year's birthday)
            return "dropped"
        trigger = Trigger(timer.rule_id, member_id, timer.occurrence, now, verdict.facts, verdict.send_before)
        self.lifecycle.fire([trigger], member, now)
        self.timers.finish(member_id, key, timer.occurrence, "fired", None, now)
        if scheduling.keeps_member_dates(timer.rule_id):
            self.reconcile_member(member, now)  # schedules the next occurrence (next birthday)
        return "fired"

    def _standing(self, timer: Timer, now: datetime) -> Standing | None:
        """For an activity rule's check: the activity and the member's registration as they are now."""
        from ..domain import scheduling
        from ..domain.activities import Standing

        if not scheduling.reads_standing(timer.rule_id):
            return None
        activity_id = timer.facts.get("activity_id")
        if self.activities is None or not isinstance(activity_id, str):
            return Standing(None, None)
        return self.activities.standing(activity_id, timer.member_id, now)

    def _expire_offer(self, timer: Timer, now: datetime) -> str:
        if self.activities is None:
            return "activities not wired"
        activity_id, ticket = str(timer.facts["activity_id"]), int(timer.facts["ticket"])
        return self.activities.expire_offer(activity_id, timer.member_id, ticket, now)
