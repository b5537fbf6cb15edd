"""Store activities in memory, with the promises of ``chalicelib/adapters/activity_store.py``
(the same contract runs against both: ``tests/activity_store_contract.py``): a sign-up draws the
next ticket and takes a seat or the end of the line in one step (``domain/waitlist.place``, with
the adapter's conditions: open, not started, sign-up not closed); ``move`` applies only when the
book and each registration are still as read; ``record`` and ``save`` are version-checked."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime

from chalicelib.domain.activities import Activity, Registration
from chalicelib.domain.waitlist import Placement, SeatBook, place, release
from chalicelib.ports import StoredActivity, VersionConflict


class MemoryActivityStore:
    """``ActivityStore``: activities, their books, registrations by (activity, member), invitations."""

    def __init__(self) -> None:
        self.activities: dict[str, Activity] = {}
        self.books: dict[str, SeatBook] = {}
        self.regs: dict[tuple[str, str], Registration] = {}
        self.invitations: dict[tuple[str, str], datetime] = {}

    def _wrote(self) -> None:
        """After every write that went through (a test double counts them)."""

    def _moving(self) -> None:
        """Just before ``move`` checks what it read (a test double runs a concurrent writer here)."""

    def get(self, activity_id: str) -> StoredActivity | None:
        activity = self.activities.get(activity_id)
        if activity is None:
            return None
        return StoredActivity(copy.deepcopy(activity), self.books[activity_id])

    def save(self, activity: Activity) -> None:
        stored = self.activities.get(activity.activity_id)
        if (stored is None and activity.version != 0) or (stored is not None and stored.version != activity.version):
            raise VersionConflict(activity.activity_id)
        self.activities[activity.activity_id] = replace(activity, version=activity.version + 1)
        book = self.books.get(activity.activity_id)
        self.books[activity.activity_id] = SeatBook(
            activity.capacity, book.seats if book else {}, book.waiting if book else {}, book.last_ticket if book else 0
        )
        self._wrote()

    def listed(self, since: datetime | None = None, limit: int = 500) -> list[Activity]:
        found = [a for a in self.activities.values() if since is None or a.starts_at >= since]
        return [copy.deepcopy(a) for a in sorted(found, key=lambda a: (a.starts_at, a.activity_id))[:limit]]

    def place(self, activity_id: str, member_id: str, now: datetime) -> Placement | None:
        activity = self.activities.get(activity_id)
        if activity is None or activity.accepts_signups(now) is not None:
            return None
        book, placement = place(self.books[activity_id], member_id, line_first=activity.promotes(now))
        self.books[activity_id] = book
        self._wrote()
        return placement

    def record(self, registration: Registration, expected: Registration | None) -> bool:
        key = (registration.activity_id, registration.member_id)
        current = self.regs.get(key)
        if expected is None and current is not None:
            return False
        if expected is not None and (current is None or current.version != expected.version):
            return False
        version = expected.version if expected is not None else 0
        self.regs[key] = replace(registration, version=version + 1)
        self._wrote()
        return True

    def move(
        self,
        activity_id: str,
        book: SeatBook,
        leaving: Registration | None,
        promoted: list[tuple[Registration, Registration | None]],
    ) -> bool:
        self._moving()
        current = self.books.get(activity_id)
        if current is None:
            return False
        involved = [leaving.member_id] if leaving is not None else []
        involved += [new.member_id for new, _ in promoted]
        if any(current.where(m) != book.where(m) or current.ticket(m) != book.ticket(m) for m in involved):
            return False
        if promoted and len(current.seats) != len(book.seats):
            return False
        writes: list[tuple[Registration, Registration | None]] = [(leaving, leaving)] if leaving is not None else []
        writes += promoted
        for new, old in writes:
            stored = self.regs.get((activity_id, new.member_id))
            if stored is None or old is None:
                if (old is None) != (stored is None):
                    return False
            elif stored.version != old.version:
                return False
        seats = dict(current.seats)
        waiting = dict(current.waiting)
        if leaving is not None:
            seats.pop(leaving.member_id, None)
            waiting.pop(leaving.member_id, None)
        for new, _ in promoted:
            seats[new.member_id] = waiting.pop(new.member_id)
        self.books[activity_id] = SeatBook(current.capacity, seats, waiting, current.last_ticket)
        for new, old in writes:
            version = old.version if old is not None else 0
            self.regs[(activity_id, new.member_id)] = replace(new, version=version + 1)
        self._wrote()
        return True

    def registration(self, activity_id: str, member_id: str) -> Registration | None:
        return copy.deepcopy(self.regs.get((activity_id, member_id)))

    def registrations(self, activity_id: str) -> list[Registration]:
        return [copy.deepcopy(r) for (a, _), r in sorted(self.regs.items()) if a == activity_id]

    def of_member(self, member_id: str) -> list[Registration]:
        return [copy.deepcopy(r) for (_, m), r in sorted(self.regs.items()) if m == member_id]

    def invite(self, activity_id: str, member_ids: list[str], at: datetime) -> None:
        for member_id in member_ids:
            self.invitations[(activity_id, member_id)] = at

    def invited(self, activity_id: str) -> list[str]:
        return sorted(m for (a, m) in self.invitations if a == activity_id)

    def last_invited(self, member_id: str) -> str | None:
        mine = [(at, a) for (a, m), at in self.invitations.items() if m == member_id]
        return max(mine)[1] if mine else None

    def invitations_of(self, member_id: str) -> list[tuple[str, datetime]]:
        mine = [(a, at) for (a, m), at in self.invitations.items() if m == member_id]
        return sorted(mine, key=lambda pair: (pair[1], pair[0]))

    def forget_member(self, member_id: str) -> int:
        regs = [key for key in self.regs if key[1] == member_id]
        invitations = [key for key in self.invitations if key[1] == member_id]
        for activity_id, _ in regs:
            del self.regs[(activity_id, member_id)]
            book = self.books.get(activity_id)
            if book is not None and book.where(member_id) is not None:
                self.books[activity_id] = release(book, member_id)
        for key in invitations:
            del self.invitations[key]
        if regs or invitations:
            self._wrote()
        return len(regs) + len(invitations)
