"""The seat book (domain/waitlist.py) as properties: whatever the members do in whatever order,
seats never exceed the capacity, the line is in arrival order with positions 1…n, nobody is
placed twice, and a freed seat goes to the first in line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.waitlist import Place, SeatBook, fill, place, release

MEMBERS = [f"m{i}" for i in range(12)]

# An operation: ("place", member, line_first) | ("release", member) | ("fill", promotes)
operation = st.one_of(
    st.tuples(st.just("place"), st.sampled_from(MEMBERS), st.booleans()),
    st.tuples(st.just("release"), st.sampled_from(MEMBERS)),
    st.tuples(st.just("fill"), st.booleans()),
)


def check_invariants(book: SeatBook) -> None:
    assert len(book.seats) <= book.capacity
    assert not set(book.seats) & set(book.waiting), "a member both seated and in line"
    tickets = [*book.seats.values(), *book.waiting.values()]
    assert len(tickets) == len(set(tickets)), "a ticket given twice"
    assert all(0 < t <= book.last_ticket for t in tickets)
    line = book.line()
    assert [book.position(m) for m in line] == list(range(1, len(line) + 1))
    assert [book.waiting[m] for m in line] == sorted(book.waiting.values())


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 5), ops=st.lists(operation, max_size=60))
def test_any_sequence_keeps_the_book_sound(capacity: int, ops: list[tuple[object, ...]]) -> None:
    book = SeatBook(capacity)
    for op in ops:
        if op[0] == "place":
            _, member, line_first = op
            assert isinstance(member, str) and isinstance(line_first, bool)
            before = book
            book, placed = place(book, member, line_first=line_first)
            assert book.ticket(member) == placed.ticket
            if not placed.new:
                assert placed.ticket == before.ticket(member), "a second sign-up keeps the place"
                assert book.last_ticket == before.last_ticket
            elif placed.place is Place.SEAT:
                assert not (line_first and before.waiting), "took a seat someone in line was waiting for"
            else:
                assert placed.position == len(book.waiting), "joins the end of the line"
                assert before.seats_left == 0 or (line_first and before.waiting)
        elif op[0] == "release":
            member = op[1]
            assert isinstance(member, str)
            book = release(book, member)
            assert book.where(member) is None
        else:
            promotes = op[1]
            assert isinstance(promotes, bool)
            before = book
            book, moved = fill(book, promotes)
            if promotes:
                assert book.seats_left == 0 or not book.waiting
                assert moved == before.line()[: len(moved)], "the first in line move up, in order"
            else:
                assert moved == [] and book == before
        check_invariants(book)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 4), arrivals=st.permutations(MEMBERS))
def test_a_rush_for_the_last_seats_seats_the_first_and_lines_up_the_rest_in_arrival_order(
    capacity: int, arrivals: list[str]
) -> None:
    book = SeatBook(capacity)
    for member in arrivals:
        book, _ = place(book, member, line_first=True)
        book, _ = place(book, member, line_first=True)  # and again: idempotent
    assert list(book.seats) == arrivals[:capacity]
    assert book.line() == arrivals[capacity:]
    assert [book.position(m) for m in arrivals[capacity:]] == list(range(1, len(arrivals) - capacity + 1))


def test_when_freed_seats_no_longer_go_to_the_line_a_member_in_line_may_take_one() -> None:
    book = SeatBook(1, {"a": 1}, {"b": 2}, 2)
    book = release(book, "a")
    book, placed = place(book, "b", line_first=False)
    assert placed.moved and placed.place is Place.SEAT and book.seats == {"b": 2} and not book.waiting
