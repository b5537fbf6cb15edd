"""Replies to campaigns (``services/campaign_replies.py``), as handlers of the chain:

- :class:`PollVoteReply` (context): "1", "投2", "vote 1" from a member sent a poll → their vote
  (a bare digit that the feedback question after an activity asked for later is a rating:
  ``contexts.py``);
- :class:`CampaignKeywordReply` (keyword): the reply keyword of a campaign that messaged the member
  → its action, once (a coupon, a tag, points, or a sign-up for an activity).

Each answers with the rule ``CampaignReplies`` names (none for a new coupon, which
``coupon_issued`` announces, or an activity sign-up, whose confirmation follows from the stream).
The campaigns that messaged the member are read once per reply (``OpenContexts``) and shared."""

from __future__ import annotations

from ...domain.campaign_words import normalize, vote_choice
from ...domain.reply_context import Asked
from ..campaign_replies import CampaignReplies, Handled
from .chain import MemberReply, ReplyHandler, Stage
from .contexts import OpenContexts


def _answered(reply: MemberReply, handled: Handled | None) -> str | None:
    if handled is None:
        return None
    if handled.reply_rule is not None:
        reply.answer(handled.reply_rule, handled.facts)
    return f"campaign {handled.outcome}"


class PollVoteReply(ReplyHandler):
    stage = Stage.CONTEXT

    def __init__(self, campaigns: CampaignReplies, contexts: OpenContexts) -> None:
        self.campaigns = campaigns
        self.contexts = contexts

    def handle(self, reply: MemberReply) -> str | None:
        if vote_choice(reply.text) is None:
            return None
        answers = self.contexts.answered(reply)
        if answers is not None and answers.asked is not Asked.POLL:
            return None  # a digit the feedback question asked for after the poll: a rating
        sent = self.contexts.sent_campaigns(reply)
        return _answered(reply, self.campaigns.try_vote(reply.member, reply.text, reply.at, sent))


class CampaignKeywordReply(ReplyHandler):
    stage = Stage.KEYWORD

    def __init__(self, campaigns: CampaignReplies, contexts: OpenContexts) -> None:
        self.campaigns = campaigns
        self.contexts = contexts

    def handle(self, reply: MemberReply) -> str | None:
        if not normalize(reply.text):
            return None
        sent = self.contexts.sent_campaigns(reply)
        return _answered(reply, self.campaigns.try_keyword(reply.member, reply.text, reply.at, sent))

    def names_keyword(self, reply: MemberReply) -> bool:
        if not normalize(reply.text):
            return False
        sent = self.contexts.sent_campaigns(reply)
        return self.campaigns.keyword_campaign(reply.member, reply.text, reply.at, sent) is not None
