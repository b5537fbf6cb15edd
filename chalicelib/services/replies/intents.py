"""The keyword router's other intents: opt-in (START, 订阅), HELP, a child's age (→ picks in stock),
new arrivals (→ what came in lately), 售后/客服/human (→ a handoff ticket and staff told). Last in
the chain before history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...domain.inbound import InboundEvent
from ...domain.model import Channel, Member
from ...domain.replies import (
    REPLY_FOR_INTENT,
    REPLY_HANDOFF,
    REPLY_NEW_ARRIVALS,
    REPLY_RECOMMENDATION,
    new_arrival_facts,
    recommendation_facts,
)
from ...ports import Catalog
from .chain import MemberReply, ReplyHandler, Stage

SetConsent = Callable[[str, Channel, bool, datetime], Member | None]
OpenHandoff = Callable[[Member, InboundEvent, str, datetime], str]


class IntentReply(ReplyHandler):
    stage = Stage.INTENT

    def __init__(self, set_consent: SetConsent, handoff: OpenHandoff, catalog: Catalog, picks: int) -> None:
        self.set_consent = set_consent
        self.handoff = handoff
        self.catalog = catalog
        self.picks = picks

    def handle(self, reply: MemberReply) -> str | None:
        intent = reply.intent
        kind = intent.kind
        rule = intent.reply_rule or REPLY_FOR_INTENT.get(kind)
        if kind in ("none", "opt_out") or rule is None:
            return None
        member = reply.member
        facts: dict[str, Any] = {}
        if kind == "opt_in":
            member = self.set_consent(member.member_id, reply.event.channel, True, reply.now) or member
        elif kind == "recommend" or rule == REPLY_RECOMMENDATION:
            facts = recommendation_facts(self.catalog.products(), intent.age_months, intent.gender, self.picks)
        elif kind == "new_arrivals" or rule == REPLY_NEW_ARRIVALS:
            facts = new_arrival_facts(self.catalog.products(), reply.now, self.picks)
        elif kind == "handoff" or rule == REPLY_HANDOFF:
            facts = {"ticket": {"id": self.handoff(member, reply.event, reply.text, reply.now)}}
        reply.respond(member, rule, facts)
        return kind
