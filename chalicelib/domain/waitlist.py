"""Seats and the waitlist of one activity: who holds a seat, who is in line in which order, and
who is next when a seat frees. Pure; the one statement of the rules that the activity store
(``adapters/activity_store.py``) carries out atomically in DynamoDB and the fake carries out in
memory.

The book maps each member holding a seat (confirmed, or offered and not yet claimed) and each
member in line to their ticket: the arrival order, drawn from one counter in the same atomic step
that decides seat or line. So the line is the waiting members in ticket order, positions are
1, 2, 3 … without gaps, and nobody who came later is ever ahead.

- :func:`place`: a member signs up. A free seat is theirs if nobody is in line (or, when freed
  seats no longer go to the line, whoever comes first); else they join the end of the line. A
  member already placed keeps their place (signing up twice never takes a second seat or loses
  the place).
- :func:`release`: a member leaves (cancels, or an offer lapses).
- :func:`fill`: free seats go to the first in line, in order, as long as the activity promotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Place(StrEnum):
    SEAT = "seat"
    LINE = "line"


@dataclass(frozen=True)
class SeatBook:
    capacity: int
    seats: Mapping[str, int] = field(default_factory=dict)  # member → ticket
    waiting: Mapping[str, int] = field(default_factory=dict)  # member → ticket
    last_ticket: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "seats", MappingProxyType(dict(self.seats)))
        object.__setattr__(self, "waiting", MappingProxyType(dict(self.waiting)))

    @property
    def seats_left(self) -> int:
        return max(self.capacity - len(self.seats), 0)

    def line(self) -> list[str]:
        """The waiting members, first in line first."""
        return [m for m, _ in sorted(self.waiting.items(), key=lambda pair: (pair[1], pair[0]))]

    def position(self, member_id: str) -> int | None:
        """1 = next in line; None when not in line."""
        ticket = self.waiting.get(member_id)
        if ticket is None:
            return None
        return 1 + sum(1 for t in self.waiting.values() if t < ticket)

    def where(self, member_id: str) -> Place | None:
        if member_id in self.seats:
            return Place.SEAT
        if member_id in self.waiting:
            return Place.LINE
        return None

    def ticket(self, member_id: str) -> int | None:
        return self.seats.get(member_id, self.waiting.get(member_id))


@dataclass(frozen=True)
class Placement:
    place: Place
    ticket: int
    position: int | None = None  # in line
    new: bool = True  # False: the member already held this place
    moved: bool = False  # from the line to a free seat (when freed seats no longer go to the line)


def seat_is_free_for_newcomer(book: SeatBook, line_first: bool) -> bool:
    """A newcomer takes a free seat when nobody waits for it, or when freed seats no longer go to
    the line (``line_first`` False: offer mode in its last two hours)."""
    return len(book.seats) < book.capacity and (not line_first or not book.waiting)


def place(book: SeatBook, member_id: str, *, line_first: bool) -> tuple[SeatBook, Placement]:
    where = book.where(member_id)
    if where is Place.SEAT:
        return book, Placement(Place.SEAT, book.seats[member_id], new=False)
    if where is Place.LINE:
        ticket = book.waiting[member_id]
        if not line_first and len(book.seats) < book.capacity:
            waiting = {m: t for m, t in book.waiting.items() if m != member_id}
            moved = SeatBook(book.capacity, {**book.seats, member_id: ticket}, waiting, book.last_ticket)
            return moved, Placement(Place.SEAT, ticket, new=False, moved=True)
        return book, Placement(Place.LINE, ticket, book.position(member_id), new=False)
    ticket = book.last_ticket + 1
    if seat_is_free_for_newcomer(book, line_first):
        seated = SeatBook(book.capacity, {**book.seats, member_id: ticket}, book.waiting, ticket)
        return seated, Placement(Place.SEAT, ticket)
    lined = SeatBook(book.capacity, book.seats, {**book.waiting, member_id: ticket}, ticket)
    return lined, Placement(Place.LINE, ticket, len(lined.waiting))


def release(book: SeatBook, member_id: str) -> SeatBook:
    return SeatBook(
        book.capacity,
        {m: t for m, t in book.seats.items() if m != member_id},
        {m: t for m, t in book.waiting.items() if m != member_id},
        book.last_ticket,
    )


def fill(book: SeatBook, promotes: bool) -> tuple[SeatBook, list[str]]:
    """Free seats to the first in line, in order (none when the activity no longer promotes)."""
    if not promotes:
        return book, []
    line = book.line()[: book.seats_left]
    if not line:
        return book, []
    seats = {**book.seats, **{m: book.waiting[m] for m in line}}
    waiting = {m: t for m, t in book.waiting.items() if m not in line}
    return SeatBook(book.capacity, seats, waiting, book.last_ticket), line
