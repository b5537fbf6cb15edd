"""Which of a member's open contexts a reply answers, when more than one could take it (CONTRACT
§7: opt-out words, then the member's open context, then keywords …). Pure.

Two things a member is asked can both be answered with a bare digit: feedback after an activity
(``activity_feedback``: "回复1到5分") and a campaign poll ("回复1/2 投票"). "1" is then both a
rating of 1 and a vote for option 1: **the one the member was asked most recently takes it**, and
the other is left untouched. A reply only one of them reads as its answer goes to that one, as
before: "5 太好玩了" (a rating with words), "⭐⭐⭐", a digit the poll does not offer and a digit
sent with a picture are feedback, "投2" or "2号" a vote. A context counts from when it was asked
until it closes (feedback: 72 hours after it was due; a poll: its ``closes_at``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .campaign_words import vote_choice
from .feedback import parse_feedback


class Asked(Enum):
    FEEDBACK = "feedback"  # how was the activity? (a rating 1–5 or stars, words, a picture)
    POLL = "poll"  # a campaign's poll (an option's number)


@dataclass(frozen=True)
class OpenContext:
    """Something the member was asked: what (``ref``: the activity or the campaign), when, until
    when an answer counts, and (a poll) the options it offers."""

    asked: Asked
    ref: str
    asked_at: datetime
    open_until: datetime
    options: frozenset[str] = frozenset()

    def is_open(self, now: datetime) -> bool:
        return self.asked_at <= now <= self.open_until

    def takes(self, text: str, with_media: bool = False) -> bool:
        """The reply reads as an answer to this: a rating or a picture (feedback), one of its
        options and nothing else (a poll)."""
        if self.asked is Asked.FEEDBACK:
            return with_media or parse_feedback(text).rating is not None
        return not with_media and vote_choice(text) in self.options


def answered(text: str, contexts: Sequence[OpenContext], now: datetime, with_media: bool = False) -> OpenContext | None:
    """The open context the reply (its text; ``with_media``: it carries a picture) answers: of those
    open at ``now`` that read it as their answer, the one asked last (a tie: the first given). None
    when none reads it as an answer (words alone): the handlers decide as they do alone."""
    takers = [c for c in contexts if c.is_open(now) and c.takes(text, with_media)]
    return max(takers, key=lambda c: c.asked_at, default=None)
