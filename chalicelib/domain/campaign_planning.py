"""A campaign's message to one member, or the member's control record. Pure.

The business key is (member, campaign): the id is ``message_id(member, "campaign", campaign_id)``,
so a replayed or retried planning chunk lands on the same record and sends at most once. The
eligibility decision (``domain/eligibility.py``) is the one every rule's message goes through:
marketing consent, the channel and its consent, quiet hours in the member's zone, and the
member's own send moment (``send_on`` + ``local_time``: a member whose 10:00 has not come yet is
deferred to it). Caps and throttling are the sender's, at send time, as for rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .campaign_rule import CAMPAIGN_TRIGGER, rule_config
from .campaigns import CONTROL, Campaign, send_moment
from .eligibility import Ask, Defer, Go, Policy, Stage, decide
from .ids import message_id
from .model import Channel, Member, Message, MessageStatus, StatusChange
from .planning import sms_text, template_variables
from .rendering import render
from .triggers import Trigger


def campaign_message_id(member_id: str, campaign_id: str) -> str:
    return message_id(member_id, CAMPAIGN_TRIGGER, campaign_id)


def campaign_facts(campaign: Campaign) -> dict[str, Any]:
    """What a campaign's templates may say besides the member and the store."""
    facts: dict[str, Any] = {"campaign": {"id": campaign.campaign_id, "name": campaign.name}}
    if campaign.reply_keyword is not None:
        facts["keyword"] = campaign.reply_keyword.keyword
    if campaign.poll is not None:
        facts["poll"] = {"options": dict(campaign.poll.options)}
    return facts


def plan_campaign_message(
    member: Member,
    campaign: Campaign,
    arm: str,
    policy: Policy,
    providers: dict[Channel, str],
    now: datetime,
    *,
    shorten: Callable[[str, str], str] | None = None,
) -> Message:
    mid = campaign_message_id(member.member_id, campaign.campaign_id)
    due = send_moment(campaign, member, policy.store_zone)
    first = campaign.channels[0]
    if arm == CONTROL:
        held = "held out: the campaign's control group"
        return Message(
            message_id=mid,
            member_id=member.member_id,
            trigger=CAMPAIGN_TRIGGER,
            occurrence=campaign.campaign_id,
            channel=first,
            provider=providers[first],
            text="",
            status=MessageStatus.CONTROL,
            created_at=now,
            rule_class=campaign.rule_class,
            variant=CONTROL,
            send_after=max(due, now),
            reason=held,
            history=[StatusChange(MessageStatus.CONTROL, now, held)],
            campaign_id=campaign.campaign_id,
        )
    variant = campaign.variant(arm)
    assert variant is not None, f"no variant {arm} in campaign {campaign.campaign_id}"
    rule = rule_config(campaign.campaign_id, campaign.rule_class, campaign.channels, variant.templates)
    ask = Ask(member, rule, campaign.channels, mid, now, Stage.PLAN, send_after=due, reason="waiting for the send time")
    decision = decide(ask, policy, now)
    trigger = Trigger(CAMPAIGN_TRIGGER, member.member_id, campaign.campaign_id, now, campaign_facts(campaign))
    text = render(
        variant.template_for(member.locale),
        template_variables(member, trigger, policy.book),
        rewrite_links=(lambda t: shorten(mid, t)) if shorten is not None else None,
    )
    chosen, status = first, MessageStatus.SUPPRESSED
    reason: str | None = None
    send_after: datetime | None = None
    if isinstance(decision, Go):
        chosen, status = decision.channel, MessageStatus.QUEUED
    elif isinstance(decision, Defer):
        chosen = decision.channel or first
        status, reason, send_after = MessageStatus.DEFERRED, decision.reason, decision.until
    else:
        reason = decision.reason
    parts = None
    if chosen is Channel.SMS:
        text, parts = sms_text(text, rule, member.locale, member.phone, policy.book)
    return Message(
        message_id=mid,
        member_id=member.member_id,
        trigger=CAMPAIGN_TRIGGER,
        occurrence=campaign.campaign_id,
        channel=chosen,
        provider=providers[chosen],
        text=text,
        status=status,
        created_at=now,
        rule_class=campaign.rule_class,
        variant=arm,
        reason=reason,
        send_after=send_after,
        parts=parts,
        history=[StatusChange(status, now, reason)],
        campaign_id=campaign.campaign_id,
    )
