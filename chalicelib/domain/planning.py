"""From a fired trigger to a message: channel, provider, text. Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .eligibility import Ask, Defer, Go, Policy, Stage, decide
from .governance import with_opt_out
from .ids import message_id
from .isotime import to_iso
from .model import Channel, Member, Message, MessageStatus, StatusChange
from .rendering import render
from .rulebook import RuleBook, RuleConfig
from .sms_parts import parts_to
from .triggers import Trigger


def template_variables(member: Member, trigger: Trigger, book: RuleBook) -> dict[str, Any]:
    return {
        "member": {
            "id": member.member_id,
            "name": member.name or None,
            "tier": member.tier,
            "points": member.points_balance,
        },
        "store": {"name": book.store.name},
        "rule": trigger.rule_id,
        **trigger.facts,
    }


def plan_message(
    member: Member,
    trigger: Trigger,
    policy: Policy,
    providers: dict[Channel, str],
    now: datetime,
    *,
    channel_forced: Channel | None = None,
    shorten: Callable[[str, str], str] | None = None,
) -> Message:
    """The message a trigger produces: ``queued`` on the first channel the member can be reached
    on, ``deferred`` (quiet hours) with its ``send_after``, or ``suppressed`` with the reason — the
    eligibility decision (``domain/eligibility.py``) decides.

    ``channel_forced``: only that channel (a reply goes where the member wrote). ``shorten(message_id,
    text)`` rewrites the template's links for click tracking (see ``domain/links.py``; rendering
    keeps links inside members' values out of it)."""
    book = policy.book
    rule = book.rules[trigger.rule_id]
    mid = message_id(member.member_id, trigger.rule_id, trigger.occurrence)
    channels = (channel_forced,) if channel_forced is not None else rule.channels
    decision = decide(Ask(member, rule, channels, mid, now, Stage.PLAN, send_before=trigger.send_before), policy, now)
    text = render(
        rule.template_for(member.locale),
        template_variables(member, trigger, book),
        rewrite_links=(lambda t: shorten(mid, t)) if shorten is not None else None,
    )
    chosen = rule.channels[0] if channel_forced is None else channel_forced
    status, reason, send_after = MessageStatus.SUPPRESSED, None, None
    if isinstance(decision, Go):
        chosen, status = decision.channel, MessageStatus.QUEUED
    elif isinstance(decision, Defer):
        chosen = decision.channel or chosen
        status, reason, send_after = MessageStatus.DEFERRED, decision.reason, decision.until
    else:
        reason = decision.reason
    parts = None
    if chosen is Channel.SMS:
        text, parts = sms_text(text, rule, member.locale, member.phone, book)
    return Message(
        message_id=mid,
        member_id=member.member_id,
        trigger=trigger.rule_id,
        occurrence=trigger.occurrence,
        channel=chosen,
        provider=providers[chosen],
        text=text,
        status=status,
        created_at=now,
        rule_class=rule.rule_class,
        reason=reason,
        send_after=send_after,
        send_before=trigger.send_before,
        parts=parts,
        history=[StatusChange(status, now, reason)],
    )


def sms_text(text: str, rule: RuleConfig, locale: str, phone: str | None, book: RuleBook) -> tuple[str, int]:
    """The SMS as it will go out (marketing gets the opt-out line) and its billed parts under the
    destination's regime (``sms_parts.sms_regime``: China numbers count the store's 【signature】)."""
    if rule.rule_class == "marketing":
        text = with_opt_out(text, locale, book.store.opt_out)
    return text, parts_to(phone, text, f"【{book.store.name}】")


def describe(message: Message) -> dict[str, Any]:
    """The public shape of a message (CONTRACT §3)."""
    out: dict[str, Any] = {
        "message_id": message.message_id,
        "trigger": message.trigger,
        "channel": message.channel.value,
        "provider": message.provider,
        "status": message.status.value,
        "text": message.text,
        "created_at": to_iso(message.created_at),
    }
    for key in ("send_after", "send_before", "sent_at", "delivered_at", "read_at", "clicked_at"):
        value = getattr(message, key)
        if value is not None:
            out[key] = to_iso(value)
    if message.reason:
        out["reason"] = message.reason
    if message.parts:
        out["parts"] = message.parts
    if message.variant:
        out["variant"] = message.variant
    if message.campaign_id:
        out["campaign_id"] = message.campaign_id
    return out
