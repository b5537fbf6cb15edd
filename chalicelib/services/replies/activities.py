"""Replies about store activities (CONTRACT §6), each its own handler in the chain:

- :class:`ClaimOfferReply` (context): 确认 / yes while a seat is offered to the member → it is theirs
  (``activity_promoted`` follows from the stream); too late → told the seat has passed on;
- :class:`FeedbackReply` (context): after an activity the member checked in to, a rating (1–5,
  stars), a few words or a picture is that activity's feedback (a bare digit that a poll asked
  for later is the poll's: ``contexts.py``);
- :class:`CancelPlaceReply` (keyword): 取消 / 请假 / cancel → the member's next registration is
  cancelled (and the seat passes on), answered with ``reply_activity``;
- :class:`SignUpReply` (keyword): an activity's sign-up word (报名) → registered for the activity the
  member was last invited to, else the only open one with that word; several → a short numbered
  list to choose from ("报名2"). The confirmation (or place in line) follows from the stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...domain.activities import Activity, accepts, same_word
from ...domain.activity_facts import activity_facts, when
from ...domain.activity_words import ActivityWords, split_choice
from ...domain.calendar import zone
from ...domain.errors import Conflict
from ...domain.feedback import parse_feedback
from ...domain.reply_context import Asked
from ...ports import ActivityStore
from ..registrations import RegistrationService
from .chain import MemberReply, ReplyHandler, Stage
from .contexts import OpenContexts

REPLY_ACTIVITY = "reply_activity"
MAX_CHOICES = 5


def _facts(reply: MemberReply, store_zone: str, activity: Activity | None, outcome: str) -> dict[str, Any]:
    member = reply.member
    shown = (
        activity_facts(activity, member.member_id, zone(member.timezone, store_zone), member.locale)["activity"]
        if activity is not None
        else None
    )
    return {"outcome": outcome, "activity": shown, "choices": []}


class ClaimOfferReply(ReplyHandler):
    stage = Stage.CONTEXT

    def __init__(self, registrations: RegistrationService, words: ActivityWords, store_zone: str) -> None:
        self.registrations = registrations
        self.words = words
        self.store_zone = store_zone

    def handle(self, reply: MemberReply) -> str | None:
        if not self.words.is_claim(reply.text):
            return None
        member_id = reply.member.member_id
        offer = self.registrations.open_offer(member_id, reply.at)
        if offer is not None:
            activity, _ = offer
            if self.registrations.claim(activity.activity_id, member_id, reply.at) is not None:
                return "activity offer claimed"
            reply.answer(REPLY_ACTIVITY, _facts(reply, self.store_zone, activity, "no_offer"))
            return "activity offer lapsed"
        lapsed = self.registrations.lapsed_offer(member_id, reply.at)
        if lapsed is None:
            return None  # no offer at all: "yes" means what it means elsewhere
        reply.answer(REPLY_ACTIVITY, _facts(reply, self.store_zone, lapsed, "no_offer"))
        return "activity offer lapsed"


class FeedbackReply(ReplyHandler):
    stage = Stage.CONTEXT

    def __init__(self, registrations: RegistrationService, words: ActivityWords, contexts: OpenContexts) -> None:
        self.registrations = registrations
        self.words = words
        self.contexts = contexts

    def handle(self, reply: MemberReply) -> str | None:
        context = self.contexts.feedback(reply)
        if context is None:
            return None
        answers = self.contexts.answered(reply)
        if answers is not None and answers.asked is not Asked.FEEDBACK:
            return None  # a digit a poll asked for after the feedback question: the poll's
        said = parse_feedback(reply.text)
        media = reply.event.media
        # Words alone are feedback unless they ask for something else (售后, an age, HELP …, a
        # campaign's keyword).
        words_only = said.rating is None and not media
        if words_only and (
            not said.text or reply.intent.kind != "none" or self.words.any(reply.text) or reply.names_keyword()
        ):
            return None
        activity, _ = context
        self.registrations.add_feedback(activity.activity_id, reply.member.member_id, said, media, reply.at)
        return "activity feedback"


class CancelPlaceReply(ReplyHandler):
    stage = Stage.KEYWORD

    def __init__(self, registrations: RegistrationService, words: ActivityWords, store_zone: str) -> None:
        self.registrations = registrations
        self.words = words
        self.store_zone = store_zone

    def _next(self, reply: MemberReply) -> Any:
        if "next_place" not in reply.memo:
            reply.memo["next_place"] = self.registrations.next_place(reply.member.member_id, reply.at)
        return reply.memo["next_place"]

    def claims_opt_out_word(self, reply: MemberReply) -> bool:
        return self.words.is_cancel(reply.text) and self._next(reply) is not None

    def handle(self, reply: MemberReply) -> str | None:
        if not self.words.is_cancel(reply.text):
            return None
        place = self._next(reply)
        if place is None:
            return None
        activity, _ = place
        self.registrations.cancel(activity.activity_id, reply.member.member_id, reply.at)
        reply.answer(REPLY_ACTIVITY, _facts(reply, self.store_zone, activity, "cancelled"))
        return "activity cancelled"


class SignUpReply(ReplyHandler):
    stage = Stage.KEYWORD

    def __init__(self, registrations: RegistrationService, store: ActivityStore, store_zone: str) -> None:
        self.registrations = registrations
        self.store = store
        self.store_zone = store_zone

    def handle(self, reply: MemberReply) -> str | None:
        now = reply.at
        recent = self.store.listed(since=now - timedelta(days=1))  # a sign-up word of one just begun
        word, pick = split_choice(reply.text)
        if pick is not None and not any(same_word(a.signup_keyword, word) for a in recent):
            word, pick = reply.text, None  # a number that is part of the word itself
        named = [a for a in recent if same_word(a.signup_keyword, word)]
        if not named:
            return None
        open_ = [a for a in named if accepts(a, word, now)]
        if not open_:
            closed = min(named, key=lambda a: a.starts_at)
            reply.answer(REPLY_ACTIVITY, _facts(reply, self.store_zone, closed, _why_closed(closed, now)))
            return "activity sign-up closed"
        target = self._target(reply, open_, pick)
        if target is None:
            reply.answer(REPLY_ACTIVITY, self._choices(reply, open_))
            return "activity choices"
        try:
            reg, position, created = self.registrations.register(
                target.activity_id, reply.member.member_id, now, source="reply"
            )
        except Conflict:
            stored = self.store.get(target.activity_id)
            current = stored.activity if stored is not None else target
            reply.answer(REPLY_ACTIVITY, _facts(reply, self.store_zone, current, _why_closed(current, now)))
            return "activity sign-up closed"
        if not created:  # signed up before: say so (the confirmation went then)
            member = reply.member
            tz = zone(member.timezone, self.store_zone)
            shown = activity_facts(target, member.member_id, tz, member.locale, registration=reg, position=position)
            reply.answer(REPLY_ACTIVITY, {"outcome": "already", "activity": shown["activity"], "choices": []})
            return "activity sign-up repeated"
        return "activity sign-up"

    def _target(self, reply: MemberReply, open_: list[Activity], pick: int | None) -> Activity | None:
        ordered = sorted(open_, key=lambda a: (a.starts_at, a.activity_id))
        if pick is not None:
            return ordered[pick - 1] if 1 <= pick <= len(ordered) else None
        if len(ordered) == 1:
            return ordered[0]
        invited = self.store.last_invited(reply.member.member_id)
        return next((a for a in ordered if a.activity_id == invited), None)

    def _choices(self, reply: MemberReply, open_: list[Activity]) -> dict[str, Any]:
        member = reply.member
        tz = zone(member.timezone, self.store_zone)
        ordered = sorted(open_, key=lambda a: (a.starts_at, a.activity_id))[:MAX_CHOICES]
        choices = [
            {"reply": f"{a.signup_keyword}{i}", "title": a.title, "starts": when(a.starts_at, tz, member.locale)}
            for i, a in enumerate(ordered, 1)
        ]
        return {"outcome": "choices", "activity": None, "choices": choices}


def _why_closed(activity: Activity, now: datetime) -> str:
    refusal = activity.accepts_signups(now) or ""
    if refusal.startswith("status: the activity is cancelled"):
        return "cancelled_by_store"
    if refusal.startswith("starts_at"):
        return "started"
    return "closed"
