"""The reply chain: a member's reply goes to each handler in turn until one takes it.

The order is CONTRACT §7's, fixed by each handler's :class:`Stage` (handlers of one stage keep the
order they were given in):

1. ``OPT_OUT``: opt-out words ("T", 退订, STOP) — before anything else;
2. ``CONTEXT``: what the member was just asked (a seat offered to claim, feedback asked for, a poll;
   a bare digit both feedback and a poll could take goes to the one asked last: ``contexts.py``);
3. ``KEYWORD``: campaign and activity keywords (an activity's sign-up word, 取消/请假/cancel);
4. ``INTENT``: the keyword router's intents (opt-in, HELP, a child's age, 售后);
and what nobody takes is kept as conversation history.

One exception, stated here so it is in one place: a handler may claim a word that is also an
opt-out word when the reply is plainly about its own context (CONTRACT §6: ``cancel`` from a member
holding a registration cancels that registration; its answer says how to opt out). Adding a
handler (issue 11: campaign keywords, polls) is one class with its stage, passed to the chain; no
other handler changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from functools import cached_property
from typing import Any, ClassVar

from ...domain.inbound import InboundEvent
from ...domain.model import Member
from ...ports import Intent


class Stage(IntEnum):
    OPT_OUT = 1
    CONTEXT = 2
    KEYWORD = 3
    INTENT = 4


@dataclass
class MemberReply:
    """One reply from a known member, and how to answer it (on the channel they wrote on). ``now``
    is when it is handled; ``at`` when the member wrote it (as the provider says): what they meant
    is read as of then (a 确认 written before the deadline, handled after a retry, still claims)."""

    member: Member
    event: InboundEvent
    text: str
    now: datetime
    classify: Callable[[str, str], Intent]
    respond: Callable[[Member, str, dict[str, Any]], None]  # (member, reply rule, facts)
    memo: dict[str, Any] = field(default_factory=dict)  # what handlers looked up, shared along the chain
    keywords: tuple[ReplyHandler, ...] = ()  # the chain's keyword handlers (set by ReplyChain.answer)

    @property
    def at(self) -> datetime:
        return self.event.at

    @cached_property
    def intent(self) -> Intent:
        """What the keyword router makes of the text (computed once)."""
        return self.classify(self.text, self.member.locale)

    def answer(self, rule_id: str, facts: dict[str, Any]) -> None:
        self.respond(self.member, rule_id, facts)

    def names_keyword(self) -> bool:
        """The text is a keyword a later handler acts on (a context handler that takes free words,
        like feedback, leaves it to them)."""
        return any(h.names_keyword(self) for h in self.keywords)


class ReplyHandler:
    """One kind of reply. ``handle`` acts and returns what the reply led to, or None: not mine."""

    stage: ClassVar[Stage]

    def handle(self, reply: MemberReply) -> str | None:
        raise NotImplementedError

    def claims_opt_out_word(self, reply: MemberReply) -> bool:
        """This reply, although an opt-out word, is this handler's (see the module docstring)."""
        return False

    def names_keyword(self, reply: MemberReply) -> bool:
        """(A keyword handler) the text is one of its keywords for this member, without acting."""
        return False


class ReplyChain:
    def __init__(self, handlers: Iterable[ReplyHandler]) -> None:
        self.handlers = sorted(handlers, key=lambda h: h.stage)  # stable: one stage keeps its order

    def answer(self, reply: MemberReply) -> str:
        reply.keywords = tuple(h for h in self.handlers if h.stage is Stage.KEYWORD)
        for handler in self.handlers:
            if handler.stage is Stage.OPT_OUT and any(h.claims_opt_out_word(reply) for h in self.handlers):
                continue
            outcome = handler.handle(reply)
            if outcome is not None:
                return outcome
        return "history"
