"""child_birthday: ``lead_days`` (default 3) before each child's birthday, at ``local_time``, with
age-fit picks from the catalog as it is on the day it fires. One slot per child; after it fires,
next year's is scheduled. Dropped when the child is no longer on the profile."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ..calendar import age_in_months, age_on, anniversary, local_date
from ..catalog import age_fit
from ..model import Member, Product
from ..timers import Timer
from .base import Check, Context, Drop, Fire, Rule


class ChildBirthday(Rule):
    rule_id = "child_birthday"
    reads_catalog = True

    def member_dates(self, member: Member, ctx: Context) -> list[Timer]:
        today = local_date(ctx.now, ctx.zone(member))
        out: list[Timer] = []
        for index, child in enumerate(member.children):
            for year in range(today.year - 1, today.year + 3):
                birthday = anniversary(child.birthday, year)
                if birthday <= child.birthday:
                    continue
                facts = {
                    "child": {
                        "name": child.name,
                        "gender": child.gender,
                        "birthday": birthday.isoformat(),
                        "age": age_on(child.birthday, birthday),
                        "birth_date": child.birthday.isoformat(),
                    }
                }
                due = ctx.days_before(birthday, 3, member)
                timer = ctx.timer(member, f"child{index}", f"{index}:{child.name}:{year}", due, facts)
                if timer is not None:
                    out.append(timer)
                    break
        return out

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        child = timer.facts.get("child") or {}
        match = [
            c
            for c in member.children
            if c.name == child.get("name") and c.birthday.isoformat() == child.get("birth_date")
        ]
        if not match:
            return Drop("child no longer on the profile")
        birthday = date.fromisoformat(child["birthday"])
        picks = age_fit(
            catalog,
            age_in_months(match[0].birthday, birthday),
            match[0].gender,
            int(ctx.param("picks", 3)),
            on=timer.due_at.date(),
        )
        return Fire({**timer.facts, "picks": [p.name for p in picks]})


RULE = ChildBirthday()
