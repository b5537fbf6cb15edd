"""Opt-out words ("T", 退订, STOP …, the keyword router's ``opt_out``): that channel's consent off,
one confirmation (``reply_optout``). First in the chain: an opt-out is never mistaken for anything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ...domain.model import Channel, Member
from ...domain.replies import REPLY_OPTOUT
from .chain import MemberReply, ReplyHandler, Stage

SetConsent = Callable[[str, Channel, bool, datetime], Member | None]


class OptOutReply(ReplyHandler):
    stage = Stage.OPT_OUT

    def __init__(self, set_consent: SetConsent) -> None:
        self.set_consent = set_consent

    def handle(self, reply: MemberReply) -> str | None:
        intent = reply.intent
        if intent.kind != "opt_out":
            return None
        member = self.set_consent(reply.member.member_id, reply.event.channel, False, reply.now) or reply.member
        reply.respond(member, intent.reply_rule or REPLY_OPTOUT, {})
        return "opt_out"
