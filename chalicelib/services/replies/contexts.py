"""The member's open contexts for one reply — feedback asked for after an activity, the polls of
the campaigns that messaged them — read once (kept in the reply's memo) and shared by the context
and keyword handlers; and which of them a reply answers when more than one could take it (the
decision is ``domain/reply_context.py``: the one asked most recently).

Reads for one reply: the member's feedback context (``RegistrationService.feedback_open``: their
registrations, and each one's activity and registration; the feedback handler's own read, not
repeated). Only when feedback is open and the text could be a vote: the member's messages of the
last 60 days (one query: the feedback question's time and the campaigns that messaged them) and
each of those campaigns (one read each). The poll and keyword handlers use the same campaigns
rather than reading them again, so a reply costs at most those reads however many handlers look.
"""

from __future__ import annotations

from datetime import datetime

from ...domain.activities import Activity, Registration
from ...domain.campaign_words import vote_choice
from ...domain.campaigns import Campaign
from ...domain.model import Message
from ...domain.reply_context import Asked, OpenContext, answered
from ...domain.rules import activity_feedback
from ..campaign_replies import CampaignReplies, SentCampaign
from ..registrations import FEEDBACK_WINDOW, RegistrationService
from .chain import MemberReply

_FEEDBACK = "open_context.feedback"
_RECENT = "open_context.recent_messages"
_SENT = "open_context.sent_campaigns"
_ANSWERED = "open_context.answered"


class OpenContexts:
    def __init__(self, registrations: RegistrationService, campaigns: CampaignReplies) -> None:
        self.registrations = registrations
        self.campaigns = campaigns

    def feedback(self, reply: MemberReply) -> tuple[Activity, Registration] | None:
        """The activity the member was (or is about to be) asked about, if its window is open."""
        if _FEEDBACK not in reply.memo:
            reply.memo[_FEEDBACK] = self.registrations.feedback_open(reply.member.member_id, reply.at)
        found: tuple[Activity, Registration] | None = reply.memo[_FEEDBACK]
        return found

    def sent(self, reply: MemberReply) -> list[SentCampaign]:
        """The campaigns that messaged the member lately, newest first, with their newest message."""
        if _SENT not in reply.memo:
            reply.memo[_SENT] = self.campaigns.sent(self._recent(reply))
        found: list[SentCampaign] = reply.memo[_SENT]
        return found

    def sent_campaigns(self, reply: MemberReply) -> list[Campaign]:
        return [s.campaign for s in self.sent(reply)]

    def answered(self, reply: MemberReply) -> OpenContext | None:
        """The open context the reply answers when feedback and a poll could both take it; None when
        nothing competes (each handler decides alone, as before)."""
        if _ANSWERED not in reply.memo:
            reply.memo[_ANSWERED] = self._answered(reply)
        found: OpenContext | None = reply.memo[_ANSWERED]
        return found

    def _answered(self, reply: MemberReply) -> OpenContext | None:
        feedback = self.feedback(reply)
        if feedback is None or vote_choice(reply.text) is None:
            return None  # only one kind of context could take it: no reads for the polls
        activity, registration = feedback
        contexts = [self._feedback_context(activity, registration, self._recent(reply))]
        contexts += [_poll_context(s) for s in self.sent(reply) if s.campaign.poll is not None]
        return answered(reply.text, contexts, reply.at, with_media=bool(reply.event.media))

    def _recent(self, reply: MemberReply) -> list[Message]:
        if _RECENT not in reply.memo:
            reply.memo[_RECENT] = self.campaigns.recent_messages(reply.member.member_id, reply.at)
        found: list[Message] = reply.memo[_RECENT]
        return found

    @staticmethod
    def _feedback_context(activity: Activity, registration: Registration, recent: list[Message]) -> OpenContext:
        """Asked when its ``activity_feedback`` message went (else was made); not sent yet: when it
        is due. Open for the feedback window after it is due (as ``feedback_open`` counts it)."""
        occurrence = activity_feedback.occurrence(activity.activity_id, registration.ticket)
        question = next(
            (m for m in recent if m.trigger == activity_feedback.RULE.rule_id and m.occurrence == occurrence), None
        )
        due = activity.feedback_due()
        return OpenContext(
            Asked.FEEDBACK, activity.activity_id, _asked_at(question) if question else due, due + FEEDBACK_WINDOW
        )


def _poll_context(sent: SentCampaign) -> OpenContext:
    poll = sent.campaign.poll
    assert poll is not None
    return OpenContext(
        Asked.POLL, sent.campaign.campaign_id, _asked_at(sent.message), poll.closes_at, frozenset(poll.options)
    )


def _asked_at(message: Message) -> datetime:
    return message.sent_at or message.created_at
