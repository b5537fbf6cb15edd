"""welcome: a member joins → a welcome, once. An existing customer brought in by an import (joined
longer ago than the rule's ``stale_after_hours``) is not welcomed as if they had just joined."""

from __future__ import annotations

from ..model import Member
from .base import Context, Plan, Rule


class Welcome(Rule):
    rule_id = "welcome"

    def on_member_change(self, old: Member | None, new: Member, ctx: Context) -> list[Plan]:
        if old is not None:
            return []
        if (
            new.joined_at is not None
            and (ctx.now - new.joined_at).total_seconds() > ctx.config.stale_after_hours * 3600
        ):
            return []
        return [ctx.trigger(new, "join")]


RULE = Welcome()
