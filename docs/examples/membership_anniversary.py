"""membership_anniversary: on the day a member joined, every year, at ``local_time`` — "N years
with us". The example of "Add a rule" in README.md: this file goes to
``chalicelib/domain/rules/membership_anniversary.py``, its section to ``chalicelib/rules.toml``."""

from __future__ import annotations

from chalicelib.domain.calendar import anniversary, local_date
from chalicelib.domain.model import Member
from chalicelib.domain.rules.base import Context, Rule
from chalicelib.domain.timers import Timer


class MembershipAnniversary(Rule):
    rule_id = "membership_anniversary"

    def member_dates(self, member: Member, ctx: Context) -> list[Timer]:
        if member.joined_at is None:
            return []
        joined = local_date(member.joined_at, ctx.zone(member))
        today = local_date(ctx.now, ctx.zone(member))
        for year in range(today.year, today.year + 2):
            day = anniversary(joined, year)
            if day <= joined:
                continue
            timer = ctx.timer(member, "joined", str(year), ctx.on_day(day, member), {"years": year - joined.year})
            if timer is not None:
                return [timer]
        return []


RULE = MembershipAnniversary()
