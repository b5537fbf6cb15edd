"""A member's reply to a campaign: a poll vote or a reply keyword (回复'团圆'领取).

This is the campaign side of the inbound reply chain (``services/inbound.py``): two handlers,
each answering "mine?" for one reply and acting on it when it is —

- :meth:`CampaignReplies.try_vote` (the member's open context: a poll they were sent): "1", "2",
  "投1", "选2", "vote 1" → one vote per member, the last one counts, the tally moves atomically;
  after ``closes_at``: the poll has ended;
- :meth:`CampaignReplies.try_keyword` (campaign keywords): the keyword of a campaign that messaged
  the member → its action once per member (a coupon, a tag, points, or an activity registration
  through the ``Registrations`` port); after ``expires_at``: "this offer has ended".

Each returns None when the reply is not theirs (the chain goes on), else a :class:`Handled`: what
happened and the reply rule (with its facts) the chain answers with on the member's channel (None:
no answer needed, e.g. a new coupon, which the ``coupon_issued`` rule announces). Everything is
idempotent (coupon and points ids derive from (campaign, member); votes and tags are set, not
added), so a reply handled twice acts once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from ..domain.campaign_rule import CAMPAIGN_TRIGGER
from ..domain.campaign_words import normalize, vote_choice
from ..domain.campaigns import CONTROL, Campaign
from ..domain.model import Coupon, Member, Message, MessageStatus, PointsTxn
from ..domain.points import apply_txn
from ..ports import CampaignStore, MemberStore, MessageStore, PollBox, Registrations, VersionConflict

Log = Callable[..., None]
REPLY_KEYWORD = "reply_campaign_keyword"
REPLY_ENDED = "reply_campaign_ended"
REPLY_VOTE = "reply_poll_vote"
LOOKBACK_DAYS = 60


@dataclass(frozen=True)
class Handled:
    outcome: str
    reply_rule: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    campaign_id: str | None = None


@dataclass(frozen=True)
class SentCampaign:
    """A campaign that messaged the member, with the newest message it sent them."""

    campaign: Campaign
    message: Message


class CampaignReplies:
    def __init__(
        self,
        campaigns: CampaignStore,
        polls: PollBox,
        messages: MessageStore,
        members: MemberStore,
        registrations: Registrations | None,
        log: Log | None = None,
    ) -> None:
        self.campaigns = campaigns
        self.polls = polls
        self.messages = messages
        self.members = members
        self.registrations = registrations
        self.log = log or (lambda *a, **k: None)

    def recent_messages(self, member_id: str, now: datetime) -> list[Message]:
        """The member's messages of the last ``LOOKBACK_DAYS``, newest first (one query)."""
        return self.messages.recent_for_member(member_id, now - timedelta(days=LOOKBACK_DAYS))

    def sent(self, recent: Sequence[Message]) -> list[SentCampaign]:
        """The campaigns among ``recent`` messages (not control records), newest first, each with
        the newest message it sent (one read per campaign)."""
        newest: dict[str, Message] = {}
        for message in recent:
            cid = message.campaign_id
            if message.trigger != CAMPAIGN_TRIGGER or cid is None or message.status is MessageStatus.CONTROL:
                continue
            if message.variant == CONTROL or cid in newest:
                continue
            newest[cid] = message
        found = ((self.campaigns.get(cid), message) for cid, message in newest.items())
        return [SentCampaign(campaign, message) for campaign, message in found if campaign is not None]

    def sent_campaigns(self, member: Member, now: datetime) -> list[Campaign]:
        """Campaigns that messaged the member lately (not control records), newest first."""
        return [s.campaign for s in self.sent(self.recent_messages(member.member_id, now))]

    # -- polls --------------------------------------------------------------------------------------
    def try_vote(
        self, member: Member, text: str, now: datetime, sent: Sequence[Campaign] | None = None
    ) -> Handled | None:
        """``sent``: the member's sent campaigns when already read (else they are read here)."""
        option = vote_choice(text)
        if option is None:
            return None
        for campaign in self.sent_campaigns(member, now) if sent is None else sent:
            poll = campaign.poll
            if poll is None or option not in poll.options:
                continue
            facts = {"poll": {"option": option, "label": poll.options[option]}, "campaign": {"name": campaign.name}}
            if now > poll.closes_at:
                return Handled("poll closed", REPLY_ENDED, {**facts, "what": "poll"}, campaign.campaign_id)
            before = self.polls.vote(campaign.campaign_id, member.member_id, option, now)
            self.log("poll vote", campaign_id=campaign.campaign_id, changed=before not in (None, option))
            return Handled("voted", REPLY_VOTE, facts, campaign.campaign_id)
        return None

    # -- keywords -----------------------------------------------------------------------------------
    def keyword_campaign(
        self, member: Member, text: str, now: datetime, sent: Sequence[Campaign] | None = None
    ) -> Campaign | None:
        """The campaign that messaged the member lately whose reply keyword the text is, if any."""
        word = normalize(text)
        if not word:
            return None
        for campaign in self.sent_campaigns(member, now) if sent is None else sent:
            keyword = campaign.reply_keyword
            if keyword is not None and normalize(keyword.keyword) == word:
                return campaign
        return None

    def try_keyword(
        self, member: Member, text: str, now: datetime, sent: Sequence[Campaign] | None = None
    ) -> Handled | None:
        campaign = self.keyword_campaign(member, text, now, sent)
        if campaign is None:
            return None
        keyword = campaign.reply_keyword
        assert keyword is not None
        facts: dict[str, Any] = {"keyword": keyword.keyword, "campaign": {"name": campaign.name}}
        if now > keyword.expires_at:
            return Handled("keyword expired", REPLY_ENDED, {**facts, "what": "keyword"}, campaign.campaign_id)
        if self.campaigns.keyword_claimed(campaign.campaign_id, member.member_id):
            return Handled("keyword used before", REPLY_KEYWORD, {**facts, "already": True}, campaign.campaign_id)
        done = self._act(campaign, member, now)
        self.campaigns.claim_keyword(campaign.campaign_id, member.member_id, now)
        self.log("campaign keyword", campaign_id=campaign.campaign_id, action=done.outcome)
        return replace(done, facts={**facts, **done.facts}, campaign_id=campaign.campaign_id)

    def _act(self, campaign: Campaign, member: Member, now: datetime) -> Handled:
        assert campaign.reply_keyword is not None
        action = campaign.reply_keyword.action
        key = f"{campaign.campaign_id}-{member.member_id}"[:64]
        if action.coupon is not None:
            coupon = Coupon(
                member.member_id,
                f"kw-{key}"[:64],
                str(action.coupon["title"]),
                float(action.coupon["value"]),
                date.fromisoformat(str(action.coupon["expires_on"])),
                now,
            )
            self.members.add_coupon(coupon)  # announced by the coupon_issued rule (activity stream)
            return Handled("coupon issued")
        if action.tag is not None:
            self._tag(member.member_id, action.tag, now)
            return Handled("tagged", REPLY_KEYWORD, {"tag": action.tag})
        if action.points is not None:
            self._points(member.member_id, f"kw-{key}"[:64], action.points, now)
            return Handled("points added", REPLY_KEYWORD, {"points": action.points})
        if self.registrations is None:
            raise RuntimeError("activity registration is not wired (the activities service provides it)")
        assert action.activity_id is not None
        status = self.registrations.register(action.activity_id, member.member_id, now)
        if status == "closed":  # the activity takes no sign-ups now: nothing held, the member told
            return Handled("activity closed", REPLY_ENDED, {"what": "keyword"})
        return Handled(f"registered: {status}", None, {"activity": {"id": action.activity_id, "status": status}})

    def _tag(self, member_id: str, tag: str, now: datetime) -> None:
        for _ in range(5):
            member = self.members.get(member_id)
            if member is None or tag in member.tags:
                return
            member.tags = [*member.tags, tag]
            member.updated_at = now
            try:
                self.members.save(member)
                return
            except VersionConflict:
                continue

    def _points(self, member_id: str, txn_id: str, points: int, now: datetime) -> None:
        txn = PointsTxn(member_id, txn_id, points, "campaign keyword", None, now)
        for _ in range(5):
            member = self.members.get(member_id)
            if member is None or self.members.get_points(member_id, txn_id) is not None:
                return
            try:
                self.members.add_points(txn, replace(member, points_lots=apply_txn(member.points_lots, txn)))
                return
            except VersionConflict:
                continue
