"""The signed links in activity messages (register, cancel, claim): which member and activity a
token stands for, and doing what it says (``domain/action_links.py`` signs and checks tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.action_links import member_ref, read_token
from ..domain.activities import Activity, Registration
from ..domain.errors import Conflict
from ..domain.model import Member
from ..ports import ActivityStore, MemberStore
from .registrations import RegistrationService


@dataclass(frozen=True)
class Resolved:
    action: str  # register / cancel / claim
    activity: Activity
    member: Member
    registration: Registration | None
    position: int | None


@dataclass(frozen=True)
class Done:
    outcome: str  # confirmed / waitlisted / already / cancelled / claimed / closed / nothing
    registration: Registration | None = None
    position: int | None = None


class ActionLinkService:
    def __init__(
        self, store: ActivityStore, registrations: RegistrationService, members: MemberStore, secret: str
    ) -> None:
        self.store = store
        self.registrations = registrations
        self.members = members
        self.secret = secret

    def resolve(self, activity_id: str, token: str) -> Resolved | None:
        """The member and activity of a genuine token; None for a forged, mistyped or stale one."""
        parsed = read_token(activity_id, token, self.secret)
        if parsed is None:
            return None
        stored = self.store.get(activity_id)
        if stored is None:
            return None
        candidates = [r.member_id for r in self.store.registrations(activity_id)]
        if parsed.action == "register":
            candidates += self.store.invited(activity_id)
        member_id = next((m for m in candidates if member_ref(m, self.secret) == parsed.ref), None)
        member = self.members.get(member_id) if member_id is not None else None
        if member is None:
            return None
        reg = self.store.registration(activity_id, member.member_id)
        return Resolved(parsed.action, stored.activity, member, reg, stored.book.position(member.member_id))

    def act(self, resolved: Resolved, now: datetime) -> Done:
        activity_id, member_id = resolved.activity.activity_id, resolved.member.member_id
        if resolved.action == "register":
            try:
                reg, position, created = self.registrations.register(activity_id, member_id, now, source="link")
            except Conflict:
                return Done("closed")
            return Done(reg.status.value if created else "already", reg, position)
        if resolved.action == "cancel":
            was = resolved.registration
            ended = self.registrations.cancel(activity_id, member_id, now, reason="cancelled by the member (link)")
            return Done("cancelled" if was is not None and was.active else "nothing", ended)
        claimed = self.registrations.claim(activity_id, member_id, now)
        return Done("claimed" if claimed is not None else "nothing", claimed)
