"""From a fired trigger to a message: channel, provider, text. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from .clock import to_iso
from .governance import with_opt_out
from .ids import message_id
from .model import Channel, Member, Message, MessageStatus, StatusChange
from .rendering import render
from .rules import RuleBook, RuleConfig
from .sms_parts import parts_to
from .triggers import Trigger


def choose_channel(member: Member, rule: RuleConfig) -> tuple[Channel | None, str | None]:
    """The first of the rule's channels the member can be reached on with consent; else why not."""
    if rule.rule_class == "marketing" and not member.consent.marketing:
        return None, "no marketing consent"
    reasons: list[str] = []
    for channel in rule.channels:
        address = member.address(channel)
        if not address:
            reasons.append(f"no {channel.value} address")
        elif channel.value in member.unreachable:
            reasons.append(f"{channel.value} unreachable: {member.unreachable[channel.value]}")
        elif not member.consent.allows(channel):
            reasons.append(f"no {channel.value} consent")
        else:
            return channel, None
    return None, "; ".join(reasons)


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
    book: RuleBook,
    providers: dict[Channel, str],
    now: datetime,
    *,
    channel_forced: Channel | None = None,
    shorten: Callable[[str, str], str] | None = None,
) -> Message:
    """The message a trigger produces: ``queued`` on a channel the member consented to, or ``suppressed``.

    ``channel_forced``: only that channel (a reply goes where the member wrote); a rule that
    ``confirms_opt_out`` may use it although its consent was just withdrawn. ``shorten(message_id,
    text)`` rewrites the template's links for click tracking (see ``domain/links.py``; rendering
    keeps links inside members' values out of it)."""
    rule = book.rules[trigger.rule_id]
    if channel_forced is not None:
        rule = replace(rule, channels=(channel_forced,))
        if rule.confirms_opt_out:
            member = replace(member, consent=replace(member.consent, **{channel_forced.value: True}))
    channel, why_not = choose_channel(member, rule)
    mid = message_id(member.member_id, trigger.rule_id, trigger.occurrence)
    text = render(
        rule.template_for(member.locale),
        template_variables(member, trigger, book),
        rewrite_links=(lambda t: shorten(mid, t)) if shorten is not None else None,
    )
    status = MessageStatus.QUEUED if channel else MessageStatus.SUPPRESSED
    chosen = channel or rule.channels[0]
    parts = None
    if chosen is Channel.SMS:
        text, parts = sms_text(text, rule, member.locale, member.phone, book)
    return Message(
        message_id=message_id(member.member_id, trigger.rule_id, trigger.occurrence),
        member_id=member.member_id,
        trigger=trigger.rule_id,
        occurrence=trigger.occurrence,
        channel=chosen,
        provider=providers[chosen],
        text=text,
        status=status,
        created_at=now,
        rule_class=rule.rule_class,
        reason=why_not,
        parts=parts,
        history=[StatusChange(status, now, why_not)],
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
    for key in ("send_after", "sent_at", "delivered_at", "read_at", "clicked_at"):
        value = getattr(message, key)
        if value is not None:
            out[key] = to_iso(value)
    if message.reason:
        out["reason"] = message.reason
    if message.parts:
        out["parts"] = message.parts
    if message.variant:
        out["variant"] = message.variant
    return out
