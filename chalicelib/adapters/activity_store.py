"""``ActivityStore`` on DynamoDB: one partition per activity holding its definition and book
(``#activity``), its registrations (``REG#<member>``) and invitations (``INV#<member>``).

Zero oversell and fair order come from ONE item: a sign-up is a single conditional UpdateItem on
the activity item that draws the next ticket (``seq``) and writes the member into ``seats`` or
``waiting`` with it, under the conditions of ``domain/waitlist.place`` (a free seat, and nobody
in line for it; or the end of the line). DynamoDB applies updates to one item one at a time, so
however many members sign up at once, seats never exceed the capacity, tickets are distinct and
the line is in the order the updates were applied. No transaction there (many concurrent
transactions on one item would conflict and retry); the registration item is written next, and a
sign-up interrupted in between finds its place again when retried (the member is already in the
book). Everything that changes the book afterwards (a cancellation, the seat passing to the next
in line, more capacity) is one transaction with the registrations it concerns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..domain.activities import Activity, Registration
from ..domain.isotime import parse_iso, to_iso
from ..domain.waitlist import Place, Placement, SeatBook, place
from ..ports import StoredActivity, VersionConflict
from . import activity_codec as codec
from .models import PlaceModel, StoreActivityModel
from .pynamo import conditional_failed, shared_connection

A = StoreActivityModel
P = PlaceModel
MAX_ATTEMPTS = 8


def _definition_actions(item: dict[str, Any]) -> list[Action]:
    actions: list[Action] = []
    for key, value in item.items():
        if key in ("activity_id", "sk", "version"):
            continue
        attr = getattr(A, key)
        actions.append(attr.remove() if value is None else attr.set(value))
    return actions


class DynamoActivityStore:
    # -- definitions -------------------------------------------------------------------------------
    def get(self, activity_id: str) -> StoredActivity | None:
        try:
            row = A.get(activity_id, codec.ACTIVITY_SK, consistent_read=True)
        except A.DoesNotExist:
            return None
        data = row.to_simple_dict()
        return StoredActivity(codec.activity_from_item(data), codec.book_from_item(data))

    def save(self, activity: Activity) -> None:
        item = codec.activity_to_item(activity)
        expected = activity.version
        try:
            if expected == 0:
                row = A(**{**item, "version": 1}, seats={}, waiting={}, seq=0)
                row.save(condition=A.activity_id.does_not_exist())
            else:
                actions = [*_definition_actions(item), A.version.set(expected + 1)]
                A(activity.activity_id, codec.ACTIVITY_SK).update(actions=actions, condition=A.version == expected)
        except (PutError, UpdateError) as exc:
            if conditional_failed(exc):
                raise VersionConflict(activity.activity_id) from exc
            raise

    def listed(self, since: datetime | None = None, limit: int = 500) -> list[Activity]:
        condition = A.starts_at >= to_iso(since) if since is not None else None
        rows = A.by_start.query(codec.LISTING, condition, limit=limit)
        return [codec.activity_from_item(r.to_simple_dict()) for r in rows]

    # -- the book ----------------------------------------------------------------------------------
    def place(self, activity_id: str, member_id: str, now: datetime) -> Placement | None:
        at = to_iso(now)
        seat, line = A.seats[member_id], A.waiting[member_id]
        open_now = (
            (A.status == "open")
            & (A.starts_at > at)
            & (A.signup_closes_at.does_not_exist() | (A.signup_closes_at > at))
            & seat.does_not_exist()
            & line.does_not_exist()
        )
        line_first = (A.waitlist_mode == "auto") | (A.offers_stop_at > at)
        free = size(A.seats) < A.capacity
        nobody_waits = size(A.waiting) == 0
        offers_stopped = (A.waitlist_mode == "offer") & (A.offers_stop_at <= at)
        take_seat = open_now & free & (nobody_waits | offers_stopped)
        join_line = open_now & ((size(A.seats) >= A.capacity) | (line_first & (size(A.waiting) > 0)))
        for _ in range(MAX_ATTEMPTS):
            got = self._draw(activity_id, seat, take_seat)
            if got is not None:
                return Placement(Place.SEAT, int(got.seq))
            got = self._draw(activity_id, line, join_line)
            if got is not None:
                waiting = dict(got.waiting.as_dict()) if got.waiting is not None else {}
                return Placement(Place.LINE, int(got.seq), len(waiting))
            known = self._known_place(activity_id, member_id, now)
            if known is False:
                return None  # the activity takes no sign-ups (any more)
            if isinstance(known, Placement):
                return known
            # else the book moved between the two draws: draw again
        raise VersionConflict(activity_id)

    def _draw(self, activity_id: str, path: Any, condition: Condition) -> StoreActivityModel | None:
        """Draw the next ticket and put the member at ``path`` with it, if ``condition`` holds."""
        row = A(activity_id, codec.ACTIVITY_SK)
        try:
            row.update(actions=[A.seq.set(A.seq + 1), path.set(A.seq + 1)], condition=condition)
        except UpdateError as exc:
            if conditional_failed(exc):
                return None
            raise
        row.seq = int(row.seq)
        return row

    def _known_place(self, activity_id: str, member_id: str, now: datetime) -> Placement | bool | None:
        """After both draws failed: the place the member already holds (a retried sign-up), False
        when the activity takes no sign-ups, None when the book moved meanwhile (draw again)."""
        stored = self.get(activity_id)
        if stored is None or stored.activity.accepts_signups(now) is not None:
            return False
        book = stored.book
        if book.where(member_id) is None:
            return None
        _, placement = place(book, member_id, line_first=stored.activity.promotes(now))
        if placement.moved and not self._take_free_seat(activity_id, member_id, placement.ticket, now):
            return None
        return placement

    def _take_free_seat(self, activity_id: str, member_id: str, ticket: int, now: datetime) -> bool:
        """A member in line takes a seat nobody waits for any more (offer mode, last two hours)."""
        at = to_iso(now)
        condition = (
            (A.waiting[member_id] == ticket)
            & (size(A.seats) < A.capacity)
            & (A.waitlist_mode == "offer")
            & (A.offers_stop_at <= at)
            & (A.status == "open")
        )
        actions = [A.waiting[member_id].remove(), A.seats[member_id].set(ticket)]
        try:
            A(activity_id, codec.ACTIVITY_SK).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def move(
        self,
        activity_id: str,
        book: SeatBook,
        leaving: Registration | None,
        promoted: list[tuple[Registration, Registration | None]],
    ) -> bool:
        actions: list[Action] = []
        conditions: list[Condition] = [A.activity_id.exists()]
        if leaving is not None:
            where = book.where(leaving.member_id)
            if where is not None:
                path = (A.seats if where is Place.SEAT else A.waiting)[leaving.member_id]
                actions.append(path.remove())
                conditions.append(path == book.ticket(leaving.member_id))
        for new, _ in promoted:
            ticket = book.waiting[new.member_id]
            actions += [A.waiting[new.member_id].remove(), A.seats[new.member_id].set(ticket)]
            conditions.append(A.waiting[new.member_id] == ticket)
        if promoted:
            conditions.append(size(A.seats) == len(book.seats))
        condition = conditions[0]
        for more in conditions[1:]:
            condition &= more
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                if actions:
                    tx.update(A(activity_id, codec.ACTIVITY_SK), actions=actions, condition=condition)
                if leaving is not None:
                    self._write(tx, leaving, leaving)
                for new, old in promoted:
                    self._write(tx, new, old)
        except TransactWriteError as exc:
            codes = {getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None}
            if codes - {None, "None", "ConditionalCheckFailed", "TransactionConflict"}:
                raise
            return False  # the book or a registration moved since it was read
        return True

    @staticmethod
    def _write(tx: TransactWrite, new: Registration, old: Registration | None) -> None:
        expected = old.version if old is not None else 0
        row = P(**{**codec.registration_to_item(new), "version": expected + 1})
        tx.save(row, condition=P.sk.does_not_exist() if old is None else P.version == expected)

    # -- registrations and invitations -------------------------------------------------------------
    def record(self, registration: Registration, expected: Registration | None) -> bool:
        version = expected.version if expected is not None else 0
        row = P(**{**codec.registration_to_item(registration), "version": version + 1})
        condition = P.sk.does_not_exist() if expected is None else P.version == version
        try:
            row.save(condition=condition)
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def registration(self, activity_id: str, member_id: str) -> Registration | None:
        try:
            row = P.get(activity_id, codec.REG_PREFIX + member_id, consistent_read=True)
        except P.DoesNotExist:
            return None
        return codec.registration_from_item(row.to_simple_dict())

    def registrations(self, activity_id: str) -> list[Registration]:
        rows = P.query(activity_id, P.sk.startswith(codec.REG_PREFIX), consistent_read=True)
        return [codec.registration_from_item(r.to_simple_dict()) for r in rows]

    def of_member(self, member_id: str) -> list[Registration]:
        rows = P.by_member.query(member_id, P.member_sort.startswith("R#"))
        return [codec.registration_from_item(r.to_simple_dict()) for r in rows]

    def invite(self, activity_id: str, member_ids: list[str], at: datetime) -> None:
        with P.batch_write() as batch:
            for member_id in member_ids:
                batch.save(P(**codec.invitation_to_item(activity_id, member_id, at)))

    def invited(self, activity_id: str) -> list[str]:
        rows = P.query(activity_id, P.sk.startswith(codec.INV_PREFIX), consistent_read=True)
        return [r.member_id for r in rows]

    def last_invited(self, member_id: str) -> str | None:
        rows = P.by_member.query(member_id, P.member_sort.startswith("I#"), scan_index_forward=False, limit=1)
        return next((r.activity_id for r in rows), None)

    def invitations_of(self, member_id: str) -> list[tuple[str, datetime]]:
        rows = P.by_member.query(member_id, P.member_sort.startswith("I#"))
        return [(r.activity_id, parse_iso(r.invited_at)) for r in rows if r.invited_at]

    # -- erasure -----------------------------------------------------------------------------------
    def forget_member(self, member_id: str) -> int:
        """The member's items, found through the sparse ``by_member`` index (only registrations and
        invitations carry ``member_id``), keys only."""
        rows = P.by_member.query(member_id, attributes_to_get=["activity_id", "sk"])
        forgotten = 0
        for row in rows:
            if row.sk.startswith(codec.REG_PREFIX):
                self._forget_registration(row.activity_id, member_id)
            else:
                P(row.activity_id, row.sk).delete()
            forgotten += 1
        return forgotten

    def _forget_registration(self, activity_id: str, member_id: str) -> None:
        """Delete the registration and, in the same transaction, the member's place in the book."""
        for _ in range(MAX_ATTEMPTS):
            stored = self.get(activity_id)
            where = stored.book.where(member_id) if stored is not None else None
            reg = P(activity_id, codec.REG_PREFIX + member_id)
            if stored is None or where is None:
                reg.delete()
                return
            path = (A.seats if where is Place.SEAT else A.waiting)[member_id]
            try:
                with TransactWrite(connection=shared_connection()) as tx:
                    tx.update(
                        A(activity_id, codec.ACTIVITY_SK),
                        actions=[path.remove()],
                        condition=path == stored.book.ticket(member_id),
                    )
                    tx.delete(reg)
            except TransactWriteError as exc:
                codes = {getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None}
                if codes - {None, "None", "ConditionalCheckFailed", "TransactionConflict"}:
                    raise
                continue  # the book moved since it was read: read again
            return
        raise VersionConflict(activity_id)
