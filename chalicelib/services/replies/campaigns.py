"""Replies to campaigns (``services/campaign_replies.py``), as handlers of the chain:

- :class:`PollVoteReply` (context): "1", "投2", "vote 1" from a member sent a poll → their vote;
- :class:`CampaignKeywordReply` (keyword): the reply keyword of a campaign that messaged the member
  → its action, once (a coupon, a tag, points, or a sign-up for an activity).

Each answers with the rule ``CampaignReplies`` names (none for a new coupon, which
``coupon_issued`` announces, or an activity sign-up, whose confirmation follows from the stream)."""

from __future__ import annotations

from ..campaign_replies import CampaignReplies, Handled
from .chain import MemberReply, ReplyHandler, Stage


def _answered(reply: MemberReply, handled: Handled | None) -> str | None:
    if handled is None:
        return None
    if handled.reply_rule is not None:
        reply.answer(handled.reply_rule, handled.facts)
    return f"campaign {handled.outcome}"


class PollVoteReply(ReplyHandler):
    stage = Stage.CONTEXT

    def __init__(self, campaigns: CampaignReplies) -> None:
        self.campaigns = campaigns

    def handle(self, reply: MemberReply) -> str | None:
        return _answered(reply, self.campaigns.try_vote(reply.member, reply.text, reply.at))


class CampaignKeywordReply(ReplyHandler):
    stage = Stage.KEYWORD

    def __init__(self, campaigns: CampaignReplies) -> None:
        self.campaigns = campaigns

    def handle(self, reply: MemberReply) -> str | None:
        return _answered(reply, self.campaigns.try_keyword(reply.member, reply.text, reply.at))

    def names_keyword(self, reply: MemberReply) -> bool:
        return self.campaigns.keyword_campaign(reply.member, reply.text, reply.at) is not None
